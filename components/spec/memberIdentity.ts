/**
 * A member's identity is its name and its host. Every resource of a member is keyed by its name
 * and every file it writes has a fixed path on its host, so an edit that keeps one and changes the
 * other for a live member — a rename at the same address, two members swapping addresses, a new
 * name given the SSH endpoint of a member that leaves — would make two members' resources own the
 * same files on one host, and deleting the old one would stop and remove what the new one runs.
 *
 * Such edits are refused before anything reaches a host (the removal check's `check`, which runs
 * in every preview), naming the member and the safe recipe. A member that keeps its name and moves
 * to a new machine (new address, new host key) is the documented replace, and stays allowed.
 */
import { sshEndpoint } from "../base/sshEndpoint";

/** Where a member lives, as the removal check records it. */
export interface MemberPlaces {
    /** Member name → peer URL. */
    members: Record<string, string>;
    /** Member name → SSH connection (only host, port and the bastion's host and port are read). */
    connections?: Record<string, { host?: string; port?: number; proxy?: { host?: string; port?: number } } | undefined>;
}

/** The host part of a peer URL, normalized (lower case, IPv6 compressed), or the URL itself if it does not parse. */
export function peerHost(url: string): string {
    try {
        return new URL(url).hostname.toLowerCase();
    } catch {
        return url.toLowerCase();
    }
}

/** The SSH endpoint a member's resources reach (through its bastion, if any), or undefined if unknown. */
function memberEndpoint(places: MemberPlaces, name: string): string | undefined {
    const c = places.connections?.[name];
    if (!c || typeof c.host !== "string") return undefined;
    const proxy = c.proxy && typeof c.proxy.host === "string" ? { host: c.proxy.host.toLowerCase(), port: c.proxy.port } : undefined;
    return sshEndpoint({ host: c.host.toLowerCase(), port: c.port, proxy });
}

const recipe = (old: string, taker: string) =>
    `to rename, remove ${old} from etcd:members and run pulumi up, then add ${taker} and run pulumi up again; ` +
    `to move ${old} to another machine, keep its name and give it the new machine's address and host key (README: Replacing a failed host)`;

/**
 * Identity edits between the last run's members (`olds`) and the stack's (`news`) that must be
 * refused: one sentence each, naming the members, the shared address or SSH endpoint, and the
 * safe recipe. Empty when the edit keeps every live member's identity (or the stack is new).
 */
export function identityProblems(olds: MemberPlaces, news: MemberPlaces): string[] {
    const problems: string[] = [];
    const oldByHost = new Map(Object.entries(olds.members ?? {}).map(([n, u]) => [peerHost(u), n]));
    const oldBySsh = new Map<string, string>();
    for (const n of Object.keys(olds.members ?? {})) {
        const e = memberEndpoint(olds, n);
        if (e !== undefined) oldBySsh.set(e, n);
    }
    for (const [name, url] of Object.entries(news.members ?? {})) {
        const host = peerHost(url);
        const owner = oldByHost.get(host);
        if (owner !== undefined && owner !== name) {
            const now = news.members[owner];
            const what = now === undefined
                ? `${name} would take over ${owner}'s address ${host} while ${owner} is a member of the cluster (a rename at the same address)`
                : `${name} would take over ${owner}'s address ${host} while ${owner} moves to ${peerHost(now)} (members swapping addresses)`;
            problems.push(`${what}: a member's identity is its name and its host, and ${owner}'s resources would remove what ${name} runs there; ${recipe(owner, name)}`);
            continue;
        }
        const endpoint = memberEndpoint(news, name);
        const sshOwner = endpoint === undefined ? undefined : oldBySsh.get(endpoint);
        if (sshOwner !== undefined && sshOwner !== name && memberEndpoint(news, sshOwner) !== endpoint) {
            problems.push(`${name} would be reached at ${sshOwner}'s SSH endpoint ${endpoint}, the machine ${sshOwner} runs on: ` +
                `a member's identity is its name and its host, and ${sshOwner}'s resources would remove what ${name} runs there; ${recipe(sshOwner, name)}`);
        }
    }
    return problems;
}

/**
 * Members of `olds` whose peer URLs `news` no longer lists, the members of `news` that were in
 * `olds`, and those of `news` that were not (joining).
 */
export function leavingAndStaying(olds: Record<string, string>, news: { members: Record<string, string>; order: string[] }): { leaving: string[]; staying: string[]; joining: string[] } {
    const kept = new Set(Object.values(news.members));
    const before = new Set(Object.values(olds));
    return {
        leaving: Object.keys(olds).filter((n) => !kept.has(olds[n])),
        staying: news.order.filter((n) => before.has(news.members[n])),
        joining: news.order.filter((n) => !before.has(news.members[n])),
    };
}

/**
 * Validation of the members and how to reach them: names, addresses, SSH destinations and host keys,
 * the member count, clashing ports, a member that adopts an existing etcd, and the bastion.
 */
import { lookupKnownHost, normalizeHostKey } from "../base/hostKeys";
import { Reader, duplicate, field } from "./problems";
import { AdoptSpec, BastionSpec, MemberSpec } from "./types";
import { canonicalAddress, canonicalHost, isValidAddress, isValidHost, isValidMemberName, isValidSan, serviceUnitName, userName } from "./values";
import { sshEndpoint } from "../base/sshEndpoint";

export function parseMembers(value: unknown, p: Reader): MemberSpec[] {
    if (value === undefined) {
        p.problems.push("members: required (a list of { name, address })");
        return [];
    }
    if (!Array.isArray(value)) {
        p.problems.push("members: must be a list of { name, address }");
        return [];
    }
    const members: MemberSpec[] = [];
    const seenNames = new Map<string, number>();
    const seenAddresses = new Map<string, number>();
    const seenSsh = new Map<string, number>();
    value.forEach((m, i) => {
        const at = `members[${i}]`;
        if (typeof m !== "object" || m === null || Array.isArray(m)) {
            p.problems.push(`${at}: must be an object with name and address`);
            return;
        }
        const name = p.string(`${at}.name`, field(m, "name"), "");
        const label = name ? `${at} (${name})` : at;
        if (name && !isValidMemberName(name)) {
            p.problems.push(`${label}: name must be a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)`);
        }
        const address = p.string(`${at}.address`, field(m, "address"), "");
        if (address && !isValidAddress(address)) {
            p.problems.push(`${label}: address "${address}" is not an IPv4 or IPv6 address`);
        }
        const sshHost = p.string(`${at}.sshHost`, field(m, "sshHost"), address);
        if (sshHost && !isValidHost(sshHost)) p.problems.push(`${label}: sshHost "${sshHost}" is neither a host name nor an IP address`);
        const sshPort = p.port(`${at}.sshPort`, field(m, "sshPort"), 22);
        const sshUser = p.string(`${at}.sshUser`, field(m, "sshUser"), "root");
        if (!userName.test(sshUser)) p.problems.push(`${label}: sshUser "${sshUser}" is not a user name (letters, digits, _ . -; not starting with - or a digit)`);
        const extraSans = p.stringList(`${at}.extraSans`, field(m, "extraSans"));
        const hostKeyLine = p.optionalString(`${at}.hostKey`, field(m, "hostKey"));
        const hostKey = hostKeyLine === "" ? undefined : normalizeHostKey(hostKeyLine);
        if (hostKeyLine !== "" && hostKey === undefined) {
            p.problems.push(`${label}: hostKey is not an SSH public key line ("ssh-ed25519 AAAA…", as ssh-keyscan prints it)`);
        }
        for (const san of extraSans) {
            if (!isValidSan(san)) {
                p.problems.push(`${label}: extraSans entry "${san}" is neither an IP address nor a DNS name`);
            }
        }
        if (name) duplicate(seenNames, name, i, `${label}: duplicate member name "${name}" (also members[%d])`, p.problems);
        if (address) duplicate(seenAddresses, canonicalAddress(address), i, `${label}: duplicate address "${address}" (also members[%d])`, p.problems);
        if (sshHost) duplicate(seenSsh, sshEndpoint({ host: canonicalHost(sshHost), port: sshPort }), i, `${label}: duplicate SSH endpoint "${sshEndpoint({ host: sshHost, port: sshPort })}" (also members[%d])`, p.problems);
        const adopt = parseAdopt(`${label}.adopt`, field(m, "adopt"), p);
        members.push({ name, address, sshHost, sshPort, sshUser, extraSans, ...(hostKey ? { hostKey } : {}), ...(adopt ? { adopt } : {}) });
    });
    return members;
}

export function checkMemberCount(count: number, allow: { allowSingleMember: boolean; allowEvenMembers: boolean }, problems: string[], given: boolean): void {
    if (!given) return;
    if (count === 1 && allow.allowSingleMember) return;
    if ((count === 4 || count === 6) && allow.allowEvenMembers) return;
    if (count === 3 || count === 5 || count === 7) return;
    if (count === 1) {
        problems.push("members: 1 member has no fault tolerance; use 3, 5 or 7, or set etcd:allowSingleMember: true for development");
    } else if (count === 4 || count === 6) {
        problems.push(`members: ${count} members, an even count: it tolerates no more failures than ${count - 1} and needs one more vote for quorum; ` +
            `use 3, 5 or 7, or set etcd:allowEvenMembers: true to run ${count} on purpose`);
    } else {
        problems.push(`members: ${count} members; use 3, 5 or 7 (an even count adds no fault tolerance, more than 7 slows every write)`);
    }
}

export function checkPortClashes(ports: { client: number; peer: number; metrics: number }, members: MemberSpec[], bastion: unknown, problems: string[]): void {
    const entries = Object.entries(ports);
    for (let i = 0; i < entries.length; i++) {
        for (let j = i + 1; j < entries.length; j++) {
            if (entries[i][1] === entries[j][1]) {
                problems.push(`ports: ${entries[i][0]} and ${entries[j][0]} both use port ${entries[i][1]}`);
            }
        }
    }
    for (const m of members) {
        if (m.sshHost === m.address) {
            for (const [kind, port] of entries) {
                if (port === m.sshPort) {
                    problems.push(`members (${m.name}): SSH port ${m.sshPort} clashes with the ${kind} port`);
                }
            }
        }
    }
    void bastion;
}

export function parseAdopt(at: string, value: unknown, p: Reader): AdoptSpec | undefined {
    if (value === undefined || !p.object(at, value)) return undefined;
    const unit = p.string(`${at}.unit`, field(value, "unit"), "");
    if (unit && !serviceUnitName.test(unit)) p.problems.push(`${at}.unit: "${unit}" is not a systemd service name (like etcd-legacy.service)`);
    const dataDir = p.absPath(`${at}.dataDir`, field(value, "dataDir"), "");
    return { unit, dataDir };
}

export function parseBastion(value: unknown, p: Reader): BastionSpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("bastion", value)) return undefined;
    const hostKeyLine = p.optionalString("bastion.hostKey", field(value, "hostKey"));
    const hostKey = hostKeyLine === "" ? undefined : normalizeHostKey(hostKeyLine);
    if (hostKeyLine !== "" && hostKey === undefined) {
        p.problems.push(`bastion.hostKey is not an SSH public key line ("ssh-ed25519 AAAA…", as ssh-keyscan prints it)`);
    }
    const host = p.string("bastion.host", field(value, "host"), "");
    if (host && !isValidHost(host)) p.problems.push(`bastion.host: "${host}" is neither a host name nor an IP address`);
    const user = p.string("bastion.user", field(value, "user"), "root");
    if (!userName.test(user)) p.problems.push(`bastion.user: "${user}" is not a user name (letters, digits, _ . -; not starting with - or a digit)`);
    return {
        host,
        port: p.port("bastion.port", field(value, "port"), 22),
        user,
        ...(hostKey ? { hostKey } : {}),
    };
}

/**
 * Fills each member's (and the bastion's) host key from the stack's known_hosts where the config
 * gives none, and refuses a host with no key unless unverified hosts are explicitly allowed:
 * without a pin, any machine answering on the address would receive the member's private keys.
 */
export function resolveHostKeys(members: MemberSpec[], bastion: BastionSpec | undefined, knownHosts: string | undefined,
    allowUnverified: boolean, problems: string[]): void {
    const how = "collect it with `ssh-keyscan -t ed25519 <host>`, check its fingerprint out of band, then set it " +
        "(or point `etcd:knownHostsPath` at a verified known_hosts file); `etcd:allowUnverifiedHosts: true` skips the check (labs only)";
    members.forEach((m, i) => {
        if (!m.hostKey && knownHosts !== undefined && m.sshHost) {
            const key = lookupKnownHost(knownHosts, m.sshHost, m.sshPort);
            if (key) m.hostKey = key;
        }
        if (!m.hostKey && !allowUnverified && m.name) {
            problems.push(`members[${i}] (${m.name}): no SSH host key for ${m.sshHost}:${m.sshPort}; ${how}`);
        }
    });
    if (bastion && bastion.host) {
        if (!bastion.hostKey && knownHosts !== undefined) {
            const key = lookupKnownHost(knownHosts, bastion.host, bastion.port);
            if (key) bastion.hostKey = key;
        }
        if (!bastion.hostKey && !allowUnverified) {
            problems.push(`bastion: no SSH host key for ${bastion.host}:${bastion.port}; ${how}`);
        }
    }
}

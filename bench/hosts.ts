/**
 * The bench's side of the lab hosts: wiping them between runs, sshd's log at VERBOSE (so each
 * connection's arrival, authentication and end are timestamped), and reading those logs back as
 * SSH connections per host for a time window.
 */
import * as fs from "fs";
import * as paths from "../components/base/paths";
import { labIp, labSshAsync } from "../tests/lab/lab";

const labState = "/var/lib/etcd-stack-lab";

export const hostName = (i: number) => `lab${i + 1}`;
export const hostsFor = (size: number) => Array.from({ length: size }, (_, i) => hostName(i));

/** Runs one command on each host in parallel; fails naming the hosts where it failed. */
export async function onEach(hosts: string[], command: string, timeoutMs = 120_000): Promise<string[]> {
    const results = await Promise.all(hosts.map((h) => labSshAsync(h, command, timeoutMs)));
    const failed = results.map((r, i) => ({ r, h: hosts[i] })).filter(({ r }) => r.code !== 0);
    if (failed.length > 0) throw new Error(failed.map(({ h, r }) => `${h}: exit ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 400)}`).join("\n"));
    return results.map((r) => r.stdout);
}

/**
 * Everything any procedure of the bench left on a host: etcd stopped, its files, binaries,
 * staging dir, data and the etcd user gone, so every run starts from the same clean machine.
 */
export async function wipe(hosts: string[]): Promise<void> {
    await onEach(hosts, [
        `systemctl disable --now ${paths.unitName} >/dev/null 2>&1 || true`,
        `rm -rf /etc/etcd /var/lib/etcd ${paths.unitPath} ${paths.stagingDir} /root/etcd-classic ${paths.binDir}/etcd ${paths.binDir}/etcdctl ${paths.binDir}/etcdutl`,
        `userdel etcd >/dev/null 2>&1 || true; groupdel etcd >/dev/null 2>&1 || true`,
        `systemctl daemon-reload; systemctl reset-failed ${paths.unitName} >/dev/null 2>&1 || true`,
    ].join("; "));
}

/** sshd logs each connection's arrival ("Connection from") only at VERBOSE; the lab hosts are the bench's for this run. */
export async function sshdVerbose(hosts: string[]): Promise<void> {
    await onEach(hosts, "printf 'LogLevel VERBOSE\\n' > /etc/ssh/sshd_config.d/etcd-stack-bench.conf && systemctl reload ssh");
}

/** One SSH connection as a host's sshd logged it (seconds since the epoch). */
export interface SshConnection {
    port: number;
    connectedAt: number;
    acceptedAt?: number;
    closedAt?: number;
    user?: string;
}

export interface HostSsh {
    host: string;
    /** Connections that authenticated ("Accepted publickey"): the sessions. */
    sessions: number;
    /** Connections that never authenticated (ssh-keyscan's host key reads). */
    unauthenticated: number;
    connections: SshConnection[];
}

/**
 * The SSH connections each host's sshd logged between `from` and `to` (ms since the epoch;
 * host clocks are the VM's clock). Read after the window, so the reading session is not counted.
 */
export async function sshConnections(hosts: string[], from: number, to: number): Promise<HostSsh[]> {
    const since = Math.floor(from / 1000) - 1;
    const outs = await onEach(hosts, `journalctl -u ssh -o short-unix --no-pager --since @${since}`);
    return outs.map((out, i) => {
        const byPort = new Map<number, SshConnection>();
        const all: SshConnection[] = [];
        for (const line of out.split("\n")) {
            const m = /^(\d+\.\d+) \S+ sshd\[\d+\]: (.*)$/.exec(line);
            if (!m) continue;
            const t = Number(m[1]);
            if (t * 1000 < from || t * 1000 > to) continue;
            const msg = m[2];
            let p: RegExpExecArray | null;
            if ((p = /^Connection from \S+ port (\d+) on/.exec(msg))) {
                const c: SshConnection = { port: Number(p[1]), connectedAt: t };
                byPort.set(c.port, c);
                all.push(c);
            } else if ((p = /^Accepted \S+ for (\S+) from \S+ port (\d+)/.exec(msg))) {
                const c = byPort.get(Number(p[2]));
                if (c) { c.acceptedAt = t; c.user = p[1]; } else all.push({ port: Number(p[2]), connectedAt: t, acceptedAt: t, user: p[1] });
            } else if ((p = /^(?:Disconnected from (?:user \S+ |authenticating user \S+ |invalid user \S+ )?\S+|Connection closed by (?:authenticating user \S+ )?\S+|Received disconnect from \S+) port (\d+)/.exec(msg))) {
                const c = byPort.get(Number(p[1]));
                if (c && c.closedAt === undefined) c.closedAt = t;
            }
        }
        return {
            host: hosts[i],
            sessions: all.filter((c) => c.acceptedAt !== undefined).length,
            unauthenticated: all.filter((c) => c.acceptedAt === undefined).length,
            connections: all,
        };
    });
}

/** Each running lab host's supervisor pid (the root of everything that host runs), for the CPU sampler. */
export function hostSupervisors(): Map<number, string> {
    const roots = new Map<number, string>();
    let dirs: string[] = [];
    try { dirs = fs.readdirSync(labState); } catch { return roots; }
    for (const d of dirs) {
        try {
            const pid = Number(fs.readFileSync(`${labState}/${d}/supervisor.pid`, "utf8").trim());
            if (pid > 0) roots.set(pid, d);
        } catch { /* not running */ }
    }
    return roots;
}

/** The address of lab host `h`. */
export const ipOf = (h: string) => labIp(h);

/**
 * SSH for the project's dynamic providers (host files, staged releases, membership, host key
 * checks), with the `ssh2` library, one connection per host for a whole run (withClient):
 * the host key pinned as the command provider pins it — and, when another key answers, both
 * fingerprints named — through the stack's bastion when it has one; scripts run as root, through
 * `sudo -n` for another login (asRootShell). Functions only: dynamic providers are serialized with what they
 * use, and require their libraries themselves.
 */
import type { Client, ClientChannel, ConnectConfig } from "ssh2";
import { fingerprint } from "../base/hostKeys";
import { asRootShell, shq } from "../shell/script";
import { sshEndpoint } from "../base/sshEndpoint";

/** The connection fields used here (the command provider's ConnectionArgs, resolved). */
export interface SshConnection {
    host: string;
    port?: number;
    user?: string;
    privateKey?: string;
    hostKey?: string;
    perDialTimeout?: number;
    dialErrorLimit?: number;
    proxy?: { host: string; port?: number; user?: string; privateKey?: string; hostKey?: string };
}

const sshKeyTypes: Record<string, string[]> = {
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"], "rsa-sha2-512": ["rsa-sha2-512"], "rsa-sha2-256": ["rsa-sha2-256"],
};

/**
 * Which machine a connection reaches: address, port, pinned host key and bastion. Another one is
 * another machine (a member moved, or its host rebuilt); another login or key is not.
 */
export function machineIdentity(c: SshConnection): unknown[] {
    return [c.host, c.port, c.hostKey, c.proxy?.host, c.proxy?.port, c.proxy?.hostKey];
}

/**
 * Whether two connections are the same in every field. Another key or login (a key replaced, or the
 * ssh-agent instead of a key) is no other machine, but the state must then hold the new connection:
 * a later refresh uses it, and a key the stack no longer names must not stay there.
 */
export function sameConnection(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether two connections reach the same machine (machineIdentity). */
export function sameMachine(a: SshConnection, b: SshConnection): boolean {
    return JSON.stringify(machineIdentity(a)) === JSON.stringify(machineIdentity(b));
}

/**
 * Opens an SSH client to `c` (over `via` when given), refusing any host key but the pinned one.
 * Without a private key the login goes through the ssh-agent at SSH_AUTH_SOCK, read now: the
 * socket's path changes with every login session, so it is never part of a resource's inputs.
 */
export function openClient(label: string, c: { host: string; port?: number; user?: string; privateKey?: string; hostKey?: string }, timeoutMs: number, via?: Client): Promise<Client> {
    const ssh2 = require("ssh2");
    const where = sshEndpoint({ host: c.host, port: c.port });
    return new Promise((resolve, reject) => {
        const client: Client = new ssh2.Client();
        let presented: string | undefined;
        const config: ConnectConfig = {
            username: c.user ?? "root", readyTimeout: timeoutMs, keepaliveInterval: 5000,
            ...(c.privateKey ? { privateKey: c.privateKey } : { agent: process.env.SSH_AUTH_SOCK }),
        };
        if (c.hostKey) {
            const [type, b64] = c.hostKey.split(" ");
            const pinned = Buffer.from(b64, "base64");
            config.algorithms = { serverHostKey: (sshKeyTypes[type] ?? [type]) as any };
            config.hostVerifier = (key: Buffer) => {
                if (key.equals(pinned)) return true;
                presented = fingerprint(key);
                return false;
            };
        }
        const fail = (e: Error) => {
            client.end();
            reject(presented
                ? Object.assign(new Error(`${label}: ${where} presents host key ${presented}, but the stack pins ${fingerprint(Buffer.from(c.hostKey!.split(" ")[1], "base64"))}` +
                    ` (${c.hostKey!.split(" ")[0]}): another machine answers there; nothing was sent to it`), { otherHostKey: true })
                : new Error(`${label}: ${where}: ${e.message}`));
        };
        // `on`, not `once`: after a handshake timeout ssh2 emits a second error as the socket closes
        // ("Connection lost before handshake"); without a listener it would crash the provider process.
        client.once("ready", () => resolve(client)).on("error", fail);
        if (via) {
            via.forwardOut("127.0.0.1", 0, c.host, c.port ?? 22, (err, stream) => {
                if (err) return fail(new Error(`through the bastion: ${err.message}`));
                client.connect({ ...config, sock: stream });
            });
        } else client.connect({ ...config, host: c.host, port: c.port ?? 22 });
    });
}

/**
 * How many times a refresh dials a host before reading it as down. A write tries the connection's
 * dialErrorLimit (10 by default: a host rebooting comes back); a refresh with a member's host
 * powered off should show the plan, not wait out ten dials per resource.
 */
export const readAttempts = 2;

/**
 * Whether `e` is connect's failure to reach a host at all (refused, no route, no handshake in time):
 * a host that is down. Never a host key that is not the pinned one, a refused login or a failed script.
 */
export function didNotAnswer(e: unknown): boolean {
    return (e as { didNotAnswer?: unknown } | undefined)?.didNotAnswer === true;
}

/** Whether `e` is openClient's refusal of a host key that is not the pinned one (nothing was sent to that machine). */
export function otherHostKey(e: unknown): boolean {
    return (e as { otherHostKey?: unknown } | undefined)?.otherHostKey === true;
}

/**
 * Whether a refresh cannot read a host: it does not answer (didNotAnswer), or another machine
 * answers at its address (otherHostKey: a host rebuilt after a loss, whose new key the stack pins
 * from this run on; the refresh still holds the old one). Nothing was sent in either case; a write
 * to a host presenting another key than the one it pins still fails.
 */
export function notReadable(e: unknown): boolean {
    return didNotAnswer(e) || otherHostKey(e);
}

/** What a refresh records for what it could not read (`e`: notReadable). */
export function notReadMark(e: unknown): string {
    return otherHostKey(e)
        ? `not read: another machine answers there (${(e as Error).message})`
        : `not read: the host did not answer the refresh (${(e as Error).message})`;
}

/** Connects (through the bastion if any), retrying a host that does not answer yet, never a wrong host key. */
export async function connect(label: string, conn: SshConnection, attempts = Math.max(1, conn.dialErrorLimit ?? 10)): Promise<{ client: Client; close: () => void }> {
    const timeoutMs = (conn.perDialTimeout ?? 10) * 1000;
    let last: Error | undefined;
    for (let i = 0; i < attempts; i++) {
        let bastion: Client | undefined;
        try {
            if (conn.proxy) bastion = await openClient(`${label} (bastion)`, conn.proxy, timeoutMs);
            const client = await openClient(label, conn, timeoutMs, bastion);
            // The bastion's connection failing later ends the one through it (whose owner hears of that).
            bastion?.on("error", () => client.end());
            return { client, close: () => { client.end(); bastion?.end(); } };
        } catch (e) {
            bastion?.end();
            last = e as Error;
            if (/host key|authentication/i.test(last.message)) throw last;
            if (i + 1 < attempts) await new Promise((r) => setTimeout(r, 1000));
        }
    }
    throw Object.assign(new Error(`${last!.message} (${attempts} failed attempts)`), { didNotAnswer: true });
}

/**
 * The provider process's open connections, one per machine, login and key: every dynamic resource
 * of a run (staged release, host files, membership) shares it, so a host sees one SSH login for
 * all of them instead of one per step. On `globalThis` because each dynamic provider is
 * deserialized with its own copy of what it captures; the process ends with the engine's run.
 */
function connectionPool(): Map<string, Promise<PooledConnection>> {
    const g = globalThis as unknown as Record<symbol, Map<string, Promise<PooledConnection>>>;
    const key = Symbol.for("etcd-stack.ssh-connections");
    return g[key] ?? (g[key] = new Map());
}

interface PooledConnection { client: Client; /** Closes it and takes it out of the pool. */ discard: () => void }

/** The pooled connection for `conn`, opened on first use; it leaves the pool when it ends or fails. */
function pooledClient(label: string, conn: SshConnection, attempts?: number): Promise<PooledConnection> {
    const pool = connectionPool();
    const key = require("crypto").createHash("sha256").update(JSON.stringify(conn)).digest("hex");
    const found = pool.get(key);
    if (found) return found;
    const opened = connect(label, conn, attempts).then(({ client, close }) => {
        const discard = () => { if (pool.get(key) === opened) pool.delete(key); close(); };
        // A connection that ends (host rebooted, keepalives unanswered) is not handed out again.
        client.on("error", discard).once("close", discard).once("end", discard);
        return { client, discard };
    });
    pool.set(key, opened);
    opened.catch(() => { if (pool.get(key) === opened) pool.delete(key); });
    return opened;
}

/**
 * Hands `work` a connection to `conn` from the process's pool (see connectionPool). A pooled
 * connection found dead when a script's channel would not open is replaced once, and `work` runs
 * again from its start: every script run here is written to be run again (a run that stopped
 * half-way runs them again too), and a channel that did not open ran nothing. With no connection
 * open, it dials `dialAttempts` times (default: the connection's dialErrorLimit; a refresh: readAttempts).
 */
export async function withClient<T>(label: string, conn: SshConnection, work: (client: Client) => Promise<T>, dialAttempts?: number): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        const { client, discard } = await pooledClient(label, conn, dialAttempts);
        try {
            return await work(client);
        } catch (e) {
            if (attempt > 1 || !(e as { notStarted?: boolean }).notStarted) throw e;
            discard();
        }
    }
}

/**
 * Runs `script` as root (sudo -n for another login: asRootShell) with `stdin` (text, or a stream such
 * as a file being sent); resolves with stdout, rejects naming the step.
 */
export function runScript(client: Client, label: string, script: string, stdin: string | NodeJS.ReadableStream): Promise<string> {
    const command = `${asRootShell}\nexec $as_root sh -c ${shq(script)}`;
    return new Promise((resolve, reject) => {
        // A channel that does not open ran nothing on the host: the error says so (withClient may retry).
        const notStarted = (e: Error) => reject(Object.assign(new Error(`${label}: ${e.message}`), { notStarted: true }));
        const opened = (err: Error | undefined, stream: ClientChannel) => {
            if (err) return notStarted(err);
            let out = "";
            let errOut = "";
            stream.on("data", (d: Buffer) => { out += d.toString(); });
            stream.stderr.on("data", (d: Buffer) => { errOut += d.toString(); });
            stream.on("close", (code: number | null) => {
                if (code === 0) resolve(out);
                else reject(new Error(`${label} failed (exit ${code}): ${errOut.trim().split("\n").slice(-15).join("\n")}`));
            });
            if (typeof stdin === "string") stream.end(stdin);
            else {
                const source = stdin as NodeJS.ReadableStream & { destroy?: () => void };
                source.once("error", (e: Error) => { stream.close(); reject(new Error(`${label}: reading what to send: ${e.message}`)); });
                // The host may end the session before all is sent (a script that failed, a lost connection): stop reading then.
                stream.once("close", () => { source.unpipe(stream); source.destroy?.(); });
                stream.on("error", (e: Error) => reject(new Error(`${label}: ${e.message}`)));
                source.pipe(stream);
            }
        };
        try {
            client.exec(command, opened);
        } catch (e) {
            notStarted(e as Error);
        }
    });
}

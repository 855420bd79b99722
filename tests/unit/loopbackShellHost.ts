/**
 * A host on loopback for the dynamic providers' unit tests: an ssh2 server whose exec handler
 * runs the command it receives with `sh -c`, in a temp dir of its own (the host's "disk"), the
 * channel's data as the command's stdin and its stdout, stderr and exit code sent back — what
 * sshd does. Every exec is recorded (command line, stdin as received, exit code), so a test can
 * assert what a provider sent and how it maps the host's answer to its outputs.
 *
 * The command ssh.ts sends is `exec $([ "$(id -u)" = 0 ] || echo sudo -n) sh -c '<script>'`: a
 * `sudo` on the host's PATH that just runs its command lets it run when the tests are not root.
 *
 * Latency: ssh.ts leaves Nagle's algorithm on, and on loopback each script then waits out the
 * other side's delayed ACKs (about 0.1-0.3 s a script on a loaded machine, instead of a few ms).
 * The host turns it off on its side, and opens the connection the providers will share
 * (withClient's pool, keyed by the connection) with it off on the client's side too.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { Server } from "ssh2";
import { SshConnection, withClient } from "../../components/host/ssh";
import { parseableEd25519KeyPair } from "./sshTestKeys";

export interface Exec {
    /** Its place among every host's execs (one counter for all hosts): the order they arrived in. */
    seq: number;
    command: string;
    stdin: Buffer;
    code: number | null;
}

export interface ShellHost {
    /** A connection reaching this host (its host key pinned), trying once. */
    connection: SshConnection;
    /** The host's own directory: its scripts run there, with it as $HOST_DIR. */
    dir: string;
    /** The host key line it presents, `ssh-ed25519 AAAA…`. */
    hostKey: string;
    execs: Exec[];
    /** Logins since the host started or was last reset. */
    logins: () => number;
    /** Forgets its execs and logins and empties its disk; connections stay open (and pooled). */
    reset: () => void;
    close: () => void;
}

const userKey = parseableEd25519KeyPair();
let execCount = 0;

/** The `user:group` files created by this process get: what the host's scripts may `chown` to. */
export const localOwner = (() => {
    const probe = fs.mkdtempSync(path.join(os.tmpdir(), "owner-"));
    try {
        return execFileSync("stat", ["-c", "%U:%G", probe]).toString().trim();
    } finally {
        fs.rmSync(probe, { recursive: true, force: true });
    }
})();

/** A host named `name` (its $HOST_NAME), with `env` for its scripts. */
export async function shellHost(name = "host", env: Record<string, string> = {}): Promise<ShellHost> {
    const hostKey = parseableEd25519KeyPair();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `loopback-${name}-`));
    const bin = path.join(dir, ".bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "sudo"), `#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n`, { mode: 0o755 });
    const execs: Exec[] = [];
    const clients: Array<{ end: () => void }> = [];
    const children: ChildProcess[] = [];
    let logins = 0;
    let loginsBefore = 0;
    const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
        (client as unknown as { setNoDelay: (on: boolean) => void }).setNoDelay(true); // ssh2 has it; its types do not
        client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
        client.on("ready", () => {
            logins++;
            clients.push(client);
            client.on("session", (accept) => {
                accept().on("exec", (acceptExec, _reject, info) => {
                    const stream = acceptExec();
                    const record: Exec = { seq: ++execCount, command: info.command, stdin: Buffer.alloc(0), code: null };
                    execs.push(record);
                    const received: Buffer[] = [];
                    const child = spawn("sh", ["-c", info.command], {
                        cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOST_DIR: dir, HOST_NAME: name, ...env },
                    });
                    children.push(child);
                    child.stdin.on("error", () => undefined); // a script that does not read all of its stdin
                    stream.on("data", (d: Buffer) => { received.push(d); child.stdin.write(d); });
                    stream.on("end", () => { record.stdin = Buffer.concat(received); child.stdin.end(); });
                    child.stdout.on("data", (d: Buffer) => stream.write(d));
                    child.stderr.on("data", (d: Buffer) => stream.stderr.write(d));
                    child.on("close", (code) => {
                        record.stdin = Buffer.concat(received);
                        record.code = code;
                        stream.exit(code ?? 255);
                        stream.end();
                    });
                });
            });
        });
        client.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const connection: SshConnection = {
        host: "127.0.0.1", port: (server.address() as AddressInfo).port, user: "root",
        privateKey: userKey.private, hostKey: hostKey.public.trim(), dialErrorLimit: 1, perDialTimeout: 5,
    };
    await openFast(connection);
    return {
        connection, dir, hostKey: hostKey.public.trim(), execs, logins: () => logins - loginsBefore,
        reset: () => {
            execs.splice(0);
            loginsBefore = logins;
            for (const entry of fs.readdirSync(dir)) if (entry !== ".bin") fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
        },
        close: () => {
            children.forEach((c) => c.exitCode === null && c.kill());
            clients.forEach((c) => c.end());
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** Hosts started in a test, closed after it. */
export function hostsPerTest(): (name?: string, env?: Record<string, string>) => Promise<ShellHost> {
    const open: ShellHost[] = [];
    afterEach(() => open.splice(0).forEach((h) => h.close()));
    return async (name, env) => {
        const h = await shellHost(name, env);
        open.push(h);
        return h;
    };
}

/**
 * Hosts for the tests of a describe block, started on first use and reset before each test (the
 * first host a test asks for is the same one in every test, and so on): fewer SSH handshakes.
 */
export function hostsPerDescribe(): () => Promise<ShellHost> {
    const made: ShellHost[] = [];
    let used = 0;
    beforeEach(() => { used = 0; made.forEach((h) => h.reset()); });
    after(() => made.splice(0).forEach((h) => h.close()));
    return async () => {
        if (used === made.length) made.push(await shellHost());
        return made[used++];
    };
}

/** The script a recorded command runs (ssh.ts quotes it into `sh -c '…'`). */
export function scriptOf(command: string): string {
    const m = /sh -c '([\s\S]*)'$/.exec(command);
    if (!m) throw new Error(`not a command ssh.ts sends: ${command.slice(0, 80)}`);
    return m[1].replace(/'"'"'/g, "'");
}

/** Opens the pooled connection for `conn` (see withClient) with Nagle's algorithm off: the later steps to it are not held back. */
export function openFast(conn: SshConnection): Promise<void> {
    return withClient("loopback", conn, async (client) => { client.setNoDelay(true); });
}

/** A loopback port nothing listens on (a host that is down: connecting is refused at once). */
export async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    return port;
}

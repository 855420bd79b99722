/**
 * components/host/ssh.ts beyond the pooled happy path: what `runScript` actually runs (a script with
 * quotes reaches `sh -c` intact, as root directly and through `sudo -n` for another login), how a
 * failed script is reported (its exit code, the last 15 lines of its stderr), and how `connect`
 * retries: a host that does not answer is tried `dialErrorLimit` times (at least once) a second
 * apart, a refused login is never retried.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import { EventEmitter } from "events";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { Client } from "ssh2";
import { Server } from "ssh2";
import { SshConnection, connect, machineIdentity, runScript, sameMachine, withClient } from "../../../components/host/ssh";
import { asRootShell } from "../../../components/shell/script";
import { hostsPerTest, scriptOf } from "../loopbackShellHost";
import { connectConfigOf } from "../stubbedConnect";
import { parseableEd25519KeyPair } from "../sshTestKeys";

/** A dir holding a fake `sudo` that drops `-n` and runs the rest (for a run as another user than root). */
let sudoDir: string;

/** A client whose exec records the command and runs it with local sh (or fails as told). */
function localClient(opts: { execThrows?: Error; execError?: Error; stderr?: string; code?: number; uid?: number; sudo?: "password" } = {}) {
    const commands: string[] = [];
    const client = {
        exec(command: string, callback: (err: Error | undefined, stream: unknown) => void) {
            commands.push(command);
            if (opts.execThrows) throw opts.execThrows;
            if (opts.execError) return callback(opts.execError, undefined);
            const channel = new EventEmitter() as EventEmitter & { stderr: EventEmitter; end: (s: string) => void; close: () => void };
            channel.stderr = new EventEmitter();
            channel.close = () => undefined;
            channel.end = (stdin: string) => {
                if (opts.code !== undefined) {
                    setImmediate(() => { channel.stderr.emit("data", Buffer.from(opts.stderr ?? "")); channel.emit("close", opts.code); });
                    return;
                }
                const child = spawn("sh", ["-c", command], { env: { PATH: `${sudoDir}:${process.env.PATH ?? "/usr/bin:/bin"}`, FAKE_UID: String(opts.uid ?? 0), FAKE_SUDO: opts.sudo ?? "" } });
                child.stdout.on("data", (d: Buffer) => channel.emit("data", d));
                child.stderr.on("data", (d: Buffer) => channel.stderr.emit("data", d));
                child.on("close", (code) => channel.emit("close", code));
                // A script that exits without reading its stdin closes the pipe: EPIPE here is that, not
                // a failure (unhandled, it failed a full unit run twice on a busy machine).
                child.stdin.on("error", () => undefined);
                child.stdin.end(stdin);
            };
            callback(undefined, channel);
        },
    } as unknown as Client;
    return { client, commands };
}

describe("ssh: runScript runs the script as given, and reports a failure by its code and last lines", function () {
    this.timeout(20_000);
    before(() => {
        sudoDir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-sudo-"));
        // sudo records its arguments and runs the rest; id answers $FAKE_UID for `id -u`.
        // With $FAKE_SUDO=password, sudo -n answers as for a login whose rule asks for a password.
        fs.writeFileSync(path.join(sudoDir, "sudo"), `#!/bin/sh\n[ "$FAKE_SUDO" != password ] || { echo "sudo: a password is required" >&2; exit 1; }\n` +
            `echo "$*" >> '${path.join(sudoDir, "sudo.log")}'\n[ "$1" = -n ] || exit 97\nshift\nexec "$@"\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(sudoDir, "id"), `#!/bin/sh\ncase "$1" in -u) echo "$FAKE_UID" ;; -un) echo deploy ;; esac\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(sudoDir, "uname"), `#!/bin/sh\n[ "$1" = -n ] && echo lab2\n`, { mode: 0o755 });
    });
    after(() => fs.rmSync(sudoDir, { recursive: true, force: true }));

    it("a script with quotes, $ and newlines reaches sh -c intact, with stdin; the command asks sudo -n only when not root", async () => {
        const { client, commands } = localClient();
        const script = `x='it'"'"'s'; echo "$x \\$HOME"\nread line; echo "got $line"; printf '%s\\n' 'a  b'`;
        const out = await runScript(client, "lab-1 step", script, "hello there\n");
        assert.equal(out, "it's $HOME\ngot hello there\na  b\n");
        assert.equal(commands.length, 1);
        assert.ok(commands[0].startsWith(`${asRootShell}\nexec $as_root sh -c '`), commands[0]);
        assert.equal(scriptOf(commands[0]), script);
    });

    it("for another login than root the script runs through sudo -n (never a password prompt); as root without sudo", async () => {
        const log = path.join(sudoDir, "sudo.log");
        fs.rmSync(log, { force: true });
        assert.equal(await runScript(localClient({ uid: 0 }).client, "as root", "echo 'one two'", ""), "one two\n");
        assert.equal(fs.existsSync(log), false, "no sudo as root");
        assert.equal(await runScript(localClient({ uid: 1000 }).client, "as deploy", "echo 'one two'", ""), "one two\n");
        assert.equal(fs.readFileSync(log, "utf8"), "-n true\n-n sh -c echo 'one two'\n");
    });

    it("a login whose sudo asks for a password fails before the script runs, naming the login, the host and what to configure", async () => {
        const marker = path.join(sudoDir, "ran");
        const e = await runScript(localClient({ uid: 1000, sudo: "password" }).client, "lab-2 prepare", `touch '${marker}'`, "").then(() => undefined, (err: Error) => err);
        assert.equal(e?.message, "lab-2 prepare failed (exit 1): etcd-stack: the login deploy on lab2 cannot run commands as root without a password " +
            "(sudo -n failed): give it passwordless sudo (a NOPASSWD rule in /etc/sudoers.d) or log in as root");
        assert.equal(fs.existsSync(marker), false, "the script never ran");
    });

    it("a script that exits non-zero fails naming the step, its exit code and the last 15 lines of its stderr", async () => {
        const stderr = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join("\n") + "\n\n";
        const { client } = localClient({ code: 3, stderr });
        const e = await runScript(client, "lab-2 join", "exit 3", "").then(() => undefined, (err: Error) => err);
        assert.ok(e);
        assert.equal(e.message, `lab-2 join failed (exit 3): ${Array.from({ length: 15 }, (_, i) => `line ${i + 6}`).join("\n")}`);
        assert.equal((e as { notStarted?: boolean }).notStarted, undefined, "it ran: withClient must not run it again");
    });

    it("exit 0 resolves with stdout even when stderr has lines", async () => {
        const { client } = localClient();
        assert.equal(await runScript(client, "s", "echo warn >&2; echo out", ""), "out\n");
    });

    it("a channel that does not open, or an exec that throws, ran nothing: the error names the step and says notStarted", async () => {
        for (const opts of [{ execError: new Error("channel open failure") }, { execThrows: new Error("No response from server") }]) {
            const { client } = localClient(opts);
            const e = await runScript(client, "lab-3 files", "true", "").then(() => undefined, (err: Error) => err);
            assert.ok(e);
            assert.equal(e.message, `lab-3 files: ${(opts.execError ?? opts.execThrows)!.message}`);
            assert.equal((e as { notStarted?: boolean }).notStarted, true);
        }
    });
});

describe("ssh: connect tries a silent host dialErrorLimit times, never a refused login", function () {
    this.timeout(30_000);
    const hosts = hostsPerTest();

    /** A port on loopback that nothing listens on (a listener opened and closed). */
    async function deadPort(): Promise<number> {
        const s = net.createServer();
        await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
        const port = (s.address() as net.AddressInfo).port;
        await new Promise<void>((r) => s.close(() => r()));
        return port;
    }

    it("no answer: dialErrorLimit attempts a second apart, then one error naming the step, the address and the count", async () => {
        const port = await deadPort();
        const started = Date.now();
        await assert.rejects(connect("lab-1", { host: "127.0.0.1", port, dialErrorLimit: 3, perDialTimeout: 2 }),
            (e: Error) => { assert.match(e.message, new RegExp(`^lab-1: 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\(3 failed attempts\\)$`)); return true; });
        const took = Date.now() - started;
        assert.ok(took >= 1900 && took < 8000, `3 attempts, 2 pauses of 1 s: took ${took} ms`);
    });

    it("a limit of 0 or less still tries once, without a pause", async () => {
        const port = await deadPort();
        for (const dialErrorLimit of [0, -2]) {
            const started = Date.now();
            await assert.rejects(connect("lab-1", { host: "127.0.0.1", port, dialErrorLimit, perDialTimeout: 2 }), /\(1 failed attempts\)$/);
            assert.ok(Date.now() - started < 900, "no pause after the last attempt");
        }
    });

    it("a refused login fails at once, not retried (authentication)", async () => {
        const hostKey = parseableEd25519KeyPair();
        let logins = 0;
        const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
            client.on("authentication", (ctx) => { logins++; ctx.reject([]); });
            client.on("error", () => undefined);
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const port = (server.address() as net.AddressInfo).port;
            const conn: SshConnection = { host: "127.0.0.1", port, user: "nobody-here", privateKey: parseableEd25519KeyPair().private,
                hostKey: hostKey.public.trim(), dialErrorLimit: 5, perDialTimeout: 5 };
            const started = Date.now();
            await assert.rejects(connect("lab-2", conn), (e: Error) => {
                assert.match(e.message, new RegExp(`^lab-2: 127\\.0\\.0\\.1:${port}: All configured authentication methods failed$`));
                return true;
            });
            assert.ok(Date.now() - started < 900, "no retry pause");
            assert.ok(logins >= 1 && logins <= 2, `one connection's attempts only: ${logins}`);
        } finally {
            server.close();
        }
    });

    it("a host that answers: a client whose close ends the connection (the host sees the session end)", async () => {
        const host = await hosts("lab-3");
        const before = host.logins();
        const { client, close } = await connect("lab-3", { ...host.connection, user: "another" });
        assert.equal(host.logins(), before + 1);
        const ended = new Promise<void>((r) => client.once("close", () => r()));
        close();
        await ended;
    });
});

describe("ssh: which machine a connection reaches", () => {
    const c: SshConnection = { host: "10.0.0.1", port: 22, user: "root", privateKey: "K", hostKey: "ssh-ed25519 A", proxy: { host: "10.0.0.9", port: 2222, user: "j", hostKey: "ssh-ed25519 B" } };
    it("is address, port, pinned key and the bastion's address, port and key; not the login or key", () => {
        assert.deepEqual(machineIdentity(c), ["10.0.0.1", 22, "ssh-ed25519 A", "10.0.0.9", 2222, "ssh-ed25519 B"]);
        assert.deepEqual(machineIdentity({ host: "h" }), ["h", undefined, undefined, undefined, undefined, undefined]);
        assert.ok(sameMachine(c, { ...c, user: "other", privateKey: "K2", perDialTimeout: 3, proxy: { ...c.proxy!, user: "x", privateKey: "P" } }));
        for (const other of [{ host: "10.0.0.2" }, { port: 2200 }, { hostKey: "ssh-ed25519 C" }, { proxy: { ...c.proxy!, host: "10.0.0.8" } },
            { proxy: { ...c.proxy!, port: 22 } }, { proxy: { ...c.proxy!, hostKey: "ssh-ed25519 D" } }, { proxy: undefined }]) {
            assert.ok(!sameMachine(c, { ...c, ...other }), JSON.stringify(other));
        }
    });
});

/** An ssh2 server on loopback: counts TCP connections and logins, records user names; may refuse logins, channels or forwarding. */
async function countingHost(opts: { refuseLogins?: number; refuseChannels?: boolean; refuseForward?: boolean } = {}) {
    const key = parseableEd25519KeyPair();
    const stats = { tcp: 0, logins: 0, users: [] as string[], channels: 0, forwards: 0 };
    let refused = 0;
    const clients: Array<{ end: () => void }> = [];
    const server = new Server({ hostKeys: [key.private] }, (client) => {
        clients.push(client);
        client.on("authentication", (ctx) => {
            if (ctx.method !== "publickey") return ctx.reject(["publickey"]);
            if (refused < (opts.refuseLogins ?? 0)) { refused++; return ctx.reject([]); }
            stats.users.push(ctx.username);
            ctx.accept();
        });
        client.on("ready", () => {
            stats.logins++;
            client.on("session", (accept, reject) => {
                stats.channels++;
                if (opts.refuseChannels) return reject();
                accept().on("exec", (acceptExec) => { const st = acceptExec(); st.write("ran\n"); st.exit(0); st.end(); });
            });
            client.on("tcpip", (_accept, reject) => { stats.forwards++; reject(); });
        });
        client.on("error", () => undefined);
    });
    server.on("connection", () => { stats.tcp++; });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const connection: SshConnection = { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, privateKey: userKey.private,
        hostKey: key.public.trim(), dialErrorLimit: 1, perDialTimeout: 5 };
    return { connection, stats, close: () => { clients.forEach((c) => c.end()); server.close(); } };
}
const userKey = parseableEd25519KeyPair();

describe("ssh: logins, timeouts and retries against hosts on loopback (mutation killers)", function () {
    this.timeout(30_000);
    const open: Array<{ close: () => void }> = [];
    afterEach(() => open.splice(0).forEach((h) => h.close()));
    const host = async (opts?: Parameters<typeof countingHost>[0]) => { const h = await countingHost(opts); open.push(h); return h; };

    it("without a user the login is root's", async () => {
        const h = await host();
        const { close } = await connect("lab-1", { ...h.connection, user: undefined });
        close();
        assert.deepEqual([...new Set(h.stats.users)], ["root"]);
    });

    it("a host that takes the TCP connection but never speaks SSH fails after perDialTimeout seconds, not the default 10", async () => {
        // The client ends the connection itself when it gives up (ssh.ts's fail ends it).
        const silent = net.createServer(() => undefined);
        await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
        try {
            const started = Date.now();
            await assert.rejects(connect("lab-2", { host: "127.0.0.1", port: (silent.address() as net.AddressInfo).port, dialErrorLimit: 1, perDialTimeout: 1 }),
                /^Error: lab-2: 127\.0\.0\.1:\d+: Timed out while waiting for handshake \(1 failed attempts\)$/);
            const took = Date.now() - started;
            assert.ok(took >= 900 && took < 5000, `took ${took} ms`);
        } finally {
            silent.close();
        }
    });

    it("exactly dialErrorLimit attempts reach a host that drops every connection", async () => {
        let tcp = 0;
        const dropping = net.createServer((sock) => { tcp++; sock.destroy(); });
        await new Promise<void>((r) => dropping.listen(0, "127.0.0.1", r));
        try {
            await assert.rejects(connect("lab-3", { host: "127.0.0.1", port: (dropping.address() as net.AddressInfo).port, dialErrorLimit: 2, perDialTimeout: 2 }),
                /\(2 failed attempts\)$/);
            assert.equal(tcp, 2);
        } finally {
            dropping.close();
        }
    });

    it("a failed connection leaves the pool: the next step connects anew (a login refused once, then taken)", async () => {
        const h = await host({ refuseLogins: 1 });
        await assert.rejects(withClient("lab-4", h.connection, async () => "never"), /authentication methods failed/);
        assert.equal(await withClient("lab-4", h.connection, (c) => runScript(c, "lab-4 step", "true", "")), "ran\n");
        assert.equal(h.stats.tcp, 2);
    });

    it("a host whose channels never open: one retry on a new connection, then the step fails (no endless retry)", async () => {
        const h = await host({ refuseChannels: true });
        await assert.rejects(withClient("lab-5", h.connection, (c) => runScript(c, "lab-5 step", "true", "")),
            (e: Error & { notStarted?: boolean }) => { assert.match(e.message, /^lab-5 step: /); assert.equal(e.notStarted, true); return true; });
        assert.deepEqual({ logins: h.stats.logins, channels: h.stats.channels }, { logins: 2, channels: 2 });
    });

    it("a bastion that refuses to forward: the member is never dialled, the error says through the bastion", async () => {
        const bastion = await host();
        const member = await host();
        const { hostKey, port } = member.connection;
        await assert.rejects(connect("lab-6", { host: "127.0.0.1", port, hostKey, privateKey: userKey.private, dialErrorLimit: 1, perDialTimeout: 5,
            proxy: { host: "127.0.0.1", port: bastion.connection.port, hostKey: bastion.connection.hostKey, privateKey: userKey.private } }),
            new RegExp(`^Error: lab-6: 127\\.0\\.0\\.1:${port}: through the bastion: .* \\(1 failed attempts\\)$`));
        assert.equal(bastion.stats.forwards, 1);
        assert.equal(member.stats.tcp, 0);
    });
});

describe("ssh: the host key types offered for a pin (ssh2 connect stubbed: nothing dialled)", () => {
    async function offered(hostKey: string): Promise<string[] | undefined> {
        return (await connectConfigOf({ host: "10.0.0.1", hostKey, privateKey: userKey.private })).algorithms?.serverHostKey;
    }

    it("an ssh-rsa pin offers the RSA signatures strongest first; an rsa-sha2 pin only its own; others their type", async () => {
        assert.deepEqual(await offered("ssh-rsa AAAAB3NzaC1yc2E="), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
        assert.deepEqual(await offered("rsa-sha2-512 AAAAB3NzaC1yc2E="), ["rsa-sha2-512"]);
        assert.deepEqual(await offered("rsa-sha2-256 AAAAB3NzaC1yc2E="), ["rsa-sha2-256"]);
        assert.deepEqual(await offered("ecdsa-sha2-nistp256 AAAA"), ["ecdsa-sha2-nistp256"]);
    });
});

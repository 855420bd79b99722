/**
 * runScript's handling of what it sends: a channel stands in for the host, which may end the session early.
 * withClient's shared connections: an ssh2 server on loopback stands in for the host and counts its logins.
 */
import { strict as assert } from "assert";
import { EventEmitter } from "events";
import { Readable, Writable } from "stream";
import type { Client } from "ssh2";
import { AddressInfo } from "net";
import { Server } from "ssh2";
import { SshConnection, runScript, withClient } from "../../../components/host/ssh";
import { parseableEd25519KeyPair } from "../sshTestKeys";

/** A channel that takes `accept` bytes of stdin, then closes with `code` (as a host whose script ended). */
function fakeClient(accept: number, code: number): { client: Client; received: () => number } {
    let received = 0;
    const client = {
        exec(_command: string, callback: (err: Error | undefined, stream: unknown) => void) {
            const channel = new Writable({
                write(chunk: Buffer, _enc, done) {
                    received += chunk.length;
                    if (received >= accept && !closed) {
                        closed = true;
                        (channel as unknown as { stderr: EventEmitter }).stderr.emit("data", Buffer.from("checksum mismatch\n"));
                        setImmediate(() => channel.emit("close", code));
                    }
                    done();
                },
            });
            let closed = false;
            Object.assign(channel, { stderr: new EventEmitter(), close: () => undefined });
            callback(undefined, channel);
        },
    } as unknown as Client;
    return { client, received: () => received };
}

/** A source that never ends by itself: only a reader that stops piping lets it go. */
function endless(): Readable & { reads: number } {
    const source = new Readable({
        read() {
            source.reads++;
            setImmediate(() => this.push(Buffer.alloc(64 * 1024)));
        },
    }) as Readable & { reads: number };
    source.reads = 0;
    return source;
}

describe("ssh: runScript with a stream on stdin", () => {
    it("a host that ends the session early fails the step with its message, and the source stops being read", async () => {
        const { client, received } = fakeClient(256 * 1024, 1);
        const source = endless();
        await assert.rejects(runScript(client, "lab-1 tarball", "cat > /dev/null", source), /^Error: lab-1 tarball failed \(exit 1\): checksum mismatch$/);
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(source.destroyed, "the source was released");
        const reads = source.reads;
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(source.reads, reads, "nothing is read after the session ended");
        assert.ok(received() >= 256 * 1024);
    });

    it("a source that cannot be read fails the step naming it", async () => {
        const { client } = fakeClient(Number.MAX_SAFE_INTEGER, 0);
        const source = new Readable({ read() { this.destroy(new Error("ENOENT: no such file, open '/nowhere/etcd.tar.gz'")); } });
        await assert.rejects(runScript(client, "lab-1 tarball", "cat > /dev/null", source), /lab-1 tarball: reading what to send: ENOENT: no such file/);
    });
});

/** An SSH server on loopback that runs nothing: every exec prints "ran script" and exits 0. */
async function loopbackHost(opts: { refuseFirstChannel?: boolean } = {}) {
    // Fresh keys each time, but only ones ssh2 can parse (its generator sometimes makes others).
    const hostKey = parseableEd25519KeyPair();
    const userKey = parseableEd25519KeyPair();
    const stats = { logins: 0, execs: 0, refused: 0, clients: [] as Array<{ end: () => void }> };
    const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
        client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
        client.on("ready", () => {
            stats.logins++;
            stats.clients.push(client);
            client.on("session", (accept, reject) => {
                if (opts.refuseFirstChannel && stats.refused === 0) { stats.refused++; return reject(); }
                accept().on("exec", (acceptExec) => {
                    stats.execs++;
                    const stream = acceptExec();
                    stream.write("ran script\n");
                    stream.exit(0);
                    stream.end();
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
    return { connection, stats, close: () => { stats.clients.forEach((c) => c.end()); server.close(); } };
}

describe("ssh: withClient shares one connection per host and login", () => {
    it("steps on the same host, one after another and at once, log in once", async () => {
        const host = await loopbackHost();
        try {
            const run = () => withClient("lab-1 files", host.connection, (c) => runScript(c, "lab-1 files write", "true", ""));
            assert.equal(await run(), "ran script\n");
            await Promise.all([run(), run(), run()]);
            assert.equal(host.stats.execs, 4);
            assert.equal(host.stats.logins, 1);
            // Another login to the same machine is another connection.
            await withClient("lab-1 files", { ...host.connection, user: "deploy" }, (c) => runScript(c, "lab-1 as deploy", "true", ""));
            assert.equal(host.stats.logins, 2);
        } finally {
            host.close();
        }
    });

    it("a connection the host ended is not handed out again: the next step logs in anew", async () => {
        const host = await loopbackHost();
        try {
            await withClient("lab-2 files", host.connection, (c) => runScript(c, "lab-2 files write", "true", ""));
            host.stats.clients.forEach((c) => c.end());
            await new Promise((r) => setTimeout(r, 200));
            await withClient("lab-2 config", host.connection, (c) => runScript(c, "lab-2 config write", "true", ""));
            assert.equal(host.stats.logins, 2);
            assert.equal(host.stats.execs, 2);
        } finally {
            host.close();
        }
    });

    it("a step whose channel does not open ran nothing, and runs once on a new connection", async () => {
        const host = await loopbackHost({ refuseFirstChannel: true });
        try {
            const out = await withClient("lab-3 files", host.connection, (c) => runScript(c, "lab-3 files write", "true", ""));
            assert.equal(out, "ran script\n");
            assert.deepEqual({ refused: host.stats.refused, logins: host.stats.logins, execs: host.stats.execs }, { refused: 1, logins: 2, execs: 1 });
        } finally {
            host.close();
        }
    });

    it("a script that fails is not run again", async () => {
        const host = await loopbackHost();
        try {
            await assert.rejects(withClient("lab-4 files", host.connection, async (c) => {
                await runScript(c, "lab-4 files write", "true", "");
                throw new Error("lab-4 files write failed (exit 1): disk full");
            }), /disk full/);
            assert.equal(host.stats.execs, 1);
        } finally {
            host.close();
        }
    });
});

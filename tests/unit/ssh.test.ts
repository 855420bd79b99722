/** runScript's handling of what it sends: a channel stands in for the host, which may end the session early. */
import { strict as assert } from "assert";
import { EventEmitter } from "events";
import { Readable, Writable } from "stream";
import type { Client } from "ssh2";
import { runScript } from "../../components/ssh";

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

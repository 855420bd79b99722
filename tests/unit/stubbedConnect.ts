/** What components/host/ssh.ts's openClient hands ssh2, read with ssh2's connect stubbed: nothing is dialled. */
import { strict as assert } from "assert";
import { Client } from "ssh2";
import { SshConnection, openClient } from "../../components/host/ssh";

/** The ConnectConfig openClient gives ssh2 for `connection` (ssh2 answers "not dialled", as a failed dial). */
export async function connectConfigOf(connection: SshConnection): Promise<Record<string, any>> {
    const proto = Client.prototype as unknown as { connect: (cfg: Record<string, any>) => unknown };
    const real = proto.connect;
    let seen: Record<string, any> | undefined;
    proto.connect = function (this: Client, cfg: Record<string, any>) {
        seen = cfg;
        setImmediate(() => this.emit("error", new Error("not dialled")));
        return this;
    };
    try {
        await assert.rejects(openClient("lab-1", connection, 1000), /not dialled/);
    } finally {
        proto.connect = real;
    }
    assert.ok(seen, "openClient never called ssh2's connect");
    return seen;
}

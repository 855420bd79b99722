/**
 * The real engine runs the real program: a bad stack config fails `pulumi preview`
 * with one message listing every problem, before any resource is registered
 * (so nothing can be touched on any host).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineUnavailable, scratchStack } from "./engine";
import { skipIf } from "../skip";

describe("engine: stack config validation with the real Pulumi engine", function () {
    this.timeout(180_000);
    let keyPath = "";

    before(function () {
        skipIf(this, engineUnavailable());
        keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-key-")), "id");
        fs.writeFileSync(keyPath, "not used: validation fails first\n", { mode: 0o600 });
    });

    after(() => {
        if (keyPath) fs.rmSync(path.dirname(keyPath), { recursive: true, force: true });
    });

    it("fails preview with every problem listed and registers nothing", async () => {
        fs.rmSync("/tmp/etcd-stack-sentinel", { force: true });
        const scratch = await scratchStack("invalid", {
            clusterName: "Bad_Name",
            version: "3.4.1",
            members: [
                { name: "a", address: "10.0.0.1" },
                { name: "a", address: "10.0.0.1" },
                { name: "-c", address: "300.1.1.1" },
                // A value spliced into a script is code: refused before anything runs (issue 25, item 4).
                { name: "d", address: "10.0.0.4", sshHost: "$(touch${IFS}/tmp/etcd-stack-sentinel)" },
            ],
            snapshots: { onCalendar: "$(touch${IFS}/tmp/etcd-stack-sentinel)", keep: 3 },
            sshPrivateKeyPath: keyPath,
            binary: { localTarball: "/nonexistent/etcd.tar.gz" },
            ports: { client: 2379, peer: 2379 },
            protectCa: "maybe",
        });
        try {
            const events: string[] = [];
            let error: Error | undefined;
            try {
                await scratch.stack.preview({ onEvent: (e) => { if (e.resourcePreEvent) events.push(e.resourcePreEvent.metadata.type); } });
            } catch (e) {
                error = e as Error;
            }
            assert.ok(error, "preview must fail on an invalid config");
            const text = String(error.message);
            const expected = [
                /invalid etcd stack config \(17 problems\)/,
                /clusterName "Bad_Name" must be a lowercase DNS label/,
                /version: etcd 3\.4 is not supported/,
                /members: 4 members, an even count: .*; use 3, 5 or 7, or set etcd:allowEvenMembers: true to run 4 on purpose/,
                /duplicate member name "a"/,
                /duplicate address "10\.0\.0\.1"/,
                /members\[2\] \(-c\): name must be a lowercase DNS label/,
                /address "300\.1\.1\.1" is not an IPv4 or IPv6 address/,
                /client and peer both use port 2379/,
                /file "\/nonexistent\/etcd\.tar\.gz" does not exist/,
                /protectCa: must be true or false/,
                /members\[3\] \(d\): sshHost "\$\(touch\$\{IFS\}\/tmp\/etcd-stack-sentinel\)" is neither a host name nor an IP address/,
                /members\[3\] \(d\): no SSH host key for /,
                /snapshots\.onCalendar: "\$\(touch\$\{IFS\}\/tmp\/etcd-stack-sentinel\)" is not a systemd calendar expression/,
            ];
            for (const re of expected) assert.match(text, re);
            assert.ok(!fs.existsSync("/tmp/etcd-stack-sentinel"), "a hostile value ran as a command");
            // The operator sees the problems, not the program's stack trace.
            assert.doesNotMatch(text, /at readStackInputs/);
            // Only the stack itself was ever announced: no component, no provider, no command.
            assert.deepStrictEqual(events.filter((t) => t !== "pulumi:pulumi:Stack"), []);
        } finally {
            await scratch.dispose();
        }
    });
});

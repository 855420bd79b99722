/**
 * The real engine and the real tls provider on certificate renewal (no host involved): a member's
 * certificates are created, then time is moved on by moving their expiry in the state (nothing
 * else can bring a certificate into its renewal window in a test). A preview then shows exactly
 * the certificate inside `certRenewBeforeHours` of its expiry replaced, and the one outside it
 * not; an `up` re-issues it with a full new validity. On hosts, a replaced certificate rolls its
 * member like any certificate change (tests/lab/cluster.test.ts, "new certificates"). The
 * `certificates` stack output follows both `up`s: the real dates and fingerprint of what the state holds.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ScratchStack, StepLog, engineUnavailable, scratchStack } from "./engine";
import { fixtureHostKeys } from "../unit/fixtures";
import { skipIf } from "../skip";

describe("engine: certificates re-issued inside their renewal window (real tls provider)", function () {
    this.timeout(300_000);
    let keyDir = "";
    let scratch: ScratchStack;
    // Only the cluster component, the CA and lab-1's certificates: what renewal is about.
    const targets = ["**etcd:index:Cluster::etcd", "**::etcd-ca*", "**::m-1-certs*"];
    const validityHours = 48;
    const renewBeforeHours = 12;

    before(async function () {
        skipIf(this, engineUnavailable());
        keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-renewal-"));
        fs.writeFileSync(path.join(keyDir, "id"), "not used: no host is reached\n", { mode: 0o600 });
        scratch = await scratchStack("renew", {
            clusterName: "renew",
            version: "3.6.16",
            // TEST-NET-1: documentation addresses that route nowhere.
            members: [1, 2, 3].map((i) => ({ name: `m-${i}`, address: `192.0.2.${10 + i}`, hostKey: fixtureHostKeys[i - 1] })),
            sshPrivateKeyPath: path.join(keyDir, "id"),
            binary: { url: "https://mirror.example/etcd-v{version}-linux-{arch}.tar.gz", sha256: { amd64: "a".repeat(64) } },
            certValidityHours: validityHours,
            certRenewBeforeHours: renewBeforeHours,
            protectCa: false,
        });
        const up = scratch.cli(["up", "--yes", "--skip-preview", ...targets.flatMap((t) => ["--target", t])]);
        assert.strictEqual(up.code, 0, up.stdout + up.stderr);
    });

    after(async () => {
        await scratch?.dispose();
        if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
    });

    /** lab-1's certificate `kind` ("server" or "peer") as the state holds it. */
    function certificate(kind: string): { notAfter: number; pem: string } {
        const exported = scratch.cli(["stack", "export"]);
        assert.strictEqual(exported.code, 0, exported.stderr);
        const r = JSON.parse(exported.stdout).deployment.resources.find((x: { urn: string }) => x.urn.endsWith(`::m-1-certs-${kind}-cert`));
        assert.ok(r, `no m-1-certs-${kind}-cert in the state`);
        return { notAfter: Date.parse(r.outputs.validityEndTime), pem: r.outputs.certPem };
    }

    /** The `certificates` stack output, as `pulumi stack output --json certificates` prints it. */
    function certificatesOutput(): Record<string, { notAfter: string; renewFrom: string; sha256Fingerprint: string; renewal: string } | undefined> {
        const out = scratch.cli(["stack", "output", "--json", "certificates"]);
        assert.strictEqual(out.code, 0, out.stdout + out.stderr);
        return JSON.parse(out.stdout);
    }

    /** The output's entry for lab-1's certificate `kind`: the state's expiry and certificate, the window renewBeforeHours wide. */
    function assertOutputHolds(kind: string, cert: { notAfter: number; pem: string }): void {
        const entry = certificatesOutput()[`member/m-1/${kind}`];
        assert.ok(entry, `no member/m-1/${kind} in the certificates output`);
        // The state's validityEndTime has fractions of a second; the certificate (and the output) whole seconds.
        assert.strictEqual(Date.parse(entry.notAfter), Math.floor(cert.notAfter / 1000) * 1000, "notAfter is the state's validityEndTime");
        assert.strictEqual(Date.parse(entry.notAfter), Date.parse(new crypto.X509Certificate(cert.pem).validTo), "and the certificate's own not-after");
        assert.strictEqual(Date.parse(entry.renewFrom), Date.parse(entry.notAfter) - renewBeforeHours * 3600_000);
        assert.strictEqual(entry.sha256Fingerprint, new crypto.X509Certificate(cert.pem).fingerprint256);
        assert.strictEqual(entry.renewal, "up");
    }

    it("a certificate within certRenewBeforeHours of its expiry previews as replaced, and up re-issues it; one outside the window stays", async () => {
        const before = { server: certificate("server"), peer: certificate("peer") };
        const hour = 3600_000;
        assert.ok(Math.abs(before.server.notAfter - Date.now() - validityHours * hour) < hour, "issued for certValidityHours");
        assertOutputHolds("server", before.server);
        assertOutputHolds("peer", before.peer);

        // Nothing is due yet: a preview of the same targets changes nothing.
        const quiet = new StepLog();
        await scratch.stack.preview({ target: targets, onEvent: quiet.onEvent });
        assert.deepStrictEqual(quiet.changed(), []);

        // 40 hours later, as the state sees it: the server certificate expires in 8 hours (inside the
        // 12-hour window); the peer certificate is moved to 20 hours before expiry (outside it).
        const state = await scratch.stack.exportStack();
        const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
        for (const r of state.deployment.resources as Array<{ urn: string; outputs: Record<string, unknown> }>) {
            if (r.urn.endsWith("::m-1-certs-server-cert")) r.outputs.validityEndTime = at(Date.now() + 8 * hour);
            if (r.urn.endsWith("::m-1-certs-peer-cert")) r.outputs.validityEndTime = at(Date.now() + 20 * hour);
        }
        await scratch.stack.importStack(state);

        const preview = new StepLog();
        await scratch.stack.preview({ target: targets, onEvent: preview.onEvent });
        assert.deepStrictEqual(preview.changed(), ["m-1-certs-server-cert"], "only the certificate inside its renewal window");
        assert.match(preview.ops.get("m-1-certs-server-cert") ?? "", /replace/);

        const log = new StepLog();
        const up = await scratch.stack.up({ target: targets, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        assert.deepStrictEqual(log.changed(), ["m-1-certs-server-cert"]);
        const after = { server: certificate("server"), peer: certificate("peer") };
        assert.notStrictEqual(after.server.pem, before.server.pem, "a new server certificate");
        assert.ok(Math.abs(after.server.notAfter - Date.now() - validityHours * hour) < hour, "re-issued for a full certValidityHours");
        const renewed = new crypto.X509Certificate(after.server.pem);
        assert.strictEqual(renewed.subject, new crypto.X509Certificate(before.server.pem).subject, "the same subject");
        assert.strictEqual(renewed.subjectAltName, new crypto.X509Certificate(before.server.pem).subjectAltName, "the same SANs");
        assert.strictEqual(after.peer.pem, before.peer.pem, "the peer certificate, outside its window, is kept");
        // The output follows the re-issued certificate: a consumer comparing fingerprints sees the change.
        assertOutputHolds("server", after.server);
        assert.notStrictEqual(certificatesOutput()["member/m-1/server"]!.sha256Fingerprint, new crypto.X509Certificate(before.server.pem).fingerprint256);
    });
});

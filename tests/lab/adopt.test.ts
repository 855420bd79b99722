/**
 * Lab, real engine: adopting an etcd the stack did not create. A standalone etcd, installed by
 * hand as the classic guides do (its own unit, plaintext client and peer URLs, data written),
 * becomes the first member of a 3-member TLS cluster: the stack stops its unit, copies its data,
 * starts it with the stack's config and certificates, moves its peer URL to https with
 * `member update`, then adds the other two as learners. Every key written before is still there,
 * served by the same member (same ID).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog, engineUnavailable, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl, commandTimeoutMs } from "./etcdClient";
import { HandMadeCa, issue, makeCa } from "./handMadePki";
import { labAvailable, labSsh, labUp } from "./lab";
import { adminCredentials, indent, labMembers, labStackConfig, labTarball, leftovers, wipeHosts } from "./labStack";
import { assertMembersAre, upUnderWriter } from "./labCluster";

const legacyUnit = "etcd-legacy.service";
const legacyData = "/var/lib/etcd-legacy";
const keys = 200;

/** Removes an etcd installed by hand from a lab host. */
function removeLegacy(host = "lab1"): void {
    labSsh(host, `systemctl disable --now ${legacyUnit} >/dev/null 2>&1 || true; rm -rf /etc/systemd/system/${legacyUnit} ${legacyData} /opt/etcd-legacy /etc/etcd-legacy; systemctl daemon-reload`);
}

/** A standalone etcd on lab1 the way a blog post sets one up: plaintext, its own unit, default peer URL. */
function installStandalone(etcdctl: Etcdctl): void {
    for (const bin of ["etcd", "etcdctl"]) {
        const r = labSsh("lab1", `install -D -m 0755 /dev/stdin /opt/etcd-legacy/${bin}`, fs.readFileSync(path.join(etcdctl.dir, bin)));
        assert.strictEqual(r.code, 0, r.stderr);
    }
    const unit = [
        "[Unit]", "Description=etcd (installed by hand)", "[Service]", "Type=notify",
        `ExecStart=/opt/etcd-legacy/etcd --name standalone --data-dir ${legacyData} --listen-client-urls http://10.213.0.11:2379,http://127.0.0.1:2379 --advertise-client-urls http://10.213.0.11:2379`,
        "Restart=on-failure", "[Install]", "WantedBy=multi-user.target", "",
    ].join("\n");
    const r = labSsh("lab1", [
        `cat > /etc/systemd/system/${legacyUnit}`, "systemctl daemon-reload", `systemctl enable --now ${legacyUnit}`,
        `for i in $(seq 1 ${keys}); do ETCDCTL_API=3 /opt/etcd-legacy/etcdctl --endpoints http://127.0.0.1:2379 put adopt/$i value-$i >/dev/null || exit 1; done`,
    ].join(" && "), unit);
    assert.strictEqual(r.code, 0, r.stderr);
}

describe("lab: adopting a standalone etcd with data (real engine)", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let standaloneId = "";

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(3);
        wipeHosts(3);
        removeLegacy();
        etcdctl = Etcdctl.extract(labTarball);
        installStandalone(etcdctl);
        const status = labSsh("lab1", "ETCDCTL_API=3 /opt/etcd-legacy/etcdctl --endpoints http://127.0.0.1:2379 member list -w simple");
        assert.match(status.stdout, /, started, standalone, http:\/\/localhost:2380, http:\/\/10\.213\.0\.11:2379, false/);
        standaloneId = status.stdout.split(",")[0];
        const members = labMembers(3).map((m, i) => i === 0 ? { ...m, adopt: { unit: legacyUnit, dataDir: legacyData } } : m);
        scratch = await scratchStack("lab", { ...labStackConfig(3), members });
    });

    after(async () => {
        etcdctl?.dispose();
        await scratch?.dispose(); // the hosts are wiped below, without an engine destroy
        removeLegacy();
        wipeHosts(3);
    });

    it("grows it into a 3-member TLS cluster that keeps every key and the member's identity", async () => {
        // The preview names lab-1's join (where the adoption happens) and touches nothing: the standalone keeps running.
        const legacyPid = labSsh("lab1", `systemctl show -p MainPID --value ${legacyUnit}`).stdout.trim();
        const preview = new StepLog();
        await scratch.stack.preview({ onEvent: preview.onEvent });
        assert.ok(["lab-1-join", "lab-1-service", "lab-2-join", "lab-3-join"].every((r) => preview.ops.get(r) === "create"), preview.changed().join(", "));
        assert.notStrictEqual(legacyPid, "0");
        assert.strictEqual(labSsh("lab1", `systemctl show -p MainPID --value ${legacyUnit}`).stdout.trim(), legacyPid, "the preview touched the standalone");
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        console.log(indent(log.lines.filter((l) => /taking over|adopted|bootstrapping|learner/.test(l)).join("")));
        assert.match(log.output, /lab-1: taking over the etcd of etcd-legacy\.service/);
        assert.match(log.output, /lab-1 \(adopted\) now reached by its peers at https:\/\/10\.213\.0\.11:2380 \(was http:\/\/localhost:2380\)/);
        assert.doesNotMatch(log.output, /bootstrapping a new cluster/);

        const outputs = await scratch.stack.outputs();
        const admin: Credentials = await adminCredentials(scratch, etcdctl);
        const endpoints = String(outputs["clientEndpoints"].value);
        const listed = await assertMembersAre({ etcdctl, endpoints, admin }, labMembers(3));
        assert.strictEqual(listed.find((m) => m.name === "lab-1")?.id, standaloneId, "lab-1 is the standalone member, continued from its data");

        const got = await etcdctl.run(endpoints, ["get", "adopt/", "--prefix", "-w", "simple"], admin, 60_000);
        assert.strictEqual(got.code, 0, got.out);
        const values = got.out.trim().split("\n").filter((_, i) => i % 2 === 1);
        assert.strictEqual(values.length, keys, "every key written to the standalone is readable over TLS");
        for (const m of labMembers(3)) {
            // Each member serves them from its own copy (a serializable read asks only that member).
            const r = await etcdctl.run(`https://${m.address}:2379`, ["get", `adopt/${keys}`, "--consistency=s", "--print-value-only"], admin);
            assert.strictEqual(r.out.trim(), `value-${keys}`, m.name);
        }
        const sh = (command: string) => labSsh("lab1", command).stdout.trim();
        assert.strictEqual(sh(`systemctl is-enabled ${legacyUnit}; systemctl is-active ${legacyUnit}; true`), "disabled\ninactive", "the old unit is stopped and disabled");
        assert.strictEqual(sh(`ls ${legacyData}/member`), "snap\nwal", "the original data dir is kept");
        assert.strictEqual(sh(`for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done | grep -cx etcd`), "1", "one etcd runs");
        // Only the metrics listener, on loopback, is plain http (as for every member the stack makes).
        assert.strictEqual(sh(`grep 'http:' ${paths.defaultDirs.config}/${paths.configFileName}`), 'listen-metrics-urls: "http://127.0.0.1:2381"', "no plaintext client or peer URL");
    });

    it("a second up changes nothing: the adoption happened once", async () => {
        const preview = new StepLog();
        await scratch.stack.preview({ onEvent: preview.onEvent });
        assert.deepStrictEqual(preview.changed(), []);
    });

    it("destroy removes the stack's etcd and keeps the adopted data where it was", async () => {
        assert.strictEqual((await scratch.stack.destroy()).summary.result, "succeeded");
        for (const m of labMembers(3)) assert.strictEqual(leftovers(m.name.replace("lab-", "lab")), "", m.name);
        assert.match(labSsh("lab1", `ls ${legacyData}/member`).stdout, /snap/);
    });
});

/**
 * A 3-member cluster set up by hand with TLS for clients (its own CA) but plaintext peers, as
 * many early clusters were. The stack, given that CA (bring-your-own), takes over one member at a
 * time: the others keep a quorum while each moves, its peer URL becomes https with
 * `member update`, and a client with a certificate from that CA keeps writing throughout.
 */
describe("lab: a cluster with plaintext peers moved to TLS peers, one member at a time (real engine)", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let client: Credentials;
    const endpoints = labMembers(3).map((m) => `https://${m.address}:2379`).join(",");

    async function installLegacyCluster(ca: HandMadeCa): Promise<void> {
        const initialCluster = labMembers(3).map((m, i) => `old-${i + 1}=http://${m.address}:2380`).join(",");
        for (const [i, m] of labMembers(3).entries()) {
            const host = `lab${i + 1}`;
            const server = await issue(ca, `old-${i + 1}`, [m.address, "127.0.0.1"]);
            const files: Array<[string, string | Buffer, string]> = [
                ["/etc/etcd-legacy/ca.crt", ca.certPem, "0644"], ["/etc/etcd-legacy/server.crt", server.certPem, "0644"],
                ["/etc/etcd-legacy/server.key", server.privateKeyPem, "0600"],
                ["/opt/etcd-legacy/etcd", fs.readFileSync(path.join(etcdctl.dir, "etcd")), "0755"],
            ];
            for (const [file, content, mode] of files) {
                const r = labSsh(host, `install -D -m ${mode} /dev/stdin ${file}`, content);
                assert.strictEqual(r.code, 0, r.stderr);
            }
            const unit = [
                "[Unit]", "Description=etcd (set up by hand)", "[Service]", "Type=notify",
                `ExecStart=/opt/etcd-legacy/etcd --name old-${i + 1} --data-dir ${legacyData}` +
                ` --listen-client-urls https://${m.address}:2379,https://127.0.0.1:2379 --advertise-client-urls https://${m.address}:2379` +
                " --cert-file /etc/etcd-legacy/server.crt --key-file /etc/etcd-legacy/server.key --trusted-ca-file /etc/etcd-legacy/ca.crt --client-cert-auth" +
                ` --listen-peer-urls http://${m.address}:2380 --initial-advertise-peer-urls http://${m.address}:2380` +
                ` --initial-cluster ${initialCluster} --initial-cluster-state new --initial-cluster-token legacy`,
                "Restart=on-failure", "[Install]", "WantedBy=multi-user.target", "",
            ].join("\n");
            const r = labSsh(host, `cat > /etc/systemd/system/${legacyUnit} && systemctl daemon-reload && systemctl enable ${legacyUnit} 2>/dev/null && systemctl start --no-block ${legacyUnit}`, unit);
            assert.strictEqual(r.code, 0, r.stderr);
        }
        const deadline = Date.now() + 60_000;
        while ((await etcdctl.run(endpoints, ["endpoint", "health", "--cluster"], client)).code !== 0) {
            assert.ok(Date.now() < deadline, "the hand-made cluster did not become healthy");
            await new Promise((r) => setTimeout(r, 1000));
        }
    }

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(3);
        wipeHosts(3);
        for (const h of ["lab1", "lab2", "lab3"]) removeLegacy(h);
        etcdctl = Etcdctl.extract(labTarball);
        const ca = await makeCa("hand-made-etcd-ca");
        client = etcdctl.credentials("legacy-client", ca.certPem, await issue(ca, "root"));
        await installLegacyCluster(ca);
        const list = await etcdctl.run(endpoints, ["member", "list", "-w", "simple"], client);
        assert.match(list.out, /old-1, http:\/\/10\.213\.0\.11:2380, https:\/\/10\.213\.0\.11:2379, false/);
        for (let i = 1; i <= keys; i++) assert.strictEqual((await etcdctl.put(endpoints, `legacy/${i}`, `value-${i}`, client)).code, 0);

        const members = labMembers(3).map((m) => ({ ...m, adopt: { unit: legacyUnit, dataDir: legacyData } }));
        scratch = await scratchStack("lab", { ...labStackConfig(3), members, caCertPem: ca.certPem });
        await scratch.stack.setConfig("etcd:caKeyPem", { value: ca.privateKeyPem, secret: true });
    });

    after(async () => {
        etcdctl?.dispose();
        await scratch?.dispose(); // the hosts are wiped below, without an engine destroy
        for (const h of ["lab1", "lab2", "lab3"]) removeLegacy(h);
        wipeHosts(3);
    });

    it("moves every member to the stack and to https peer URLs while a client keeps writing", async () => {
        const { log, writer } = await upUnderWriter(scratch, { etcdctl, endpoints, admin: client }, "lab/plaintext-to-tls");
        console.log(indent(log.output.split("\n").filter((l) => /(now reached|handed leadership).*/.test(l) && /created/.test(l)).join("\n")));
        for (const m of labMembers(3)) {
            assert.match(log.output, new RegExp(`${m.name} \\(adopted\\) now reached by its peers at https://${m.address.replace(/\./g, "\\.")}:2380 \\(was http://`));
        }
        const lost = await writer.lost();
        console.log(`      ${writer.summary(lost)}`);
        for (const f of writer.failed) console.log(`        ${f}`);
        const w = writer.longestWait;
        if (w) console.log(`      longest wait: write ${w.write}, while ${log.runningBetween(w.from, w.to).join(", ") || "no step"} ran; answers: ${JSON.stringify(w.answers)}`);
        assert.ok(writer.acknowledged.length >= 20, `the writer ran through the change (${writer.acknowledged.length} writes)`);
        assert.deepStrictEqual(lost, []);
        assert.ok(writer.failed.length <= 3, `at most a leader election's worth of failed writes per run (${writer.failed.length})`);
        // Clients keep working: never longer without an acknowledged write than an election timeout
        // (1 s here) plus a write's own round trip (a new etcdctl process each, 1 s allowed). In one
        // fresh-clone CI run the client waited 5068 ms instead (13 runs on the lab right after: 98–277 ms):
        // the length of the client's own deadline, so most likely a put that got no answer from
        // the member it reached and succeeded when tried again (as the other suites' writers
        // allow, see BoundedWriter.retriedAfterTimeout); its cause was not found. At most one such
        // write is allowed, and no other wait.
        assert.ok(writer.retriedAfterTimeout.length <= 1, `writes that waited out the client's deadline: ${writer.retriedAfterTimeout.length}`);
        const allowedMs = 2000 + (writer.retriedAfterTimeout.length > 0 ? commandTimeoutMs : 0);
        assert.ok(writer.longestWaitMs < allowedMs, `the client waited ${writer.longestWaitMs} ms for an acknowledgement`);

        await assertMembersAre({ etcdctl, endpoints, admin: client }, labMembers(3));
        const got = await etcdctl.run(endpoints, ["get", "legacy/", "--prefix", "--keys-only"], client, 60_000);
        assert.strictEqual(got.out.trim().split("\n").filter((l) => l !== "").length, keys, "every key of the hand-made cluster is still there");
        for (const h of ["lab1", "lab2", "lab3"]) {
            assert.match(labSsh(h, `systemctl is-active ${legacyUnit} || true`).stdout, /^inactive/m, h);
        }
    });
});

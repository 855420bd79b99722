/**
 * Lab, real engine: the core path on the Debian releases the stack supports (issue 30 item 1).
 * By default a mixed cluster, one member of each release (lab1 Debian 11, lab2 12, lab3 13; the
 * members added by the scale-up run 13 and 11): cold `up`, a rolling change (one restart per
 * member, one at a time, under a writer), scale 3 → 5 → 3, drift repair (hand edits on two hosts
 * put back by `up --refresh`), and `destroy` leaving nothing on any host. Each host is first
 * checked to run the release it was given and that release's systemd. The stack logs in as
 * `deploy`, a login with passwordless sudo (issue 30 item 2: a sudo login on every release).
 *
 * ETCD_STACK_LAB_MATRIX=bullseye|bookworm|trixie runs the same steps on a cluster of that one
 * release; ETCD_STACK_MATRIX_OUT=<file> writes what each step gave (JSON) for
 * scripts/support-matrix.sh, which runs all four and writes docs/support.md's table.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog, engineUnavailable, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl } from "./etcdClient";
import { assertMembersAre, checkWriter, upUnderWriter } from "./labCluster";
import { LabRelease, labAvailable, labRead, labReleases, labSsh, labUp, releaseFacts } from "./lab";
import { adminCredentials, discardStack, hostOf, indent, labMembers, labStackConfig, labTarball, leftovers, mainPid, sudoLoginCommands, wipeHosts } from "./labStack";
import { rollUnderWatch, tuningChanges } from "./roll";

const cluster = process.env.ETCD_STACK_LAB_MATRIX ?? "mixed";
if (cluster !== "mixed" && !labReleases.includes(cluster as LabRelease)) {
    throw new Error(`ETCD_STACK_LAB_MATRIX must be mixed or one of ${labReleases.join(", ")}, not '${cluster}'`);
}
/** lab1..lab5's releases: one of each in the first three, the newest and the oldest for the scale-up. */
const releases: Record<string, LabRelease> = cluster === "mixed"
    ? { lab1: "bullseye", lab2: "bookworm", lab3: "trixie", lab4: "trixie", lab5: "bullseye" }
    : Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`lab${i}`, cluster as LabRelease]));

/** The stack's members: lab-k on labk, logged in as the sudo user `deploy`. */
const stackMembers = (size: number) => labMembers(size).map((m) => ({ ...m, sshUser: "deploy" }));

/** The matrix's steps, in order (scripts/support-matrix.sh's columns). */
const steps = ["release check", "cold up", "rolling change", "scale 3 → 5", "scale 5 → 3", "drift repair", "destroy"] as const;
type Step = typeof steps[number];

describe(`lab: the core path on Debian releases, ${cluster === "mixed" ? "a mixed cluster (11, 12, 13)" : `every host ${cluster}`} (real engine)`, function () {
    this.timeout(20 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    let endpoints = "";
    const results: Record<string, string> = Object.fromEntries(steps.map((s) => [s, "not run"]));
    const hostFacts: Record<string, { release: string; debianVersion: string; systemd: string; kernelCgroup: string }> = {};
    /** The test of each step, so that afterEach can record its outcome. */
    const stepOf = new Map<string, Step>();
    const step = (name: Step, title: string, fn: () => Promise<void>) => { stepOf.set(it(`${name}: ${title}`, fn).fullTitle(), name); };

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(5, releases);
        wipeHosts(5);
        for (const host of Object.keys(releases)) {
            const r = labSsh(host, sudoLoginCommands("deploy").join(" && "));
            assert.strictEqual(r.code, 0, `${host}: ${r.stderr}`);
        }
        scratch = await scratchStack("lab", { ...labStackConfig(3), members: stackMembers(3) });
        etcdctl = Etcdctl.extract(labTarball);
    });

    afterEach(function () {
        const name = stepOf.get(this.currentTest?.fullTitle() ?? "");
        if (name) results[name] = this.currentTest?.state === "passed" ? "ok" : this.currentTest?.state === "failed" ? `failed: ${String(this.currentTest?.err?.message ?? "").split("\n")[0].slice(0, 300)}` : "not run";
    });

    after(async () => {
        etcdctl?.dispose();
        // destroy ran (or failed) above; whatever is left is removed by hand.
        await discardStack(scratch, 5);
        const out = process.env.ETCD_STACK_MATRIX_OUT;
        if (out) fs.writeFileSync(out, JSON.stringify({ cluster, releases, hosts: hostFacts, steps: results }, null, 2) + "\n");
    });

    /** Sets the stack to `size` members and runs `up` under a bounded writer: no write failed or lost; every member voting. */
    async function scaleUnderWriter(size: number, label: string): Promise<StepLog> {
        scratch.setConfig({ members: stackMembers(size) });
        const { log, writer } = await upUnderWriter(scratch, { etcdctl, endpoints, admin }, `lab/releases-${label}-${Date.now()}`);
        await checkWriter(writer, 10, "the change");
        await assertMembersAre({ etcdctl, endpoints, admin }, labMembers(size));
        const health = await etcdctl.clusterHealth(labMembers(size).map((m) => `https://${m.address}:2379`).join(","), admin, size, 15_000);
        assert.strictEqual(health.healthy, size, health.out);
        return log;
    }

    step("release check", "each host runs the Debian release it was given, with that release's systemd", async () => {
        for (const [host, release] of Object.entries(releases)) {
            const [debianVersion, systemd, cgroup] = labRead(host, "cat /etc/debian_version; systemctl --version | head -n1; stat -f -c %T /sys/fs/cgroup").trim().split("\n");
            hostFacts[host] = { release, debianVersion, systemd: systemd.replace(/^systemd /, ""), kernelCgroup: cgroup === "cgroup2fs" ? "v2 only" : "hybrid" };
            console.log(`      ${host}: Debian ${debianVersion} (${release}), ${systemd}, cgroup ${hostFacts[host].kernelCgroup}`);
            assert.strictEqual(Number(debianVersion.split(".")[0]), releaseFacts[release].debian, `${host}'s /etc/debian_version`);
            assert.strictEqual(Number(/^systemd (\d+) /.exec(systemd)?.[1]), releaseFacts[release].systemd, `${host}'s systemd: ${systemd}`);
        }
    });

    step("cold up", "3 members come up healthy over mTLS, with no warning", async () => {
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        admin = await adminCredentials(scratch, etcdctl);
        endpoints = String((await scratch.stack.outputs())["clientEndpoints"].value);
        assert.deepStrictEqual(log.lines.filter((l) => /warning/i.test(l)).map((l) => l.trim()), [], "warnings in the up's output");
        const health = await etcdctl.clusterHealth(endpoints, admin, 3, 15_000);
        assert.strictEqual(health.healthy, 3, health.out);
        for (const m of labMembers(3)) {
            const host = hostOf(m.name);
            assert.strictEqual(labRead(host, `systemctl is-active ${paths.unitName}`).trim(), "active", host);
            assert.strictEqual(labRead(host, `systemctl show -p ProtectSystem --value ${paths.unitName}`).trim(), "strict", `${host} runs etcd under ProtectSystem=strict`);
        }
    });

    step("rolling change", "tuning.snapshotCount restarts each member once, one at a time, under a writer", async () => {
        const members = labMembers(3);
        await rollUnderWatch({ scratch, etcdctl, admin, endpoints, members }, { tuning: { snapshotCount: 10001 } },
            tuningChanges(members.map((m) => m.name)), "/etc/etcd/etcd.conf.yml");
        for (const m of members) assert.match(labRead(hostOf(m.name), "cat /etc/etcd/etcd.conf.yml"), /^snapshot-count: 10001$/m, m.name);
    });

    step("scale 3 → 5", "lab4 and lab5 join, all voting; the first three are not restarted", async () => {
        const pids = ["lab1", "lab2", "lab3"].map(mainPid);
        await scaleUnderWriter(5, "scale-up");
        assert.deepStrictEqual(["lab1", "lab2", "lab3"].map(mainPid), pids, "no existing member restarted");
    });

    step("scale 5 → 3", "the two leave the cluster and their hosts are left clean", async () => {
        const pids = ["lab1", "lab2", "lab3"].map(mainPid);
        await scaleUnderWriter(3, "scale-down");
        assert.deepStrictEqual(["lab1", "lab2", "lab3"].map(mainPid), pids, "no staying member restarted");
        for (const host of ["lab4", "lab5"]) assert.strictEqual(leftovers(host), "", host);
    });

    step("drift repair", "hand edits on lab1 and lab3 are put back by up --refresh; only the member that ran an edit restarts", async () => {
        const config = "/etc/etcd/etcd.conf.yml";
        const sha = (host: string, file: string) => labRead(host, `sha256sum < ${file} | cut -c1-64`).trim();
        const want = { lab1: sha("lab1", config), lab3: sha("lab3", paths.unitPath) };
        // lab1: the config edited and etcd restarted by hand (it runs the edit now); lab3: the unit
        // edited and a private key made world-readable, etcd not restarted.
        labRead("lab1", `sed -i 's/^heartbeat-interval: .*/heartbeat-interval: 150/' ${config}; sleep 1; systemctl restart ${paths.unitName}`);
        labRead("lab1", `for i in $(seq 60); do systemctl is-active --quiet ${paths.unitName} && exit 0; sleep 1; done; exit 1`);
        labRead("lab3", `echo '# added by hand' >> ${paths.unitPath}; chmod 0644 /etc/etcd/pki/peer.key`);
        assert.notStrictEqual(sha("lab1", config), want.lab1);
        const pids = ["lab1", "lab2", "lab3"].map(mainPid);
        const { log, writer } = await upUnderWriter(scratch, { etcdctl, endpoints, admin }, `lab/releases-drift-${Date.now()}`, { refresh: true });
        const lost = await writer.lost();
        console.log(`      ${writer.summary(lost)}; changed: ${log.changed().join(", ")}`);
        assert.deepStrictEqual(writer.failed, []);
        assert.deepStrictEqual(lost, []);
        assert.ok(log.changed().includes("lab-1-config-write") && log.changed().includes("lab-3-config-write") && log.changed().includes("lab-3-files-write"), log.changed().join(", "));
        assert.strictEqual(sha("lab1", config), want.lab1, "lab1's config is the stack's again");
        assert.strictEqual(sha("lab3", paths.unitPath), want.lab3, "lab3's unit is the stack's again");
        assert.strictEqual(labRead("lab3", "stat -c '%a %U:%G' /etc/etcd/pki/peer.key").trim(), "600 etcd:etcd");
        // The repaired unit is the one systemd runs: the write reloads it (before the fix, systemd
        // still flagged NeedDaemonReload=yes here on all three releases).
        assert.strictEqual(labRead("lab3", `systemctl show -p NeedDaemonReload --value ${paths.unitName}`).trim(), "no", `lab3 (${releases.lab3}): NeedDaemonReload after the repair`);
        const after = ["lab1", "lab2", "lab3"].map(mainPid);
        assert.notStrictEqual(after[0], pids[0], "lab1 restarted to read the repaired config");
        assert.deepStrictEqual([after[1], after[2]], [pids[1], pids[2]], "lab2 and lab3 were not restarted");
        const health = await etcdctl.clusterHealth(endpoints, admin, 3, 15_000);
        assert.strictEqual(health.healthy, 3, health.out);
    });

    step("destroy", "leaves nothing on any host", async () => {
        const destroy = await scratch.stack.destroy();
        assert.strictEqual(destroy.summary.result, "succeeded");
        for (const host of Object.keys(releases)) assert.strictEqual(leftovers(host), "", host);
    });
});

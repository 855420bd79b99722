/**
 * Lab, real engine: disaster recovery after a quorum loss (issue 29, item 10). Five members; keys
 * written, a snapshot saved on the operator's machine (scripts/snapshot.sh), more keys written;
 * then three of the five hosts are lost for good (powered off: the cluster has no quorum). The
 * stack's way back is one edit: the lost members keep their names and move to new machines (one
 * rebuilt at its old address with a new host key, two at new addresses) beside `etcd:restore`.
 * Without the restore that edit is refused before any host changes; with it, `up` rebuilds the
 * whole cluster from the snapshot on the two survivors and the three new machines. Measured: the
 * time from the edit's `up` to a healthy cluster. Checked: exactly the snapshot's keys on every
 * member, the member list the stack's, the next preview empty, and removing `etcd:restore`
 * afterwards restarts nothing.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog, engineUnavailable, repoRoot } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl } from "./etcdClient";
import { labAvailable, labFault, labRun, labSsh } from "./lab";
import { indent, labStackConfig, labTarball, mainPid, wipeHost, wipeHosts } from "./labStack";
import { assertMembersAre, deployLab } from "./labCluster";
import { PlanWatch } from "./planCheck";

/** A member list: name → lab host number (address 10.213.0.(10 + n)). */
const on = (placement: Record<string, number>) =>
    Object.entries(placement).map(([name, n]) => ({ name, address: `10.213.0.${10 + n}` }));

const keysBefore = 200;
const keysAfter = 50;
const lost = ["lab3", "lab4", "lab5"];
const placedBefore = { "lab-1": 1, "lab-2": 2, "lab-3": 3, "lab-4": 4, "lab-5": 5 };
/** lab-3 on a new machine at its old address (lab3 rebuilt: a new host key), lab-4 and lab-5 on lab6 and lab7. */
const placedAfter = { "lab-1": 1, "lab-2": 2, "lab-3": 3, "lab-4": 6, "lab-5": 7 };

describe("lab: disaster recovery after a quorum loss, through the stack (real engine)", function () {
    this.timeout(30 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    let snapshotFile = "";
    const plans = new PlanWatch();
    const survivors = "https://10.213.0.11:2379,https://10.213.0.12:2379";
    const everyMember = Object.values(placedAfter).map((n) => `https://10.213.0.${10 + n}:2379`).join(",");

    const count = (prefix: string) => etcdctl.count(everyMember, prefix, admin);

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        ({ scratch, etcdctl, admin } = await deployLab(7, { ...labStackConfig(5), members: on(placedBefore) }));
        plans.attach(scratch);
    });

    after(async () => {
        etcdctl?.dispose();
        await scratch?.dispose();
        for (const h of lost) labRun(["start", h]);
        labRun(["known-hosts"]);
        wipeHosts(7);
    });

    it("keys written, a snapshot saved on the operator's machine, more keys written; three of five hosts lost: no quorum", async () => {
        const endpoints = Object.values(placedBefore).map((n) => `https://10.213.0.${10 + n}:2379`).join(",");
        for (let i = 1; i <= keysBefore; i++) assert.strictEqual((await etcdctl.put(endpoints, `dr/before/${i}`, String(i), admin)).code, 0);
        snapshotFile = path.join(scratch.dir, "backups", "last-good.db");
        const save = spawnSync("bash", [path.join(repoRoot, "scripts/snapshot.sh"), "lab", snapshotFile],
            { cwd: scratch.dir, env: { ...process.env, ...scratch.env, ETCD_STACK_LAB: "1" }, encoding: "utf8", timeout: 120_000 });
        assert.strictEqual(save.status, 0, save.stderr);
        for (let i = 1; i <= keysAfter; i++) assert.strictEqual((await etcdctl.put(endpoints, `dr/after/${i}`, String(i), admin)).code, 0);
        for (const h of lost) labFault("stop", h);
        const put = await etcdctl.run(survivors, ["put", "dr/lost", "x", "--command-timeout=5s"], admin, 30_000);
        assert.notStrictEqual(put.code, 0, "two of five members cannot commit a write");
    });

    it("the lost members moved to new machines without a restore: refused before any host changes", async () => {
        // lab3 is rebuilt: a new machine at the same address, with its own SSH host key (checked out of band).
        labFault("start", "lab3");
        wipeHost("lab3");
        labRun(["impostor", "lab3"]);
        labRun(["known-hosts"]);
        scratch.setConfig({ members: on(placedAfter) });
        const up = await scratch.stack.up().then(() => undefined, (e: Error) => e);
        assert.ok(up, "the up failed");
        // lab-3 keeps its peer URL (its address); lab-4 and lab-5 leave theirs, and none of lab-1, lab-2, lab-3 answers with a quorum.
        assert.match(up.message, /refusing to remove lab-4, lab-5: no member that stays answers, so the quorum cannot be checked; nothing was changed/);
        for (const h of ["lab3", "lab6", "lab7"]) {
            assert.strictEqual(labSsh(h, "ls /etc/etcd 2>/dev/null | wc -l").stdout.trim(), "0", `${h}: nothing written`);
        }
        plans.drain();
    });

    it("the same edit beside etcd:restore: previewed as installs and the restore, then one up brings the snapshot's cluster back", async () => {
        scratch.setConfig({ members: on(placedAfter), restore: { snapshot: snapshotFile } });
        await scratch.stack.preview({ refresh: true });
        const plan = plans.take();
        console.log(indent(plan.text));
        assert.deepStrictEqual(plan.actions.map((a) => `${a.kind} ${a.members.join(",")}`),
            ["replace lab-3", "replace lab-4", "replace lab-5", "files lab-1,lab-2", "restore "]);
        assert.doesNotMatch(plan.text, /REFUSED/);

        const started = Date.now();
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        const seconds = Math.round((Date.now() - started) / 1000);
        console.log(indent(`time to recovery (the up, from the edit to a healthy cluster): ${seconds} s`));
        console.log(indent(log.output.split("\n").filter((l) => /(restored from|left to the restore|started from)/.test(l)).join("\n")));
        for (const m of Object.keys(placedAfter)) assert.match(log.output, new RegExp(`${m}: restored from snapshot [0-9a-f]{12}`));
        // No member started before the restore: the moved members' service steps left it to the restore.
        for (const h of ["lab3", "lab6", "lab7"]) assert.match(log.output, new RegExp(`${h}: etcd's (start|restart) left to the restore`));

        assert.strictEqual(await count("dr/before/"), keysBefore);
        assert.strictEqual(await count("dr/after/"), 0, "keys written after the snapshot are gone");
        for (const [name, n] of Object.entries(placedAfter)) {
            const r = await etcdctl.run(`https://10.213.0.${10 + n}:2379`, ["get", `dr/before/${keysBefore}`, "--consistency=s", "--print-value-only"], admin);
            assert.strictEqual(r.out.trim(), String(keysBefore), `${name} serves the restored data itself`);
        }
        await assertMembersAre({ etcdctl, endpoints: everyMember, admin }, on(placedAfter));
        // The survivors' data before the restore is kept aside, never deleted.
        for (const h of ["lab1", "lab2"]) assert.match(labSsh(h, "ls /var/lib/etcd").stdout, /^member\.before-restore-[0-9a-f]{12}-\d+$/m, h);
        assert.strictEqual(await etcdctl.run(everyMember, ["put", "dr/new", "x"], admin).then((r) => r.code), 0, "the restored cluster takes writes");
    });

    it("afterwards: the next preview is empty; removing etcd:restore restarts no member", async () => {
        const preview = new StepLog();
        await scratch.stack.preview({ onEvent: preview.onEvent });
        assert.deepStrictEqual(preview.changed(), []);
        const hosts = Object.values(placedAfter).map((n) => `lab${n}`);
        const pids = hosts.map(mainPid);
        scratch.setConfig({ members: on(placedAfter), restore: undefined });
        assert.strictEqual((await scratch.stack.up()).summary.result, "succeeded");
        assert.deepStrictEqual(hosts.map(mainPid), pids, "an etcd restarted");
        assert.strictEqual(labSsh("lab6", `cat /etc/etcd/${paths.restoredFile}`).stdout.trim().length, 12);
    });
});

/**
 * Lab, real engine: maintenance of a full cluster. With a small backend quota, overwriting one
 * key fills the history until etcd raises NOSPACE and refuses writes; `scripts/maintenance.sh`
 * (the operator's command, run in the project) compacts, defragments one member at a time with
 * the leader last, disarms the alarm, and writes go through again, each member now far below
 * the quota. A bounded writer runs through the maintenance: no acknowledged write is lost, and
 * the only refusals are NOSPACE's, before the disarm.
 */
import * as assert from "assert";
import * as path from "path";
import { ScratchStack, engineUnavailable, repoRoot } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { BoundedWriter, Credentials, Etcdctl, parseEndpointStatus } from "./etcdClient";
import { RunResult, labAvailable, runAsync } from "./lab";
import { discardStack, indent, labStackConfig, labTarball } from "./labStack";
import { deployLab } from "./labCluster";

const quota = 16 * 1024 * 1024;

describe("lab: NOSPACE, compaction and defragmentation one member at a time (real engine)", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    let endpoints = "";
    let lastWritten = -1;

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        const config = labStackConfig(3);
        ({ scratch, etcdctl, admin, endpoints } = await deployLab(3, { ...config, tuning: { ...(config.tuning as object ?? {}), quotaBackendBytes: quota } }));
    });

    after(async () => {
        etcdctl?.dispose();
        await discardStack(scratch, 3);
    });

    it("overwriting one key fills the quota: NOSPACE is raised and writes are refused", async () => {
        const value = "x".repeat(100 * 1024);
        let refused = "";
        for (let i = 0; i < 400 && refused === ""; i++) {
            const r = await etcdctl.put(endpoints, "maintenance/fill", `${i}:${value}`, admin);
            if (r.code !== 0) refused = r.out;
            else lastWritten = i;
        }
        assert.match(refused, /database space exceeded/);
        const alarms = await etcdctl.run(endpoints, ["alarm", "list"], admin);
        assert.match(alarms.out, /alarm:NOSPACE/);
    });

    it("scripts/maintenance.sh compacts, defragments each member with the leader last, disarms, and writes go through, losing none", async () => {
        const writer = new BoundedWriter(etcdctl, endpoints, admin, "maintenance/writer").start();
        let r: RunResult;
        try {
            // As the operator would run it, without blocking this process: the writer runs meanwhile.
            r = await runAsync("bash", [path.join(repoRoot, "scripts/maintenance.sh"), "lab"], { cwd: scratch.dir, env: { ...process.env, ...scratch.env, ETCD_STACK_LAB: "1" }, timeoutMs: 10 * 60_000 });
            // A few writes after the maintenance, so the writer is seen to succeed again.
            const acknowledged = writer.acknowledged.length;
            for (let i = 0; i < 50 && writer.acknowledged.length < acknowledged + 5; i++) await new Promise((res) => setTimeout(res, 200));
        } finally {
            await writer.stop();
        }
        console.log(indent(r.stdout));
        assert.strictEqual(r.code, 0, r.stderr);
        const lost = await writer.lost();
        console.log(`      ${writer.summary(lost)}`);
        assert.deepStrictEqual(lost, []);
        assert.deepStrictEqual(writer.failed.filter((f) => !/database space exceeded/.test(f)), [], "a write refused for another reason than NOSPACE");
        assert.ok(writer.acknowledged.length >= 5, `writes go through after the maintenance (${writer.acknowledged.length})`);
        assert.match(r.stdout, /^compacted history up to revision \d+$/m);
        const defragmented = [...r.stdout.matchAll(/^defragmented (\S+):/gm)].map((m) => m[1]);
        assert.deepStrictEqual([...defragmented].sort(), endpoints.split(",").sort(), "each member once");
        const status = await etcdctl.run(endpoints, ["endpoint", "status", "-w", "json"], admin);
        const statuses = parseEndpointStatus(status.out);
        assert.strictEqual(statuses.length, endpoints.split(",").length, status.out);
        assert.strictEqual(defragmented[defragmented.length - 1], statuses.find((s) => s.leader)?.endpoint, "the leader is defragmented last");
        for (const s of statuses) assert.ok(s.dbSize < quota / 4, `${s.endpoint}: ${s.dbSize} bytes after defragmentation`);
        assert.match(r.stdout, /^NOSPACE disarmed$/m);
        assert.strictEqual((await etcdctl.run(endpoints, ["alarm", "list"], admin)).out.trim(), "");
        assert.strictEqual((await etcdctl.run(endpoints, ["put", "maintenance/after", "ok"], admin)).code, 0);
        const kept = await etcdctl.run(endpoints, ["get", "maintenance/fill", "--print-value-only"], admin);
        // The put that crosses the quota is applied and still answered with NOSPACE (etcd's quota
        // applier): the value kept is the last acknowledged one or that one, nothing older.
        const keptIndex = Number(kept.out.split(":")[0]);
        assert.ok(keptIndex === lastWritten || keptIndex === lastWritten + 1, `kept value ${keptIndex}, last acknowledged ${lastWritten}`);
    });
});

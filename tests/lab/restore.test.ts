/**
 * Lab, real engine: restoring the cluster from a snapshot as a stack edit. Numbered keys are
 * written, a snapshot is saved to the operator's machine (scripts/snapshot.sh, from the stack's
 * outputs), more keys are written, then disaster: every member loses its data dir (etcd stopped,
 * `member/` removed on all three, nothing of the cluster left on any host). Setting
 * `etcd:restore` brings back exactly the snapshot's keys on every member, from the file alone;
 * the restore never runs twice. (Moving existing data aside, never deleting it, is the restore
 * script's too: tests/unit/render.test.ts runs that script by sh on a data dir.)
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog, engineUnavailable, repoRoot } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl } from "./etcdClient";
import { labAvailable, labSsh } from "./lab";
import { discardStack, indent, labMembers, labStackConfig, labTarball, planRecord } from "./labStack";
import { assertMembersAre, deployLab } from "./labCluster";

const keysBefore = 100;
const keysAfter = 30;

describe("lab: restore from a snapshot as a stack edit (real engine)", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    let endpoints = "";
    let snapshotFile = "";

    const count = (prefix: string) => etcdctl.count(endpoints, prefix, admin);

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        ({ scratch, etcdctl, admin, endpoints } = await deployLab(3, labStackConfig(3)));
    });

    after(async () => {
        etcdctl?.dispose();
        await discardStack(scratch, 3);
    });

    it("keys written, a snapshot saved to the operator's machine, more keys written, every member's data lost", async () => {
        for (let i = 1; i <= keysBefore; i++) assert.strictEqual((await etcdctl.put(endpoints, `restore/before/${i}`, String(i), admin)).code, 0);
        // The project's on-demand snapshot command, run in the project as an operator would.
        snapshotFile = path.join(scratch.dir, "backups", "backup.db");
        const save = spawnSync("bash", [path.join(repoRoot, "scripts/snapshot.sh"), "lab", snapshotFile],
            { cwd: scratch.dir, env: { ...process.env, ...scratch.env, ETCD_STACK_LAB: "1" }, encoding: "utf8", timeout: 120_000 });
        assert.strictEqual(save.status, 0, save.stderr);
        console.log(indent(save.stdout.split("\n").filter((l) => /^snapshot of|^sha256/.test(l)).join("\n")));
        assert.ok(save.stdout.includes(`sha256 ${crypto.createHash("sha256").update(fs.readFileSync(snapshotFile)).digest("hex")}`));
        assert.strictEqual((fs.statSync(snapshotFile).mode & 0o777).toString(8), "600");
        assert.doesNotMatch(save.stdout + save.stderr, /PRIVATE KEY/);
        for (let i = 1; i <= keysAfter; i++) assert.strictEqual((await etcdctl.put(endpoints, `restore/after/${i}`, String(i), admin)).code, 0);
        for (const host of ["lab1", "lab2", "lab3"]) labSsh(host, `systemctl stop ${paths.unitName}; rm -rf /var/lib/etcd/member`);
        for (const host of ["lab1", "lab2", "lab3"]) {
            assert.strictEqual(labSsh(host, "ls -A /var/lib/etcd").stdout.trim(), "", `${host}: the data dir is empty`);
        }
        const r = await etcdctl.run(endpoints, ["endpoint", "health"], admin);
        assert.notStrictEqual(r.code, 0, "no member answers");
    });

    it("the restore previews as restore steps, health gates and the roll's steps that leave etcd to the restore", async () => {
        scratch.setConfig({ restore: { snapshot: snapshotFile } });
        const preview = new StepLog();
        await scratch.stack.preview({ onEvent: preview.onEvent });
        for (const [name, op] of preview.ops) {
            assert.match(`${name} ${op}`, /^(etcd-restore create|lab-[1-3]-restore(-snapshot|-start)? create|etcd-health update|lab-[1-3]-(join|service) update|etcd-plan-record update)$/);
        }
        assert.strictEqual(preview.ops.get(planRecord), "update", "the plan records the restore");
        for (const m of labMembers(3)) assert.strictEqual(preview.ops.get(`${m.name}-restore`), "create", m.name);
    });

    it("up restores every member from the snapshot: its keys and nothing written later", async () => {
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        console.log(indent(log.output.split("\n").filter((l) => /(restored from|moved aside|started from)/.test(l) && /created/.test(l)).join("\n")));
        for (const m of labMembers(3)) assert.match(log.output, new RegExp(`${m.name}: restored from snapshot [0-9a-f]{12}`));
        assert.strictEqual(await count("restore/before/"), keysBefore);
        assert.strictEqual(await count("restore/after/"), 0, "keys written after the snapshot are gone");
        for (const m of labMembers(3)) {
            const r = await etcdctl.run(`https://${m.address}:2379`, ["get", `restore/before/${keysBefore}`, "--consistency=s", "--print-value-only"], admin);
            assert.strictEqual(r.out.trim(), String(keysBefore), `${m.name} serves the restored data itself`);
        }
        await assertMembersAre({ etcdctl, endpoints, admin }, labMembers(3));
        for (const h of ["lab1", "lab2", "lab3"]) {
            // No member had data, so there was nothing to move aside, and no work dir is left.
            assert.strictEqual(labSsh(h, "ls -A /var/lib/etcd").stdout.trim(), "member", `${h}: only the restored data`);
            assert.strictEqual(labSsh(h, `ls ${paths.stagingDir}/restore-*.db 2>/dev/null | wc -l`).stdout.trim(), "0", `${h}: the snapshot file is gone`);
        }
    });

    it("the restore happens once: the next preview is empty, and a re-run of its steps restores nothing", async () => {
        const preview = new StepLog();
        await scratch.stack.preview({ onEvent: preview.onEvent });
        assert.deepStrictEqual(preview.changed(), []);
        assert.ok(fs.existsSync(snapshotFile));
        const pid = labSsh("lab1", `systemctl show -p MainPID --value ${paths.unitName}`).stdout.trim();
        const up = await scratch.stack.up({ replace: ["lab-1-restore"].map((n) => `urn:pulumi:lab::etcd-stack::etcd:index:Cluster$etcd:index:ClusterRestore$command:remote:Command::${n}`) });
        assert.strictEqual(up.summary.result, "succeeded");
        assert.match(up.stdout, /lab-1: snapshot [0-9a-f]{12} already restored here/);
        assert.strictEqual(labSsh("lab1", `systemctl show -p MainPID --value ${paths.unitName}`).stdout.trim(), pid, "lab-1 was not stopped again");
    });
});

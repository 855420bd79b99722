/**
 * Lab, real engine: an operator upgrades etcd-stack. A stack deployed by a version of the
 * program that landed (`previousVersion`, its program files taken from git) is then run by this
 * version: the preview may update the stack's own steps (their scripts or the provider's code)
 * but creates nothing but the plan's resources (new since issue 28: `previousVersion` has no plan,
 * whose printed plan then says it has no record) and each member's preflight step, replaces and deletes nothing and changes no file
 * on a host, the `up` restarts no member, and afterwards a preview shows nothing and plans nothing. Refactors that move resources, providers or
 * dependencies (e.g. a provider given to a component instead of its resources) show here first.
 * A second case takes the last version that landed (`lastLandedVersion`): the same stack, this
 * version's preview must show no change at all (every resource `same`, URNs unchanged) and a plan
 * of nothing, its `up` must change nothing on any host (same PIDs, every managed file as it was).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ScratchStack, StepLog, engineUnavailable, repoRoot, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { labAvailable, labUp } from "./lab";
import { Etcdctl } from "./etcdClient";
import { adminCredentials, discardStack, indent, labStackConfig, labTarball, mainPid, planResources, wipeHosts } from "./labStack";
import * as paths from "../../components/base/paths";
import { noRecordNote } from "../../components/plan/planResource";
import { PlanWatch, hostFingerprint, parsePlanText } from "./planCheck";

/**
 * A version of the program that landed (in stop 20's tree, whose CI passed; the last before the
 * connection pool, the provider move and the new cluster's members starting together). Move it
 * forward when a version lands whose state a later version must take over.
 */
const previousVersion = "d66b559";

/**
 * The last version that landed (main before issue 31's move of components/ into folders, which
 * must change no URN and no behaviour). Move it forward as versions land: a stack it deployed must
 * be taken over by this version with no change at all.
 */
const lastLandedVersion = "17ad27c";

const hosts = ["lab1", "lab2", "lab3"];

/** The program's files: what differs between versions (the scratch copy shares package.json and node_modules). */
const programFiles = ["index.ts", "components"];

/** Why `version` cannot be read from git here, or undefined. */
function versionMissing(version: string): string | undefined {
    const r = spawnSync("git", ["-C", repoRoot, "cat-file", "-e", `${version}^{commit}`], { encoding: "utf8" });
    return r.status === 0 ? undefined : `commit ${version} is not in this checkout's history (a shallow clone?): ${(r.stderr || r.error?.message || "").trim()}`;
}

/** A suite's start: clean lab hosts and a scratch stack of 3 members holding `version`'s program. */
async function stackOf(ctx: Mocha.Context, version: string): Promise<ScratchStack> {
    skipIf(ctx, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball) ?? versionMissing(version));
    labUp(3);
    wipeHosts(3); // what the older version finds is only what it made
    const scratch = await scratchStack("lab", labStackConfig(3));
    useProgram(scratch.dir, version);
    return scratch;
}

/** The older version's `up` of 3 members: etcd's PIDs and the hosts' fingerprints (planCheck.ts hostFingerprint) it left. */
async function deployed(scratch: ScratchStack): Promise<{ pids: string[]; hostsBefore: string[] }> {
    const up = await scratch.stack.up();
    assert.strictEqual(up.summary.result, "succeeded");
    const pids = hosts.map(mainPid);
    assert.ok(pids.every((p) => Number(p) > 0), `etcd runs on every host: ${pids.join(" ")}`);
    return { pids, hostsBefore: hosts.map(hostFingerprint) };
}

/** Every member answers `endpoint health --cluster` healthy, through the stack's admin client. */
async function assertHealthy(scratch: ScratchStack): Promise<void> {
    const etcdctl = Etcdctl.extract(labTarball);
    try {
        const endpoints = String((await scratch.stack.outputs())["clientEndpoints"].value);
        const health = await etcdctl.run(endpoints, ["endpoint", "health", "--cluster"], await adminCredentials(scratch, etcdctl));
        assert.strictEqual((health.out.match(/is healthy/g) ?? []).length, 3, health.out);
    } finally {
        etcdctl.dispose();
    }
}

/** A preview with nothing but `same` (the plan's "nothing" is asserted by the caller). */
function assertNoChange(summary: Record<string, number>): void {
    const changed = Object.entries(summary).filter(([op]) => op !== "same");
    assert.deepStrictEqual(changed, [], JSON.stringify(summary));
}

/** Puts the program files of `version` (a commit, or undefined for this checkout) into the scratch copy. */
function useProgram(dir: string, version?: string): void {
    for (const f of programFiles) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    if (version === undefined) {
        for (const f of programFiles) fs.cpSync(path.join(repoRoot, f), path.join(dir, f), { recursive: true });
        return;
    }
    const archive = spawnSync("git", ["-C", repoRoot, "archive", "--format=tar", version, ...programFiles], { maxBuffer: 64 * 1024 * 1024 });
    assert.strictEqual(archive.status, 0, `git archive ${version}: ${archive.stderr}`);
    const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
    assert.strictEqual(untar.status, 0, `untar ${version}: ${untar.stderr}`);
    // Otherwise the test would compare this version with itself.
    assert.notStrictEqual(programDigest(dir), programDigest(repoRoot), `${version}'s program is this checkout's: nothing to compare`);
}

/** sha256 over the program files under `root` (paths and contents). */
function programDigest(root: string): string {
    const hash = createHash("sha256");
    const walk = (rel: string) => {
        const abs = path.join(root, rel);
        if (fs.statSync(abs).isDirectory()) for (const e of fs.readdirSync(abs).sort()) walk(path.join(rel, e));
        else hash.update(`${rel}\0`).update(fs.readFileSync(abs));
    };
    for (const f of programFiles) walk(f);
    return hash.digest("hex");
}

describe(`lab: a stack deployed by the previous version (${previousVersion}), then run by this one (real engine)`, function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let pids: string[] = [];
    /** The hosts as the previous version left them (planCheck.ts hostFingerprint: etcd's PID, every managed file). */
    let hostsBefore: string[] = [];

    before(async function () {
        scratch = await stackOf(this, previousVersion);
    });

    after(async () => {
        await discardStack(scratch, 3);
    });

    it(`the previous version deploys 3 healthy members`, async () => {
        ({ pids, hostsBefore } = await deployed(scratch));
    });

    it("this version's preview creates only the plan's resources, replaces and deletes nothing, and changes no file on a host", async () => {
        useProgram(scratch.dir);
        const log = new StepLog();
        // The plan's diagnostic, from the events: the CLI's --diff display prints no info diagnostics.
        const plans: string[] = [];
        const preview = await scratch.stack.preview({
            diff: true, onOutput: log.onOutput,
            onEvent: (e) => { log.onEvent(e); if (e.diagnosticEvent?.urn?.endsWith("::etcd-plan-record")) plans.push(e.diagnosticEvent.message); },
        });
        const changes = log.changed().map((n) => `${n}: ${log.ops.get(n)} ${log.diffs.get(n)!.join(",")}`);
        console.log(indent(changes.length ? changes.join("\n") : "no change"));
        console.log(indent(`preview: ${JSON.stringify(preview.changeSummary)}`));
        // New in this version: the plan (components/plan/planResource.ts) and each member's preflight step (the
        // gate every member's prepare waits for, member.ts: read-only checks); nothing else.
        const created = [...planResources, ...["lab-1", "lab-2", "lab-3"].map((m) => `${m}-preflight`)];
        assert.deepStrictEqual(log.changed().filter((n) => log.ops.get(n) === "create"), [...created].sort(), changes.join("; "));
        assert.strictEqual(preview.changeSummary.create, created.length);
        // With no record of the last run, the printed plan says so rather than be taken for what up does.
        assert.strictEqual(plans.length, 1, plans.join("\n"));
        assert.ok(plans[0].includes(noRecordNote), `the plan's no-record note:\n${plans[0]}`);
        // Without a record the plan is a new stack's (what the note warns of): not what the up below does.
        assert.deepStrictEqual(parsePlanText(plans[0]).actions.map((a) => a.kind), ["bootstrap"], plans[0]);
        for (const op of ["replace", "create-replacement", "delete", "delete-replaced"]) {
            assert.strictEqual(preview.changeSummary[op as keyof typeof preview.changeSummary] ?? 0, 0, `${op}: ${changes.join("; ")}`);
        }
        // A host-files write whose `files` differ would rewrite a file on the host.
        const fileChanges = changes.filter((c) => /-(files|config)-write: .*\bfiles\b/.test(c));
        assert.deepStrictEqual(fileChanges, []);
    });

    it("this version's up restarts no member, and the next preview shows nothing", async () => {
        const up = await scratch.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        console.log(indent(`up: ${JSON.stringify(up.summary.resourceChanges)}`));
        assert.deepStrictEqual(hosts.map(mainPid), pids, "etcd's main PIDs before and after");
        // Nor changes any file etcd reads or runs (the preview's promise above, read on the hosts). Seen at 1966da0 (15:44): this
        // version's up adds its staged release under the releases dir (tarball, sums, unpacked copy), which d66b559 did not keep;
        // identical binaries. So: every other line the same, the state dir's only additions under releases, nothing there removed.
        const stateLines = (fp: string) => fp.split("\n").filter((l) => l.startsWith(`${paths.stateDir}/`));
        const otherLines = (fp: string) => fp.split("\n").filter((l) => !l.startsWith(`${paths.stateDir}/`));
        const hostsAfter = hosts.map(hostFingerprint);
        assert.deepStrictEqual(hostsAfter.map(otherLines), hostsBefore.map(otherLines), "a file etcd reads or runs changed, or etcd restarted, in this version's up");
        hosts.forEach((h, i) => {
            const before = stateLines(hostsBefore[i]);
            const after = stateLines(hostsAfter[i]);
            assert.deepStrictEqual(before.filter((l) => !after.includes(l)), [], `${h}: a file of the state dir changed or went`);
            assert.deepStrictEqual(after.filter((l) => !before.includes(l) && !l.startsWith(`${paths.releaseDir}/`)), [], `${h}: a file added to the state dir outside the releases`);
        });
        await assertHealthy(scratch);
        const again = await scratch.stack.preview();
        assertNoChange(again.changeSummary);
        // The plan recorded by that up: nothing. No up follows it here (one engine run more): the
        // "nothing" plan followed by an up that changes nothing on any host is membership.test.ts's (identity edits) and cluster.test.ts's (destroy policy).
        assert.match(again.stdout, /^ {4}1\. nothing: no member restarts, joins or leaves, and no file changes on a host$/m, again.stdout);
    });
});

describe(`lab: a stack deployed by the last landed version (${lastLandedVersion}), then run by this one (real engine)`, function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let pids: string[] = [];
    let hostsBefore: string[] = [];
    const plans = new PlanWatch();

    before(async function () {
        scratch = await stackOf(this, lastLandedVersion);
    });

    after(async () => {
        await discardStack(scratch, 3);
    });

    it("the last landed version deploys 3 healthy members", async () => {
        ({ pids, hostsBefore } = await deployed(scratch));
    });

    it("this version's preview shows no change at all, and its plan is nothing", async () => {
        useProgram(scratch.dir);
        const log = new StepLog();
        // The property paths that differ (the engine's detailed diff), to name what changed if anything did.
        const diffPaths = new Map<string, string[]>();
        const preview = await scratch.stack.preview({
            diff: true, onOutput: log.onOutput,
            onEvent: (e) => {
                log.onEvent(e); plans.onEvent(e);
                const meta = e.resourcePreEvent?.metadata;
                if (meta?.detailedDiff) diffPaths.set(meta.urn.split("::").pop()!, Object.keys(meta.detailedDiff).sort());
            },
        });
        // Every resource `same`: no create, update, replace or delete (a changed URN would show as a create and a delete).
        const changes = log.changed().map((n) => `${n}: ${log.ops.get(n)} ${log.diffs.get(n)!.join(",")}${diffPaths.has(n) ? ` (${diffPaths.get(n)!.join(", ")})` : ""}`);
        console.log(indent(`preview: ${JSON.stringify(preview.changeSummary)}${changes.length ? `\n${changes.join("\n")}` : ""}`));
        assert.deepStrictEqual(changes, [], "the resources this version's preview changes, and the inputs that differ");
        assertNoChange(preview.changeSummary);
        const plan = plans.take();
        assert.deepStrictEqual([plan.refusals, plan.actions.map((a) => a.kind)], [[], ["nothing"]], plan.text);
    });

    it("this version's up restarts no member and changes no file on a host, and the next preview shows nothing", async () => {
        const up = await scratch.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        console.log(indent(`up: ${JSON.stringify(up.summary.resourceChanges)}`));
        assert.deepStrictEqual(hosts.map(mainPid), pids, "etcd's main PIDs before and after");
        assert.deepStrictEqual(hosts.map(hostFingerprint), hostsBefore, "a managed file on a host changed in this version's up");
        await assertHealthy(scratch);
        const again = await scratch.stack.preview({ onEvent: plans.onEvent });
        assertNoChange(again.changeSummary);
        assert.deepStrictEqual(plans.take().actions.map((a) => a.kind), ["nothing"]);
    });
});

/**
 * The plan wired into the program (components/plan/planResource.ts): its provider's check, diff,
 * create, update and read called directly, table-driven, on records of the plan's fixtures (the
 * state a preview's check sees is the last run's inputs), and the component as declared on the
 * mocked engine. What a real preview prints: tests/engine/plan.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RecordedCluster, planCluster, planRecorded, recordCluster } from "../../../components/plan/plan";
import {
    ClusterPlan, PlanState, noRecordNote, planMarkdown, planMarkdownEnv, planProvider, planRecordType, planText, planType, readLiveHealth, sameRecord,
} from "../../../components/plan/planResource";
import { HostFilesProvider } from "../../../components/host/hostFiles";
import { removalCheckProvider } from "../../../components/plan/removalCheck";
import { peerUrl } from "../../../components/spec/where";
import { renderLiveHealthScript } from "../../../components/membership/renderMembership";
import { renderPlanMarkdown, renderPlanText } from "../../../components/plan/renderPlan";
import { ClusterSpec } from "../../../components/spec/types";
import { ShellHost, shellHost } from "../loopbackShellHost";
import { DependencyRecorder, installMocks, resolve } from "../mocks";
import { five, stack, three, threeWithLab3Moved, threeWithLab3Renamed } from "../planFixtures";

const base = stack(three);
const record = (s: ClusterSpec) => recordCluster(s);
/** Every member at a new address and machine at once (none stays). */
const allMoved = three.map((m, i) => ({ ...m, address: `10.213.0.${21 + i}`, hostKey: three[(i + 1) % 3].hostKey }));

type Check = (olds: unknown, news: unknown) => Promise<{ inputs: PlanState; failures: { property: string; reason: string }[] }>;
const check = planProvider.check as unknown as Check;

describe("plan resource: the provider called directly", () => {
    describe("check: hands on the last run's record, fails a refused plan in its own text", () => {
        const cases: Array<{ name: string; olds: Partial<PlanState>; next: ClusterSpec; refused?: RegExp[] }> = [
            { name: "a new stack (no state)", olds: {}, next: base },
            { name: "no change", olds: { recorded: record(base), previous: record(base) }, next: base },
            { name: "a tuning change", olds: { recorded: record(base), previous: null }, next: stack(three, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } }) },
            { name: "3 → 5 members", olds: { recorded: record(base), previous: record(base) }, next: stack(five) },
            { name: "5 → 3 members", olds: { recorded: record(stack(five)), previous: record(stack(five)) }, next: base },
            { name: "lab-3 replaced", olds: { recorded: record(base), previous: record(base) }, next: stack(threeWithLab3Moved) },
            { name: "3.5.32 → 3.6.16", olds: { recorded: record(stack(three, { version: "3.5.32" })), previous: null }, next: base },
            {
                name: "a downgrade 3.6.16 → 3.5.32", olds: { recorded: record(base), previous: record(base) }, next: stack(three, { version: "3.5.32" }),
                refused: [/^ {2}- version: lab-1: etcd 3\.6\.16 → 3\.5\.32 is a downgrade, which is not supported$/m, /^ {2}- version: lab-3: /m],
            },
            {
                name: "a minor skipped 3.4 → 3.6 (recorded by an older run)", olds: { recorded: { ...record(base), members: record(base).members.map((m) => ({ ...m, version: "3.4.30" })) } }, next: base,
                refused: [/^ {2}- version: lab-1: etcd 3\.4\.30 → 3\.6\.16 skips a minor version: upgrades go one minor at a time \(to 3\.5 first\)$/m],
            },
            {
                name: "every member's registration at once", olds: { recorded: record(base), previous: record(base) }, next: stack(allMoved),
                refused: [/^REFUSED: pulumi up changes nothing; the policy refuses this plan:$/m, /^ {2}- quorum: every member's registration changes at once \(lab-1, lab-2, lab-3 leave, none stays\)/m],
            },
        ];
        for (const c of cases) {
            it(`${c.name}: ${c.refused ? "fails with the plan's text" : "passes"}, previous = the last run's record`, async () => {
                const news = { recorded: record(c.next), __provider: "PROVIDER" };
                const r = await check(c.olds, news);
                const previous = (c.olds.recorded ?? null) as RecordedCluster | null;
                assert.deepEqual(r.inputs, { recorded: record(c.next), __provider: "PROVIDER", previous, live: null });
                const plan = planRecorded(previous ?? undefined, record(c.next));
                if (!c.refused) {
                    assert.deepEqual(r.failures, []);
                    assert.deepEqual(plan.refusals, []);
                    return;
                }
                assert.equal(r.failures.length, 1);
                assert.equal(r.failures[0].property, "", "no property: the engine would print the whole record first");
                assert.equal(r.failures[0].reason, `${renderPlanText(plan)}nothing was changed`);
                for (const re of c.refused) assert.match(r.failures[0].reason, re);
            });
        }

        it("a rename passes here: the removal check's check refuses it, in the same words, once", async () => {
            const renamed = stack(threeWithLab3Renamed);
            const r = await check({ recorded: record(base) }, { recorded: record(renamed) });
            assert.deepEqual(r.failures, []);
            const plan = planRecorded(record(base), record(renamed));
            assert.deepEqual(plan.refusals.map((x) => x.kind), ["identity"]);
            const places = (s: ClusterSpec) => ({
                members: Object.fromEntries(s.members.map((m) => [m.name, peerUrl(s, m)])),
                connections: Object.fromEntries(s.members.map((m) => [m.name, { host: m.sshHost, port: m.sshPort }])),
            });
            const removal = await (removalCheckProvider.check as unknown as (o: unknown, n: unknown) => Promise<{ failures: { reason: string }[] }>)(
                places(base), { ...places(renamed), order: renamed.members.map((m) => m.name), script: "", run: "r" });
            assert.deepEqual(removal.failures.map((f) => f.reason), [`${plan.refusals[0].reason}; nothing was changed`]);
        });

        it(`a rename or a swap: the removal check's check writes the refused plan's Markdown to $${planMarkdownEnv} (it fails the preview before the plan's own check may run)`, async () => {
            const places = (s: ClusterSpec) => ({
                clusterName: s.clusterName,
                members: Object.fromEntries(s.members.map((m) => [m.name, peerUrl(s, m)])),
                connections: Object.fromEntries(s.members.map((m) => [m.name, { host: m.sshHost, port: m.sshPort }])),
                order: s.members.map((m) => m.name), script: "", run: "r",
            });
            const swapped = three.map((m, i) => (i === 1 ? { ...m, address: three[2].address } : i === 2 ? { ...m, address: three[1].address } : m));
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-plan-md-"));
            const file = path.join(dir, "plan.md");
            const saved = process.env[planMarkdownEnv];
            const removalCheck = removalCheckProvider.check as unknown as (o: unknown, n: unknown) => Promise<{ failures: { reason: string }[] }>;
            try {
                process.env[planMarkdownEnv] = file;
                for (const edited of [stack(threeWithLab3Renamed), stack(swapped)]) {
                    fs.rmSync(file, { force: true });
                    const removal = await removalCheck(places(base), places(edited));
                    assert.ok(removal.failures.length > 0, "the removal check refuses it");
                    const plan = planRecorded(record(base), record(edited));
                    assert.deepEqual(plan.refusals.map((x) => x.kind), removal.failures.map(() => "identity"));
                    // What the plan's own check would write, had it run: the same Markdown, word for word.
                    assert.equal(fs.readFileSync(file, "utf8"), planMarkdown(plan, record(base)));
                    assert.match(fs.readFileSync(file, "utf8"), /^> \*\*REFUSED: pulumi up changes nothing; the policy refuses this plan:\*\*$/m);
                }
                // Not set: no file.
                delete process.env[planMarkdownEnv];
                fs.rmSync(file, { force: true });
                await removalCheck(places(base), places(stack(threeWithLab3Renamed)));
                assert.ok(!fs.existsSync(file));
                // Nothing refused: the removal check writes nothing (the plan's check writes the plan).
                process.env[planMarkdownEnv] = file;
                await removalCheck(places(base), places(stack(five)));
                assert.ok(!fs.existsSync(file));
            } finally {
                if (saved === undefined) delete process.env[planMarkdownEnv];
                else process.env[planMarkdownEnv] = saved;
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it(`writes the plan's Markdown to $${planMarkdownEnv} when set (a refused plan too), nothing otherwise`, async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-plan-md-"));
            const file = path.join(dir, "plan.md");
            const saved = process.env[planMarkdownEnv];
            try {
                delete process.env[planMarkdownEnv];
                await check({ recorded: record(base) }, { recorded: record(stack(five)) });
                assert.ok(!fs.existsSync(file));
                process.env[planMarkdownEnv] = file;
                await check({ recorded: record(base) }, { recorded: record(stack(five)) });
                assert.equal(fs.readFileSync(file, "utf8"), renderPlanMarkdown(planCluster(record(base), stack(five))));
                await check({ recorded: record(base) }, { recorded: record(stack(allMoved)) });
                assert.match(fs.readFileSync(file, "utf8"), /^> \*\*REFUSED: pulumi up changes nothing/m);
                await check({}, { recorded: record(base) });
                assert.equal(fs.readFileSync(file, "utf8"), renderPlanMarkdown(planCluster(undefined, base)) + `\n_${noRecordNote}_\n`);
            } finally {
                if (saved === undefined) delete process.env[planMarkdownEnv];
                else process.env[planMarkdownEnv] = saved;
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("live health (--refresh): read through the first host that answers, counted by the next check", () => {
        const tuned = stack(three, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } });
        const read = { unhealthy: ["lab-2"], leader: "lab-1", readAt: "2026-12-05T19:40:01.123Z" };

        it("check: the state's live health is handed on and counted; a restart it would leave below quorum refuses the plan, saying what was read and when", async () => {
            const r = await check({ recorded: record(base), previous: record(base), live: read }, { recorded: record(tuned) });
            assert.deepEqual(r.inputs.live, read);
            assert.equal(r.failures.length, 1);
            assert.match(r.failures[0].reason, /^ {2}- quorum: .*lab-1/m);
            assert.match(r.failures[0].reason, /^Live health counted \(pulumi preview --refresh, read at 2026-12-05 19:40:01 UTC\): members the cluster reports unhealthy are marked\. Not serving: lab-2; leader: lab-1\.$/m);
            // Without it (no refresh since the last up), the same edit passes here: the hosts' own counts refuse at up.
            const without = await check({ recorded: record(base), previous: record(base), live: null }, { recorded: record(tuned) });
            assert.deepEqual(without.failures, []);
            assert.equal(without.inputs.live, null);
        });

        describe("read, against members on loopback", () => {
            const hosts: ShellHost[] = [];
            before(async () => { for (const n of ["lab-1", "lab-2"]) hosts.push(await shellHost(n)); });
            after(() => hosts.forEach((h) => h.close()));
            beforeEach(() => hosts.forEach((h) => h.reset()));
            const script = "set -eu\necho noise\necho 'live lab-1 down'\necho 'live lab-2 serving leader'\necho 'live lab-3 serving'\n";
            const closed = { host: "127.0.0.1", port: 1, user: "root", privateKey: "unused", hostKey: hosts[0]?.hostKey } as unknown;

            it("runs the live health script on the first member whose host answers, and keeps what it says with the time", async () => {
                const connections = { "lab-1": closed, "lab-2": hosts[1].connection, "lab-3": hosts[0].connection } as PlanState["connections"];
                const before = Date.now();
                const live = await readLiveHealth({ order: ["lab-1", "lab-2", "lab-3"], connections, liveScript: script });
                assert.deepEqual({ ...live, readAt: undefined }, { unhealthy: ["lab-1"], leader: "lab-2", readAt: undefined });
                assert.ok(Date.parse(live!.readAt!) >= before - 1000 && Date.parse(live!.readAt!) <= Date.now(), live!.readAt);
                assert.equal(hosts[1].execs.length, 1, "asked lab-2's host once");
                assert.equal(hosts[0].execs.length, 0, "and no other");
                // The provider's read: the state with what was read.
                const props: PlanState = { recorded: record(base), previous: record(base), live: null, order: ["lab-2"], connections, liveScript: script };
                const r = await planProvider.read!("plan", props);
                assert.deepEqual({ ...r.props.live, readAt: undefined }, { unhealthy: ["lab-1"], leader: "lab-2", readAt: undefined });
                assert.deepEqual({ ...r.props, live: undefined }, { ...props, live: undefined });
                // Its inputs too: the next preview's check gets the state's inputs as `olds` (at a44ec90 only the outputs had it,
                // and a preview --refresh of a roll with a member down on the lab passed unmarked).
                assert.deepEqual(r.inputs, r.props);
            });

            it("a host that sees no member serving (itself cut off, or its clock off) is not believed: the next host is asked", async () => {
                const blind = "set -eu\necho 'live lab-1 down'\necho 'live lab-2 down'\n";
                const seeing = "set -eu\necho 'live lab-1 down'\necho 'live lab-2 serving leader'\n";
                // Each loopback host runs the script it is given: lab-1's host gets the blind one by its own connection's script.
                const order = ["lab-1", "lab-2"];
                const connections = { "lab-1": hosts[0].connection, "lab-2": hosts[1].connection } as PlanState["connections"];
                fs.writeFileSync(path.join(hosts[1].dir, "seeing"), "");
                const script = `if [ -e "$HOST_DIR/seeing" ]; then ${"\n"}${seeing}else${"\n"}${blind}fi\n`;
                const live = await readLiveHealth({ order, connections, liveScript: script });
                assert.deepEqual({ ...live, readAt: undefined }, { unhealthy: ["lab-1"], leader: "lab-2", readAt: undefined });
                assert.equal(hosts[0].execs.length, 1, "lab-1's host was asked first");
                assert.equal(hosts[1].execs.length, 1, "then lab-2's");
                // Every host blind: every member unhealthy.
                fs.rmSync(path.join(hosts[1].dir, "seeing"));
                const none = await readLiveHealth({ order, connections, liveScript: script });
                assert.deepEqual(none?.unhealthy, ["lab-1", "lab-2"]);
            });

            it("no host answers: every member counted unhealthy (a refresh that reached no one cannot vouch for any)", async () => {
                const live = await readLiveHealth({ order: ["lab-1", "lab-2"], connections: { "lab-1": closed, "lab-2": closed } as PlanState["connections"], liveScript: script });
                assert.deepEqual(live?.unhealthy, ["lab-1", "lab-2"]);
                assert.equal(live?.leader, undefined);
            });

            it("a record written before the means were given (no order, connections or script): nothing read, null", async () => {
                assert.equal(await readLiveHealth({}), null);
                assert.equal(await readLiveHealth({ order: ["lab-1"], connections: {} }), null);
            });
        });
    });

    describe("diff: the record only", () => {
        /** The same value, every object's keys in reverse order (as a state may hand them back). */
        const reordered = <T>(v: T): T => (Array.isArray(v) ? v.map(reordered) : v !== null && typeof v === "object"
            ? Object.fromEntries(Object.keys(v).reverse().map((k) => [k, reordered((v as Record<string, unknown>)[k])])) : v) as T;
        const cases: Array<[string, PlanState, PlanState, boolean]> = [
            ["the same record", { recorded: record(base), previous: record(base) }, { recorded: record(base), previous: record(base) }, false],
            ["the same record, keys in another order", { recorded: record(base), previous: null }, { recorded: reordered(record(base)), previous: null }, false],
            ["only previous differs (what the check hands on)", { recorded: record(base), previous: record(base) }, { recorded: record(base), previous: null }, false],
            ["a member added", { recorded: record(base), previous: record(base) }, { recorded: record(stack(five)), previous: record(base) }, true],
            ["a version", { recorded: record(base), previous: record(base) }, { recorded: record(stack(three, { version: "3.6.15" })), previous: record(base) }, true],
            ["a tuning change", { recorded: record(base), previous: record(base) }, { recorded: record(stack(three, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } })), previous: record(base) }, true],
        ];
        for (const [name, olds, news, changes] of cases) {
            it(`${name}: ${changes ? "a change" : "no change"}`, async () => {
                if (name.includes("another order")) assert.notEqual(JSON.stringify(news.recorded), JSON.stringify(olds.recorded));
                assert.deepEqual(await planProvider.diff!("plan", olds, news), { changes });
                assert.equal(sameRecord(olds.recorded, news.recorded), !changes);
            });
        }
    });

    describe("create, update, read: the record advances to this run's; nothing else", () => {
        const cases: Array<[string, RecordedCluster | null, ClusterSpec]> = [
            ["a new stack", null, base],
            ["3 → 5", record(base), stack(five)],
            ["a replace", record(base), stack(threeWithLab3Moved)],
        ];
        for (const [name, previous, next] of cases) {
            it(`${name}: create and update record this run's cluster as previous and no live health; read without the means to probe reads none`, async () => {
                const checked: PlanState = { recorded: record(next), previous, live: { unhealthy: ["lab-2"], readAt: "2026-12-05T19:00:00.000Z" } };
                const created = await planProvider.create(checked);
                assert.deepEqual(created, { id: "plan", outs: { recorded: record(next), previous: record(next), live: null } });
                const updated = await planProvider.update!("plan", { recorded: previous ?? record(base), previous }, checked);
                assert.deepEqual(updated, { outs: { recorded: record(next), previous: record(next), live: null } });
                // The next preview with no edit: nothing.
                assert.deepEqual(planRecorded(updated.outs.previous, record(next)).actions.map((a) => a.kind), ["nothing"]);
                const read = await planProvider.read!("plan", updated.outs);
                assert.deepEqual(read, { id: "plan", props: updated.outs, inputs: updated.outs });
            });
        }
    });

    it("planText and planMarkdown: the renderers' own, with the note when there was no record", () => {
        const p = planCluster(record(base), stack(five));
        assert.equal(planText(p, record(base)), renderPlanText(p));
        assert.equal(planMarkdown(p, record(base)), renderPlanMarkdown(p));
        const fresh = planCluster(undefined, base);
        assert.equal(planText(fresh, null), renderPlanText(fresh) + noRecordNote + "\n");
    });
});

describe("plan resource: the component as declared (mocked engine)", function () {
    this.timeout(20_000);

    /** Something the plan must wait for. */
    class Marker extends pulumi.CustomResource {
        constructor(name: string) {
            super("test:index:Before", name, {});
        }
    }

    it(`a component ${planType} with the record (${planRecordType}) in the provider instance it is given: this run's cluster, after what it is given`, async () => {
        const recorded = installMocks();
        const deps = new DependencyRecorder();
        const cluster = new Marker("etcd");
        const provider = new HostFilesProvider("etcd-host-files");
        const p = new ClusterPlan("etcd-plan", { spec: stack(five), after: [cluster], provider }, { transformations: [deps.transformation] });
        await resolve(p.plan);
        const mine = recorded.filter((r) => r.name.startsWith("etcd-plan"));
        assert.deepEqual(mine.map((r) => [r.type, r.name]).sort(), [
            ["etcd:index:Plan", "etcd-plan"],
            ["pulumi-nodejs:dynamic/etcd:Plan", "etcd-plan-record"],
        ], "no provider of its own: one more Node.js process per engine run, and an `up --target` of the cluster would fail on it");
        const rec = mine.find((r) => r.name === "etcd-plan-record")!;
        assert.deepEqual(rec.inputs.recorded, JSON.parse(JSON.stringify(record(stack(five)))));
        assert.match(rec.provider ?? "", /pulumi:providers:pulumi-nodejs::etcd-host-files::/);
        await deps.settled();
        assert.deepEqual(deps.dependsOn("etcd-plan-record"), ["<unknown>"], "the record waits for what it was given (the cluster)");
    });

    it("given the members' connections, the record carries the means of a refresh's live health read (order, connections, the live health script), and the plan counts what it read", async () => {
        const recorded = installMocks({ planPrevious: record(base), planLive: { unhealthy: ["lab-2"], readAt: "2026-12-05T19:40:01Z" }, dryRun: true });
        const s = stack(three, { tuning: { heartbeatIntervalMs: 200, electionTimeoutMs: 2000 } });
        const connections = Object.fromEntries(s.members.map((m) => [m.name, { host: m.address, port: 22, user: "root", privateKey: pulumi.secret("KEY") }]));
        const p = new ClusterPlan("etcd-plan", { spec: s, after: [], provider: new HostFilesProvider("etcd-host-files"), connections });
        const plan = await resolve(p.plan);
        const rec = recorded.find((r) => r.name === "etcd-plan-record")!;
        assert.deepEqual(rec.inputs.order, ["lab-1", "lab-2", "lab-3"]);
        assert.equal(rec.inputs.liveScript, renderLiveHealthScript(s));
        // The connections carry a secret (the key): the mocked engine gets them wrapped as one.
        const conns = rec.inputs.connections.value ?? rec.inputs.connections;
        assert.deepEqual(Object.keys(conns), ["lab-1", "lab-2", "lab-3"]);
        assert.equal(plan.live, true);
        assert.deepEqual(plan, planRecorded(record(base), record(s), { unhealthy: ["lab-2"], readAt: "2026-12-05T19:40:01Z" }));
        assert.ok(plan.refusals.some((r) => r.kind === "quorum"), "a restart with lab-2 down would leave 1 of 3");
    });

    const runs: Array<[string, unknown, ClusterSpec, string[]]> = [
        ["a new stack: no record (null)", null, base, ["bootstrap"]],
        ["an earlier record, 3 → 5", record(base), stack(five), ["files", "join", "join"]],
        ["an earlier record, no change", record(base), base, ["nothing"]],
    ];
    for (const [name, previous, next, kinds] of runs) {
        it(`the plan from the record's previous, in a preview: ${name}`, async () => {
            installMocks({ planPrevious: previous, dryRun: true });
            const p = new ClusterPlan("etcd-plan", { spec: next, after: [], provider: new HostFilesProvider("etcd-host-files") });
            const plan = await resolve(p.plan);
            assert.deepEqual(plan, planCluster((previous ?? undefined) as RecordedCluster | undefined, next));
            assert.deepEqual(plan.actions.map((a) => a.kind), kinds);
        });
    }
});

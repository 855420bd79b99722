/**
 * The chaos steps on the lab: each is a real stack edit through the engine or a real event on a
 * host, followed by the `up` that must repair it (the invariants are checked by the runner after).
 */
import * as path from "path";
import * as paths from "../../components/base/paths";
import { repoRoot } from "../engine/engine";
import { HealthMonitor } from "../lab/etcdClient";
import { labFault, labSsh, labUp, runAsync } from "../lab/lab";
import { adminCredentials, mainPid, releaseTarball, wipeHost } from "../lab/labStack";
import { ChaosContext, ChaosFailure, EngineOutcome, Member, MonitoredRun, clientUrl, firstError, hostOf, sleep } from "./context";
import { readRestarts } from "./restarts";
import { leaderOf, memberList, unnamedFailure, waitHealthy } from "./invariants";
import { fillUntilNospace } from "./fill";
import { Step } from "./plan";

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The etcd process of every member, by host: a roll must change each. */
function pidsOf(ctx: ChaosContext): Map<string, string> {
    return new Map(ctx.members.map((m) => [hostOf(m), mainPid(hostOf(m))]));
}

/** Fails the step unless every member's etcd runs as a new process and its config holds `snapshotCount`. */
function checkRolled(ctx: ChaosContext, label: string, before: Map<string, string>, snapshotCount?: number): void {
    const same = [...before].filter(([h, pid]) => mainPid(h) === pid).map(([h]) => h);
    if (same.length > 0) throw new ChaosFailure(`${label}: not rolled: ${same.join(", ")} kept the same etcd process`);
    if (snapshotCount === undefined) return;
    const stale = [...before.keys()].filter((h) => !new RegExp(`^snapshot-count: ${snapshotCount}$`, "m")
        .test(labSsh(h, `cat ${paths.defaultDirs.config}/${paths.configFileName}`, undefined, 60_000).stdout));
    if (stale.length > 0) throw new ChaosFailure(`${label}: the new snapshot-count is not in the config of ${stale.join(", ")}`);
}

/**
 * An identity edit (`members` instead of the stack's) that the preview must refuse with one of
 * `reasons`, restarting nothing; the stack's config is put back whatever happens.
 */
async function refusedByPreview(ctx: ChaosContext, label: string, members: Member[], reasons: RegExp[], refusal: string): Promise<void> {
    const stack = ctx.members;
    const pids = pidsOf(ctx);
    ctx.scratch.setConfig({ members });
    let preview;
    try {
        preview = await ctx.engine("preview", label, []);
    } finally {
        ctx.scratch.setConfig({ members: stack });
    }
    if (preview.ok) throw new ChaosFailure(`${label}: the preview of the edit succeeded; it must be refused`);
    const line = (preview.error ?? "").split("\n").find((l) => reasons.some((r) => r.test(l)));
    if (!line) throw new ChaosFailure(`${label}: the preview failed, but not with the refusal expected (${reasons.map((r) => r.source).join(" or ")}): ${(preview.error ?? "").slice(-1500)}`);
    ctx.refused(refusal);
    ctx.say(`    refused by preview: ${line.trim().slice(0, 300)}`);
    const moved = [...pids].filter(([h, pid]) => mainPid(h) !== pid).map(([h]) => h);
    if (moved.length > 0) throw new ChaosFailure(`${label}: a refused preview restarted etcd on ${moved.join(", ")}`);
}

/** A failed up must name, for each resource that failed, the member or host and why (unnamedFailure). */
function failureNamed(ctx: ChaosContext, label: string, up: EngineOutcome): void {
    const missing = unnamedFailure(`${up.log.output}\n${up.error ?? ""}`, ctx.members);
    if (missing) throw new ChaosFailure(`${label}: the failed up does not say where and why: ${missing}`);
}

/** The lab fault that starts `fault` on a host, and the one that ends it. */
const faultCommands = { freeze: ["freeze", "thaw"], partition: ["link-down", "link-up"] } as const;

/**
 * The lab's hosts 1 … n up, n the highest that `members` use (lab.sh up n removes the hosts above
 * n; it keeps the running ones and heals a stopped one, so it comes before a power-off).
 */
function hostsUpFor(members: Member[]): void {
    labUp(Math.max(3, ...members.map((m) => Number(hostOf(m).slice(3)))));
}

function memberOf(ctx: ChaosContext, name: string): Member {
    const m = ctx.members.find((x) => x.name === name);
    if (!m) throw new ChaosFailure(`${name} is not a member of the stack (${ctx.members.map((x) => x.name).join(", ")})`);
    return m;
}

export async function runStep(ctx: ChaosContext, step: Step): Promise<void> {
    const label = `step ${step.n} (${step.kind})`;
    switch (step.kind) {
        case "scale-up": {
            const before = ctx.members;
            const after = step.after!;
            // The new hosts (lab.sh keeps the running ones and writes every host's key to known_hosts).
            hostsUpFor(after);
            ctx.setMembers(after);
            await ctx.upConverging(label, before);
            ctx.setRecorderEndpoints(after);
            return;
        }
        case "scale-down": {
            const after = step.after!;
            // The recorder leaves the members that go first, as an application would be reconfigured.
            ctx.setRecorderEndpoints(after);
            ctx.setMembers(after);
            await ctx.upConverging(label, after);
            return;
        }
        case "tuning-roll": {
            ctx.setTuning({ snapshotCount: step.snapshotCount });
            const pids = pidsOf(ctx);
            await ctx.upConverging(label, ctx.members);
            checkRolled(ctx, label, pids, step.snapshotCount);
            return;
        }
        case "cert-reissue": {
            ctx.scratch.setConfig({ certValidityHours: step.validityHours });
            const pids = pidsOf(ctx);
            const certFile = `${paths.defaultDirs.pki}/${paths.pkiFiles.serverCert}`;
            const sum = (h: string) => labSsh(h, `sha256sum ${certFile}`, undefined, 60_000).stdout.split(" ")[0];
            const certs = new Map([...pids.keys()].map((h) => [h, sum(h)]));
            await ctx.upConverging(label, ctx.members);
            checkRolled(ctx, label, pids);
            const kept = [...certs].filter(([h, before]) => sum(h) === before).map(([h]) => h);
            if (kept.length > 0) throw new ChaosFailure(`${label}: ${certFile} not reissued on ${kept.join(", ")}`);
            // The admin certificate was reissued too: the same files, rewritten (the recorder reads them at its next dial).
            ctx.admin = await adminCredentials(ctx.scratch, ctx.etcdctl, "chaos-admin");
            return;
        }
        case "fault-during-roll": {
            ctx.setTuning({ snapshotCount: step.snapshotCount });
            const [start, end] = faultCommands[step.fault!];
            const pids = pidsOf(ctx);
            let faulted: string | undefined;
            let lifted: Promise<void> | undefined;
            // At the first restart's start: the step's member, or the next one if it leads then (a fault
            // of the leader is an election, during which the monitor sees every member fail its read).
            const inject = async () => {
                const leader = await leaderOf(ctx);
                const i = ctx.members.findIndex((m) => m.name === step.member);
                const m = ctx.members[i]?.name !== leader?.name ? ctx.members[i] : ctx.members[(i + 1) % ctx.members.length];
                faulted = hostOf(m);
                ctx.faults++;
                ctx.say(`    ${labFault(start, faulted).trim()} (${step.seconds} s; leader: ${leader?.name ?? "none answered"})`);
                await sleep(step.seconds! * 1000);
                ctx.say(`    ${labFault(end, faulted).trim()}`);
            };
            let lift: Promise<void> | undefined;
            // Once, whatever happened (idempotent): the host is back before its journal is read.
            const liftFault = () => lift ??= (async () => {
                await lifted?.catch((e) => ctx.say(`    the fault: ${(e as Error).message}`));
                if (faulted) labFault(end, faulted);
            })();
            let first;
            try {
                first = await ctx.engine("up", label, ctx.members, undefined, (line) => {
                    if (!lifted && /-service updating/.test(line)) lifted = inject();
                }, liftFault);
            } finally {
                await liftFault();
            }
            ctx.reportUp(first);
            if (!faulted) throw new ChaosFailure(`${label}: the up never began a restart (no '-service updating' line): ${first.ok ? "it succeeded" : firstError(first)}`);
            // The fault may have begun right after a restart had counted the others: one more member down is the fault's.
            ctx.checkQuorumKept(label, first, 1);
            if (!first.ok) {
                failureNamed(ctx, label, first);
                ctx.say(`    the up during the fault failed (the next must converge): ${firstError(first)}`);
            }
            const down = await waitHealthy(ctx, ctx.members, 90_000);
            if (down.length > 0) ctx.say(`    not healthy 90 s after the fault ended: ${down.join(", ")} (the up must repair it)`);
            await ctx.upConverging(label, ctx.members);
            checkRolled(ctx, label, pids, step.snapshotCount);
            return;
        }
        case "killed-up": {
            ctx.setTuning({ snapshotCount: step.snapshotCount });
            const pids = pidsOf(ctx);
            const point = step.killAt === "restarting" ? /-service updating/ : /-service updated/;
            const monitor = new HealthMonitor(ctx.etcdctl, Object.fromEntries(ctx.members.map((m) => [m.name, clientUrl(m)])), ctx.admin, 1000, 10 * 60_000).start();
            const started = Date.now();
            let out: string;
            try {
                out = await ctx.scratch.upKilledAt(point, Math.max(10_000, Math.min(8 * 60_000, ctx.remaining())));
            } finally {
                await monitor.stop();
            }
            const killed: MonitoredRun = { op: "up (killed)", ok: false, ms: Date.now() - started, maxDown: monitor.maxDown, watched: ctx.members.length, samples: monitor.samples, worst: monitor.worst, handOffs: monitor.handOffs,
                restarts: readRestarts(ctx.members, started) };
            ctx.engineRuns.push({ op: killed.op, ms: killed.ms, ok: false });
            ctx.engineLogs.push({ label: `${label} (up, killed)`, output: out });
            ctx.reportUp(killed);
            if (!point.test(out)) throw new ChaosFailure(`${label}: the up ended without reaching ${point.source}: ${out.slice(-1500)}`);
            ctx.faults++;
            ctx.checkQuorumKept(label, killed);
            const cancel = ctx.scratch.cli(["cancel", "--yes"]);
            if (cancel.code !== 0) throw new ChaosFailure(`${label}: pulumi cancel after the kill failed: ${(cancel.stderr || cancel.stdout).slice(-800)}`);
            ctx.say("    engine killed; pulumi cancel done");
            await ctx.upConverging(label, ctx.members);
            checkRolled(ctx, label, pids, step.snapshotCount);
            return;
        }
        case "clock-skew": {
            const m = memberOf(ctx, step.member!);
            const host = hostOf(m);
            ctx.setTuning({ snapshotCount: step.snapshotCount });
            const pids = pidsOf(ctx);
            ctx.faults++;
            ctx.say(`    ${labFault("clock-behind", host).trim()}`);
            let first;
            try {
                first = await ctx.engine("up", label, ctx.members);
            } finally {
                ctx.say(`    ${labFault("clock-fix", host).trim()}`);
            }
            ctx.reportUp(first);
            ctx.checkQuorumKept(label, first);
            if (!first.ok) {
                failureNamed(ctx, label, first);
                const skew = new RegExp(`preflight failed on ${escaped(m.name)}:\\s*- clock is \\d+s behind`);
                if (!skew.test(`${first.log.output}\n${first.error ?? ""}`)) throw new ChaosFailure(`${label}: the up failed, not on ${m.name}'s clock: ${firstError(first)}`);
                ctx.refused("clock skew");
                ctx.say(`    refused: preflight named ${m.name}'s clock`);
            } else {
                ctx.say(`    the up succeeded with ${m.name}'s clock behind (no step on it checks the time in this change)`);
            }
            await ctx.upConverging(label, ctx.members);
            checkRolled(ctx, label, pids, step.snapshotCount);
            return;
        }
        case "nospace": {
            // The backend quota (chaosTuning's) filled: one key overwritten with 960 KiB values until
            // etcd raises NOSPACE and refuses writes (the recorder's puts then fail, definitely). Below
            // 1 MiB: the lab client reads each request as one line of at most 1 MiB.
            const endpoints = ctx.endpoints();
            const value = "x".repeat(960 * 1024);
            const quota = Number(ctx.tuning.quotaBackendBytes);
            const fill = await fillUntilNospace((i) => ctx.etcdctl.put(endpoints, "chaos-fill/k", `${i}:${value}`, ctx.admin),
                { maxPuts: Math.ceil(quota / value.length) * 3 });
            const others = fill.otherFailures.length > 0
                ? `; ${fill.otherFailures.length} failed otherwise, the last: ${fill.otherFailures[fill.otherFailures.length - 1].split("\n").pop()!.slice(0, 200)}` : "";
            if (!fill.nospace) throw new ChaosFailure(`${label}: ${fill.puts} puts of 960 KiB, and no NOSPACE${others}`);
            ctx.faults++;
            const alarms = await ctx.etcdctl.run(endpoints, ["alarm", "list"], ctx.admin);
            ctx.say(`    NOSPACE after ${fill.puts} puts of 960 KiB${others}: ${alarms.out.trim().split("\n").join("; ").slice(0, 300)}`);
            // The operator's documented remedy (README, "Maintenance"): compact, defragment one member at a time, disarm.
            const r = await runAsync("bash", [path.join(repoRoot, "scripts/maintenance.sh"), "lab"],
                { cwd: ctx.scratch.dir, env: { ...process.env, ...ctx.scratch.env, ETCD_STACK_LAB: "1" }, timeoutMs: Math.max(60_000, Math.min(10 * 60_000, ctx.remaining())), label: "npm run maintenance" });
            if (r.code !== 0) throw new ChaosFailure(`${label}: scripts/maintenance.sh failed (exit ${r.code}): ${(r.stderr || r.stdout).slice(-1500)}`);
            ctx.say(`    ${r.stdout.split("\n").filter((l) => /^(compacted|defragmented|NOSPACE)/.test(l)).join("; ").slice(0, 600)}`);
            const after = await ctx.etcdctl.run(endpoints, ["alarm", "list"], ctx.admin);
            if (after.code !== 0 || after.out.trim() !== "") throw new ChaosFailure(`${label}: alarms still raised after the maintenance: ${after.out.trim().slice(0, 300)}`);
            const put = await ctx.etcdctl.put(endpoints, "chaos-fill/k", "after the maintenance", ctx.admin);
            if (put.code !== 0) throw new ChaosFailure(`${label}: a put after the maintenance failed: ${put.out}`);
            return;
        }
        case "power-off-replace": {
            // A machine that died for good: powered off, its member moved in the stack to a free host;
            // the up removes the dead registration through the others and adds the member there,
            // restarting none of the others (tests/lab/membershipRecovery.test.ts proves this path alone).
            const m = memberOf(ctx, step.member!);
            const dead = hostOf(m);
            const after = step.after!;
            const moved = after.find((x) => x.name === m.name)!;
            const staying = ctx.members.filter((x) => x.name !== m.name);
            hostsUpFor([...ctx.members, ...after]);
            const pids = new Map(staying.map((x) => [hostOf(x), mainPid(hostOf(x))]));
            ctx.faults++;
            ctx.say(`    ${labFault("stop", dead).trim()} (powered off)`);
            ctx.setMembers(after);
            await ctx.upConverging(label, staying);
            ctx.setRecorderEndpoints(after);
            const restarted = [...pids].filter(([h, pid]) => mainPid(h) !== pid).map(([h]) => h);
            if (restarted.length > 0) throw new ChaosFailure(`${label}: replacing ${m.name} restarted etcd on ${restarted.join(", ")}`);
            ctx.say(`    ${m.name} now on ${hostOf(moved)}; no other member restarted`);
            // The dead machine comes back with its old etcd, which the others refuse (a removed member);
            // then it is reinstalled, as an operator would before using it again (a free host for later steps).
            ctx.say(`    ${labFault("start", dead).trim()}`);
            await sleep(5000);
            wipeHost(dead);
            ctx.say(`    ${dead} reinstalled (every etcd-stack file removed)`);
            return;
        }
        case "upgrade": {
            const { from, to } = step.version!;
            ctx.scratch.setConfig({ version: to, binary: { localTarball: releaseTarball(to) } });
            const pids = pidsOf(ctx);
            await ctx.upConverging(label, ctx.members);
            checkRolled(ctx, label, pids);
            const old = ctx.members.filter((m) => !new RegExp(`^etcd Version: ${escaped(to)}$`, "m")
                .test(labSsh(hostOf(m), `${paths.binDir}/etcd --version`, undefined, 60_000).stdout));
            if (old.length > 0) throw new ChaosFailure(`${label}: ${old.map((m) => m.name).join(", ")} still run another release than ${to} (from ${from})`);
            ctx.say(`    every member runs ${to} (etcd --version on its host)`);
            return;
        }
        case "crash":
        case "reboot": {
            const m = memberOf(ctx, step.member!);
            const host = hostOf(m);
            ctx.faults++;
            if (step.kind === "crash") {
                ctx.say(`    ${labFault("crash", host).trim()}`);
                await sleep(3000);
                ctx.say(`    ${labFault("start", host).trim()}`);
            } else {
                ctx.say(`    ${labFault("reboot", host).trim()}`);
            }
            // The unit is enabled: etcd comes back by itself with its data.
            const down = await waitHealthy(ctx, [m], 90_000);
            if (down.length > 0) ctx.say(`    ${m.name} not healthy 90 s after its host came back (the up must repair it)`);
            await ctx.upConverging(label, ctx.members);
            return;
        }
        case "hand-removal": {
            const m = memberOf(ctx, step.member!);
            const listed = (await memberList(ctx)).find((x) => x.name === m.name);
            if (!listed) throw new ChaosFailure(`${label}: ${m.name} is not in the cluster's member list`);
            // Asked of the others: the removed member stops as soon as it applies its own removal.
            const others = ctx.endpoints(ctx.members.filter((x) => x.name !== m.name));
            // etcd's strict reconfig check answers "unhealthy cluster" until every peer has been
            // connected for 5 s (a member just started): the operator's etcdctl is tried again then.
            let r = await ctx.etcdctl.run(others, ["member", "remove", listed.id], ctx.admin);
            for (let i = 0; i < 15 && r.code !== 0 && /unhealthy cluster/.test(r.out); i++) {
                await sleep(2000);
                r = await ctx.etcdctl.run(others, ["member", "remove", listed.id], ctx.admin);
            }
            if (r.code !== 0) throw new ChaosFailure(`${label}: etcdctl member remove ${listed.id} (${m.name}) failed: ${r.out.trim()}`);
            ctx.faults++;
            ctx.say(`    ${r.out.trim().split("\n")[0]}`);
            const stopped = labSsh(hostOf(m), `for i in $(seq 30); do systemctl is-active --quiet ${paths.unitName} || exit 0; sleep 1; done; exit 1`, undefined, 60_000);
            ctx.say(`    ${m.name}'s etcd ${stopped.code === 0 ? "stopped" : "still active after 30 s"}`);
            await ctx.upConverging(label, ctx.members);
            return;
        }
        case "wipe-data": {
            const m = memberOf(ctx, step.member!);
            const r = labSsh(hostOf(m), `systemctl stop ${paths.unitName} && rm -rf ${paths.defaultDirs.data}/member`, undefined, 60_000);
            if (r.code !== 0) throw new ChaosFailure(`${label}: wiping ${m.name}'s data failed: ${r.stderr.trim()}`);
            ctx.faults++;
            ctx.say(`    ${m.name}: etcd stopped, ${paths.defaultDirs.data}/member removed`);
            await ctx.upConverging(label, ctx.members);
            return;
        }
        case "rename": {
            const m = memberOf(ctx, step.member!);
            const renamed = ctx.members.map((x) => x.name === m.name ? { ...x, name: `${x.name}b` } : x);
            await refusedByPreview(ctx, label, renamed,
                [new RegExp(`${m.name}b would take over ${m.name}'s address ${escaped(m.address)} while ${m.name} is a member of the cluster \\(a rename at the same address\\)`)],
                "identity edit: a rename at the same address");
            return;
        }
        case "swap": {
            const a = memberOf(ctx, step.member!);
            const b = memberOf(ctx, step.other!);
            const swapped = ctx.members.map((x) => x.name === a.name ? { ...x, address: b.address } : x.name === b.name ? { ...x, address: a.address } : x);
            // Either member may be named first.
            const reason = (x: Member, y: Member) => new RegExp(`${x.name} would take over ${y.name}'s address ${escaped(y.address)} while ${y.name} moves to ${escaped(x.address)} \\(members swapping addresses\\)`);
            await refusedByPreview(ctx, label, swapped, [reason(a, b), reason(b, a)], "identity edit: two members swapping addresses");
            return;
        }
    }
}

/**
 * The chaos steps on the lab: each is a real stack edit through the engine or a real event on a
 * host, followed by the `up` that must repair it (the invariants are checked by the runner after).
 */
import * as paths from "../../components/paths";
import { labFault, labSsh, labUp } from "../lab/lab";
import { labMembers, mainPid } from "../lab/labStack";
import { ChaosContext, ChaosFailure, Member, hostOfMember, sleep } from "./context";
import { memberList, waitHealthy } from "./invariants";
import { Step } from "./plan";

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
            const after = labMembers(step.to!);
            // The new hosts (lab.sh keeps the running ones and writes every host's key to known_hosts).
            labUp(step.to!);
            ctx.setMembers(after);
            await ctx.upConverging(label, before);
            ctx.setRecorderEndpoints(after);
            return;
        }
        case "scale-down": {
            const after = labMembers(step.to!);
            // The recorder leaves the members that go first, as an application would be reconfigured.
            ctx.setRecorderEndpoints(after);
            ctx.setMembers(after);
            await ctx.upConverging(label, after);
            return;
        }
        case "tuning-roll": {
            ctx.scratch.setConfig({ tuning: { snapshotCount: step.snapshotCount } });
            const hosts = ctx.members.map((m) => hostOfMember(m.name));
            const pids = hosts.map(mainPid);
            await ctx.upConverging(label, ctx.members);
            const same = hosts.filter((h, i) => mainPid(h) === pids[i]);
            if (same.length > 0) throw new ChaosFailure(`${label}: not rolled: ${same.join(", ")} kept the same etcd process`);
            const stale = hosts.filter((h) => !new RegExp(`^snapshot-count: ${step.snapshotCount}$`, "m")
                .test(labSsh(h, `cat ${paths.defaultDirs.config}/${paths.configFileName}`, undefined, 60_000).stdout));
            if (stale.length > 0) throw new ChaosFailure(`${label}: the new snapshot-count is not in the config of ${stale.join(", ")}`);
            return;
        }
        case "crash":
        case "reboot": {
            const m = memberOf(ctx, step.member!);
            const host = hostOfMember(m.name);
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
            const r = await ctx.etcdctl.run(others, ["member", "remove", listed.id], ctx.admin);
            if (r.code !== 0) throw new ChaosFailure(`${label}: etcdctl member remove ${listed.id} (${m.name}) failed: ${r.out.trim()}`);
            ctx.faults++;
            ctx.say(`    ${r.out.trim().split("\n")[0]}`);
            const stopped = labSsh(hostOfMember(m.name), `for i in $(seq 30); do systemctl is-active --quiet ${paths.unitName} || exit 0; sleep 1; done; exit 1`, undefined, 60_000);
            ctx.say(`    ${m.name}'s etcd ${stopped.code === 0 ? "stopped" : "still active after 30 s"}`);
            await ctx.upConverging(label, ctx.members);
            return;
        }
        case "wipe-data": {
            const m = memberOf(ctx, step.member!);
            const r = labSsh(hostOfMember(m.name), `systemctl stop ${paths.unitName} && rm -rf ${paths.defaultDirs.data}/member`, undefined, 60_000);
            if (r.code !== 0) throw new ChaosFailure(`${label}: wiping ${m.name}'s data failed: ${r.stderr.trim()}`);
            ctx.faults++;
            ctx.say(`    ${m.name}: etcd stopped, ${paths.defaultDirs.data}/member removed`);
            await ctx.upConverging(label, ctx.members);
            return;
        }
        case "rename": {
            const m = memberOf(ctx, step.member!);
            const stack = ctx.members;
            const renamed = stack.map((x) => x.name === m.name ? { ...x, name: `${x.name}b` } : x);
            const hosts = stack.map((x) => hostOfMember(x.name));
            const pids = hosts.map(mainPid);
            ctx.scratch.setConfig({ members: renamed });
            let preview;
            try {
                preview = await ctx.engine("preview", label, []);
            } finally {
                ctx.scratch.setConfig({ members: stack });
            }
            const reason = new RegExp(`${m.name}b would take over ${m.name}'s address ${m.address.replace(/\./g, "\\.")} while ${m.name} is a member of the cluster \\(a rename at the same address\\)`);
            if (preview.ok) throw new ChaosFailure(`${label}: the preview of the rename succeeded; it must be refused`);
            const line = (preview.error ?? "").split("\n").find((l) => reason.test(l));
            if (!line) throw new ChaosFailure(`${label}: the preview failed, but not with the rename's refusal: ${(preview.error ?? "").slice(-1500)}`);
            ctx.refused("identity edit: a rename at the same address");
            ctx.say(`    refused by preview: ${line.trim().slice(0, 300)}`);
            const moved = hosts.filter((h, i) => mainPid(h) !== pids[i]);
            if (moved.length > 0) throw new ChaosFailure(`${label}: a refused preview restarted etcd on ${moved.join(", ")}`);
            return;
        }
    }
}

/**
 * A rolling change watched from outside (the lab suites that roll members: cluster, membership).
 * The change's preview is checked, then `up` runs while a bounded writer and a health monitor run,
 * and the roll is checked on the hosts: every member restarted into a new process, never two down
 * at once, no write failed or lost, at most two leadership transfers, and member n+1's `witness`
 * file (one the change rewrites) changed only after member n's new process had started.
 */
import * as assert from "assert";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog } from "../engine/engine";
import { BoundedWriter, Credentials, Etcdctl, HealthMonitor } from "./etcdClient";
import { labSsh } from "./lab";
import { hostOf, indent, mainPid, planRecord } from "./labStack";

/** The deployed cluster a roll runs on. */
export interface RollTarget {
    scratch: ScratchStack;
    etcdctl: Etcdctl;
    admin: Credentials;
    /** The client URLs the writer uses (comma-separated). */
    endpoints: string;
    /** The stack's members, in the stack's order (the order of the roll). */
    members: Array<{ name: string; address: string }>;
}

/** Applies `change` (stack config) and checks the roll; `expectedChanges` are the resources preview and up must change. */
export async function rollUnderWatch(t: RollTarget, change: Record<string, unknown>, expectedChanges: string[], witness: string): Promise<StepLog> {
    const names = t.members.map((m) => m.name);
    t.scratch.setConfig(change);
    const preview = new StepLog();
    await t.scratch.stack.preview({ onEvent: preview.onEvent });
    assert.deepStrictEqual(preview.changed(), [...expectedChanges].sort(), "the preview");

    const pidsBefore = names.map((m) => mainPid(hostOf(m)));
    const termBefore = await t.etcdctl.raftTerm(t.endpoints, t.admin);
    const rollStarted = Date.now() / 1000;
    const writer = new BoundedWriter(t.etcdctl, t.endpoints, t.admin, `lab/roll-${names.length}-${rollStarted}`).start();
    const monitor = new HealthMonitor(t.etcdctl, Object.fromEntries(t.members.map((m) => [m.name, `https://${m.address}:2379`])), t.admin).start();
    const log = new StepLog();
    let result: string;
    try {
        result = (await t.scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent })).summary.result;
    } finally {
        await writer.stop();
        await monitor.stop();
    }
    assert.strictEqual(result, "succeeded");
    console.log(indent(log.lines.filter((l) => /service updated|handed leadership/.test(l)).join("")));
    assert.doesNotMatch(log.output, /warning/i);
    assert.deepStrictEqual(log.changed(), [...expectedChanges].sort(), "what up changed is what preview showed");

    const lost = await writer.lost();
    const termAfter = await t.etcdctl.raftTerm(t.endpoints, t.admin);
    console.log(`      ${writer.summary(lost)};` +
        ` health samples: ${monitor.samples}, most members down at once: ${monitor.maxDown}, answers during a leader hand-off ${monitor.handOffs}` +
        `${monitor.worst ? ` (${JSON.stringify(monitor.worst)})` : ""}; raft term ${termBefore} -> ${termAfter}`);
    assert.ok(writer.acknowledged.length >= 20, `the writer ran through the roll (${writer.acknowledged.length} writes)`);
    assert.deepStrictEqual(writer.failed, []);
    assert.deepStrictEqual(lost, []);
    assert.ok(monitor.maxDown <= 1, `${monitor.maxDown} members were down at the same moment: ${JSON.stringify(monitor.worst)}`);
    // Leadership moves to the member rolled last, then to one already rolled: at most two transfers, no lost-leader election.
    assert.ok(termAfter - termBefore <= 2, `raft term moved from ${termBefore} to ${termAfter}`);

    const started = names.map((m) => {
        const lines = labSsh(hostOf(m), `journalctl -u ${paths.unitName} -o short-unix --no-pager | grep ' Started '`).stdout.trim().split("\n");
        return Number(lines[lines.length - 1].split(" ")[0]);
    });
    const mtimes = names.map((m) => Number(labSsh(hostOf(m), `stat -c %.6Y ${witness}`).stdout.trim()));
    names.forEach((m, i) => {
        assert.notStrictEqual(mainPid(hostOf(m)), pidsBefore[i], `${m} runs a new process`);
        assert.ok(started[i] > rollStarted, `${m} restarted during this up`);
        assert.ok(mtimes[i] > rollStarted && mtimes[i] < started[i], `${m}'s ${witness} was written in this up, before its restart`);
        if (i > 0) assert.ok(mtimes[i] > started[i - 1], `${m}'s ${witness} changed only after ${names[i - 1]} restarted`);
    });
    return log;
}

/** The resources a tuning change updates: every member's config write and service, the health gate, and the plan's record. */
export function tuningChanges(names: string[]): string[] {
    return ["etcd-health", planRecord, ...names.flatMap((m) => [`${m}-config-write`, `${m}-service`])];
}

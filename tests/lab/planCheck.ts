/**
 * The plan a reviewer reads (issue 28) held against what the following `up` did: the plan as the
 * preview printed it (the info diagnostic of the plan's record, components/plan/planResource.ts), parsed
 * into its numbered actions, and the order of restarts, joins and removals as read from the hosts
 * (systemd's journal of etcd.service, etcd's own membership log lines) and from the up's output.
 * No engine run of its own: it listens to the previews the lab suites already run.
 */
import * as assert from "assert";
import { EngineEvent, PreviewOptions, PreviewResult } from "@pulumi/pulumi/automation";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog } from "../engine/engine";
import { labHostAt, labRead, labSsh } from "./lab";
import { planRecord } from "./labStack";

/** A member as the lab stacks declare it: its lab host is the one at its address (lab k at 10.213.0.(10+k)). */
export interface Placed { name: string; address: string }


/** The kinds of action plan.ts renders (ActionKind), recognised from their summaries. */
export type PlannedKind = "bootstrap" | "adopt" | "join" | "replace" | "restart" | "upgrade" | "files" | "remove" | "clean" | "restore" | "nothing";

export interface PlannedAction {
    kind: PlannedKind;
    /** The members it names, in the order it names them. */
    members: string[];
    summary: string;
    /** Its further lines (voters, details, marks), unindented. */
    lines: string[];
}

export interface ParsedPlan {
    text: string;
    headline: string;
    refusals: string[];
    actions: PlannedAction[];
}

const summaries: Array<[PlannedKind, RegExp, (m: RegExpMatchArray) => string[]]> = [
    ["bootstrap", /^bootstrap a new cluster: (.+) start together$/, (m) => m[1].split(", ")],
    ["adopt", /^adopt (\S+): /, (m) => [m[1]]],
    ["join", /^add (\S+) as a learner → start → promote$/, (m) => [m[1]]],
    ["replace", /^replace (\S+?):? /, (m) => [m[1]]],
    ["restart", /^restart (.+), one at a time, leader last \(.+ changed\)$/, (m) => m[1].split(" → ")],
    ["upgrade", /^upgrade etcd \S+ → \S+ on (.+), one at a time, leader last: snapshot, binaries, restart$/, (m) => m[1].split(" → ")],
    ["files", /^write files only on (.+) \(no restart\): /, (m) => m[1].split(", ")],
    ["remove", /^remove (\S+) \(/, (m) => [m[1]]],
    ["clean", /^stop etcd on (.+) and clean (its|their) hosts? \(data (kept|deleted)\)(: not in the restored cluster)?$/, (m) => m[1].split(", ")],
    ["restore", /^restore every member from snapshot /, () => []],
    ["nothing", /^nothing: no member restarts, joins or leaves, and no file changes on a host$/, () => []],
    // An edit that declares a restore (plan.ts restorePlan): members installed, not started; files only.
    ["bootstrap", /^install (.+): not started, the restore below builds their data and starts them together$/, (m) => m[1].split(", ")],
    ["replace", /^install (\S+) on \S+ \((was \S+, not contacted|a new machine)\): not started, the restore builds its data$/, (m) => [m[1]]],
    ["join", /^install (\S+) on \S+: not started, the restore builds its data$/, (m) => [m[1]]],
    ["files", /^write files on (.+): etcd is not restarted for them, the restore starts it with them$/, (m) => m[1].split(", ")],
];

/** The plan's text (renderPlanText, perhaps with the no-record note) taken apart. */
export function parsePlanText(text: string): ParsedPlan {
    const lines = text.trimEnd().split("\n");
    const headline = lines[0];
    assert.match(headline, /^etcd plan for /, `not a plan:\n${text}`);
    const refusals: string[] = [];
    const actions: PlannedAction[] = [];
    for (const line of lines.slice(1)) {
        const numbered = /^(\d+)\. (.*)$/.exec(line);
        if (numbered) {
            assert.strictEqual(Number(numbered[1]), actions.length + 1, `actions out of order:\n${text}`);
            const summary = numbered[2];
            const known = summaries.map(([kind, re, names]) => { const m = summary.match(re); return m ? { kind, members: names(m) } : undefined; }).find((k) => k);
            assert.ok(known, `an action this parser does not know: ${summary}`);
            actions.push({ ...known, summary, lines: [] });
        } else if (/^ {3}/.test(line) && actions.length > 0) {
            actions[actions.length - 1].lines.push(line.trim());
        } else if (/^ {2}- /.test(line)) {
            refusals.push(line.trim().slice(2));
        }
    }
    return { text, headline, refusals, actions };
}

/**
 * Collects the plans the stack's previews print (the record's info diagnostics). `attach` wraps
 * the stack's `preview` for the rest of the suite, so the previews of helpers that run their own
 * (roll.ts's rollUnderWatch) report here too; an up prints no plan (planResource.ts: dry runs only).
 */
export class PlanWatch {
    private readonly plans: string[] = [];

    /** Every plan printed since the last `take` or `drain`, as printed (a refused preview may print one or none). */
    drain(): string[] {
        return this.plans.splice(0);
    }

    readonly onEvent = (e: EngineEvent) => {
        const d = e.diagnosticEvent;
        if (d && d.severity === "info" && d.urn?.endsWith(`::${planRecord}`)) this.plans.push(d.message);
    };

    attach(scratch: ScratchStack): void {
        const preview = scratch.stack.preview.bind(scratch.stack);
        (scratch.stack as { preview: (o?: PreviewOptions) => Promise<PreviewResult> }).preview = (opts?: PreviewOptions) =>
            preview({ ...opts, onEvent: (e: EngineEvent) => { opts?.onEvent?.(e); this.onEvent(e); } });
    }

    /** The one plan printed since the last `take` (exactly one preview ran), parsed; printed under the test. */
    take(): ParsedPlan {
        const got = this.plans.splice(0);
        assert.strictEqual(got.length, 1, `the previews since the last check printed ${got.length} plans:\n${got.join("\n---\n")}`);
        console.log(got[0].trimEnd().replace(/^/gm, "      plan| "));
        return parsePlanText(got[0]);
    }
}

/**
 * The unix times (s, µs precision) at which systemd started etcd on `host` since `since`: by
 * default its `Started` line (etcd's READY, Type=notify); with `line` "Starting", the start job's
 * beginning, when the stack's step started the process.
 */
export function etcdStarts(host: string, since: number, line: "Started" | "Starting" = "Started"): number[] {
    const out = labRead(host, `journalctl -u ${paths.unitName} -o short-unix --no-pager --since @${Math.floor(since)} | grep ' ${line} ' || true`);
    return out.split("\n").filter((l) => l.trim() !== "").map((l) => Number(l.split(" ")[0])).filter((t) => t >= since);
}

/** The members whose etcd systemd started since `since`, in the order of their first start; and how often each. */
export function startOrder(members: Placed[], since: number, line: "Started" | "Starting" = "Started"): { order: string[]; starts: Record<string, number[]> } {
    const starts = Object.fromEntries(members.map((m) => [m.name, etcdStarts(labHostAt(m.address), since, line)]));
    const order = members.map((m) => m.name).filter((m) => starts[m].length > 0).sort((a, b) => starts[a][0] - starts[b][0]);
    return { order, starts };
}

/** A membership change as etcd logged it on one member's host ("added member", "removed member"), with the peer URL it names. */
export interface MembershipEvent { at: number; what: "added" | "removed"; peer: string }

/**
 * The membership changes the etcd on `host` applied since `since`, in order, each peer URL once
 * per kind (etcd logs the change once per apply; a repeat would be a restart replaying its log).
 * Only meaningful on a host whose etcd did not restart meanwhile.
 */
export function membershipEvents(host: string, since: number): MembershipEvent[] {
    const out = labRead(host, `journalctl -u ${paths.unitName} -o short-unix --no-pager --since @${Math.floor(since)} | grep -E '"msg":"(added|removed) member"' || true`);
    const seen = new Set<string>();
    const events: MembershipEvent[] = [];
    for (const line of out.split("\n").filter((l) => l.trim() !== "")) {
        const what = /"msg":"added member"/.test(line) ? "added" : "removed";
        const peer = /https:\/\/[0-9.]+:2380/.exec(line.slice(line.indexOf("{")))?.[0];
        const at = Number(line.split(" ")[0]);
        if (!peer || at < since || seen.has(`${what} ${peer}`)) continue;
        seen.add(`${what} ${peer}`);
        events.push({ at, what, peer });
    }
    return events;
}

/**
 * A roll's plan (one restart or upgrade action) against the hosts: the members the journals show
 * restarted since `since`, in the order they restarted, are the action's, in its order, each once;
 * no other member restarted; every leadership hand-off the up reported follows the plan's rule
 * (a member hands it to the voter the roll reaches last; that one, to the voter before it).
 */
export function checkRoll(plan: ParsedPlan, kind: "restart" | "upgrade", members: Placed[], since: number, up: StepLog): void {
    assert.deepStrictEqual(plan.refusals, [], plan.text);
    assert.deepStrictEqual(plan.actions.map((a) => a.kind), [kind], `the plan: ${plan.text}`);
    const action = plan.actions[0];
    const { order, starts } = startOrder(members, since);
    console.log(`      hosts: etcd started in the order ${order.join(" → ")} (${order.map((m) => `${m} ×${starts[m].length}`).join(", ")})`);
    assert.deepStrictEqual(order, action.members, "the order the journals show etcd restarted in is the plan's");
    for (const m of action.members) assert.strictEqual(starts[m].length, 1, `${m} restarted once, as planned: started at ${starts[m].join(", ")}`);
    const handoff = /to (\S+) \(the voter the roll reaches last\); \S+ hands it to (\S+)$/.exec(action.lines.find((l) => /hands leadership on/.test(l)) ?? "");
    assert.ok(handoff, `the plan names the hand-off: ${action.lines.join(" / ")}`);
    const [, last, beforeLast] = handoff;
    const handed = [...up.output.matchAll(/(\S+): handed leadership to (\S+)/g)].map((m) => [m[1], m[2]]);
    const distinct = [...new Map(handed.map(([a, b]) => [`${a}>${b}`, [a, b]])).values()];
    console.log(`      the up's hand-offs: ${distinct.map(([a, b]) => `${a} → ${b}`).join(", ") || "none (the leader was not in turn)"}`);
    for (const [from, to] of distinct) assert.strictEqual(to, from === last ? beforeLast : last, `${from} handed leadership to ${to}; the plan: to ${last}, which hands it to ${beforeLast}`);
}

/**
 * A scale's plan against the hosts and the up: the plan's joins, in its order, are the members
 * etcd (on `observer`, a staying member whose etcd did not restart) registered since `since`, and
 * whose etcd systemd first started, in that order; each joined only after the one before it was
 * promoted (its join step began after the previous member's service step, which promotes, ended).
 * The plan's removals are etcd's, in the plan's order; members it does not name neither joined
 * nor left.
 */
export function checkMembership(plan: ParsedPlan, members: Placed[], observer: string, since: number, up: StepLog): MembershipEvent[] {
    const addresses = Object.fromEntries(members.map((m) => [m.name, m.address]));
    assert.deepStrictEqual(plan.refusals, [], plan.text);
    const joins = plan.actions.filter((a) => a.kind === "join").flatMap((a) => a.members);
    const removals = plan.actions.filter((a) => a.kind === "remove").flatMap((a) => a.members);
    const peer = (m: string) => `https://${addresses[m]}:2380`;
    const byPeer = new Map(Object.keys(addresses).map((m) => [peer(m), m]));
    const events = membershipEvents(observer, since);
    console.log(`      ${observer}'s etcd applied: ${events.map((e) => `${e.what} ${byPeer.get(e.peer) ?? e.peer}`).join(", ") || "no membership change"}`);
    const removed = events.filter((e) => e.what === "removed").map((e) => byPeer.get(e.peer) ?? e.peer);
    assert.deepStrictEqual(events.filter((e) => e.what === "added").map((e) => byPeer.get(e.peer) ?? e.peer), joins, "the members etcd added, in order, are the plan's joins");
    assert.deepStrictEqual([...removed].sort(), [...removals].sort(), "the members etcd removed are the plan's removals");
    if (joins.length > 0) {
        // When each new member's process was started (systemd's `Starting`), not when it told systemd it
        // was ready: a learner's READY can come after the next member's (seen in CI at b02b6d9: etcd added
        // lab-4 then lab-5, and lab-5's `Started` came first).
        const { order } = startOrder(members.filter((m) => joins.includes(m.name)), since, "Starting");
        assert.deepStrictEqual(order, joins, "the new members' etcd was first started in the plan's order");
        joins.forEach((m, i) => {
            if (i === 0) return;
            const began = up.began.get(`${m}-join`);
            const promoted = up.ended.get(`${joins[i - 1]}-service`);
            assert.ok(began !== undefined && promoted !== undefined && began >= promoted,
                `${m}'s join began (${began}) after ${joins[i - 1]}'s service step, which promotes it, ended (${promoted})`);
        });
    }
    // Last: the plan numbers its removals, one action each, in the stack's recorded order.
    assert.deepStrictEqual(removed, removals, "the members etcd removed, in order, are the plan's removals, in its order");
    return events;
}

/**
 * What a host holds that `pulumi up` manages, for "changes nothing on any host": etcd's main PID,
 * and each managed file's path, mode, owner and content digest (config, certificates, unit, timers,
 * binaries, staged releases, the state kept beside them). Not the data dir: the writers change it.
 */
export function hostFingerprint(host: string): string {
    const where = ["/etc/etcd", paths.stateDir, paths.unitPath, `${paths.systemdUnitDir}/${paths.unitName}.d`, paths.snapshotUnitPath, paths.snapshotTimerPath,
        paths.snapshotScriptPath, paths.defragUnitPath, paths.defragTimerPath, paths.defragScriptPath,
        ...["etcd", "etcdctl", "etcdutl"].map((b) => `${paths.binDir}/${b}`)];
    const r = labSsh(host, [
        `echo "MainPID $(systemctl show -p MainPID --value ${paths.unitName})"`,
        `find ${where.join(" ")} -type f 2>/dev/null | sort | while read -r f; do echo "$f $(stat -c '%a %U:%G' "$f") $(sha256sum < "$f" | cut -c1-64)"; done`,
    ].join("; "));
    assert.strictEqual(r.code, 0, r.stderr);
    return r.stdout;
}

/**
 * The chaos runner's seeded random numbers and its weighted step menu (issue 27). The whole step
 * list is drawn up front from the seed, the cluster's size simulated step by step, so the same seed
 * always gives the same list (printed at the start and the end of a run to reproduce a failure).
 */
import { labHostAt, labIp } from "../lab/lab";

/** mulberry32: a small, fast, seedable generator; the same seed gives the same sequence everywhere. */
export class Rng {
    private state: number;

    constructor(seed: number) {
        // Small seeds (1, 2, 3…) scrambled first: mulberry32's first outputs for neighbouring seeds are alike.
        this.state = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
        for (let i = 0; i < 4; i++) this.next();
    }

    /** A float in [0, 1). */
    next(): number {
        this.state = (this.state + 0x6d2b79f5) >>> 0;
        let t = this.state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }

    /** An integer in [0, n). */
    int(n: number): number {
        return Math.floor(this.next() * n);
    }

    pick<T>(items: readonly T[]): T {
        return items[this.int(items.length)];
    }

    /** One item, with probability proportional to its weight (weights > 0). */
    weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
        const total = items.reduce((s, [, w]) => s + w, 0);
        let x = this.next() * total;
        for (const [item, w] of items) {
            x -= w;
            if (x < 0) return item;
        }
        return items[items.length - 1][0];
    }
}

export type StepKind = "scale-up" | "scale-down" | "tuning-roll" | "crash" | "reboot" | "hand-removal" | "wipe-data" | "rename"
    | "swap" | "cert-reissue" | "fault-during-roll" | "killed-up" | "clock-skew" | "nospace" | "power-off-replace" | "upgrade";

/** A member of the stack as a step finds or leaves it: its name and its host's address. */
export interface Placement { name: string; address: string }

/** The lab's hosts: lab1 … lab7 (tests/lab/lab.sh). */
export const labHosts = 7;
const hostAddress = (k: number) => labIp(`lab${k}`);

/**
 * The etcd releases the runs use (all built by scripts/etcd-build.sh for the lab): a seed whose list
 * holds an upgrade deploys the release it upgrades from, so that the upgrade is a real one; every
 * other seed the newest. An odd seed's upgrade is a minor one (3.5 → 3.6, etcd's storage version
 * moves), an even seed's a patch one (3.6.15 → 3.6.16): by the seed's parity, so that the choice
 * draws nothing and every seed's list stays what it was before patch upgrades existed.
 */
export const releases = { older: "3.5.35", patch: "3.6.15", newer: "3.6.16" } as const;

/** The release an upgrade in this seed's list starts from (see `releases`). */
export function upgradeFrom(seed: number): string {
    return Math.abs(seed) % 2 === 0 ? releases.patch : releases.older;
}

/** What fault-during-roll does to its member's host while the roll runs. */
export type RollFault = "freeze" | "partition";

/** Where killed-up kills the engine: as the first member's restart begins, or once it is done. */
export type KillPoint = "restarting" | "restarted";

/** One drawn step: its kind and its parameters. */
export interface Step {
    /** 1-based position in the run. */
    n: number;
    kind: StepKind;
    /** The stack's size before the step. */
    from: number;
    /** scale: the stack's size after the step. */
    to?: number;
    /** The member the step acts on (crash, reboot, hand-removal, wipe-data, rename, swap, fault-during-roll,
     * clock-skew, power-off-replace), and its host then (a replaced member is on another host than its number's). */
    member?: string;
    host?: string;
    /** scale-up, scale-down, power-off-replace: the stack's members after the step (scale-up's new ones on
     * the lowest free hosts; power-off-replace's member moved to the lowest free host). */
    after?: Placement[];
    /** swap: the member whose address `member` takes (and which takes `member`'s). */
    other?: string;
    /** tuning-roll, fault-during-roll, killed-up, clock-skew: the new tuning.snapshotCount (a change that rolls). */
    snapshotCount?: number;
    /** cert-reissue: the new certValidityHours (every member's certificates reissued, a roll). */
    validityHours?: number;
    /** fault-during-roll: the fault, and how long it lasts (s). */
    fault?: RollFault;
    seconds?: number;
    /** killed-up: where the engine is killed. */
    killAt?: KillPoint;
    /** upgrade: the release before and after (upgradeFrom(seed) → releases.newer). */
    version?: { from: string; to: string };
}

/**
 * The menu: each kind's weight, and whether it can be drawn at a size. Scale up and down share the
 * weight of one "scale by two" (3 ↔ 5 ↔ 7); the steps that break one member are the most frequent.
 */
export const menu: ReadonlyArray<{ kind: StepKind; weight: number; possible: (size: number, upgraded: boolean) => boolean }> = [
    { kind: "scale-up", weight: 1.5, possible: (s) => s < 7 },
    { kind: "scale-down", weight: 1.5, possible: (s) => s > 3 },
    // A free host to move to: at 7 members every lab host holds one.
    { kind: "power-off-replace", weight: 1.5, possible: (s) => s < labHosts },
    // Once a run: a release is never downgraded (the stack refuses it).
    { kind: "upgrade", weight: 1, possible: (_s, upgraded) => !upgraded },
    { kind: "tuning-roll", weight: 2, possible: () => true },
    { kind: "crash", weight: 1.5, possible: () => true },
    { kind: "reboot", weight: 1.5, possible: () => true },
    { kind: "hand-removal", weight: 2, possible: () => true },
    { kind: "wipe-data", weight: 2, possible: () => true },
    { kind: "rename", weight: 1, possible: () => true },
    { kind: "swap", weight: 0.5, possible: () => true },
    { kind: "cert-reissue", weight: 1, possible: () => true },
    { kind: "fault-during-roll", weight: 2, possible: () => true },
    { kind: "killed-up", weight: 1.5, possible: () => true },
    { kind: "clock-skew", weight: 0.75, possible: () => true },
    { kind: "nospace", weight: 1, possible: () => true },
];

/** The whole step list of a seed, from a 3-member stack (lab-k on host labk). */
export function drawSteps(seed: number, count: number, startSize = 3): Step[] {
    const rng = new Rng(seed);
    const steps: Step[] = [];
    // The members, simulated: names lab-1 … lab-n, each on a host (a replace moves one to a free host).
    let members: Placement[] = Array.from({ length: startSize }, (_, i) => ({ name: `lab-${i + 1}`, address: hostAddress(i + 1) }));
    let upgraded = false;
    let snapshotCount = 10000;
    let validityHours = 8760;
    const member = () => members[rng.int(members.length)].name;
    const hostOf = (name: string) => labHostAt(members.find((m) => m.name === name)!.address);
    const freeHosts = () => Array.from({ length: labHosts }, (_, i) => hostAddress(i + 1)).filter((a) => !members.some((m) => m.address === a));
    const nextCount = () => (snapshotCount += 1 + rng.int(50));
    for (let n = 1; n <= count; n++) {
        const size = members.length;
        const kind = rng.weighted(menu.filter((m) => m.possible(size, upgraded)).map((m) => [m.kind, m.weight] as const));
        const step: Step = { n, kind, from: size };
        switch (kind) {
            case "scale-up": {
                step.to = size + 2;
                const [a, b] = freeHosts();
                step.after = [...members, { name: `lab-${size + 1}`, address: a }, { name: `lab-${size + 2}`, address: b }];
                break;
            }
            case "scale-down": step.to = size - 2; step.after = members.slice(0, size - 2); break;
            case "tuning-roll": step.snapshotCount = nextCount(); break;
            case "cert-reissue": validityHours -= 1 + rng.int(100); step.validityHours = validityHours; break;
            case "upgrade": step.version = { from: upgradeFrom(seed), to: releases.newer }; upgraded = true; break;
            case "swap": {
                step.member = member();
                const others = members.map((m) => m.name).filter((x) => x !== step.member);
                step.other = rng.pick(others);
                break;
            }
            case "power-off-replace": {
                step.member = member();
                const target = freeHosts()[0];
                step.after = members.map((m) => m.name === step.member ? { ...m, address: target } : m);
                break;
            }
            case "fault-during-roll":
                step.member = member();
                step.fault = rng.pick(["freeze", "partition"] as const);
                step.seconds = 10 + rng.int(16);
                step.snapshotCount = nextCount();
                break;
            case "killed-up": step.killAt = rng.pick(["restarting", "restarted"] as const); step.snapshotCount = nextCount(); break;
            case "clock-skew": step.member = member(); step.snapshotCount = nextCount(); break;
            default: step.member = member();
        }
        if (step.member) step.host = hostOf(step.member);
        steps.push(step);
        members = step.after ?? members;
    }
    return steps;
}

/** The release a run deploys: the one its upgrade starts from when its list upgrades, so that the upgrade is real. */
export function startRelease(steps: Step[]): string {
    return steps.find((s) => s.kind === "upgrade")?.version!.from ?? releases.newer;
}

/** One line per step, as printed and written to the results. */
export function describe(step: Step): string {
    const host = step.host;
    const added = (step.after ?? []).slice(step.from).map((m) => `${m.name} on ${labHostAt(m.address)}`).join(", ");
    switch (step.kind) {
        case "scale-up": return `scale-up ${step.from} -> ${step.to} (${added})`;
        case "scale-down": return `scale-down ${step.from} -> ${step.to}`;
        case "power-off-replace": {
            const to = labHostAt(step.after!.find((m) => m.name === step.member)!.address);
            return `power-off-replace: ${host} (${step.member}) powered off, ${step.member} moved to ${to} in the stack, then up; ${host} back on and reinstalled`;
        }
        case "upgrade": {
            const { from, to } = step.version!;
            const kind = from.split(".").slice(0, 2).join(".") === to.split(".").slice(0, 2).join(".") ? "patch" : "minor";
            return `upgrade on ${step.from}: version ${from} -> ${to} (${kind}; a roll, one member at a time)`;
        }
        case "tuning-roll": return `tuning-roll on ${step.from}: tuning.snapshotCount = ${step.snapshotCount}`;
        case "crash": return `crash ${host} (${step.member}), start it, then up`;
        case "reboot": return `reboot ${host} (${step.member}), then up`;
        case "hand-removal": return `hand-removal: etcdctl member remove ${step.member}, then up`;
        case "wipe-data": return `wipe-data: ${step.member}'s data dir removed (etcd stopped), then up`;
        case "rename": return `rename ${step.member} -> ${step.member}b at the same address: preview must refuse`;
        case "swap": return `swap the addresses of ${step.member} and ${step.other}: preview must refuse`;
        case "cert-reissue": return `cert-reissue on ${step.from}: certValidityHours = ${step.validityHours} (every certificate reissued, a roll)`;
        case "fault-during-roll": return `fault-during-roll on ${step.from}: tuning.snapshotCount = ${step.snapshotCount}, ${host} (${step.member}) ` +
            `${step.fault === "freeze" ? "frozen" : "cut off the network"} for ${step.seconds} s as the first restart begins; then up until converged`;
        case "killed-up": return `killed-up on ${step.from}: tuning.snapshotCount = ${step.snapshotCount}, the engine SIGKILLed ` +
            `${step.killAt === "restarting" ? "as the first member's restart begins" : "once the first member has restarted"}; pulumi cancel, then up`;
        case "clock-skew": return `clock-skew: ${host} (${step.member}) 3 h behind, tuning.snapshotCount = ${step.snapshotCount}: ` +
            "up refused naming the skew, or done; clock fixed, then up";
        case "nospace": return `nospace on ${step.from}: one key overwritten with 960 KiB values until etcd raises NOSPACE; ` +
            "the operator's remedy (scripts/maintenance.sh: compact, defragment one member at a time, disarm); writes go through";
    }
}

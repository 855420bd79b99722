/**
 * etcd's restarts as the hosts' own journals record them (issue 27). The health monitor samples
 * every second and can miss a short outage: three members restarted at once came back within a
 * sample's gap in a run of the `roll-together` mutant (tests/chaos/mutants.ts), which the monitor
 * passed. systemd logs every stop and start of the unit with the kernel's clock, which the lab's
 * hosts share, so overlapping restarts show exactly, however short.
 */
import * as paths from "../../components/base/paths";
import { labHostAt, labRead } from "../lab/lab";
import { ChaosFailure, Member } from "./context";

/** One restart of a member's etcd: systemd's "Stopping" until its next "Started" (epoch µs). */
export interface Restart { member: string; stopping: number; started: number }

/**
 * The closed restarts in `journalctl -o json` lines of etcd's unit: systemd's (PID 1) "Stopping …"
 * and the next "Started …". A stop with no start after it (a member removed, or still down) is not a
 * restart and is left out; so is a start with no stop before it in the lines (a first start).
 */
export function restartsFromJournal(member: string, jsonLines: string): Restart[] {
    const restarts: Restart[] = [];
    let stopping: number | undefined;
    for (const line of jsonLines.split("\n")) {
        if (line.trim() === "") continue;
        const e = JSON.parse(line) as { MESSAGE?: unknown; _PID?: string; __REALTIME_TIMESTAMP?: string };
        if (e._PID !== "1" || typeof e.MESSAGE !== "string") continue;
        const at = Number(e.__REALTIME_TIMESTAMP);
        if (/^Stopping /.test(e.MESSAGE)) stopping ??= at;
        else if (/^Started /.test(e.MESSAGE) && stopping !== undefined) {
            restarts.push({ member, stopping, started: at });
            stopping = undefined;
        }
    }
    return restarts;
}

/** The most restarts under way at one moment, and which (none: count 0). */
export function mostAtOnce(restarts: Restart[]): { count: number; restarts: Restart[] } {
    let best: Restart[] = [];
    for (const r of restarts) {
        // Overlaps are counted at each restart's beginning: the most at once is at one of them.
        const during = restarts.filter((o) => o.stopping <= r.stopping && o.started > r.stopping);
        if (during.length > best.length) best = during;
    }
    return { count: best.length, restarts: best };
}

/**
 * Every member's restarts since `sinceMs` (epoch ms), read from its host's journal over ssh (3 tries);
 * a host whose journal cannot be read fails the run: an unread journal must not pass as no restart.
 */
export function readRestarts(members: Member[], sinceMs: number): Restart[] {
    return members.flatMap((m) => {
        const host = labHostAt(m.address);
        const command = `journalctl -u ${paths.unitName} -o json --output-fields=MESSAGE,_PID --no-pager --since @${Math.floor(sinceMs / 1000)}`;
        let journal: string;
        try {
            journal = labRead(host, command);
        } catch (e) {
            throw new ChaosFailure(`${m.name}: its host ${host}'s journal could not be read: ${(e as Error).message}`);
        }
        return restartsFromJournal(m.name, journal);
    });
}

/** One line per restart, for a failure's message. */
export function describeRestarts(restarts: Restart[]): string {
    const t = (us: number) => new Date(us / 1000).toISOString().slice(11, 23);
    return restarts.map((r) => `${r.member} stopping ${t(r.stopping)}, started ${t(r.started)}`).join("; ");
}

/** Validation of the maintenance settings: scheduled snapshots and their copies, scheduled defragmentation, a restore. */
import { normalizeHostKey } from "../base/hostKeys";
import { Reader, field } from "./problems";
import { DefragSpec, MemberSpec, RestoreSpec, SnapshotCopySpec, SnapshotSpec } from "./types";
import { calendarText, isValidHost, sha256Hex, userName } from "./values";

/**
 * An OnCalendar expression; systemd-analyze checks its meaning on the host, this keeps it to
 * calendar characters: it is written into a timer and a script run as root.
 */
export function calendar(key: string, value: unknown, fallback: string, p: Reader): string {
    const onCalendar = p.string(key, value, fallback);
    if (!calendarText.test(onCalendar)) {
        p.problems.push(`${key}: "${onCalendar}" is not a systemd calendar expression (letters, digits, spaces and * - : / , . ~ _ + only)`);
    }
    return onCalendar;
}

export function parseSnapshots(value: unknown, members: MemberSpec[], p: Reader): SnapshotSpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("snapshots", value)) return undefined;
    if (!p.boolean("snapshots.enabled", field(value, "enabled"), true)) return undefined;
    const onCalendar = calendar("snapshots.onCalendar", field(value, "onCalendar"), "hourly", p);
    const names = field(value, "members") === undefined ? members.map((m) => m.name) : p.stringList("snapshots.members", field(value, "members"));
    for (const n of names) {
        if (!members.some((m) => m.name === n)) p.problems.push(`snapshots.members: "${n}" is not a member of the stack`);
    }
    const keep = p.positiveInt("snapshots.keep", field(value, "keep"), 24);
    const copyTo = parseSnapshotCopy(field(value, "copyTo"), keep, p);
    return {
        onCalendar,
        keep,
        maxAgeDays: p.positiveInt("snapshots.maxAgeDays", field(value, "maxAgeDays"), 7),
        members: names,
        ...(copyTo ? { copyTo } : {}),
    };
}

/** Every field reaches the copy script (run as root) or its known_hosts file: each is checked, none is trusted. */
export function parseSnapshotCopy(value: unknown, keep: number, p: Reader): SnapshotCopySpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("snapshots.copyTo", value)) return undefined;
    const host = p.string("snapshots.copyTo.host", field(value, "host"), "");
    if (host && !isValidHost(host)) p.problems.push(`snapshots.copyTo.host: "${host}" is neither a host name nor an IP address`);
    const user = p.string("snapshots.copyTo.user", field(value, "user"), "");
    if (user && !userName.test(user)) p.problems.push(`snapshots.copyTo.user: "${user}" is not a user name (letters, digits, _ . -; not starting with - or a digit)`);
    const path = p.absPath("snapshots.copyTo.path", field(value, "path"), "");
    const hostKeyLine = p.optionalString("snapshots.copyTo.hostKey", field(value, "hostKey"));
    const hostKey = hostKeyLine === "" ? undefined : normalizeHostKey(hostKeyLine);
    if (field(value, "hostKey") === undefined) {
        p.problems.push("snapshots.copyTo.hostKey: required, the destination's SSH host key line (collect it with `ssh-keyscan -t ed25519 <host>` and check its fingerprint out of band): a copy goes to that key only");
    } else if (hostKeyLine !== "" && hostKey === undefined) {
        p.problems.push(`snapshots.copyTo.hostKey is not an SSH public key line ("ssh-ed25519 AAAA…", as ssh-keyscan prints it)`);
    }
    return {
        host,
        port: p.port("snapshots.copyTo.port", field(value, "port"), 22),
        user,
        path,
        hostKey: hostKey ?? "",
        keep: p.positiveInt("snapshots.copyTo.keep", field(value, "keep"), keep),
    };
}

export function parseDefrag(value: unknown, members: MemberSpec[], p: Reader): DefragSpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("defrag", value)) return undefined;
    if (!p.boolean("defrag.enabled", field(value, "enabled"), true)) return undefined;
    const onCalendar = calendar("defrag.onCalendar", field(value, "onCalendar"), "weekly", p);
    const member = p.string("defrag.member", field(value, "member"), members[0]?.name ?? "");
    if (members.length > 0 && !members.some((m) => m.name === member)) p.problems.push(`defrag.member: "${member}" is not a member of the stack`);
    return { onCalendar, member };
}

export function parseRestore(value: unknown, p: Reader): RestoreSpec | undefined {
    if (value === undefined || !p.object("restore", value)) return undefined;
    const snapshotPath = p.string("restore.snapshot", field(value, "snapshot"), "");
    const sha256 = field(value, "sha256");
    if (snapshotPath === "") return undefined;
    if (typeof sha256 !== "string" || !sha256Hex.test(sha256)) {
        p.problems.push(`restore.snapshot: "${snapshotPath}" could not be read to check its digest`);
        return undefined;
    }
    return { snapshotPath, sha256, id: sha256.slice(0, 12) };
}

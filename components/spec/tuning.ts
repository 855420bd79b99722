/** Validation of etcd's tuning (heartbeat, election timeout, compaction, quota, request size, snapshot count). */
import { Reader, field } from "./problems";
import { TuningSpec, defaultTuning } from "./types";
import { compactionRetention } from "./values";

export function parseTuning(value: unknown, p: Reader, problems: string[]): TuningSpec {
    p.object("tuning", value);
    const d = defaultTuning;
    const t: TuningSpec = {
        heartbeatIntervalMs: p.positiveInt("tuning.heartbeatIntervalMs", field(value, "heartbeatIntervalMs"), d.heartbeatIntervalMs),
        electionTimeoutMs: p.positiveInt("tuning.electionTimeoutMs", field(value, "electionTimeoutMs"), d.electionTimeoutMs),
        autoCompactionMode: p.string("tuning.autoCompactionMode", field(value, "autoCompactionMode"), d.autoCompactionMode) as TuningSpec["autoCompactionMode"],
        autoCompactionRetention: String(field(value, "autoCompactionRetention") ?? d.autoCompactionRetention),
        quotaBackendBytes: p.positiveInt("tuning.quotaBackendBytes", field(value, "quotaBackendBytes"), d.quotaBackendBytes),
        maxRequestBytes: p.positiveInt("tuning.maxRequestBytes", field(value, "maxRequestBytes"), d.maxRequestBytes),
        snapshotCount: p.positiveInt("tuning.snapshotCount", field(value, "snapshotCount"), d.snapshotCount),
    };
    if (t.autoCompactionMode !== "periodic" && t.autoCompactionMode !== "revision") {
        problems.push(`tuning.autoCompactionMode: "${t.autoCompactionMode}" must be "periodic" or "revision"`);
    }
    const retention = compactionRetention.exec(t.autoCompactionRetention);
    if (!retention) {
        problems.push(`tuning.autoCompactionRetention: "${t.autoCompactionRetention}" must be a number, or a duration like "1h" or "30m"`);
    } else if (t.autoCompactionMode === "revision" && retention[2] !== undefined) {
        problems.push(`tuning.autoCompactionRetention: revision mode takes a revision count, not a duration ("${t.autoCompactionRetention}")`);
    }
    // etcd refuses to start otherwise (its own checks in embed.Config.Validate).
    if (t.electionTimeoutMs < 5 * t.heartbeatIntervalMs) {
        problems.push(`tuning.electionTimeoutMs (${t.electionTimeoutMs}) must be at least 5 × heartbeatIntervalMs (${t.heartbeatIntervalMs})`);
    }
    if (t.electionTimeoutMs > 50000) {
        problems.push(`tuning.electionTimeoutMs (${t.electionTimeoutMs}) must be at most 50000`);
    }
    if (t.quotaBackendBytes > 8 * 1024 * 1024 * 1024) {
        problems.push(`tuning.quotaBackendBytes (${t.quotaBackendBytes}) exceeds etcd's suggested maximum of 8 GiB`);
    }
    if (t.maxRequestBytes >= t.quotaBackendBytes) {
        problems.push(`tuning.maxRequestBytes (${t.maxRequestBytes}) must be smaller than quotaBackendBytes (${t.quotaBackendBytes})`);
    }
    return t;
}

/**
 * What a Prometheus server needs to watch the cluster (`etcd:metrics`): its scrape job and alert
 * rules, as text for the `monitoring` stack output. Pure, with golden files.
 *
 * The rules follow the alerts etcd ships in its mixin (etcd-io/etcd contrib/mixin), written for a
 * cluster whose size the stack knows: quorum is counted against the declared members, so a member
 * whose target is gone entirely still counts as down (the mixin counts the targets it sees).
 * Disk thresholds are etcd's hardware guide's (p99 WAL fsync under 10 ms, backend commit under 25 ms).
 */
import { clientFiles } from "./outputs";
import { ClusterSpec } from "./spec/types";
import { urlHost } from "./spec/values";

/** The scrape job's name, also the rules' selector: one job per cluster. */
export function metricsJob(spec: ClusterSpec): string {
    return `etcd-${spec.clusterName}`;
}

/** A YAML string, double-quoted (names and paths come from validated config, quoted all the same). */
const q = (s: string) => JSON.stringify(s);

/**
 * The scrape job, to go under `scrape_configs:` of prometheus.yml: every member's metrics listener
 * by name; with https, the files of the scraper's client certificate (its `clientCertificates`
 * entry, written on the Prometheus host like any consumer's).
 */
export function renderScrapeConfig(spec: ClusterSpec): string {
    const m = spec.metrics;
    if (!m) throw new Error("renderScrapeConfig: etcd:metrics is off");
    const lines = [
        `# etcd cluster ${spec.clusterName}: written by etcd-stack (the \`monitoring\` stack output). Goes under scrape_configs:.`,
        `- job_name: ${q(metricsJob(spec))}`,
        `  scheme: ${m.listen}`,
    ];
    if (m.listen === "https") {
        const cert = spec.clientCertificates.find((c) => c.name === m.clientCertificate)!;
        const files = clientFiles(cert.name, cert.dir);
        lines.push(
            `  tls_config:`,
            `    ca_file: ${q(files.ca)}`,
            `    cert_file: ${q(files.cert)}`,
            `    key_file: ${q(files.key)}`,
        );
    }
    lines.push(`  static_configs:`);
    for (const member of spec.members) {
        lines.push(
            `    - targets: [${q(`${urlHost(member.address)}:${spec.ports.metrics}`)}]`,
            `      labels: { member: ${q(member.name)}, cluster: ${q(spec.clusterName)} }`,
        );
    }
    return lines.join("\n") + "\n";
}

interface Rule { alert: string; expr: string; for: string; severity: "warning" | "critical"; summary: string; description: string }

/** The alert rules, a Prometheus rule file (`rule_files:`), for this cluster's job. */
export function renderAlertRules(spec: ClusterSpec): string {
    const job = `job=${q(metricsJob(spec))}`;
    const n = spec.members.length;
    const quorum = Math.floor(n / 2) + 1;
    const p99 = (metric: string) => `histogram_quantile(0.99, sum by (member, le) (rate(${metric}{${job}}[5m])))`;
    const rules: Rule[] = [
        {
            alert: "EtcdMemberDown", expr: `up{${job}} == 0`, for: "3m", severity: "warning",
            summary: "An etcd member does not answer its metrics scrape.",
            description: "Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has not answered for 3 minutes.",
        },
        ...(quorum < n ? [{
            alert: "EtcdQuorumAtRisk", expr: `sum(up{${job}}) == ${quorum}`, for: "1m", severity: "warning" as const,
            summary: "One more member down and the etcd cluster loses quorum.",
            description: `Exactly ${quorum} of the ${n} members of etcd cluster ${spec.clusterName} answer: one more failure stops every write.`,
        }] : []),
        {
            alert: "EtcdQuorumLost", expr: `(sum(up{${job}}) or vector(0)) < ${quorum}`, for: "1m", severity: "critical",
            summary: "The etcd cluster has lost quorum: writes stop.",
            description: `Fewer than ${quorum} of the ${n} members of etcd cluster ${spec.clusterName} answer.`,
        },
        {
            alert: "EtcdNoLeader", expr: `etcd_server_has_leader{${job}} == 0`, for: "1m", severity: "critical",
            summary: "An etcd member has no leader.",
            description: "Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has had no leader for a minute.",
        },
        {
            alert: "EtcdFrequentLeaderChanges", expr: `increase(etcd_server_leader_changes_seen_total{${job}}[15m]) >= 4`, for: "5m", severity: "warning",
            summary: "Frequent etcd leader elections.",
            description: "Member {{ $labels.member }} saw {{ $value }} leader changes in 15 minutes: slow disks, a loaded host or a lossy network.",
        },
        {
            alert: "EtcdSlowWalFsync", expr: `${p99("etcd_disk_wal_fsync_duration_seconds_bucket")} > 0.01`, for: "10m", severity: "warning",
            summary: "etcd's WAL fsync is slower than its hardware guide asks (p99 under 10 ms).",
            description: "Member {{ $labels.member }}: p99 WAL fsync {{ $value }} s over 5 minutes.",
        },
        {
            alert: "EtcdSlowBackendCommit", expr: `${p99("etcd_disk_backend_commit_duration_seconds_bucket")} > 0.025`, for: "10m", severity: "warning",
            summary: "etcd's backend commits are slower than its hardware guide asks (p99 under 25 ms).",
            description: "Member {{ $labels.member }}: p99 backend commit {{ $value }} s over 5 minutes.",
        },
        {
            alert: "EtcdDatabaseNearQuota", expr: `etcd_mvcc_db_total_size_in_bytes{${job}} / etcd_server_quota_backend_bytes{${job}} > 0.8`, for: "10m", severity: "warning",
            summary: "An etcd database is above 80 % of its quota; at 100 % etcd refuses writes (NOSPACE).",
            description: "Member {{ $labels.member }}: {{ $value | humanizePercentage }} of the quota. Compact and defragment (npm run maintenance), or raise tuning.quotaBackendBytes.",
        },
        {
            alert: "EtcdFailedProposals", expr: `increase(etcd_server_proposals_failed_total{${job}}[15m]) > 5`, for: "15m", severity: "warning",
            summary: "etcd proposals are failing.",
            description: "Member {{ $labels.member }}: {{ $value }} failed proposals in 15 minutes (elections, or a member that cannot reach the others).",
        },
    ];
    const lines = [
        `# etcd cluster ${spec.clusterName} (${n} members, quorum ${quorum}): written by etcd-stack (the \`monitoring\` stack output).`,
        `groups:`,
        `  - name: ${q(metricsJob(spec))}`,
        `    rules:`,
    ];
    for (const r of rules) {
        lines.push(
            `      - alert: ${r.alert}`,
            `        expr: ${q(r.expr)}`,
            `        for: ${r.for}`,
            `        labels: { severity: ${r.severity}, cluster: ${q(spec.clusterName)} }`,
            `        annotations:`,
            `          summary: ${q(r.summary)}`,
            `          description: ${q(r.description)}`,
        );
    }
    return lines.join("\n") + "\n";
}

/**
 * The `monitoring` stack output: the scrape job and the rule file, or null with `etcd:metrics` off
 * (null, not undefined: the engine warns on every preview of an undefined output).
 */
export function monitoringOutputs(spec: ClusterSpec): { job: string; scrapeConfig: string; alertRules: string } | null {
    if (!spec.metrics) return null;
    return { job: metricsJob(spec), scrapeConfig: renderScrapeConfig(spec), alertRules: renderAlertRules(spec) };
}

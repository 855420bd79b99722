/**
 * The cluster spec: the typed, validated form of a stack's `etcd:*` config (types.ts), parsed
 * section by section (members.ts, release.ts, certificates.ts, tuning.ts, maintenance.ts).
 *
 * Everything here is pure. `parseClusterSpec` turns raw config values into a spec and
 * collects *every* problem it finds, so a bad stack fails its preview once, with one
 * message, before a single resource is registered or a host is touched.
 */
import { defaultDirs, defaultPorts } from "../base/paths";
import { parseCa, parseClientCertificates, parseMetrics } from "./certificates";
import { parseDefrag, parseRestore, parseSnapshots } from "./maintenance";
import { checkMemberCount, checkPortClashes, parseBastion, parseMembers, resolveHostKeys } from "./members";
import { Reader, SpecError, field } from "./problems";
import { checkVersion, parseBinary } from "./release";
import { parseTuning } from "./tuning";
import { ClusterSpec, RawClusterConfig } from "./types";
import { dnsLabel } from "./values";

/**
 * Parses and validates raw stack config into a ClusterSpec.
 * Throws a SpecError naming every problem; returns only a fully valid spec.
 */
export function parseClusterSpec(raw: RawClusterConfig): ClusterSpec {
    const problems: string[] = [];
    const p = new Reader(problems);

    const clusterName = p.string("clusterName", raw.clusterName, "etcd");
    if (!dnsLabel.test(clusterName)) {
        problems.push(`clusterName "${clusterName}" must be a lowercase DNS label`);
    }
    const allowSingleMember = p.boolean("allowSingleMember", raw.allowSingleMember, false);
    const allowEvenMembers = p.boolean("allowEvenMembers", raw.allowEvenMembers, false);
    const members = parseMembers(raw.members, p);
    checkMemberCount(members.length, { allowSingleMember, allowEvenMembers }, problems, Array.isArray(raw.members));

    const version = p.string("version", raw.version, "");
    checkVersion(version, problems);

    const ports = {
        client: p.port("ports.client", field(raw.ports, "client"), defaultPorts.client),
        peer: p.port("ports.peer", field(raw.ports, "peer"), defaultPorts.peer),
        metrics: p.port("ports.metrics", field(raw.ports, "metrics"), defaultPorts.metrics),
    };
    p.object("ports", raw.ports);
    checkPortClashes(ports, members, raw.bastion, problems);

    p.object("dirs", raw.dirs);
    const dirs = {
        data: p.absPath("dirs.data", field(raw.dirs, "data"), defaultDirs.data),
        config: p.absPath("dirs.config", field(raw.dirs, "config"), defaultDirs.config),
        pki: p.absPath("dirs.pki", field(raw.dirs, "pki"), defaultDirs.pki),
    };
    if (dirs.data === dirs.config || dirs.data === dirs.pki || dirs.data.startsWith(dirs.pki + "/") || dirs.pki.startsWith(dirs.data + "/")) {
        problems.push(`dirs: the data dir "${dirs.data}" must be separate from the config and pki dirs`);
    }

    const binary = parseBinary(raw.binary, p, problems, version);
    const tuning = parseTuning(raw.tuning, p, problems);
    const ca = parseCa(raw, p, problems);
    const clientCertificates = parseClientCertificates(raw.clientCertificates, p, problems);
    const snapshots = parseSnapshots(raw.snapshots, members, p);
    const defrag = parseDefrag(raw.defrag, members, p);
    const restore = parseRestore(raw.restore, p);
    const metrics = parseMetrics(raw.metrics, clientCertificates, p);
    if (restore && members.some((m) => m.adopt)) {
        problems.push("restore: cannot restore while a member adopts an existing etcd; adopt first, then restore in a later run");
    }
    const bastion = parseBastion(raw.bastion, p);
    const allowUnverifiedHosts = p.boolean("allowUnverifiedHosts", raw.allowUnverifiedHosts, false);
    resolveHostKeys(members, bastion, raw.knownHostsText, allowUnverifiedHosts || raw.knownHostsUnreadable === true, problems);

    if (!raw.hasSshKey && !raw.hasSshAgent) {
        problems.push("missing SSH private key: set the secret `etcd:sshPrivateKey` (pulumi config set --secret) or `etcd:sshPrivateKeyPath`, " +
            `or run an ssh-agent holding the key (${raw.sshAgentProblem ?? "SSH_AUTH_SOCK is not set"})`);
    }
    if (raw.hasBastionKey && raw.bastion === undefined) {
        problems.push("bastionPrivateKey: set (or bastionPrivateKeyPath), but there is no `etcd:bastion` to use it for: set `etcd:bastion` or remove the key");
    }

    const certValidityHours = p.positiveInt("certValidityHours", raw.certValidityHours, 8760);
    const spec: ClusterSpec = {
        clusterName,
        members,
        version,
        binary,
        dirs,
        ports,
        tuning,
        ca,
        certValidityHours,
        certRenewBeforeHours: p.positiveInt("certRenewBeforeHours", raw.certRenewBeforeHours, Math.max(1, Math.min(720, Math.floor(certValidityHours / 4)))),
        clientCertificates,
        ...(snapshots ? { snapshots } : {}),
        ...(defrag ? { defrag } : {}),
        ...(restore ? { restore } : {}),
        ...(metrics ? { metrics } : {}),
        bastion,
        allowSingleMember,
        allowEvenMembers,
        allowUnverifiedHosts,
        purgeDataOnDestroy: p.boolean("purgeDataOnDestroy", raw.purgeDataOnDestroy, false),
        protectCa: p.boolean("protectCa", raw.protectCa, true),
        maxClockSkewSeconds: p.positiveInt("maxClockSkewSeconds", raw.maxClockSkewSeconds, 30),
        minFreeDiskMiB: p.positiveInt("minFreeDiskMiB", raw.minFreeDiskMiB, 1024),
        fsyncWarnMs: p.positiveInt("fsyncWarnMs", raw.fsyncWarnMs, 10),
        healthTimeoutSeconds: p.positiveInt("healthTimeoutSeconds", raw.healthTimeoutSeconds, 120),
    };
    if (spec.certRenewBeforeHours >= spec.certValidityHours) {
        problems.push(`certRenewBeforeHours (${spec.certRenewBeforeHours}) must be less than certValidityHours (${spec.certValidityHours}): every up would re-issue every certificate`);
    }
    if (spec.certValidityHours > ca.validityHours) {
        problems.push(`certValidityHours (${spec.certValidityHours}) must not exceed ca.validityHours (${ca.validityHours})`);
    }
    if (problems.length > 0) {
        throw new SpecError(problems);
    }
    return spec;
}

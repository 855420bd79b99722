/**
 * The cluster spec: the typed, validated form of a stack's `etcd:*` config.
 *
 * Everything here is pure. `parseClusterSpec` turns raw config values into a spec and
 * collects *every* problem it finds, so a bad stack fails its preview once, with one
 * message, before a single resource is registered or a host is touched.
 */
import * as net from "net";
import { unservableVersion } from "./etcdVersions";
import { normalizeHostKey, lookupKnownHost } from "../base/hostKeys";
import { defaultDirs, defaultPorts, defaultReleaseUrlTemplate, peerCommonName } from "../base/paths";

/** One etcd member and how to reach its host. */
export interface MemberSpec {
    /** etcd member name; also the certificate CN. A DNS label. */
    name: string;
    /** The address peers and clients use (IPv4 or IPv6). */
    address: string;
    /** Where SSH connects; defaults to `address`. */
    sshHost: string;
    sshPort: number;
    sshUser: string;
    /** Extra DNS names or IPs for this member's server certificate (load balancers, VIPs). */
    extraSans: string[];
    /**
     * The host's SSH public key (`ssh-ed25519 AAAA…`), pinned on every connection; from the
     * member's `hostKey` or the stack's known_hosts. Undefined only when unverified hosts are allowed.
     */
    hostKey?: string;
    /** An etcd already running on this host that the member takes over on its first run (see AdoptSpec). */
    adopt?: AdoptSpec;
}

/**
 * An etcd this stack did not create (a standalone, or a member of a cluster set up by hand) that
 * a member takes over: on the member's first run its unit is stopped and disabled, its data is
 * copied into the stack's data dir (the original is kept), and the member starts from that data
 * with the stack's config, certificates and TLS peer URL. Used once; later runs ignore it.
 */
export interface AdoptSpec {
    /** The systemd unit that runs it now, e.g. `etcd-legacy.service` (may be `etcd.service`). */
    unit: string;
    /** Its data dir (the one holding `member/`). */
    dataDir: string;
}

/** CPU architectures an etcd release is published for, named as in the release tarballs. */
export type ReleaseArch = "amd64" | "arm64";
export const releaseArches: ReleaseArch[] = ["amd64", "arm64"];

/** Where the etcd release tarball comes from. */
export type BinarySource =
    /** Each host downloads the tarball itself and checks its sha256. */
    | { kind: "url"; urlTemplate: string; sha256: Partial<Record<ReleaseArch, string>> }
    /** A tarball on the operator's machine, copied to each host and checked the same way. */
    | { kind: "local"; tarballPath: string };

export interface TuningSpec {
    heartbeatIntervalMs: number;
    electionTimeoutMs: number;
    autoCompactionMode: "periodic" | "revision";
    autoCompactionRetention: string;
    quotaBackendBytes: number;
    maxRequestBytes: number;
    snapshotCount: number;
}

/** An extra client certificate to issue, e.g. for flannel or a backup job. */
export interface ClientCertificateSpec {
    name: string;
    commonName: string;
    organization?: string;
    /**
     * Where the consumer's host keeps this certificate's files (absolute); the flags in the
     * `clientCertificates` stack output name files there. Unset: outputs.ts's default.
     */
    dir?: string;
}

export interface CaSpec {
    algorithm: "ECDSA" | "RSA";
    rsaBits: number;
    validityHours: number;
    /** True when the CA certificate and key are supplied in config instead of generated (generation 1 only). */
    bringYourOwn: boolean;
    /** The CA generation that signs the members' certificates (1, then 2 after a rotation, …). */
    generation: number;
    /**
     * The generations members and clients trust: `[generation]`, or during a rotation also the
     * next (`[g, g+1]`: clients move to it first) or the previous (`[g-1, g]`: old clients still work).
     */
    trust: number[];
}

/** Scheduled snapshots: a systemd timer per member runs `etcdctl snapshot save`, keeps the newest. */
export interface SnapshotSpec {
    /** systemd OnCalendar expression, e.g. "hourly" or "*-*-* 00/6:00:00". */
    onCalendar: string;
    /** How many snapshots to keep on each member (newest first). */
    keep: number;
    /** Snapshots older than this are removed even when fewer than `keep` exist. */
    maxAgeDays: number;
    /** Members that take snapshots (default: all). */
    members: string[];
    /** Where each snapshot is copied off its member after it is checked; undefined: it stays on the member only. */
    copyTo?: SnapshotCopySpec;
}

/**
 * A destination reached over SSH (SFTP) from each member, where a copy of every scheduled snapshot
 * goes, under `<path>/<member>/`; each member logs in with an SSH key of its own (the
 * `snapshotCopyKeys` output).
 */
export interface SnapshotCopySpec {
    /** Host name or IP address of the destination. */
    host: string;
    port: number;
    /** The login on the destination whose authorized_keys holds the members' keys. */
    user: string;
    /** Absolute directory on the destination; each member writes only under `<path>/<member>`. */
    path: string;
    /** The destination's SSH host key (`ssh-ed25519 AAAA…`), pinned: a copy to any other key fails. */
    hostKey: string;
    /** How many of each member's newest copies stay on the destination. */
    keep: number;
}

/**
 * Scheduled defragmentation: a systemd timer on one member defragments every member in turn,
 * followers first and the leader last, each only once the one before answers again.
 */
export interface DefragSpec {
    /** systemd OnCalendar expression, e.g. "weekly" or "Sun *-*-* 03:00:00". */
    onCalendar: string;
    /** The member whose host runs the timer (default: the first member). */
    member: string;
}

/**
 * Restore every member from one snapshot file: a deliberate, one-time operation on the whole
 * cluster, named by the file's digest (a new file is a new restore; the same file never runs twice).
 */
export interface RestoreSpec {
    /** The snapshot on the operator's machine (`etcdctl snapshot save`), copied to every member. */
    snapshotPath: string;
    /** sha256 of the file, hex; checked on each host before anything is stopped. */
    sha256: string;
    /** This restore's name: the first 12 hex digits of the sha256. */
    id: string;
}

/**
 * An opt-in metrics listener on each member's own address for a Prometheus server (etcd's `/metrics`
 * and `/health` only; renderMonitoring.ts writes the scrape configuration and the alert rules).
 * https is mutual TLS with the cluster's client CA: etcd serves a secure metrics URL with its client
 * TLS settings (embed/etcd.go, createMetricsListener), so the scraper's certificate is a client
 * certificate like any other. http is plain, for a network a firewall allow-lists.
 */
export interface MetricsSpec {
    listen: "https" | "http";
    /** https: the `clientCertificates` entry the scraper presents. */
    clientCertificate?: string;
}

export interface BastionSpec {
    host: string;
    port: number;
    user: string;
    /** The bastion's SSH public key, pinned like a member's. */
    hostKey?: string;
}

export interface ClusterSpec {
    /** Used for the initial-cluster-token prefix and resource names. */
    clusterName: string;
    members: MemberSpec[];
    /** etcd version without a leading "v", e.g. "3.6.16". */
    version: string;
    binary: BinarySource;
    dirs: { data: string; config: string; pki: string };
    ports: { client: number; peer: number; metrics: number };
    tuning: TuningSpec;
    ca: CaSpec;
    /** Validity of member and client certificates. */
    certValidityHours: number;
    /** An `up` within this many hours of a certificate's expiry re-issues it. */
    certRenewBeforeHours: number;
    clientCertificates: ClientCertificateSpec[];
    /** Scheduled snapshots; undefined when off. */
    snapshots?: SnapshotSpec;
    /** Scheduled defragmentation; undefined when off. */
    defrag?: DefragSpec;
    /** A restore from a snapshot; undefined when none is asked for. */
    restore?: RestoreSpec;
    /** The metrics listener on each member's address; undefined when off (loopback only). */
    metrics?: MetricsSpec;
    bastion?: BastionSpec;
    allowSingleMember: boolean;
    /**
     * Accept 4 or 6 members. An even count tolerates no more failures than one member fewer and
     * needs one more vote for quorum; useful only in passing (e.g. a fourth member while a fifth is on its way).
     */
    allowEvenMembers: boolean;
    /** Connect to hosts without a pinned host key (a lab; never production). */
    allowUnverifiedHosts: boolean;
    purgeDataOnDestroy: boolean;
    /** Protect the generated CA from deletion and replacement. */
    protectCa: boolean;
    /** Largest tolerated clock difference between the operator and a host. */
    maxClockSkewSeconds: number;
    /** Smallest free space preflight accepts on the filesystem holding the data dir. */
    minFreeDiskMiB: number;
    /** Preflight warns (never fails) when a synchronous write in the data dir's filesystem takes longer on average. */
    fsyncWarnMs: number;
    /** How long the health gate waits for the cluster before failing the update. */
    healthTimeoutSeconds: number;
}

/** The raw values read from `etcd:*` config; anything may be missing or mistyped. */
export interface RawClusterConfig {
    clusterName?: unknown;
    members?: unknown;
    version?: unknown;
    binary?: unknown;
    dirs?: unknown;
    ports?: unknown;
    tuning?: unknown;
    ca?: unknown;
    certValidityHours?: unknown;
    certRenewBeforeHours?: unknown;
    clientCertificates?: unknown;
    snapshots?: unknown;
    defrag?: unknown;
    /** `{ snapshot: <path> }`; config.ts resolves the path and adds the file's `sha256`. */
    restore?: unknown;
    metrics?: unknown;
    bastion?: unknown;
    allowSingleMember?: unknown;
    allowEvenMembers?: unknown;
    allowUnverifiedHosts?: unknown;
    purgeDataOnDestroy?: unknown;
    protectCa?: unknown;
    /** Content of the stack's known_hosts file (`etcd:knownHostsPath`), when one is set. */
    knownHostsText?: string;
    /** The known_hosts file is set but unreadable (already reported): don't also blame each member. */
    knownHostsUnreadable?: boolean;
    maxClockSkewSeconds?: unknown;
    minFreeDiskMiB?: unknown;
    fsyncWarnMs?: unknown;
    healthTimeoutSeconds?: unknown;
    /** Whether an SSH private key was supplied (as secret or path); its value stays out of the spec. */
    hasSshKey: boolean;
    /** Whether SSH_AUTH_SOCK names an ssh-agent's socket (used when no key is supplied); its path stays out of the spec. */
    hasSshAgent?: boolean;
    /** Why no ssh-agent can be used (SSH_AUTH_SOCK unset, or no socket there), for the message when no key is supplied either. */
    sshAgentProblem?: string;
    /** Whether a separate bastion key was supplied (`bastionPrivateKey` or `bastionPrivateKeyPath`). */
    hasBastionKey?: boolean;
    /** Whether a CA certificate and key were supplied for bring-your-own CA. */
    hasCaCert?: boolean;
    hasCaKey?: boolean;
}

export const defaultTuning: TuningSpec = {
    heartbeatIntervalMs: 100,
    electionTimeoutMs: 1000,
    autoCompactionMode: "periodic",
    autoCompactionRetention: "1h",
    quotaBackendBytes: 2 * 1024 * 1024 * 1024,
    maxRequestBytes: 1572864,
    snapshotCount: 10000,
};

/** etcd minors this program renders config for. Upgrades move one minor at a time. */
export const supportedMinors = ["3.5", "3.6"];

/**
 * The 3.5 patch every member must run before the first 3.6 member: etcd's current 3.5 -> 3.6
 * upgrade guide (it moved from 3.5.20 to 3.5.26 to 3.5.32, whose `etcdutl check v2store` also reads the WAL).
 */
export const minimum35Before36 = "3.5.32";

/** Names reserved for the built-in client certificates. */
export const builtinClientCertificates: ClientCertificateSpec[] = [
    { name: "admin", commonName: "root", organization: "etcd-stack" },
    { name: "healthcheck", commonName: "healthcheck", organization: "etcd-stack" },
    { name: "apiserver-etcd-client", commonName: "apiserver-etcd-client", organization: "system:masters" },
];

/** Thrown when the stack config is invalid; lists every problem at once. */
export class SpecError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid etcd stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
            problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "SpecError";
    }
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsName = /^(?=.{1,253}$)([a-z0-9*]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
const semver = /^(\d+)\.(\d+)\.(\d+)$/;
const sha256Hex = /^[0-9a-f]{64}$/;
const compactionRetention = /^(\d+)(h|m|s)?$/;
/** An RFC 1123 host name (no wildcard): where SSH connects, printed by the host key check the operator's machine runs. */
const hostName = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
/** A POSIX login name (portable characters, no leading hyphen). */
const userName = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
/** What a path written into a root script may hold: nothing a shell would read as code, a glob or a separator. */
const plainPath = /^[A-Za-z0-9._\/-]+$/;
/** systemd calendar syntax (weekdays, dates, times, ranges, repeats, time zones) and nothing a shell would read. */
const calendarText = /^[A-Za-z0-9*][A-Za-z0-9 *:\/,.~_+-]*$/;
/** What a certificate subject field may hold (at most X.509's 64 characters). */
const subjectText = /^[A-Za-z0-9][A-Za-z0-9 ._:@=+,-]{0,63}$/;

/** True for a name etcd accepts as a member name that is also a DNS label (it goes into cert SANs). */
export function isValidMemberName(name: string): boolean {
    return dnsLabel.test(name);
}

/** True for a literal IPv4 or IPv6 address. */
export function isValidAddress(address: string): boolean {
    return net.isIP(address) !== 0;
}

/** True for a SAN: an IP address or a DNS name (wildcards allowed in the first label). */
export function isValidSan(san: string): boolean {
    return isValidAddress(san) || dnsName.test(san);
}

/** True for an SSH destination: an IP address or an RFC 1123 host name. */
export function isValidHost(host: string): boolean {
    return isValidAddress(host) || hostName.test(host);
}

/** Formats an address for a URL (`[v6]`). */
export function urlHost(address: string): string {
    return net.isIPv6(address) ? `[${address}]` : address;
}

/** `{version}` and `{arch}` in a release URL template are replaced per host. */
export function releaseUrl(template: string, version: string, arch: ReleaseArch): string {
    return template.split("{version}").join(version).split("{arch}").join(arch);
}

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

function parseMembers(value: unknown, p: Reader): MemberSpec[] {
    if (value === undefined) {
        p.problems.push("members: required (a list of { name, address })");
        return [];
    }
    if (!Array.isArray(value)) {
        p.problems.push("members: must be a list of { name, address }");
        return [];
    }
    const members: MemberSpec[] = [];
    const seenNames = new Map<string, number>();
    const seenAddresses = new Map<string, number>();
    const seenSsh = new Map<string, number>();
    value.forEach((m, i) => {
        const at = `members[${i}]`;
        if (typeof m !== "object" || m === null || Array.isArray(m)) {
            p.problems.push(`${at}: must be an object with name and address`);
            return;
        }
        const name = p.string(`${at}.name`, field(m, "name"), "");
        const label = name ? `${at} (${name})` : at;
        if (name && !isValidMemberName(name)) {
            p.problems.push(`${label}: name must be a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)`);
        }
        const address = p.string(`${at}.address`, field(m, "address"), "");
        if (address && !isValidAddress(address)) {
            p.problems.push(`${label}: address "${address}" is not an IPv4 or IPv6 address`);
        }
        const sshHost = p.string(`${at}.sshHost`, field(m, "sshHost"), address);
        if (sshHost && !isValidHost(sshHost)) p.problems.push(`${label}: sshHost "${sshHost}" is neither a host name nor an IP address`);
        const sshPort = p.port(`${at}.sshPort`, field(m, "sshPort"), 22);
        const sshUser = p.string(`${at}.sshUser`, field(m, "sshUser"), "root");
        if (!userName.test(sshUser)) p.problems.push(`${label}: sshUser "${sshUser}" is not a user name (letters, digits, _ . -; not starting with - or a digit)`);
        const extraSans = p.stringList(`${at}.extraSans`, field(m, "extraSans"));
        const hostKeyLine = p.optionalString(`${at}.hostKey`, field(m, "hostKey"));
        const hostKey = hostKeyLine === "" ? undefined : normalizeHostKey(hostKeyLine);
        if (hostKeyLine !== "" && hostKey === undefined) {
            p.problems.push(`${label}: hostKey is not an SSH public key line ("ssh-ed25519 AAAA…", as ssh-keyscan prints it)`);
        }
        for (const san of extraSans) {
            if (!isValidSan(san)) {
                p.problems.push(`${label}: extraSans entry "${san}" is neither an IP address nor a DNS name`);
            }
        }
        if (name) duplicate(seenNames, name, i, `${label}: duplicate member name "${name}" (also members[%d])`, p.problems);
        if (address) duplicate(seenAddresses, canonicalAddress(address), i, `${label}: duplicate address "${address}" (also members[%d])`, p.problems);
        if (sshHost) duplicate(seenSsh, `${canonicalHost(sshHost)}:${sshPort}`, i, `${label}: duplicate SSH endpoint "${sshHost}:${sshPort}" (also members[%d])`, p.problems);
        const adopt = parseAdopt(`${label}.adopt`, field(m, "adopt"), p);
        members.push({ name, address, sshHost, sshPort, sshUser, extraSans, ...(hostKey ? { hostKey } : {}), ...(adopt ? { adopt } : {}) });
    });
    return members;
}

function checkMemberCount(count: number, allow: { allowSingleMember: boolean; allowEvenMembers: boolean }, problems: string[], given: boolean): void {
    if (!given) return;
    if (count === 1 && allow.allowSingleMember) return;
    if ((count === 4 || count === 6) && allow.allowEvenMembers) return;
    if (count === 3 || count === 5 || count === 7) return;
    if (count === 1) {
        problems.push("members: 1 member has no fault tolerance; use 3, 5 or 7, or set etcd:allowSingleMember: true for development");
    } else if (count === 4 || count === 6) {
        problems.push(`members: ${count} members, an even count: it tolerates no more failures than ${count - 1} and needs one more vote for quorum; ` +
            `use 3, 5 or 7, or set etcd:allowEvenMembers: true to run ${count} on purpose`);
    } else {
        problems.push(`members: ${count} members; use 3, 5 or 7 (an even count adds no fault tolerance, more than 7 slows every write)`);
    }
}

function checkVersion(version: string, problems: string[]): void {
    if (!version) {
        problems.push('version: required, e.g. "3.6.16"');
        return;
    }
    const m = semver.exec(version);
    if (!m) {
        problems.push(`version: "${version}" is not a release version like "3.6.16" (no leading "v")`);
        return;
    }
    const minor = `${m[1]}.${m[2]}`;
    if (!supportedMinors.includes(minor)) {
        problems.push(`version: etcd ${minor} is not supported; supported minors: ${supportedMinors.join(", ")}`);
        return;
    }
    const unservable = unservableVersion(version);
    if (unservable) problems.push(`version: ${unservable}`);
}

function checkPortClashes(ports: { client: number; peer: number; metrics: number }, members: MemberSpec[], bastion: unknown, problems: string[]): void {
    const entries = Object.entries(ports);
    for (let i = 0; i < entries.length; i++) {
        for (let j = i + 1; j < entries.length; j++) {
            if (entries[i][1] === entries[j][1]) {
                problems.push(`ports: ${entries[i][0]} and ${entries[j][0]} both use port ${entries[i][1]}`);
            }
        }
    }
    for (const m of members) {
        if (m.sshHost === m.address) {
            for (const [kind, port] of entries) {
                if (port === m.sshPort) {
                    problems.push(`members (${m.name}): SSH port ${m.sshPort} clashes with the ${kind} port`);
                }
            }
        }
    }
    void bastion;
}

function parseBinary(value: unknown, p: Reader, problems: string[], version: string): BinarySource {
    const fallback: BinarySource = { kind: "local", tarballPath: "" };
    if (value === undefined) {
        problems.push("binary: required: { url: <template>, sha256: { amd64: <hex> } } or { localTarball: <path> }");
        return fallback;
    }
    if (!p.object("binary", value)) return fallback;
    const hasUrl = field(value, "url") !== undefined || field(value, "sha256") !== undefined;
    const hasLocal = field(value, "localTarball") !== undefined;
    if (hasUrl && hasLocal) {
        problems.push("binary: give either url + sha256 or localTarball, not both");
        return fallback;
    }
    if (hasLocal) {
        const tarballPath = p.string("binary.localTarball", field(value, "localTarball"), "");
        return { kind: "local", tarballPath };
    }
    if (!hasUrl) {
        problems.push("binary: unknown binary source; expected { url, sha256 } or { localTarball }");
        return fallback;
    }
    const urlTemplate = p.string("binary.url", field(value, "url"), defaultReleaseUrlTemplate);
    if (!/^https:\/\//.test(urlTemplate)) {
        problems.push(`binary.url: "${urlTemplate}" must be an https:// URL`);
    }
    const shaRaw = field(value, "sha256");
    let sha256: Partial<Record<ReleaseArch, string>> = {};
    if (!p.object("binary.sha256", shaRaw) || shaRaw === undefined) {
        problems.push("binary.sha256: required, a map of arch (amd64, arm64) to the tarball's sha256");
    } else if (Object.keys(shaRaw as object).length > 0 && Object.keys(shaRaw as object).every((k) => semver.test(k))) {
        // Per version ({ "3.6.16": { amd64: … } }): the next release's sums go in ahead of the
        // upgrade, so the upgrade itself is an edit of `version` alone. Only `version`'s are used.
        for (const [v, sums] of Object.entries(shaRaw as object)) {
            const own = archSums(`binary.sha256["${v}"]`, sums, p, problems);
            if (v === version) sha256 = own;
        }
        if (semver.test(version) && !Object.keys(shaRaw as object).includes(version)) {
            problems.push(`binary.sha256: no checksums for version "${version}" (given for ${Object.keys(shaRaw as object).join(", ")}); ` +
                `add "${version}": { amd64: <sha256> } from the v${version} release's SHA256SUMS`);
        }
    } else {
        sha256 = archSums("binary.sha256", shaRaw, p, problems);
    }
    return { kind: "url", urlTemplate, sha256 };
}

/** `{ amd64: <hex>, arm64: <hex> }`, at least one arch; `at` names it in problems. */
function archSums(at: string, value: unknown, p: Reader, problems: string[]): Partial<Record<ReleaseArch, string>> {
    const sha256: Partial<Record<ReleaseArch, string>> = {};
    if (!p.object(at, value) || value === undefined) return sha256;
    for (const [arch, sum] of Object.entries(value as object)) {
        if (!releaseArches.includes(arch as ReleaseArch)) {
            problems.push(`${at}: unknown arch "${arch}" (expected ${releaseArches.join(" or ")})`);
        } else if (typeof sum !== "string" || !sha256Hex.test(sum)) {
            problems.push(`${at}.${arch}: must be 64 lowercase hex characters`);
        } else {
            sha256[arch as ReleaseArch] = sum;
        }
    }
    if (Object.keys(value as object).length === 0) {
        problems.push(`${at}: give at least one arch`);
    }
    return sha256;
}

function parseTuning(value: unknown, p: Reader, problems: string[]): TuningSpec {
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

function parseCa(raw: RawClusterConfig, p: Reader, problems: string[]): CaSpec {
    p.object("ca", raw.ca);
    const algorithm = p.string("ca.algorithm", field(raw.ca, "algorithm"), "ECDSA");
    if (algorithm !== "ECDSA" && algorithm !== "RSA") {
        problems.push(`ca.algorithm: "${algorithm}" must be "ECDSA" (P-256) or "RSA"`);
    }
    const rsaBits = p.positiveInt("ca.rsaBits", field(raw.ca, "rsaBits"), 2048);
    if (algorithm === "RSA" && rsaBits < 2048) {
        problems.push(`ca.rsaBits: ${rsaBits} is too weak; use 2048 or more`);
    }
    const bringYourOwn = Boolean(raw.hasCaCert) || Boolean(raw.hasCaKey);
    if (bringYourOwn && !(raw.hasCaCert && raw.hasCaKey)) {
        problems.push("ca: bring-your-own CA needs both `etcd:caCertPem` and the secret `etcd:caKeyPem`");
    }
    const generation = p.positiveInt("ca.generation", field(raw.ca, "generation"), 1);
    const trustRaw = field(raw.ca, "trust");
    let trust = [generation];
    if (trustRaw !== undefined) {
        if (!Array.isArray(trustRaw) || trustRaw.some((g) => !Number.isSafeInteger(g) || g < 1)) {
            problems.push("ca.trust: must be a list of CA generations (positive integers)");
        } else {
            trust = [...new Set(trustRaw as number[])].sort((a, b) => a - b);
            const allowed = [[generation], [generation, generation + 1], [generation - 1, generation]].map((t) => t.join(","));
            if (!allowed.includes(trust.join(","))) {
                problems.push(`ca.trust: [${trust.join(", ")}] with ca.generation ${generation}; use [${generation}], or during a rotation ` +
                    `[${generation}, ${generation + 1}] (trust the next CA first)` + (generation > 1 ? ` or [${generation - 1}, ${generation}] (still trust the previous one)` : ""));
            }
        }
    }
    return {
        algorithm: algorithm as CaSpec["algorithm"],
        rsaBits,
        validityHours: p.positiveInt("ca.validityHours", field(raw.ca, "validityHours"), 87600),
        bringYourOwn,
        generation,
        trust,
    };
}

function parseClientCertificates(value: unknown, p: Reader, problems: string[]): ClientCertificateSpec[] {
    const result = [...builtinClientCertificates];
    if (value === undefined) return result;
    if (!Array.isArray(value)) {
        problems.push("clientCertificates: must be a list of { name, commonName, organization?, dir? }");
        return result;
    }
    value.forEach((c, i) => {
        const at = `clientCertificates[${i}]`;
        const name = p.string(`${at}.name`, field(c, "name"), "");
        const commonName = p.string(`${at}.commonName`, field(c, "commonName"), name);
        const organizationRaw = field(c, "organization");
        const organization = organizationRaw === undefined ? undefined : p.string(`${at}.organization`, organizationRaw, "");
        const dirRaw = field(c, "dir");
        const dir = dirRaw === undefined ? undefined : p.absPath(`${at}.dir`, dirRaw, "");
        // The flags name files here and are pasted into shells and units: absPath lets through nothing that needs quoting.
        for (const [key, text] of [["commonName", commonName], ["organization", organization]] as const) {
            if (text && !subjectText.test(text)) problems.push(`${at}.${key}: "${text}" may hold only letters, digits, spaces and . _ : @ = + , - (at most 64)`);
        }
        if (commonName.toLowerCase() === peerCommonName) {
            problems.push(`${at}.commonName: "${commonName}" is the members' peer certificate's name, which the peer port admits: a client certificate must not carry it`);
        }
        if (name && !dnsLabel.test(name)) {
            problems.push(`${at}: name "${name}" must be a lowercase DNS label`);
        }
        if (result.some((r) => r.name === name)) {
            problems.push(`${at}: a client certificate named "${name}" already exists`);
        }
        result.push({ name, commonName, organization, ...(dir === undefined ? {} : { dir }) });
    });
    return result;
}

const unitName = /^[A-Za-z0-9][A-Za-z0-9:_.@-]*\.service$/;

function parseAdopt(at: string, value: unknown, p: Reader): AdoptSpec | undefined {
    if (value === undefined || !p.object(at, value)) return undefined;
    const unit = p.string(`${at}.unit`, field(value, "unit"), "");
    if (unit && !unitName.test(unit)) p.problems.push(`${at}.unit: "${unit}" is not a systemd service name (like etcd-legacy.service)`);
    const dataDir = p.absPath(`${at}.dataDir`, field(value, "dataDir"), "");
    return { unit, dataDir };
}

function parseRestore(value: unknown, p: Reader): RestoreSpec | undefined {
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

/**
 * An OnCalendar expression; systemd-analyze checks its meaning on the host, this keeps it to
 * calendar characters: it is written into a timer and a script run as root.
 */
function calendar(key: string, value: unknown, fallback: string, p: Reader): string {
    const onCalendar = p.string(key, value, fallback);
    if (!calendarText.test(onCalendar)) {
        p.problems.push(`${key}: "${onCalendar}" is not a systemd calendar expression (letters, digits, spaces and * - : / , . ~ _ + only)`);
    }
    return onCalendar;
}

function parseSnapshots(value: unknown, members: MemberSpec[], p: Reader): SnapshotSpec | undefined {
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
function parseSnapshotCopy(value: unknown, keep: number, p: Reader): SnapshotCopySpec | undefined {
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

function parseDefrag(value: unknown, members: MemberSpec[], p: Reader): DefragSpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("defrag", value)) return undefined;
    if (!p.boolean("defrag.enabled", field(value, "enabled"), true)) return undefined;
    const onCalendar = calendar("defrag.onCalendar", field(value, "onCalendar"), "weekly", p);
    const member = p.string("defrag.member", field(value, "member"), members[0]?.name ?? "");
    if (members.length > 0 && !members.some((m) => m.name === member)) p.problems.push(`defrag.member: "${member}" is not a member of the stack`);
    return { onCalendar, member };
}

function parseMetrics(value: unknown, clients: ClientCertificateSpec[], p: Reader): MetricsSpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("metrics", value)) return undefined;
    if (!p.boolean("metrics.enabled", field(value, "enabled"), true)) return undefined;
    const listen = p.string("metrics.listen", field(value, "listen"), "https");
    if (listen !== "https" && listen !== "http") {
        p.problems.push(`metrics.listen: "${listen}" must be "https" (mutual TLS) or "http" (plain, behind a firewall's allow-list)`);
        return undefined;
    }
    const raw = field(value, "clientCertificate");
    if (listen === "http") {
        if (raw !== undefined) p.problems.push("metrics.clientCertificate: only with metrics.listen https (a plain listener asks for no certificate)");
        return { listen };
    }
    const name = p.string("metrics.clientCertificate", raw, "");
    if (name === "") {
        p.problems.push("metrics.clientCertificate: with metrics.listen https, name the clientCertificates entry the Prometheus server presents " +
            "(etcd admits any certificate of its client CA on every client API too: give the scraper one of its own)");
    } else if (name === "admin" || !clients.some((c) => c.name === name)) {
        p.problems.push(`metrics.clientCertificate: "${name}" is not one of the stack's clientCertificates${name === "admin" ? " (admin is the operator's, never a scraper's)" : ""}`);
    }
    return { listen, clientCertificate: name };
}

function parseBastion(value: unknown, p: Reader): BastionSpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("bastion", value)) return undefined;
    const hostKeyLine = p.optionalString("bastion.hostKey", field(value, "hostKey"));
    const hostKey = hostKeyLine === "" ? undefined : normalizeHostKey(hostKeyLine);
    if (hostKeyLine !== "" && hostKey === undefined) {
        p.problems.push(`bastion.hostKey is not an SSH public key line ("ssh-ed25519 AAAA…", as ssh-keyscan prints it)`);
    }
    const host = p.string("bastion.host", field(value, "host"), "");
    if (host && !isValidHost(host)) p.problems.push(`bastion.host: "${host}" is neither a host name nor an IP address`);
    const user = p.string("bastion.user", field(value, "user"), "root");
    if (!userName.test(user)) p.problems.push(`bastion.user: "${user}" is not a user name (letters, digits, _ . -; not starting with - or a digit)`);
    return {
        host,
        port: p.port("bastion.port", field(value, "port"), 22),
        user,
        ...(hostKey ? { hostKey } : {}),
    };
}

/**
 * Fills each member's (and the bastion's) host key from the stack's known_hosts where the config
 * gives none, and refuses a host with no key unless unverified hosts are explicitly allowed:
 * without a pin, any machine answering on the address would receive the member's private keys.
 */
function resolveHostKeys(members: MemberSpec[], bastion: BastionSpec | undefined, knownHosts: string | undefined,
    allowUnverified: boolean, problems: string[]): void {
    const how = "collect it with `ssh-keyscan -t ed25519 <host>`, check its fingerprint out of band, then set it " +
        "(or point `etcd:knownHostsPath` at a verified known_hosts file); `etcd:allowUnverifiedHosts: true` skips the check (labs only)";
    members.forEach((m, i) => {
        if (!m.hostKey && knownHosts !== undefined && m.sshHost) {
            const key = lookupKnownHost(knownHosts, m.sshHost, m.sshPort);
            if (key) m.hostKey = key;
        }
        if (!m.hostKey && !allowUnverified && m.name) {
            problems.push(`members[${i}] (${m.name}): no SSH host key for ${m.sshHost}:${m.sshPort}; ${how}`);
        }
    });
    if (bastion && bastion.host) {
        if (!bastion.hostKey && knownHosts !== undefined) {
            const key = lookupKnownHost(knownHosts, bastion.host, bastion.port);
            if (key) bastion.hostKey = key;
        }
        if (!bastion.hostKey && !allowUnverified) {
            problems.push(`bastion: no SSH host key for ${bastion.host}:${bastion.port}; ${how}`);
        }
    }
}

function duplicate(seen: Map<string, number>, key: string, index: number, message: string, problems: string[]): void {
    const first = seen.get(key);
    if (first !== undefined) {
        problems.push(message.replace("%d", String(first)));
    } else {
        seen.set(key, index);
    }
}

/** Normalises an address so "10.0.0.1" and "::ffff:10.0.0.1" style aliases compare equal where net agrees. */
function canonicalAddress(address: string): string {
    if (net.isIPv6(address)) {
        const sock = new net.SocketAddress({ address, family: "ipv6" });
        return sock.address;
    }
    return address;
}

/** One spelling per machine: an IP address canonical, a DNS name in lower case (names ignore case). */
function canonicalHost(host: string): string {
    return net.isIP(host) ? canonicalAddress(host) : host.toLowerCase();
}

function field(obj: unknown, key: string): unknown {
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return undefined;
    return (obj as Record<string, unknown>)[key];
}

/** Reads typed values, recording a problem and returning the fallback when a value has the wrong type. */
class Reader {
    constructor(public readonly problems: string[]) {}

    string(at: string, value: unknown, fallback: string): string {
        if (value === undefined || value === null) {
            if (fallback === "") this.problems.push(`${at}: required`);
            return fallback;
        }
        if (typeof value !== "string" || value.trim() === "") {
            this.problems.push(`${at}: must be a non-empty string`);
            return fallback;
        }
        return value;
    }

    /** A string that may be absent ("" then). */
    optionalString(at: string, value: unknown): string {
        return value === undefined || value === null ? "" : this.string(at, value, "");
    }

    boolean(at: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined) return fallback;
        if (typeof value === "boolean") return value;
        if (value === "true" || value === "false") return value === "true";
        this.problems.push(`${at}: must be true or false`);
        return fallback;
    }

    positiveInt(at: string, value: unknown, fallback: number): number {
        if (value === undefined) return fallback;
        const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
        if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
            this.problems.push(`${at}: must be a positive integer`);
            return fallback;
        }
        return n;
    }

    port(at: string, value: unknown, fallback: number): number {
        const n = this.positiveInt(at, value, fallback);
        if (n > 65535) {
            this.problems.push(`${at}: ${n} is not a TCP port`);
            return fallback;
        }
        return n;
    }

    absPath(at: string, value: unknown, fallback: string): string {
        const s = this.string(at, value, fallback);
        if (s === "") return s; // already reported as required
        if (!s.startsWith("/") || s.includes("..") || /\s/.test(s) || s.length < 2 || s.endsWith("/")) {
            this.problems.push(`${at}: "${s}" must be an absolute path without spaces, "..", or a trailing slash`);
        } else if (!plainPath.test(s)) {
            this.problems.push(`${at}: "${s}" may hold only letters, digits and . _ - / (it is written into scripts run as root)`);
        }
        return s;
    }

    stringList(at: string, value: unknown): string[] {
        if (value === undefined) return [];
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
            this.problems.push(`${at}: must be a list of strings`);
            return [];
        }
        return value as string[];
    }

    object(at: string, value: unknown): boolean {
        if (value === undefined) return true;
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            this.problems.push(`${at}: must be an object`);
            return false;
        }
        return true;
    }
}

/**
 * The cluster spec's types: what a validated stack config is (ClusterSpec and its sections), what was
 * read raw (RawClusterConfig), and the defaults and release floors the validation applies.
 */

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

/**
 * The stack config reference: every `etcd:*` key, its type, default and constraint, as data.
 *
 * `docs/config.md` is rendered from this table (`npx ts-node scripts/configReference.ts`), and
 * `tests/unit/spec/configReference.test.ts` holds the table to the validator (parse.ts and its sections, config.ts): the
 * keys here are exactly the keys the program reads, each literal default is what the validator
 * fills in, each example is accepted and lands in the spec, each counter-example is refused naming
 * its key, and the page is the rendering of this table. `unknownKeyProblems` refuses a key that is
 * not here (a typo such as `sshUSer` would otherwise be ignored and its default used).
 *
 * Pure data and pure functions; it imports nothing from the validator at run time (parse.ts and config.ts
 * may import it).
 */
import type { ClusterSpec, RawClusterConfig } from "./types";

export interface ConfigKey {
    /** The key under `etcd:`; `a.b` is field `b` of object `a`, `a[].b` field `b` of each item of list `a`. */
    key: string;
    type: string;
    /** What it is for, what it feeds. */
    meaning: string;
    /** What the validator accepts (and why, where it is not obvious). */
    constraint: string;
    /** Set when the key must be given: "yes", or the condition under which it must. */
    required?: string;
    /** A literal default: the value the validator fills in when the key is absent. */
    default?: unknown;
    /** A default that depends on other values, in words, with cases the test checks. */
    defaultText?: string;
    defaultCases?: { given: Partial<RawClusterConfig>; value: unknown }[];
    /** Where the value lands in the validated spec; omitted for keys only config.ts reads. */
    read?: (spec: ClusterSpec) => unknown;
    /** A value the validator accepts (not the default); with `read`, it lands in the spec as given. */
    example?: unknown;
    /** A value the validator refuses, naming the key. */
    invalid?: unknown;
    /** Other config the example and counter-example need (replaces those top-level keys). */
    context?: Partial<RawClusterConfig>;
    /** Read by config.ts from the operator's machine (a file, a secret): checked there, not in the spec. */
    readByConfig?: true;
    /** The value is a map whose keys are data (arches), not further config keys. */
    map?: true;
}

const member0 = (s: ClusterSpec) => s.members[0];
const extraClient = (s: ClusterSpec) => s.clientCertificates.find((c) => c.name === "flannel");
const hex = (c: string) => c.repeat(64);

export const configReference: ConfigKey[] = [
    // --- the cluster ---
    {
        key: "clusterName", type: "string", default: "etcd", read: (s) => s.clusterName, example: "payments", invalid: "Payments_DB",
        meaning: "names the cluster: the prefix of etcd's `initial-cluster-token`, of the CA's common name (`<clusterName>-etcd-ca`, `-g2`… after a rotation) and of resource names",
        constraint: "a lowercase DNS label (a-z, 0-9, `-`, at most 63)",
    },
    {
        key: "members", type: "list of objects", required: "yes", read: (s) => s.members.length,
        meaning: "the etcd members and how to reach their hosts, in order (the first is the default `defrag.member`)",
        constraint: "3, 5 or 7 members; 1 with `allowSingleMember`, 4 or 6 with `allowEvenMembers`; names, addresses and SSH endpoints unique",
        invalid: [{ name: "a", address: "10.0.0.1" }, { name: "b", address: "10.0.0.2" }],
    },
    {
        key: "members[].name", type: "string", required: "yes", read: (s) => member0(s).name, example: "etcd-a", invalid: "Lab_1",
        meaning: "etcd's member name; the common name of the member's certificates and a SAN",
        constraint: "a lowercase DNS label; renaming a member is a removal and an addition (two `up`s)",
    },
    {
        key: "members[].address", type: "string", required: "yes", read: (s) => member0(s).address, example: "fd00::11", invalid: "etcd-1.example.com",
        meaning: "the address peers and clients use (etcd's URLs and the certificates' IP SANs)",
        constraint: "a literal IPv4 or IPv6 address, not a host name",
    },
    {
        key: "members[].sshHost", type: "string", defaultText: "the member's `address`", read: (s) => member0(s).sshHost, example: "etcd-1.mgmt.example", invalid: "host;reboot",
        defaultCases: [{ given: {}, value: "10.213.0.11" }],
        meaning: "where SSH connects (through the bastion when one is set)",
        constraint: "an RFC 1123 host name or an IP address",
    },
    {
        key: "members[].sshPort", type: "TCP port", default: 22, read: (s) => member0(s).sshPort, example: 2222, invalid: 70000,
        meaning: "the SSH port",
        constraint: "1-65535; not one of the etcd ports when `sshHost` is the `address`",
    },
    {
        key: "members[].sshUser", type: "string", default: "root", read: (s) => member0(s).sshUser, example: "deploy", invalid: "-oProxyCommand",
        meaning: "the SSH login; root, or a user with passwordless sudo",
        constraint: "a POSIX user name (letters, digits, `_ . -`; not starting with `-` or a digit)",
    },
    {
        key: "members[].extraSans", type: "list of strings", default: [], read: (s) => member0(s).extraSans, example: ["etcd.example.internal", "10.0.0.100"], invalid: ["not a name"],
        meaning: "extra names or IPs in the member's server certificate (load balancers, VIPs)",
        constraint: "each an IP address or a DNS name (a `*` only in the first label)",
    },
    {
        key: "members[].hostKey", type: "string", defaultText: "the host's entry in `knownHostsPath`", invalid: "not a key",
        defaultCases: [{ given: { knownHostsText: "10.213.0.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHIL6o4gBqRjQrjSmcBnCdxm71pnwIBb0cyUQPvsiMO\n" },
            value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHIL6o4gBqRjQrjSmcBnCdxm71pnwIBb0cyUQPvsiMO" }],
        read: (s) => member0(s).hostKey,
        meaning: "the host's SSH public key, pinned on every connection",
        constraint: "an SSH public key line as `ssh-keyscan` prints it; a member without one (here or in `knownHostsPath`) is refused unless `allowUnverifiedHosts`",
    },
    {
        key: "members[].adopt", type: "object", defaultText: "none",
        meaning: "an etcd already running on the host (not created by the stack) that the member takes over on its first run: unit stopped and disabled, data copied (the original kept), started with the stack's config",
        constraint: "`{ unit, dataDir }`; not together with `restore`",
    },
    {
        key: "members[].adopt.unit", type: "string", required: "in `adopt`", read: (s) => member0(s).adopt?.unit, example: "etcd-legacy.service", invalid: "etcd; rm",
        meaning: "the systemd unit that runs the adopted etcd now (may be `etcd.service`)",
        constraint: "a systemd service name ending in `.service`",
    },
    {
        key: "members[].adopt.dataDir", type: "absolute path", required: "in `adopt`", read: (s) => member0(s).adopt?.dataDir, example: "/srv/etcd", invalid: "srv/etcd",
        meaning: "its data dir (the one holding `member/`)",
        constraint: "absolute, only letters, digits and `. _ - /`, no `..`, no trailing slash",
    },
    {
        key: "allowSingleMember", type: "boolean", default: false, read: (s) => s.allowSingleMember, example: true, invalid: "yes",
        meaning: "accept a 1-member cluster (development only: no fault tolerance)",
        constraint: "true or false",
    },
    {
        key: "allowEvenMembers", type: "boolean", default: false, read: (s) => s.allowEvenMembers, example: true, invalid: "yes",
        meaning: "accept 4 or 6 members, for a deliberate in-between state (an even count tolerates no more failures than one fewer); the policy pack also needs its own `etcd-member-count.allowEvenMembers`",
        constraint: "true or false; never 2 or 8",
    },
    // --- the release ---
    {
        key: "version", type: "string", required: "yes", read: (s) => s.version, example: "3.5.35", invalid: "v3.6.16",
        meaning: "the etcd release every member runs; an edit is an upgrade (one minor at a time, never down, a snapshot on each member first)",
        constraint: "`X.Y.Z` without a leading `v`; 3.5 from 3.5.14 (older 3.5 patches ignore the peer port's `allowed-cn`) or 3.6",
    },
    {
        key: "binary", type: "object", required: "yes",
        meaning: "where the release tarball comes from: each host downloads it (`url` + `sha256`), or the operator's machine copies it (`localTarball`)",
        constraint: "`{ url?, sha256 }` or `{ localTarball }`, not both",
    },
    {
        key: "binary.url", type: "string", default: "https://github.com/etcd-io/etcd/releases/download/v{version}/etcd-v{version}-linux-{arch}.tar.gz",
        read: (s) => s.binary.kind === "url" ? s.binary.urlTemplate : undefined, example: "https://mirror.example/etcd/v{version}/etcd-v{version}-linux-{arch}.tar.gz", invalid: "http://mirror.example/etcd.tar.gz",
        meaning: "the release URL template; `{version}` and `{arch}` are replaced per host (a mirror may serve it)",
        constraint: "an `https://` URL",
    },
    {
        key: "binary.sha256", type: "map of arch to hex, or of version to such a map", required: "with a URL", map: true,
        read: (s) => s.binary.kind === "url" ? s.binary.sha256 : undefined, example: { amd64: hex("a"), arm64: hex("b") }, invalid: { amd64: "REPLACE-WITH-SHA256" },
        meaning: "the tarball's sha256 per arch (from the release's `SHA256SUMS`), checked on each host before anything is installed. " +
            "Keyed by version (`{ \"3.6.16\": { amd64: … }, \"3.6.17\": { amd64: … } }`) the sums of the next release go in ahead of the upgrade, " +
            "so the upgrade is an edit of `version` alone; only `version`'s sums are used. Keyed by arch they are `version`'s (an upgrade edits both)",
        constraint: "arches `amd64`, `arm64`; each 64 lowercase hex characters; at least one. Keyed by version: every key a release version (`X.Y.Z`), one of them `version`",
    },
    {
        key: "binary.localTarball", type: "path", required: "instead of a URL", readByConfig: true,
        meaning: "a release tarball on the operator's machine, copied to each host and checked there by its sha256",
        constraint: "a file that exists; a leading `~/` is the home directory of whoever runs the program, a relative path is relative to the project",
    },
    // --- hosts and SSH ---
    {
        key: "sshPrivateKey", type: "secret string", required: "this, `sshPrivateKeyPath` or an ssh-agent", readByConfig: true,
        meaning: "the SSH private key for every host and the bastion (unless `bastionPrivateKey*`), encrypted in the stack file (`pulumi config set --secret etcd:sshPrivateKey < key`); with neither this nor `sshPrivateKeyPath`, every login goes through the ssh-agent at `SSH_AUTH_SOCK`, read when connecting and never stored ([SSH](ssh.md))",
        constraint: "an OpenSSH private key; without one, `SSH_AUTH_SOCK` must name a running agent's socket",
    },
    {
        key: "sshPrivateKeyPath", type: "path", required: "this, `sshPrivateKey` or an ssh-agent", readByConfig: true,
        meaning: "the SSH private key as a file on the machine that runs the program (it stays there)",
        constraint: "a readable file; quote a `~/…` path when setting it so the shell does not expand it into your own home",
    },
    {
        key: "bastionPrivateKey", type: "secret string", defaultText: "the members' key (`sshPrivateKey*`, else the ssh-agent)", readByConfig: true,
        meaning: "a separate SSH private key for the hop to the bastion only (the members never see it), encrypted in the stack file (`pulumi config set --secret etcd:bastionPrivateKey < key`)",
        constraint: "an OpenSSH private key; only with `bastion`",
    },
    {
        key: "bastionPrivateKeyPath", type: "path", defaultText: "the members' key (`sshPrivateKey*`, else the ssh-agent)", readByConfig: true,
        meaning: "the bastion's key as a file on the machine that runs the program (it stays there)",
        constraint: "a readable file; only with `bastion`; `~/` as for `sshPrivateKeyPath`",
    },
    {
        key: "knownHostsPath", type: "path", defaultText: "none", readByConfig: true,
        meaning: "an OpenSSH known_hosts file (plain or hashed entries) that pins the host key of each member and of the bastion that has no `hostKey`",
        constraint: "a readable file; `~/` as for `sshPrivateKeyPath`",
    },
    {
        key: "allowUnverifiedHosts", type: "boolean", default: false, read: (s) => s.allowUnverifiedHosts, example: true, invalid: "maybe",
        meaning: "connect to hosts without a pinned host key (labs only: any machine answering on the address would get the member's keys)",
        constraint: "true or false",
    },
    {
        key: "bastion", type: "object", defaultText: "none (direct connections)",
        meaning: "a jump host every SSH connection goes through",
        constraint: "`{ host, port?, user?, hostKey? }`; its host key is pinned like a member's",
    },
    {
        key: "bastion.host", type: "string", required: "in `bastion`", read: (s) => s.bastion?.host, example: "bastion.example.com", invalid: "bastion example",
        meaning: "the bastion's address", constraint: "a host name or an IP address",
    },
    {
        key: "bastion.port", type: "TCP port", default: 22, read: (s) => s.bastion?.port, example: 2200, invalid: 0,
        meaning: "its SSH port", constraint: "1-65535",
    },
    {
        key: "bastion.user", type: "string", default: "root", read: (s) => s.bastion?.user, example: "jump", invalid: "1user",
        meaning: "the login on the bastion (it only forwards; no sudo needed)", constraint: "a POSIX user name",
    },
    {
        key: "bastion.hostKey", type: "string", defaultText: "the bastion's entry in `knownHostsPath`", invalid: "ssh-ed25519",
        defaultCases: [{ given: { knownHostsText: "bastion.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2LLz4IJXE9JMXkcKhwfbvX3gkk92DKtYXITyCtmZF3\n" },
            value: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2LLz4IJXE9JMXkcKhwfbvX3gkk92DKtYXITyCtmZF3" }],
        read: (s) => s.bastion?.hostKey, example: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL+1aQBtGX9rLn/VK/lcViJYObI7EyOoUJ2qovQZb9Sk",
        meaning: "the bastion's SSH public key, pinned", constraint: "an SSH public key line; required unless `allowUnverifiedHosts` or found in `knownHostsPath`",
    },
    // --- on each host ---
    {
        key: "dirs", type: "object", defaultText: "each field's default",
        meaning: "directories on each member host", constraint: "`{ data?, config?, pki? }`; the data dir apart from the other two",
    },
    {
        key: "dirs.data", type: "absolute path", default: "/var/lib/etcd", read: (s) => s.dirs.data, example: "/srv/etcd", invalid: "/etc/etcd",
        meaning: "etcd's data dir (mode 0700, owned by etcd)", constraint: "absolute, only letters, digits and `. _ - /`; not the config dir, not inside or around the pki dir",
    },
    {
        key: "dirs.config", type: "absolute path", default: "/etc/etcd", read: (s) => s.dirs.config, example: "/etc/etcd-main", invalid: "/etc/etcd/",
        meaning: "where `etcd.conf.yml` is written", constraint: "absolute, only letters, digits and `. _ - /`",
    },
    {
        key: "dirs.pki", type: "absolute path", default: "/etc/etcd/pki", read: (s) => s.dirs.pki, example: "/etc/etcd/tls", invalid: "/etc/etcd pki",
        meaning: "the CA bundle, the member's certificates and its keys (mode 0700)", constraint: "absolute, only letters, digits and `. _ - /`",
    },
    {
        key: "ports", type: "object", defaultText: "each field's default",
        meaning: "etcd's ports on each member", constraint: "`{ client?, peer?, metrics? }`, all different",
    },
    {
        key: "ports.client", type: "TCP port", default: 2379, read: (s) => s.ports.client, example: 12379, invalid: 2380,
        meaning: "the client port (TLS, client certificates required), open to clients", constraint: "1-65535, not another etcd port, not a member's SSH port",
    },
    {
        key: "ports.peer", type: "TCP port", default: 2380, read: (s) => s.ports.peer, example: 12380, invalid: 2379,
        meaning: "the peer port (TLS, only the members' peer certificates), open between members", constraint: "1-65535, not another etcd port, not a member's SSH port",
    },
    {
        key: "ports.metrics", type: "TCP port", default: 2381, read: (s) => s.ports.metrics, example: 12381, invalid: 2379,
        meaning: "the metrics and health listener: on loopback, and with `metrics` also on the member's address", constraint: "1-65535, not another etcd port",
    },
    {
        key: "tuning", type: "object", defaultText: "each field's default",
        meaning: "etcd's performance settings; an edit rolls the members one at a time", constraint: "`{ heartbeatIntervalMs?, electionTimeoutMs?, autoCompactionMode?, autoCompactionRetention?, quotaBackendBytes?, maxRequestBytes?, snapshotCount? }`",
    },
    {
        key: "tuning.heartbeatIntervalMs", type: "integer (ms)", default: 100, read: (s) => s.tuning.heartbeatIntervalMs, example: 150, invalid: 0,
        meaning: "etcd's `heartbeat-interval`", constraint: "positive; at most a fifth of `electionTimeoutMs`",
    },
    {
        key: "tuning.electionTimeoutMs", type: "integer (ms)", default: 1000, read: (s) => s.tuning.electionTimeoutMs, example: 2500, invalid: 400,
        meaning: "etcd's `election-timeout`", constraint: "at least 5 × `heartbeatIntervalMs`, at most 50000 (etcd refuses to start otherwise)",
    },
    {
        key: "tuning.autoCompactionMode", type: "string", default: "periodic", read: (s) => s.tuning.autoCompactionMode, example: "revision", invalid: "daily",
        context: { tuning: { autoCompactionRetention: "1000" } },
        meaning: "etcd's `auto-compaction-mode`", constraint: "`periodic` or `revision`",
    },
    {
        key: "tuning.autoCompactionRetention", type: "string", default: "1h", read: (s) => s.tuning.autoCompactionRetention, example: "30m", invalid: "1 day",
        meaning: "etcd's `auto-compaction-retention`: a duration (periodic) or a revision count (revision)", constraint: "a number, or a number with `h`, `m` or `s`; revision mode only a number",
    },
    {
        key: "tuning.quotaBackendBytes", type: "integer (bytes)", default: 2147483648, read: (s) => s.tuning.quotaBackendBytes, example: 4294967296, invalid: 9663676416,
        meaning: "etcd's `quota-backend-bytes`: past it, writes fail with NOSPACE", constraint: "positive, at most 8 GiB (etcd's suggested maximum), larger than `maxRequestBytes`",
    },
    {
        key: "tuning.maxRequestBytes", type: "integer (bytes)", default: 1572864, read: (s) => s.tuning.maxRequestBytes, example: 3145728, invalid: -1,
        meaning: "etcd's `max-request-bytes`", constraint: "positive, smaller than `quotaBackendBytes`",
    },
    {
        key: "tuning.snapshotCount", type: "integer", default: 10000, read: (s) => s.tuning.snapshotCount, example: 50000, invalid: 1.5,
        meaning: "etcd's `snapshot-count` (left out of the config on 3.6.0-3.6.7, which warn about it)", constraint: "positive",
    },
    // --- certificates ---
    {
        key: "ca", type: "object", defaultText: "each field's default",
        meaning: "the cluster's CA, generated in the Pulumi state (its key never reaches a host)", constraint: "`{ algorithm?, rsaBits?, validityHours?, generation?, trust? }`",
    },
    {
        key: "ca.algorithm", type: "string", default: "ECDSA", read: (s) => s.ca.algorithm, example: "RSA", invalid: "DSA",
        meaning: "the key algorithm of the CA and of every certificate it signs", constraint: "`ECDSA` (P-256) or `RSA`",
    },
    {
        key: "ca.rsaBits", type: "integer", default: 2048, read: (s) => s.ca.rsaBits, example: 4096, invalid: 1024, context: { ca: { algorithm: "RSA" } },
        meaning: "the RSA key size", constraint: "2048 or more when `algorithm` is RSA",
    },
    {
        key: "ca.validityHours", type: "integer (hours)", default: 87600, read: (s) => s.ca.validityHours, example: 43800, invalid: 100,
        meaning: "the CA certificate's validity (10 years by default)", constraint: "positive, at least `certValidityHours`",
    },
    {
        key: "ca.generation", type: "integer", default: 1, read: (s) => s.ca.generation, example: 2, invalid: 0,
        meaning: "the CA generation that signs the members' certificates; raised by one in a CA rotation", constraint: "positive",
    },
    {
        key: "ca.trust", type: "list of integers", defaultText: "`[generation]`", read: (s) => s.ca.trust, example: [1, 2], invalid: [3],
        defaultCases: [{ given: {}, value: [1] }, { given: { ca: { generation: 3 } }, value: [3] }],
        meaning: "the CA generations members and clients trust: during a rotation also the next (`[g, g+1]`) or the previous (`[g-1, g]`)", constraint: "`[generation]`, `[generation, generation+1]` or `[generation-1, generation]`",
    },
    {
        key: "caCertPem", type: "string (PEM)", defaultText: "none (the CA is generated)", readByConfig: true,
        meaning: "bring your own CA (generation 1 only): its certificate", constraint: "together with the secret `caKeyPem`",
    },
    {
        key: "caKeyPem", type: "secret string (PEM)", defaultText: "none", readByConfig: true,
        meaning: "bring your own CA: its private key, kept only in the Pulumi state", constraint: "together with `caCertPem`",
    },
    {
        key: "certValidityHours", type: "integer (hours)", default: 8760, read: (s) => s.certValidityHours, example: 2160, invalid: 100000,
        meaning: "the validity of the members' and clients' certificates", constraint: "positive, at most `ca.validityHours`, more than `certRenewBeforeHours`",
    },
    {
        key: "certRenewBeforeHours", type: "integer (hours)", defaultText: "a quarter of `certValidityHours`, at least 1, at most 720",
        defaultCases: [{ given: {}, value: 720 }, { given: { certValidityHours: 100 }, value: 25 }, { given: { certValidityHours: 3 }, value: 1 }],
        read: (s) => s.certRenewBeforeHours, example: 48, invalid: 8760,
        meaning: "an `up` this close to a certificate's expiry re-issues it (and rolls its member)", constraint: "positive, less than `certValidityHours`",
    },
    {
        key: "clientCertificates", type: "list of objects", defaultText: "none besides the built-in `admin`, `healthcheck` and `apiserver-etcd-client`",
        read: (s) => s.clientCertificates.length,
        defaultCases: [{ given: { metrics: undefined }, value: 3 }],
        meaning: "extra client certificates (kube-apiserver, flannel, a backup job), issued by the CA and given in the `clientCertificates` output",
        constraint: "`{ name, commonName?, organization?, dir? }` each", invalid: { name: "flannel" },
    },
    {
        key: "clientCertificates[].name", type: "string", required: "yes", read: (s) => s.clientCertificates[3]?.name, example: "backup", invalid: "admin",
        meaning: "the certificate's name in the outputs", constraint: "a lowercase DNS label, unique, not a built-in name",
    },
    {
        key: "clientCertificates[].commonName", type: "string", defaultText: "its `name`", read: (s) => extraClient(s)?.commonName, example: "system:flannel", invalid: "etcd-peer",
        defaultCases: [{ given: {}, value: "flannel" }],
        meaning: "the certificate's CN (the identity etcd sees)", constraint: "letters, digits, spaces and `. _ : @ = + , -`, at most 64; not `etcd-peer` (the members' peer name, which the peer port admits)",
    },
    {
        key: "clientCertificates[].organization", type: "string", defaultText: "none", read: (s) => extraClient(s)?.organization, example: "system:masters", invalid: "a;b",
        defaultCases: [{ given: {}, value: undefined }],
        meaning: "the certificate's O", constraint: "as `commonName`",
    },
    {
        key: "clientCertificates[].dir", type: "absolute path", defaultText: "`/etc/etcd-stack/clients/<name>`", read: (s) => extraClient(s)?.dir, example: "/etc/kubernetes/pki/etcd", invalid: "etc/x",
        meaning: "where the consumer's host keeps the files; the output's flags name files there", constraint: "absolute, only letters, digits and `. _ - /`",
    },
    // --- schedules ---
    {
        key: "snapshots", type: "object", defaultText: "off",
        read: (s) => s.snapshots !== undefined, defaultCases: [{ given: { snapshots: undefined }, value: false }],
        meaning: "scheduled snapshots: a systemd timer on each chosen member runs `etcdctl snapshot save` into `/var/backups/etcd` and keeps the newest",
        constraint: "`{ enabled?, onCalendar?, keep?, maxAgeDays?, members?, copyTo? }`; the policy pack requires it on production stacks", invalid: "hourly",
    },
    {
        key: "snapshots.enabled", type: "boolean", default: true, read: (s) => s.snapshots !== undefined, example: false, invalid: "on",
        meaning: "turn the timers off while keeping the settings (the snapshots stay)", constraint: "true or false",
    },
    {
        key: "snapshots.onCalendar", type: "string", default: "hourly", read: (s) => s.snapshots?.onCalendar, example: "*-*-* 00/6:00:00", invalid: "hourly; reboot",
        meaning: "when (systemd `OnCalendar`)", constraint: "calendar characters only (letters, digits, spaces, `* - : / , . ~ _ +`); its meaning is checked on the host by `systemd-analyze`",
    },
    {
        key: "snapshots.keep", type: "integer", default: 24, read: (s) => s.snapshots?.keep, example: 48, invalid: 0,
        meaning: "how many snapshots each member keeps (newest first)", constraint: "positive",
    },
    {
        key: "snapshots.maxAgeDays", type: "integer (days)", default: 7, read: (s) => s.snapshots?.maxAgeDays, example: 14, invalid: -7,
        meaning: "snapshots older than this go, even when fewer than `keep` exist", constraint: "positive",
    },
    {
        key: "snapshots.members", type: "list of member names", defaultText: "every member", read: (s) => s.snapshots?.members, example: ["lab-1", "lab-2"], invalid: ["lab-9"],
        defaultCases: [{ given: {}, value: ["lab-1", "lab-2", "lab-3"] }],
        meaning: "the members that take snapshots", constraint: "names of members of the stack",
    },
    {
        key: "snapshots.copyTo", type: "object", defaultText: "none (snapshots stay on their member)",
        read: (s) => s.snapshots?.copyTo !== undefined, defaultCases: [{ given: {}, value: false }],
        meaning: "a copy of each checked snapshot, over SFTP, to `<path>/<member>/` on a host reached over SSH, with each member's key of its own (the `snapshotCopyKeys` output: add its lines to that login's authorized_keys); a failed copy fails the job and keeps the member's snapshot",
        constraint: "`{ host, port?, user, path, hostKey, keep? }`", invalid: "backup.example:/srv",
    },
    {
        key: "snapshots.copyTo.host", type: "string", required: "in `copyTo`", read: (s) => s.snapshots?.copyTo?.host, example: "backup.example.internal", invalid: "backup host;reboot",
        meaning: "the destination's address", constraint: "a host name or an IP address",
    },
    {
        key: "snapshots.copyTo.port", type: "TCP port", default: 22, read: (s) => s.snapshots?.copyTo?.port, example: 2222, invalid: 70000,
        meaning: "its SSH port", constraint: "1-65535",
    },
    {
        key: "snapshots.copyTo.user", type: "string", required: "in `copyTo`", read: (s) => s.snapshots?.copyTo?.user, example: "etcdbackup", invalid: "backup user",
        meaning: "the login the members copy as (their keys are restricted to SFTP)", constraint: "a POSIX user name",
    },
    {
        key: "snapshots.copyTo.path", type: "absolute path", required: "in `copyTo`", read: (s) => s.snapshots?.copyTo?.path, example: "/srv/etcd-snapshots/prod", invalid: "/srv/../etc",
        meaning: "the directory on the destination; each member's copies go to `<path>/<member>/`, made on its first copy", constraint: "absolute; letters, digits and `. _ - /` only, no `..`, no trailing slash",
    },
    {
        key: "snapshots.copyTo.hostKey", type: "string", required: "in `copyTo`", read: (s) => s.snapshots?.copyTo?.hostKey,
        example: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL+1aQBtGX9rLn/VK/lcViJYObI7EyOoUJ2qovQZb9Sk", invalid: "ssh-ed25519 AAAA",
        meaning: "the destination's SSH host key, pinned: a copy to a host presenting any other key fails", constraint: "an SSH public key line (`ssh-keyscan -t ed25519 <host>`, its fingerprint checked out of band)",
    },
    {
        key: "snapshots.copyTo.keep", type: "integer", defaultText: "`snapshots.keep`", read: (s) => s.snapshots?.copyTo?.keep, example: 168, invalid: 0,
        defaultCases: [{ given: { snapshots: { keep: 5, copyTo: { host: "10.0.0.9", user: "b", path: "/b", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL+1aQBtGX9rLn/VK/lcViJYObI7EyOoUJ2qovQZb9Sk" } } }, value: 5 }],
        meaning: "how many of each member's newest copies stay on the destination (older ones are removed after each copy)", constraint: "positive",
    },
    {
        key: "defrag", type: "object", defaultText: "off",
        read: (s) => s.defrag !== undefined, defaultCases: [{ given: { defrag: undefined }, value: false }],
        meaning: "scheduled defragmentation: a timer on one member defragments every member in turn, followers first, the leader last",
        constraint: "`{ enabled?, onCalendar?, member? }`", invalid: [],
    },
    {
        key: "defrag.enabled", type: "boolean", default: true, read: (s) => s.defrag !== undefined, example: false, invalid: 1,
        meaning: "turn the timer off while keeping the settings", constraint: "true or false",
    },
    {
        key: "defrag.onCalendar", type: "string", default: "weekly", read: (s) => s.defrag?.onCalendar, example: "Sun *-*-* 03:30:00", invalid: "$(reboot)",
        meaning: "when (systemd `OnCalendar`)", constraint: "calendar characters only, as `snapshots.onCalendar`",
    },
    {
        key: "defrag.member", type: "member name", defaultText: "the first member", read: (s) => s.defrag?.member, example: "lab-2", invalid: "lab-9",
        defaultCases: [{ given: {}, value: "lab-1" }],
        meaning: "the member whose host runs the timer", constraint: "a member of the stack",
    },
    {
        key: "metrics", type: "object", defaultText: "off (metrics on loopback only)",
        read: (s) => s.metrics !== undefined, defaultCases: [{ given: { metrics: undefined }, value: false }],
        meaning: "a metrics listener (`/metrics`, `/health`) on each member's address at `ports.metrics`, for a Prometheus server; the `monitoring` output gives its scrape job and alert rules",
        constraint: "`{ enabled?, listen?, clientCertificate? }`", invalid: "https",
    },
    {
        key: "metrics.enabled", type: "boolean", default: true, read: (s) => s.metrics !== undefined, example: false, invalid: "yes",
        meaning: "turn the listener off while keeping the settings", constraint: "true or false",
    },
    {
        key: "metrics.listen", type: "string", defaultText: "`https`", read: (s) => s.metrics?.listen, example: "http", invalid: "ftp",
        defaultCases: [{ given: { metrics: { clientCertificate: "prometheus" } }, value: "https" }], context: { metrics: {} },
        meaning: "`https`: mutual TLS with the cluster's client CA (etcd serves a secure metrics URL with its client TLS settings); `http`: plain, for a network a firewall allow-lists",
        constraint: "`https` or `http`",
    },
    {
        key: "metrics.clientCertificate", type: "client certificate name", required: "with `listen` https", read: (s) => s.metrics?.clientCertificate,
        example: "flannel", invalid: "admin",
        meaning: "the `clientCertificates` entry the Prometheus server presents; its files are where the scrape job's `tls_config` points",
        constraint: "one of `clientCertificates` (not admin); only with https. etcd admits a certificate of its client CA on every client API too: give the scraper one of its own",
    },
    {
        key: "restore", type: "object", defaultText: "none",
        meaning: "restore every member from one snapshot: a deliberate one-time operation, named by the file's digest (the same file never runs twice)",
        constraint: "`{ snapshot }`; not while a member has `adopt`",
    },
    {
        key: "restore.snapshot", type: "path", required: "in `restore`", readByConfig: true,
        meaning: "the snapshot file (`etcdctl snapshot save`, `npm run snapshot`) on the operator's machine, copied to every member",
        constraint: "a file that exists; its sha256 is checked on each host before anything is stopped",
    },
    // --- safety and bounds ---
    {
        key: "protectCa", type: "boolean", default: true, read: (s) => s.protectCa, example: false, invalid: "no",
        meaning: "protect the generated CA from deletion and replacement", constraint: "true or false",
    },
    {
        key: "purgeDataOnDestroy", type: "boolean", default: false, read: (s) => s.purgeDataOnDestroy, example: true, invalid: "no",
        meaning: "remove the data dir on destroy; kept data makes a later stack's first `up` on that host refuse to bootstrap over it", constraint: "true or false",
    },
    {
        key: "maxClockSkewSeconds", type: "integer (s)", default: 30, read: (s) => s.maxClockSkewSeconds, example: 5, invalid: 0,
        meaning: "preflight refuses a host whose clock differs more from the operator's", constraint: "positive",
    },
    {
        key: "minFreeDiskMiB", type: "integer (MiB)", default: 1024, read: (s) => s.minFreeDiskMiB, example: 4096, invalid: "lots",
        meaning: "preflight refuses a host with less free space on the data dir's filesystem", constraint: "positive",
    },
    {
        key: "fsyncWarnMs", type: "integer (ms)", default: 10, read: (s) => s.fsyncWarnMs, example: 25, invalid: 0.5,
        meaning: "preflight times a short burst of synchronous writes in the data dir's filesystem and warns (never fails) when the mean per write is above this; etcd's guide asks for p99 WAL fsync under 10 ms",
        constraint: "positive",
    },
    {
        key: "healthTimeoutSeconds", type: "integer (s)", default: 120, read: (s) => s.healthTimeoutSeconds, example: 300, invalid: -1,
        meaning: "how long the health gate waits for the whole cluster before failing the update", constraint: "positive",
    },
];

/** The documented keys directly below `parent` ("" for the top level), by name. */
function childrenOf(parent: string): Map<string, ConfigKey> {
    const prefix = parent === "" ? "" : `${parent}.`;
    const out = new Map<string, ConfigKey>();
    for (const k of configReference) {
        if (!k.key.startsWith(prefix)) continue;
        const rest = k.key.slice(prefix.length);
        if (/^[A-Za-z0-9]+$/.test(rest)) out.set(rest, k);
    }
    return out;
}

function unknownIn(value: unknown, parent: string, shown: string, problems: string[]): void {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return;
    const known = childrenOf(parent);
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
        const entry = known.get(name);
        const at = shown === "" ? name : `${shown}.${name}`;
        if (entry === undefined) {
            const near = [...known.keys()].find((k) => k.toLowerCase() === name.toLowerCase());
            problems.push(`${at}: unknown key` + (near ? ` (did you mean \`${near}\`?)` : `; known here: ${[...known.keys()].join(", ")}`));
            continue;
        }
        if (entry.map) continue;
        if (Array.isArray(v) && childrenOf(`${entry.key}[]`).size > 0) {
            v.forEach((item, i) => unknownIn(item, `${entry.key}[]`, `${at}[${i}]`, problems));
        } else {
            unknownIn(v, entry.key, at, problems);
        }
    }
}

/**
 * A problem for each key the config gives that is not in the reference: `topLevel` the keys set
 * under `etcd:`, `values` the objects read for them (their fields are checked, at any depth).
 */
export function unknownKeyProblems(topLevel: string[], values: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const given: Record<string, unknown> = {};
    for (const k of topLevel) given[k] = values[k];
    unknownIn(given, "", "", problems);
    return problems;
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function literal(value: unknown): string {
    return "`" + JSON.stringify(value) + "`";
}

/** docs/config.md: the reference as Markdown. */
export function renderConfigReference(): string {
    const lines = [
        "# Stack config reference (`etcd:*`)",
        "",
        "<!-- Generated from components/spec/configReference.ts by `npx ts-node scripts/configReference.ts`; do not edit by hand.",
        "     tests/unit/spec/configReference.test.ts fails when this page, the table or the validator (components/spec/parse.ts, components/spec/config.ts) disagree. -->",
        "",
        "Every key the program reads from a stack's config, under the `etcd` namespace (`pulumi config set etcd:<key> …`,",
        "or `etcd:<key>:` in `stacks/Pulumi.<env>.yaml`). `a.b` is field `b` of object `a`; `a[].b` is field `b` of",
        "each item of list `a`. `pulumi preview` validates all of it before any resource is registered and lists every",
        "problem at once; a key that is not on this page is refused (a misspelt key would otherwise be ignored and its",
        "default used).",
        "",
        "| key | type | default | constraint | what it is |",
        "| --- | --- | --- | --- | --- |",
    ];
    for (const k of configReference) {
        const def = k.required !== undefined ? (k.required === "yes" ? "**required**" : `required ${k.required}`)
            : k.defaultText !== undefined ? k.defaultText
                : literal(k.default);
        lines.push(`| \`${k.key}\` | ${cell(k.type)} | ${cell(def)} | ${cell(k.constraint)} | ${cell(k.meaning)} |`);
    }
    lines.push("");
    return lines.join("\n");
}

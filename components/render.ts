/**
 * Pure renderers: the etcd config file, the systemd unit, and the shell scripts each
 * member runs over SSH. Same spec in, same bytes out — golden files in tests/golden pin
 * them, and a change to any of them shows in `pulumi preview` as a change to one input.
 */
import * as paths from "./paths";
import { allowedCnYaml, rendersSnapshotCount } from "./etcdVersions";
import { hostKeyFingerprint } from "./hostKeys";
import { asRootShell } from "./ssh";
import { AdoptSpec, ClusterSpec, MemberSpec, minimum35Before36, urlHost } from "./spec";

/** Quotes a value for POSIX sh. */
export function shq(value: string | number): string {
    return `'${String(value).replace(/'/g, `'"'"'`)}'`;
}

/** Quotes a value as a YAML (JSON-compatible) double-quoted scalar. */
function yq(value: string): string {
    return JSON.stringify(value);
}

export function peerUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `https://${urlHost(member.address)}:${spec.ports.peer}`;
}

export function clientUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `https://${urlHost(member.address)}:${spec.ports.client}`;
}

/** The metrics listener on the member's address (`etcd:metrics`), where a Prometheus server scrapes. */
export function metricsUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `${spec.metrics?.listen ?? "https"}://${urlHost(member.address)}:${spec.ports.metrics}`;
}

/** The `initial-cluster` value: every member's name and peer URL. */
export function initialCluster(spec: ClusterSpec, members: MemberSpec[] = spec.members): string {
    return members.map((m) => `${m.name}=${peerUrl(spec, m)}`).join(",");
}

export function pkiPath(spec: ClusterSpec, file: keyof typeof paths.pkiFiles): string {
    return `${spec.dirs.pki}/${paths.pkiFiles[file]}`;
}

export function configPath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.configFileName}`;
}

export interface EtcdConfigOptions {
    /** Stable random token shared by the members of one cluster. */
    token: string;
    /** "new" for members bootstrapped together; "existing" for a member joining later. */
    initialClusterState: "new" | "existing";
    /** The initial-cluster this member starts with (defaults to every member of the spec). */
    initialCluster?: string;
}

/**
 * etcd's YAML config file for one member. Only TLS listeners for clients and peers;
 * metrics (plain HTTP, /metrics and /health only) listen on loopback, and with `etcd:metrics` also
 * on the member's address (https: mutual TLS with the client CA; http: plain). What differs by etcd
 * version (allowed-cn a string in 3.5.14, a list from 3.5.15; snapshot-count left out at its
 * default where 3.6.0-3.6.7 deprecate it) is decided in etcdVersions.ts, with etcd's source cited.
 */
export function renderEtcdConfig(spec: ClusterSpec, member: MemberSpec, opts: EtcdConfigOptions): string {
    const t = spec.tuning;
    const clientUrls = [clientUrl(spec, member)];
    if (member.address !== "127.0.0.1") clientUrls.push(`https://127.0.0.1:${spec.ports.client}`);
    const metricsUrls = [`http://127.0.0.1:${spec.ports.metrics}`];
    if (spec.metrics && member.address !== "127.0.0.1") metricsUrls.push(metricsUrl(spec, member));
    const tls = (cert: string, key: string) => [
        `  cert-file: ${yq(cert)}`,
        `  key-file: ${yq(key)}`,
        `  trusted-ca-file: ${yq(pkiPath(spec, "ca"))}`,
        `  client-cert-auth: true`,
        `  auto-tls: false`,
    ];
    const lines = [
        `# Managed by etcd-stack for member ${member.name}. Local edits are overwritten by \`pulumi up\`.`,
        `name: ${yq(member.name)}`,
        `data-dir: ${yq(spec.dirs.data)}`,
        `listen-peer-urls: ${yq(peerUrl(spec, member))}`,
        `listen-client-urls: ${yq(clientUrls.join(","))}`,
        `advertise-client-urls: ${yq(clientUrl(spec, member))}`,
        `initial-advertise-peer-urls: ${yq(peerUrl(spec, member))}`,
        `initial-cluster: ${yq(opts.initialCluster ?? initialCluster(spec))}`,
        `initial-cluster-token: ${yq(opts.token)}`,
        `initial-cluster-state: ${yq(opts.initialClusterState)}`,
        `listen-metrics-urls: ${yq(metricsUrls.join(","))}`,
        `client-transport-security:`,
        ...tls(pkiPath(spec, "serverCert"), pkiPath(spec, "serverKey")),
        `peer-transport-security:`,
        ...tls(pkiPath(spec, "peerCert"), pkiPath(spec, "peerKey")),
        `  allowed-cn: ${allowedCnYaml(spec.version, yq(paths.peerCommonName))}`,
        `heartbeat-interval: ${t.heartbeatIntervalMs}`,
        `election-timeout: ${t.electionTimeoutMs}`,
        `auto-compaction-mode: ${yq(t.autoCompactionMode)}`,
        `auto-compaction-retention: ${yq(t.autoCompactionRetention)}`,
        `quota-backend-bytes: ${t.quotaBackendBytes}`,
        `max-request-bytes: ${t.maxRequestBytes}`,
        ...(rendersSnapshotCount(spec.version, t.snapshotCount) ? [`snapshot-count: ${t.snapshotCount}`] : []),
        `strict-reconfig-check: true`,
        `logger: "zap"`,
        `log-outputs: ["stderr"]`,
    ];
    return lines.join("\n") + "\n";
}

/** The systemd unit: Type=notify, so `systemctl start` returns once the member has joined. */
export function renderUnit(spec: ClusterSpec, member: MemberSpec): string {
    return [
        `# Managed by etcd-stack. Local edits are overwritten by \`pulumi up\`.`,
        `[Unit]`,
        `Description=etcd key-value store (member ${member.name})`,
        `Documentation=https://etcd.io/docs/`,
        `After=network-online.target`,
        `Wants=network-online.target`,
        ``,
        `[Service]`,
        `Type=notify`,
        `User=${paths.etcdUser}`,
        `Group=${paths.etcdGroup}`,
        `WorkingDirectory=${spec.dirs.data}`,
        `ExecStart=${paths.binDir}/etcd --config-file ${configPath(spec)}`,
        `Restart=on-failure`,
        `RestartSec=5s`,
        `TimeoutStartSec=300`,
        `LimitNOFILE=65536`,
        `NoNewPrivileges=true`,
        `ProtectSystem=strict`,
        `ProtectHome=true`,
        `PrivateTmp=true`,
        `ReadWritePaths=${spec.dirs.data}`,
        ``,
        `[Install]`,
        `WantedBy=multi-user.target`,
        ``,
    ].join("\n");
}

/** etcdctl flags that authenticate as this member (its server cert carries client auth). */
export function etcdctlTls(spec: ClusterSpec): string {
    return [
        `--cacert ${shq(pkiPath(spec, "ca"))}`,
        `--cert ${shq(pkiPath(spec, "serverCert"))}`,
        `--key ${shq(pkiPath(spec, "serverKey"))}`,
    ].join(" ");
}

/** The first line of every host script: stop at the first failure and on unset variables. */
export const scriptHeader = "set -eu\n";

/** `ctl`: etcdctl authenticated as this member, with `flags` (timeouts, endpoints) on every call. */
export function etcdctlFunction(spec: ClusterSpec, flags: string): string {
    return `ctl() { ${paths.binDir}/etcdctl ${etcdctlTls(spec)} ${flags} "$@"; }`;
}

/**
 * `col <endpoint> <HEADER>`: one column of `endpoint status -w table` by its header name
 * ("ID", "IS LEADER"…), which stays right as etcd versions add columns. Needs a `ctl` function.
 */
export const statusColumnFunction = `col() { ctl --endpoints "$1" endpoint status -w table | awk -F'|' -v h="$2" ` +
    `'NR == 2 { for (i = 1; i <= NF; i++) { x = $i; gsub(/^ +| +$/, "", x); if (x == h) c = i } } NR == 4 && c { v = $c; gsub(/ /, "", v); print v }'; }`;

/**
 * `serving <client URLs>`: the member answers `endpoint status` and knows a leader. Unlike
 * `endpoint health`, status answers under an alarm (NOSPACE) or a slow disk, while the member
 * still votes: the liveness every quorum count uses. Needs a `ctl` function.
 */
export const servingFunction = `serving() { [ -n "$1" ] && ctl --endpoints "$1" endpoint status -w fields 2>/dev/null | grep -q '^"Leader" : [1-9]'; }`;

/** Seconds each peer's port is given to answer (all peers at once), and the fsync burst at most. */
export const preflightPeerTimeoutSeconds = 3;
export const preflightFsyncSeconds = 3;
/** The fsync burst: this many synchronous writes of this size (about a small WAL entry). */
export const preflightFsyncWrites = 200;
export const preflightFsyncBytes = 2300;
/** The prefix of a line the preflight prints on stdout for the member to warn with (member.ts, preflightWarnings). */
export const preflightWarningPrefix = "warning: ";

/**
 * Read-only checks before anything changes on a host. Prints `arch=<release arch>` on success,
 * and a `warning: …` line for what should be looked at but stops nothing (a slow disk);
 * fails naming the host and every reason. `gate`: also the checks the cluster's gate runs once per
 * run, in the member's own preflight step (every other member's peer port reachable from here, the
 * data dir's fsync speed); the prepare step repeats only the host's own checks.
 */
export function renderPreflightScript(spec: ClusterSpec, member: MemberSpec, certNotBefore: string, opts: { gate: boolean } = { gate: true }): string {
    const ports = [spec.ports.client, spec.ports.peer, spec.ports.metrics];
    return scriptHeader + [
        `host=${shq(member.name)}`,
        `problems=""`,
        `fail() { problems="$problems\n  - $1"; }`,
        `[ "$(uname -s)" = Linux ] || fail "not Linux: $(uname -s)"`,
        `case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=""; fail "unsupported CPU architecture $(uname -m)" ;; esac`,
        `[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || fail "systemd is not PID 1"`,
        `command -v systemctl >/dev/null || fail "systemctl not found"`,
        `command -v tar >/dev/null || fail "tar not found"`,
        `command -v sha256sum >/dev/null || fail "sha256sum not found"`,
        // A port held by our own etcd is fine (re-running preflight on a live member).
        `for port in ${ports.join(" ")}; do`,
        `  holder=$(ss -Htlnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:(("\\([^"]*\\)".*/\\1/p' | head -n1)`,
        `  if [ -n "$holder" ] && [ "$holder" != etcd ]; then fail "port $port is in use by $holder"; fi`,
        `done`,
        // Fresh certificates are "not yet valid" on a host whose clock is behind the operator's.
        `now=$(date -u +%s)`,
        `not_before=$(date -u -d ${shq(certNotBefore)} +%s)`,
        `if [ $((not_before - now)) -gt ${spec.maxClockSkewSeconds} ]; then fail "clock is $((not_before - now))s behind the operator (certificates would not be valid yet; tolerance ${spec.maxClockSkewSeconds}s)"; fi`,
        `data_parent=${shq(spec.dirs.data)}`,
        `while [ ! -d "$data_parent" ]; do data_parent=$(dirname "$data_parent"); done`,
        `free_mib=$(df -Pm "$data_parent" | awk 'NR==2 {print $4}')`,
        `[ "$free_mib" -ge ${spec.minFreeDiskMiB} ] || fail "only \${free_mib} MiB free under $data_parent (need ${spec.minFreeDiskMiB} MiB)"`,
        ...(member.adopt ? adoptPreflight(spec, member.adopt) : []),
        ...(opts.gate ? [...peerPortsPreflight(spec, member), ...fsyncPreflight(spec)] : []),
        `if [ -n "$problems" ]; then printf 'preflight failed on %s:%b\\n' "$host" "$problems" >&2; exit 1; fi`,
        `echo "arch=$arch"`,
    ].join("\n") + "\n";
}

/**
 * Preflight lines: every other member's peer port, tried from this host. etcd's members talk to
 * each other there, and a firewall between them (a DROP rule, firewalld's default REJECT) is what
 * breaks first clusters. Tried with bash's /dev/tcp under coreutils' timeout, which every Debian
 * host has (bash is Essential; no nc or nmap needed), all peers at once, so a 7-member preflight
 * waits preflightPeerTimeoutSeconds at most. On a cold up no etcd listens yet, so the TCP answer
 * is what counts: a connection made or refused (an RST: nothing listens, but the path is open) is
 * reachable; no answer in time (packets dropped) or "No route to host" (an ICMP reject such as
 * firewalld's host-prohibited) is not. Known limit: a REJECT that answers with a TCP reset (or
 * ICMP port-unreachable) looks like a closed port, so that firewall passes here.
 */
function peerPortsPreflight(spec: ClusterSpec, member: MemberSpec): string[] {
    const peers = spec.members.filter((m) => m.name !== member.name);
    if (peers.length === 0) return [];
    const t = preflightPeerTimeoutSeconds;
    return [
        `self=${shq(member.address)}`,
        // peer NAME ADDRESS PORT SHOWN: prints the problem when the path to NAME's peer port is closed.
        `peer() {`,
        `  out=$(LC_ALL=C timeout ${t} bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1) && return 0`,
        `  rc=$?`,
        `  case $out in *"Connection refused"*) return 0 ;; esac`,
        `  if [ $rc -eq 124 ]; then why="no answer within ${t}s (packets dropped)"; else why=$(printf '%s\\n' "$out" | tail -n 1 | sed 's/.*: //'); fi`,
        `  echo "$1's peer port $4 is not reachable from $host ($self): $why; most likely a firewall on $1's host or between the two; etcd's members must reach each other's peer port"`,
        `}`,
        `if command -v bash >/dev/null && command -v timeout >/dev/null; then`,
        `  unreachable=$(`,
        ...peers.map((p) => `    peer ${shq(p.name)} ${shq(p.address)} ${spec.ports.peer} ${shq(`${urlHost(p.address)}:${spec.ports.peer}`)} &`),
        `    wait`,
        `  )`,
        `  while IFS= read -r line; do [ -z "$line" ] || fail "$line"; done <<EOF`,
        `$unreachable`,
        `EOF`,
        `else fail "bash and timeout are needed to check the other members' peer ports"; fi`,
    ];
}

/**
 * Preflight lines: a short burst of synchronous writes in the data dir's filesystem (a temp file
 * in the data dir, or its nearest existing parent before the prepare step makes it; removed
 * after). etcd's guide asks for p99 WAL fsync under 10 ms; dd's oflag=dsync makes each write wait
 * for the disk as the WAL's fdatasync does. What is measured is the mean per write, not a p99 (a
 * mean above the threshold means the p99 is above it too). Bounded: dd gets SIGINT after
 * preflightFsyncSeconds and then prints how many writes it made. Slower than `fsyncWarnMs` prints
 * a warning line, never a failure.
 */
function fsyncPreflight(spec: ClusterSpec): string[] {
    const n = preflightFsyncWrites;
    const t = preflightFsyncSeconds;
    const warn = `${preflightWarningPrefix}slow disk`;
    return [
        `if fsync_file=$(mktemp "$data_parent/.etcd-stack-fsync.XXXXXX" 2>/dev/null); then`,
        `  trap 'rm -f "$fsync_file"' EXIT; trap 'exit 1' HUP INT TERM`,
        `  t0=$(date +%s%N)`,
        `  dd_out=$(LC_ALL=C timeout -k 2 -s INT ${t} dd if=/dev/zero of="$fsync_file" bs=${preflightFsyncBytes} count=${n} oflag=dsync 2>&1) || true`,
        `  t1=$(date +%s%N)`,
        `  rm -f "$fsync_file"`,
        `  writes=$(printf '%s\\n' "$dd_out" | sed -n 's/^\\([0-9][0-9]*\\)+[0-9]* records out$/\\1/p' | tail -n 1)`,
        `  us=$(((t1 - t0) / 1000))`,
        `  if [ "\${writes:-0}" -eq 0 ]; then echo "${warn}: no synchronous write to $data_parent completed within ${t}s; etcd's guide asks for p99 WAL fsync under 10 ms"`,
        `  elif [ $((us / writes)) -gt ${spec.fsyncWarnMs * 1000} ]; then`,
        `    mean=$((us / writes))`,
        `    echo "${warn}: mean $((mean / 1000)).$((mean % 1000 / 100)) ms per synchronous write to $data_parent (dd oflag=dsync: each ${preflightFsyncBytes}-byte write waits for the disk, as an fsync; $writes in $((us / 1000)) ms); etcd's guide asks for p99 WAL fsync under 10 ms, this stack warns above ${spec.fsyncWarnMs} ms (fsyncWarnMs)"`,
        `  fi`,
        `else echo "${preflightWarningPrefix}disk not timed: no temp file could be made in $data_parent"; fi`,
    ];
}

/** Preflight lines for a member that takes over an existing etcd: until it has, the etcd and its data must be there. */
function adoptPreflight(spec: ClusterSpec, adopt: AdoptSpec): string[] {
    return [
        `if [ ! -s ${shq(`${spec.dirs.config}/${paths.joinRecordFile}`)} ]; then`,
        `  systemctl cat ${shq(adopt.unit)} >/dev/null 2>&1 || fail "adopt: no systemd unit ${adopt.unit} on this host"`,
        `  [ -d ${shq(`${adopt.dataDir}/member`)} ] || [ -d ${shq(`${spec.dirs.data}/member`)} ] || fail "adopt: no etcd data in ${adopt.dataDir} (no member/ directory)"`,
        `fi`,
    ];
}

/**
 * Runs on the operator's machine before anything reaches a member: asks the host for its key of
 * the pinned type (`ssh-keyscan`) and stops, naming the member, the address and both
 * fingerprints, when it is not the pinned one. The connections refuse such a host anyway (the
 * pin); this says which machine answered and how to check it.
 */
export function renderHostKeyCheckScript(member: MemberSpec, hostKey: string): string {
    const [type, blob] = hostKey.split(" ");
    const scanType = type === "ssh-ed25519" ? "ed25519" : type.startsWith("ecdsa-") ? "ecdsa" : "rsa";
    const where = `${member.sshHost}:${member.sshPort}`;
    return scriptHeader + [
        `got=$(ssh-keyscan -T 5 -t ${scanType} -p ${member.sshPort} ${shq(member.sshHost)} 2>/dev/null | awk '$1 !~ /^#/ { print $2 " " $3 }')`,
        `[ -n "$got" ] || { echo "${member.name}: ${where} presents no ${type} host key (host down, or sshd not answering)" >&2; exit 1; }`,
        `if echo "$got" | awk '{ print $2 }' | grep -qxF ${shq(blob)}; then echo "${member.name}: ${where} presents the pinned host key ${hostKeyFingerprint(hostKey)}"; exit 0; fi`,
        `presented=$(echo "$got" | ssh-keygen -lf - 2>/dev/null | awk '{ print $2 }' | paste -sd, -)`,
        `echo "${member.name}: ${where} presents host key $presented, but the stack pins ${hostKeyFingerprint(hostKey)} (${type}): another machine answers there; nothing was sent to it. Check the host's key on its console (ssh-keygen -lf /etc/ssh/ssh_host_${scanType}_key.pub); if it was rebuilt, pin its new key (hostKey or known_hosts)" >&2`,
        `exit 1`,
    ].join("\n") + "\n";
}

/** Creates the etcd system user and the directories with their modes. Idempotent. */
export function renderPrepareHostScript(spec: ClusterSpec): string {
    const u = paths.etcdUser;
    const g = paths.etcdGroup;
    return scriptHeader + [
        `getent group ${g} >/dev/null || groupadd --system ${g}`,
        `getent passwd ${u} >/dev/null || useradd --system --gid ${g} --home-dir ${shq(spec.dirs.data)} --no-create-home --shell /usr/sbin/nologin ${u}`,
        `install -d -m ${paths.modes.dataDir} -o ${u} -g ${g} ${shq(spec.dirs.data)}`,
        `install -d -m ${paths.modes.configDir} -o root -g root ${shq(spec.dirs.config)}`,
        `install -d -m ${paths.modes.pkiDir} -o ${u} -g ${g} ${shq(spec.dirs.pki)}`,
        // Files are copied here over SFTP as the SSH login (root, or the sudo user this runs for).
        `install -d -m 0700 -o "\${SUDO_USER:-root}" ${shq(paths.stagingDir)}`,
    ].join("\n") + "\n";
}

/** Where a release downloaded from a URL is kept on the host (a local tarball is staged under its digest). */
export function stagedReleasePath(spec: ClusterSpec): string {
    return `${paths.releaseDir}/etcd-v${spec.version}.tar.gz`;
}

/**
 * Shell lines refusing the releases dir (and the state dir above it) unless only the user these
 * steps run as (root) can write there: owned by it, not writable by group or others, not a
 * symlink. Root runs what is staged there, so a dir another local user could write to is refused,
 * never repaired. With `create`, a missing dir is made (0700); without, it is left to the caller.
 */
function releaseDirGuard(create: boolean): string[] {
    return [
        `for d in ${shq(paths.stateDir)} ${shq(paths.releaseDir)}; do`,
        create ? `  [ -e "$d" ] || [ -L "$d" ] || mkdir -m ${paths.modes.releaseDir} "$d"` : `  [ -e "$d" ] || [ -L "$d" ] || continue`,
        `  if [ -L "$d" ] || [ ! -d "$d" ]; then why="is a symlink or not a directory"`,
        `  elif [ "$(stat -c %u "$d")" != "$(id -u)" ]; then why="is owned by uid $(stat -c %u "$d"), not $(id -u)"`,
        `  elif [ $((0$(stat -c %a "$d") & 022)) != 0 ]; then why="is writable by group or others (mode $(stat -c %a "$d"))"`,
        `  else continue; fi`,
        `  echo "refusing to use $d for etcd releases: it $why; root installs what is staged there. Remove it (or make it root's, mode ${paths.modes.releaseDir}) and run pulumi up again" >&2; exit 1`,
        `done`,
    ];
}

/** Where a staged release is unpacked (paths.releaseUnpackedSuffix). */
export function unpackedReleaseDir(tarball: string): string {
    return tarball + paths.releaseUnpackedSuffix;
}

/**
 * Prints `staged` when the release is on the host as the stage script leaves it: the tarball
 * hashes to `sha256` (hashed here, not read from the sums file), the sums file names it, and the
 * unpacked binaries match it. Anything else is printed as what is wrong, and the release is
 * staged again. A releases dir others could write to is refused (releaseDirGuard).
 */
export function renderReleaseCheckScript(tarball: string, sha256: string): string {
    const sums = shq(tarball + paths.releaseSumsSuffix);
    const dir = shq(unpackedReleaseDir(tarball));
    return scriptHeader + [
        ...releaseDirGuard(false),
        `if [ ! -f ${shq(tarball)} ]; then echo "tarball missing"`,
        `elif [ "$(sha256sum < ${shq(tarball)} | cut -c1-64)" != ${shq(sha256)} ]; then echo "tarball differs"`,
        `elif [ "$(head -n1 ${sums} 2>/dev/null)" != ${shq(`tarball ${sha256}`)} ]; then echo "not unpacked"`,
        `elif ! (cd ${dir} 2>/dev/null && tail -n +2 ${sums} | sha256sum -c --quiet - >/dev/null 2>&1); then echo "unpacked binaries differ"`,
        `else echo staged; fi`,
    ].join("\n") + "\n";
}

/**
 * Stages a release tarball on the host, outside the roll (it changes nothing etcd uses): the
 * tarball arrives on stdin (a local file, streamed by the provider) or is downloaded by the host;
 * its sha256 is checked before anything is kept; it is unpacked beside itself and the sums file
 * (writeReleaseSums) is written last, which is what marks the release staged.
 */
export function renderStageReleaseScript(tarball: string, sha256: string, source: { stdin: true } | { url: string }, stallSeconds = paths.downloadStallSeconds): string {
    const dir = shq(unpackedReleaseDir(tarball));
    const s = stallSeconds;
    const fetch = "url" in source
        ? [`curl -fsSL --retry 3 --connect-timeout ${s} --speed-limit 1024 --speed-time ${s} -o "$tmp" ${shq(source.url)} || wget -q --tries=3 --timeout=${s} -O "$tmp" ${shq(source.url)}`]
        : [`cat > "$tmp"`];
    const from = "url" in source ? source.url : "the operator's machine";
    return scriptHeader + [
        ...releaseDirGuard(true),
        `tmp=$(mktemp ${paths.releaseDir}/.release.XXXXXX); work=""`,
        `trap 'rm -f "$tmp"; [ -z "$work" ] || rm -rf "$work"' EXIT`,
        ...fetch,
        `echo ${shq(sha256)}'  '"$tmp" | sha256sum -c --quiet - >/dev/null 2>&1 || { echo ${shq(`checksum mismatch for the release from ${from}: want ${sha256}`)}", got $(sha256sum < "$tmp" | cut -c1-64)" >&2; exit 1; }`,
        `work=$(mktemp -d ${paths.releaseDir}/unpack.XXXXXX)`,
        `tar -xzf "$tmp" -C "$work" --strip-components=1`,
        ...paths.releaseBinaries.map((b) => `[ -f "$work/${b}" ] || { echo "the release has no ${b}" >&2; exit 1; }`),
        `chmod 0755 "$work"; mv -f "$tmp" ${shq(tarball)}; rm -rf ${dir}; mv "$work" ${dir}; work=""`,
        ...writeReleaseSums(tarball, sha256, dir),
        `echo "staged ${tarball}"`,
    ].join("\n") + "\n";
}

/** Removes a staged release: the tarball, its unpacked binaries and its sums; then the releases dir, once empty. */
export function renderRemoveStagedReleaseScript(tarball: string): string {
    return scriptHeader + `rm -rf ${shq(tarball)} ${shq(unpackedReleaseDir(tarball))} ${shq(tarball + paths.releaseSumsSuffix)}\n` +
        `rmdir ${shq(paths.releaseDir)} ${shq(paths.stateDir)} 2>/dev/null || true\n`;
}

/**
 * Installs etcd, etcdctl and etcdutl from the release staged at `tarball` (by
 * renderStageReleaseScript, outside the roll), in this member's turn, and checks the installed
 * version. Nothing staged earlier is trusted: the tarball is copied where only root can reach,
 * hashed against `sha256`, and that copy unpacked afresh.
 */
export function renderInstallBinariesScript(spec: ClusterSpec, tarball: string, sha256: string): string {
    const t = shq(tarball);
    return scriptHeader + [
        `want=${shq(spec.version)}`,
        // Every binary is checked, so an install interrupted half-way is repaired by the next run.
        `installed() {`,
        `  ${paths.binDir}/etcd --version 2>/dev/null | grep -qx "etcd Version: $want" &&`,
        `  ${paths.binDir}/etcdctl version 2>/dev/null | grep -qx "etcdctl version: $want" &&`,
        `  ${paths.binDir}/etcdutl version 2>/dev/null | grep -qx "etcdutl version: $want"`,
        `}`,
        `if installed; then echo "etcd, etcdctl and etcdutl $want already installed"; exit 0; fi`,
        ...upgradeGuard(spec),
        ...releaseDirGuard(false),
        `[ -f ${t} ] || { echo "no release staged at ${tarball} (the tarball step stages it)" >&2; exit 1; }`,
        `work=$(mktemp -d ${paths.releaseDir}/install.XXXXXX)`,
        `trap 'rm -rf "$work"' EXIT`,
        `cp ${t} "$work/release.tar.gz"`,
        `got=$(sha256sum < "$work/release.tar.gz" | cut -c1-64)`,
        `[ "$got" = ${shq(sha256)} ] || { echo "refusing to install from ${tarball}: its sha256 is $got, not the staged release's ${sha256}; nothing was installed. It changed after it was staged: pulumi refresh shows it, pulumi up stages it again" >&2; exit 1; }`,
        `mkdir "$work/release"; tar -xzf "$work/release.tar.gz" -C "$work/release" --strip-components=1`,
        ...paths.releaseBinaries.map((b) => `[ -f "$work/release/${b}" ] || { echo "the release at ${tarball} has no ${b}; nothing was installed" >&2; exit 1; }`),
        ...paths.releaseBinaries.map((b) => `install -m ${paths.modes.binary} -o root -g root "$work/release/${b}" ${paths.binDir}/${b}.new && mv ${paths.binDir}/${b}.new ${paths.binDir}/${b}`),
        `installed || { echo "installed binaries do not all report version $want: $(${paths.binDir}/etcd --version 2>&1 | head -n1)" >&2; exit 1; }`,
        `echo "installed etcd, etcdctl and etcdutl $want"`,
    ].join("\n") + "\n";
}

/**
 * Shell lines writing the sums file beside a staged tarball (paths.releaseSumsSuffix) from its
 * binaries unpacked in `dir` (a shell word).
 */
export function writeReleaseSums(tarball: string, sha256: string, dir: string): string[] {
    const sums = shq(tarball + paths.releaseSumsSuffix);
    return [
        `{ echo ${shq(`tarball ${sha256}`)}; (cd ${dir} && sha256sum ${paths.releaseBinaries.join(" ")}); } > ${sums}.new && mv -f ${sums}.new ${sums}`,
    ];
}

/**
 * When the host runs another etcd version, this is an upgrade of a live member: refuse a
 * downgrade, a skipped minor, 3.6 from a 3.5 patch older than minimum35Before36, and 3.6 on data
 * whose v2 store holds more than membership, which 3.6 refuses to start with (`etcdutl check
 * v2store`, both from etcd's upgrade guide); and refuse unless every member is healthy; then
 * snapshot this member's data, checked with etcdutl, before the binaries change. All of it
 * before anything on the host changes.
 */
function upgradeGuard(spec: ClusterSpec): string[] {
    const snapshot = `${paths.snapshotDir}/pre-upgrade-$have-to-$want-$(date -u +%Y%m%dT%H%M%SZ).db`;
    const floorPatch = Number(minimum35Before36.split(".")[2]);
    return [
        `have=$(${paths.binDir}/etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p' || true)`,
        `if [ -n "$have" ] && [ "$have" != "$want" ]; then`,
        `  refuse() { echo "refusing to change etcd $have to $want on $(hostname): $1; nothing was changed" >&2; exit 1; }`,
        `  set -- $(echo "$have" | tr . ' '); hM=$1; hm=$2; hp=$3`,
        `  set -- $(echo "$want" | tr . ' '); wM=$1; wm=$2; wp=$3`,
        `  if [ "$wM" -ne "$hM" ] || [ "$wm" -lt "$hm" ] || { [ "$wm" -eq "$hm" ] && [ "$wp" -lt "$hp" ]; }; then refuse "a downgrade is not supported"; fi`,
        `  if [ "$wm" -gt $((hm + 1)) ]; then refuse "upgrades go one minor version at a time (to $hM.$((hm + 1)) first)"; fi`,
        `  if [ "$hM.$hm" = 3.5 ] && [ "$wm" -eq 6 ] && [ "$hp" -lt ${floorPatch} ]; then refuse "3.5 members must run ${minimum35Before36} or later before 3.6 (etcd's upgrade guide)"; fi`,
        // The installed etcdutl (at least the floor, so it reads the WAL too) reads this member's data.
        `  if [ "$hM.$hm" = 3.5 ] && [ "$wm" -eq 6 ]; then`,
        `    v2=$(${paths.binDir}/etcdutl check v2store --data-dir ${shq(spec.dirs.data)} 2>&1) || refuse "etcdutl check v2store found data etcd 3.6 cannot start with (etcd's upgrade guide, V2 Store): $(echo "$v2" | tail -n 5)"`,
        `  fi`,
        `  ${etcdctlFunction(spec, `--command-timeout=10s --endpoints https://127.0.0.1:${spec.ports.client}`)}`,
        `  health=$(ctl endpoint health --cluster 2>&1) || refuse "not every member is healthy: $(echo "$health" | grep -v '^{' | grep -v 'is healthy' | head -n 3)"`,
        `  install -d -m 0700 -o root -g root ${shq(paths.snapshotDir)}`,
        `  snap="${snapshot}"`,
        `  ctl snapshot save "$snap" >/dev/null 2>&1 || refuse "the snapshot before the upgrade failed"`,
        `  ${paths.binDir}/etcdutl snapshot status "$snap" >/dev/null 2>&1 || refuse "the snapshot $snap does not check out"`,
        `  echo "upgrading etcd $have -> $want; snapshot taken first: $snap"`,
        `fi`,
    ];
}

/** Removes what the binaries step installed (on destroy), unless the host now runs another member. */
export function renderRemoveBinariesScript(spec: ClusterSpec, member: MemberSpec): string {
    return scriptHeader + renderOwnerGuard(spec, member) + paths.releaseBinaries.map((b) => `rm -f ${paths.binDir}/${b}`).join("\n") + "\n";
}

/**
 * `until <condition>` retried every 0.2 s (a restart or a promotion is done a moment after it
 * can be seen, and a roll pays each wait once per member); past `$deadline` it fails with
 * `failure` (shell-expanded) and the member's journal tail, which is what an operator needs to see.
 */
export function untilDeadline(condition: string, failure: string): string[] {
    return [
        `until ${condition}; do`,
        `  if [ "$(date +%s)" -ge "$deadline" ]; then`,
        `    echo "${failure}; last journal lines:" >&2`,
        `    journalctl -u ${paths.unitName} -n 40 --no-pager >&2 || true`,
        `    exit 1`,
        `  fi`,
        `  sleep 0.2`,
        `done`,
    ];
}

/** Waits until this member answers /health over mTLS on loopback; on timeout prints its journal. */
function waitLocalHealthy(spec: ClusterSpec): string[] {
    return [
        `deadline=$(( $(date +%s) + ${spec.healthTimeoutSeconds} ))`,
        ...untilDeadline(
            `${paths.binDir}/etcdctl --endpoints https://127.0.0.1:${spec.ports.client} ${etcdctlTls(spec)} --command-timeout=5s endpoint health >/dev/null 2>&1`,
            `member $(hostname) not healthy after ${spec.healthTimeoutSeconds}s`),
    ];
}

/** Where each host records the restores it has carried out (one id per line; renderRestore.ts). */
export function restoreMarkerPath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.restoredFile}`;
}

/**
 * With a restore declared (etcd:restore) that this host has not carried out yet, a step that would
 * start or restart etcd, or promote it, leaves that to the restore, which stops every member,
 * rebuilds each one's data from the snapshot and starts them together (restore.ts). Started before
 * it, a member moved to a new host after a quorum loss would bootstrap an empty cluster of its own,
 * and a survivor's restart would count a quorum that is lost. Rendered only while a restore is
 * declared: once it is done on this host, the step runs as ever.
 */
export function restorePendingGuard(spec: ClusterSpec, what: string): string[] {
    if (!spec.restore) return [];
    return [
        `if ! grep -qxF ${shq(spec.restore.id)} ${shq(restoreMarkerPath(spec))} 2>/dev/null; then`,
        `  echo "$(hostname): ${what} left to the restore from snapshot ${spec.restore.id}, not yet done on this host (it starts every member together)"`,
        `  exit 0`,
        `fi`,
    ];
}

/**
 * Starts the member without waiting (Type=notify would block until quorum, and quorum
 * needs the other members started too): members of a new cluster start together.
 */
export function renderStartScript(spec: ClusterSpec, inputsDigest: string): string {
    return scriptHeader + [
        ...restorePendingGuard(spec, "etcd's start"),
        `systemctl daemon-reload`,
        `systemctl enable ${paths.unitName} >/dev/null 2>&1`,
        `systemctl start --no-block ${paths.unitName}`,
        ...recordApplied(spec, shq(inputsDigest)),
        `echo "started ${paths.unitName} on $(hostname)"`,
    ].join("\n") + "\n";
}

/** Where a member records the digest of what its running etcd read (see renderRestartScript). */
export function appliedInputsPath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.appliedInputsFile}`;
}

/** `digestWord`: the digest as one shell word (quoted literal or "$variable"). */
function recordApplied(spec: ClusterSpec, digestWord: string): string[] {
    return [`echo ${digestWord} > ${shq(appliedInputsPath(spec))}`];
}

/** The stack's members as every host knows them (name, peer URL, client URL per line); see renderMembership.ts. */
export function membersFilePath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.membersFile}`;
}

/**
 * Shell: the members to hand leadership to, best first, from the members file. The leader
 * restarts last: a leader whose turn comes early hands leadership to the member the roll reaches
 * last (then the others from the end); the last one, still leading at its turn, hands it to the
 * member just before it (already restarted), then the others back to the first. So leadership
 * moves at most twice in a roll, and no member leads while it restarts.
 * Read at run time, so the list growing never changes a member's restart script.
 */
export function handoffOrder(spec: ClusterSpec): string {
    return `awk -v me="$me" '{ n[NR] = $1; if ($1 == me) i = NR } END { for (k = NR; k > i; k--) print n[k]; for (k = i - 1; k >= 1; k--) print n[k] }' ${shq(membersFilePath(spec))}`;
}

/**
 * Applies a changed config, unit, certificate or binary to a running member, as one step of a
 * roll (the cluster runs members' steps one after another):
 * 1. nothing to do when the running etcd already read these inputs (a changed SSH connection or
 *    destroy policy runs this script too: it must not restart anything);
 * 1b. a host where this stack never started etcd (the member moved to a new or rebuilt host):
 *    start it without waiting, as for a new member;
 * 2. count the voters, whatever this member's own health: refuse, stopping nothing, when with
 *    this member stopped fewer voters than a quorum would be up (`serving`; learners never
 *    count), naming each voter; an etcd that is not running here restarts anyway (no vote lost);
 * 3. when leading, hand leadership on (handoffOrder: the leader restarts last);
 * 4. restart, wait until a *new* process (MainPID changed) answers healthy over mTLS.
 */
export function renderRestartScript(spec: ClusterSpec, member: MemberSpec, inputsDigest: string): string {
    return renderRestart(spec, member, inputsDigest);
}

/**
 * The same restart, run when a repair of hand changes (renderHostFiles.ts) changed what etcd reads
 * back to the stack's: the inputs, and so the recorded digest, are the same; what etcd runs is not.
 */
export function renderRepairRestartScript(spec: ClusterSpec, member: MemberSpec): string {
    return renderRestart(spec, member, undefined);
}

function renderRestart(spec: ClusterSpec, member: MemberSpec, inputsDigest: string | undefined): string {
    const skipIfCurrent = inputsDigest === undefined ? [] : [
        // A repair restart (no digest) is not guarded: it follows a hand change on a running member.
        ...restorePendingGuard(spec, "etcd's restart"),
        `if systemctl is-active --quiet ${paths.unitName} && [ "$(cat ${shq(appliedInputsPath(spec))} 2>/dev/null)" = "$digest" ]; then`,
        `  echo "$me: etcd already runs with these inputs; not restarted"`,
        `  exit 0`,
        `fi`,
        // This stack never started etcd here: the member moved to a new (or rebuilt) host. It
        // starts like a new member; its promote step waits for it to catch up.
        `if [ ! -s ${shq(appliedInputsPath(spec))} ] && ! systemctl is-active --quiet ${paths.unitName}; then`,
        `  systemctl start --no-block ${paths.unitName}`,
        ...recordApplied(spec, `"$digest"`).map((l) => `  ${l}`),
        `  echo "$me: first start of ${paths.unitName} on this host"`,
        `  exit 0`,
        `fi`,
    ];
    return scriptHeader + [
        `me=${shq(member.name)}`,
        ...(inputsDigest === undefined ? [] : [`digest=${shq(inputsDigest)}`]),
        `local_ep=https://127.0.0.1:${spec.ports.client}`,
        etcdctlFunction(spec, "--command-timeout=5s"),
        statusColumnFunction,
        servingFunction,
        `systemctl daemon-reload`,
        `systemctl enable ${paths.unitName} >/dev/null 2>&1`,
        ...skipIfCurrent,
        // Removed from the cluster by hand (listed neither by name nor by peer URL): its etcd stopped
        // for good, and a restart would only fail. The cluster's membership adds it back (renderRejoinScript).
        `other_clients=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = "," }' ${shq(membersFilePath(spec))} 2>/dev/null || true)`,
        `list=""; [ -z "$other_clients" ] || list=$(ctl --endpoints "$other_clients" member list -w simple 2>/dev/null) || true`,
        `if [ -n "$list" ] && [ -z "$(echo "$list" | awk -F', ' -v u=${shq(peerUrl(spec, member))} -v n="$me" '$4 == u || $3 == n')" ]; then`,
        `  echo "$me is not a member of the cluster (removed by hand?): not restarted; pulumi up --refresh adds it back (the cluster's membership step)"`,
        `  exit 0`,
        `fi`,
        // Listed as started (it published client URLs), yet this host has no data: the data dir was
        // wiped. etcd would refuse to start as that member again; it has to be added back as a new one.
        `if [ -n "$list" ] && [ ! -d ${shq(spec.dirs.data)}/member ] && [ -n "$(echo "$list" | awk -F', ' -v u=${shq(peerUrl(spec, member))} '$4 == u && $5 != ""')" ]; then`,
        `  echo "$me has no data on this host, but the cluster lists it as started (data dir wiped?): not restarted; pulumi up --refresh adds it back as a new member (the cluster's membership step)"`,
        `  exit 0`,
        `fi`,
        // Count the voters before every stop, whatever this member's own health (an alarm or a slow
        // disk fails `endpoint health` while the member still votes). With V voters (this member
        // among them if it votes), a quorum is floor(V/2)+1; once it stops, the voters still running
        // are the others that are up: they must be at least that many. Learners do not vote.
        `old_pid=$(systemctl show -p MainPID --value ${paths.unitName})`,
        `[ -n "$list" ] || list=$(ctl --endpoints "$local_ep" member list -w simple 2>/dev/null) || true`,
        `voters=0; up=0; named=""`,
        `for row in $(echo "$list" | awk -F', ' '$1 != "" && $6 != "true" { print ($3 == "" ? "(unstarted)" : $3) "|" $4 "|" $5 }'); do`,
        `  name=\${row%%|*}; rest=\${row#*|}; peer=\${rest%%|*}; client=\${rest#*|}`,
        `  voters=$((voters + 1))`,
        `  if [ "$name" = "$me" ] || [ "$peer" = ${shq(peerUrl(spec, member))} ]; then state="this member"; elif serving "$client"; then state=up; up=$((up + 1)); else state=down; fi`,
        `  named="\${named:+$named, }$name ($state)"`,
        `done`,
        `quorum=$(( voters / 2 + 1 ))`,
        `if [ "$voters" = 0 ] || [ "$up" -lt "$quorum" ]; then`,
        `  if [ "$voters" = 0 ]; then why="no member answers (asked $local_ep\${other_clients:+,$other_clients}), so its voters cannot be counted"; else why="with $me stopped, $up of its $voters voters would be up (a quorum is $quorum); voters: $named"; fi`,
        // No etcd process here: restarting it takes no running vote away (and may bring one back).
        `  if [ "$old_pid" != 0 ]; then echo "refusing to restart $me: $why; nothing was stopped" >&2; exit 1; fi`,
        `  echo "warning: $why; $me's etcd is not running, so starting it takes no vote away"`,
        `else`,
        `  case "$named" in *"(down)"*) echo "warning: voters: $named; a quorum holds while $me restarts" ;; esac`,
        `fi`,
        `if [ "$(col "$local_ep" "IS LEADER" 2>/dev/null)" = true ]; then`,
        `  for to in $(${handoffOrder(spec)}); do`,
        `    line=$(echo "$list" | awk -F', ' -v n="$to" '$3 == n && $2 == "started" && $6 != "true" { print $1 " " $5 }')`,
        `    [ -n "$line" ] || continue`,
        `    serving "\${line#* }" || continue`,
        `    if ctl --endpoints "$local_ep" move-leader "\${line%% *}" >/dev/null 2>&1; then echo "$me: handed leadership to $to"; break; fi`,
        `  done`,
        `fi`,
        `systemctl restart --no-block ${paths.unitName}`,
        `deadline=$(( $(date +%s) + ${spec.healthTimeoutSeconds} ))`,
        ...untilDeadline(
            `pid=$(systemctl show -p MainPID --value ${paths.unitName}) && [ "$pid" != 0 ] && [ "$pid" != "$old_pid" ]`,
            `member $me did not start a new etcd process within ${spec.healthTimeoutSeconds}s`),
        // A NOSPACE alarm fails `endpoint health` on every member until it is disarmed, and raising
        // the quota (this roll) comes before disarming it: a member that serves (knows a leader)
        // with no other alarm raised is as healthy as it can be until then.
        `only_nospace() { a=$(ctl --endpoints "$local_ep" alarm list 2>/dev/null) && [ -n "$a" ] && ! echo "$a" | grep -qv 'alarm:NOSPACE'; }`,
        `nospace=""`,
        ...untilDeadline(
            `ctl --endpoints "$local_ep" endpoint health >/dev/null 2>&1 || { serving "$local_ep" && only_nospace && nospace=yes; }`,
            `member $me not healthy after ${spec.healthTimeoutSeconds}s`),
        ...(inputsDigest === undefined ? [] : recordApplied(spec, `"$digest"`)),
        `[ -z "$nospace" ] || echo "warning: $me serves, and the cluster's NOSPACE alarm is still raised: once every member has the new quota, disarm it (npm run maintenance)"`,
        `echo "restarted ${paths.unitName} on $me (pid $old_pid -> $pid); healthy"`,
    ].join("\n") + "\n";
}

/**
 * The first lines of every script that removes a member's things from its host. A member's
 * identity is its name and its host: when the host's etcd config names another member (two
 * members' resources on one machine, which the removal check refuses before any host is touched),
 * the unit, files and data there are that member's, and this removal leaves them alone.
 */
export function renderOwnerGuard(spec: ClusterSpec, member: MemberSpec): string {
    const config = shq(configPath(spec));
    return [
        `if [ -f ${config} ] && ! grep -qxF ${shq(`name: ${yq(member.name)}`)} ${config}; then`,
        `  echo "${member.name}: this host's etcd config names $(sed -n 's/^name: //p' ${config} | head -n 1), not ${member.name}: its unit, files and data are left alone"`,
        `  exit 0`,
        `fi`,
    ].join("\n") + "\n";
}

/** Stops and removes the member's service on destroy (unless the host now runs another member); keeps the data dir unless asked to purge. */
export function renderStopScript(spec: ClusterSpec, member: MemberSpec): string {
    return scriptHeader + renderOwnerGuard(spec, member) + [
        `systemctl disable --now ${paths.unitName} >/dev/null 2>&1 || true`,
        `rm -f ${paths.unitPath} ${shq(appliedInputsPath(spec))}`,
        `systemctl daemon-reload`,
        `systemctl reset-failed ${paths.unitName} >/dev/null 2>&1 || true`,
    ].join("\n") + "\n";
}

/**
 * The cluster's health gate, run on one member's host: waits until that member is healthy over
 * mTLS (its journal tail on timeout), then until the member list holds exactly the stack's members,
 * all started, and every member answers healthy at its client URL. On timeout it names what is
 * wrong: the member list, or each member that does not answer healthy, with its error.
 */
export function renderHealthGateScript(spec: ClusterSpec): string {
    const expected = spec.members.map((m) => m.name).sort().join(",");
    return scriptHeader + [
        ...waitLocalHealthy(spec),
        etcdctlFunction(spec, "--command-timeout=5s"),
        `want=${shq(expected)}`,
        `endpoints=${shq(spec.members.map((m) => clientUrl(spec, m)).join(","))}`,
        `listed() { got=$(ctl --endpoints https://127.0.0.1:${spec.ports.client} member list -w simple 2>/dev/null | awk -F', ' '$2 == "started" {print $3}' | sort | paste -sd, -) && [ "$got" = "$want" ]; }`,
        `until listed && ctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; do`,
        `  if [ "$(date +%s)" -ge "$deadline" ]; then`,
        `    if ! listed; then echo "the cluster lists [$got] as started members, expected [$want] (asked on $(hostname))" >&2; exit 1; fi`,
        `    echo "not every member is healthy after ${spec.healthTimeoutSeconds}s (asked on $(hostname)):" >&2`,
        ...spec.members.map((m) =>
            `    err=$(ctl --endpoints ${shq(clientUrl(spec, m))} endpoint health 2>&1) || echo "  - ${m.name} (${clientUrl(spec, m)}): $(echo "$err" | tail -n1); see journalctl -u ${paths.unitName} on ${m.name}" >&2`),
        `    exit 1`,
        `  fi`,
        `  sleep 0.2`,
        `done`,
        `echo "healthy: every member of [$got] answers (asked on $(hostname))"`,
    ].join("\n") + "\n";
}

/**
 * Removes config and pki files and the empty dirs this program created (on destroy), and the staging
 * dir the same step made (renderPrepareHostScript): also after an up that failed before any other
 * step reached the host. Nothing, when the host now runs another member.
 */
export function renderRemoveDirsScript(spec: ClusterSpec, member: MemberSpec): string {
    return scriptHeader + renderOwnerGuard(spec, member) + [
        `rmdir ${shq(spec.dirs.pki)} 2>/dev/null || true`,
        `rmdir ${shq(spec.dirs.config)} 2>/dev/null || true`,
        `rm -rf ${shq(paths.stagingDir)}`,
        spec.purgeDataOnDestroy ? `rm -rf ${shq(spec.dirs.data)}` : `echo "data dir ${spec.dirs.data} kept (purgeDataOnDestroy is false)"`,
    ].join("\n") + "\n";
}

/**
 * The short command a remote step shows in the engine's output. The script itself travels on
 * stdin (a bundle of steps, see renderScriptBundle) and is read whole before it runs, so a
 * failure reads as the step's label and its error, not as a repeated page of shell.
 */
export function renderStdinRunner(label: string, step: string): string {
    return [
        `# etcd-stack: ${label.replace(/\n/g, " ")} (${step})`,
        // A login other than root runs the step through sudo -n, or stops here saying what to configure.
        asRootShell,
        `s=$(mktemp) || exit 1`,
        `cat > "$s"; [ -s "$s" ] || { echo "etcd-stack: no script on stdin" >&2; rm -f "$s"; exit 1; }`,
        `$as_root sh "$s" ${step} </dev/null; rc=$?; rm -f "$s"; exit $rc`,
    ].join("\n");
}

/** One script holding several steps (create, update, delete), each run in its own subshell. */
export function renderScriptBundle(steps: Record<string, string>): string {
    const names = Object.keys(steps);
    return [
        ...names.map((n) => `step_${n}() (\n${steps[n]})`),
        `case "\${1:-}" in ${names.join("|")}) "step_$1" ;; *) echo "unknown step: \${1:-}" >&2; exit 2 ;; esac`,
    ].join("\n") + "\n";
}

/**
 * Scripts run one after another on the host, each in its own subshell (an `exit 0` ends only its
 * own part), stopping at the first that fails: several concerns in one SSH session.
 */
export function renderSequence(...scripts: string[]): string {
    return scriptHeader + [
        ...scripts.map((script, i) => `part_${i + 1}() (\n${script})`),
        ...scripts.map((_, i) => `part_${i + 1}`),
    ].join("\n") + "\n";
}

/**
 * Pure renderers of one member's files and phases: the etcd config file, the systemd unit, and the
 * scripts of its phases (preflight, prepare, install, start, restart, stop, removal). Same spec in, same bytes out — golden files in tests/golden pin
 * them, and a change to any of them shows in `pulumi preview` as a change to one input.
 */
import * as paths from "../base/paths";
import { releaseDirGuard } from "../host/renderRelease";
import { etcdctlFunction, memberRow, memberRows, servingFunction, statusColumnFunction } from "../shell/etcdctl";
import { renderOwnerGuard, restorePendingGuard } from "../shell/guards";
import { scriptHeader, shq, untilDeadline, yq } from "../shell/script";
import { allowedCnYaml, rendersSnapshotCount } from "../spec/etcdVersions";
import { AdoptSpec, ClusterSpec, MemberSpec, minimum35Before36 } from "../spec/types";
import { urlHost } from "../spec/values";
import { appliedInputsPath, clientUrl, configPath, initialCluster, membersFilePath, metricsUrl, peerUrl, pkiPath } from "../spec/where";

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

/** `digestWord`: the digest as one shell word (quoted literal or "$variable"). */
function recordApplied(spec: ClusterSpec, digestWord: string): string[] {
    return [`echo ${digestWord} > ${shq(appliedInputsPath(spec))}`];
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
        `if [ -n "$list" ] && [ -z "$(echo "$list" | ${memberRows(`${memberRow.peerUrls} == u || ${memberRow.name} == n`, { u: shq(peerUrl(spec, member)), n: `"$me"` })})" ]; then`,
        `  echo "$me is not a member of the cluster (removed by hand?): not restarted; pulumi up --refresh adds it back (the cluster's membership step)"`,
        `  exit 0`,
        `fi`,
        // Listed as started (it published client URLs), yet this host has no data: the data dir was
        // wiped. etcd would refuse to start as that member again; it has to be added back as a new one.
        `if [ -n "$list" ] && [ ! -d ${shq(spec.dirs.data)}/member ] && [ -n "$(echo "$list" | ${memberRows(`${memberRow.peerUrls} == u && ${memberRow.clientUrls} != ""`, { u: shq(peerUrl(spec, member)) })})" ]; then`,
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
        `for row in $(echo "$list" | ${memberRows(`${memberRow.id} != "" && ${memberRow.isLearner} != "true" { print (${memberRow.name} == "" ? "(unstarted)" : ${memberRow.name}) "|" ${memberRow.peerUrls} "|" ${memberRow.clientUrls} }`)}); do`,
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
        `    line=$(echo "$list" | ${memberRows(`${memberRow.name} == n && ${memberRow.status} == "started" && ${memberRow.isLearner} != "true" { print ${memberRow.id} " " ${memberRow.clientUrls} }`, { n: `"$to"` })})`,
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

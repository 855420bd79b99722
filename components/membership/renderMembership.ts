/**
 * Pure renderers for membership: the scripts that decide how a member joins (bootstrap with the
 * others, or `member add` as a learner to a running cluster), promote a learner once it has caught
 * up, and remove members the stack no longer lists. The cluster, not Pulumi state, decides what is
 * left to do, so a run killed half-way converges on the next `up`.
 */
import * as paths from "../base/paths";
import { etcdctlFunction, etcdctlTls, memberRow, memberRows, servingFunction, statusColumnFunction } from "../shell/etcdctl";
import { renderOwnerGuard, restorePendingGuard } from "../shell/guards";
import { scriptHeader, shq, untilDeadline } from "../shell/script";
import { clientUrl, configPath, membersFilePath, peerUrl } from "../spec/where";
import { AdoptSpec, ClusterSpec, MemberSpec } from "../spec/types";
import { urlHost } from "../spec/values";

/**
 * The members file: what the join and promote steps read at run time. Keeping the list out of
 * their scripts keeps those steps (and so every existing member's config) unchanged when it grows.
 */
export function renderMembersFile(spec: ClusterSpec): string {
    return spec.members.map((m) => `${m.name} ${peerUrl(spec, m)} ${clientUrl(spec, m)}\n`).join("");
}

/** Where a member records how it joined (its initial-cluster and state), read by every later run. */
export function joinRecordPath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.joinRecordFile}`;
}

/** How a member starts the first time: what its config's initial-cluster* keys say. */
export interface JoinDecision {
    initialClusterState: "new" | "existing";
    initialCluster: string;
}

/** Placeholders in a member's config that the host fills from its join record as the file is written. */
export const joinPlaceholders: JoinDecision = { initialClusterState: "@@initial-cluster-state@@" as JoinDecision["initialClusterState"], initialCluster: "@@initial-cluster@@" };

/**
 * Shell lines (for renderWriteFileScript's `fill`) that put the join record's decision into the
 * config in "$tmp". The config Pulumi holds stays a pure function of the stack, so a preview shows
 * exactly what changes, and a member's join never changes its config after the fact.
 */
export function renderFillJoinDecision(spec: ClusterSpec): string[] {
    const record = shq(joinRecordPath(spec));
    return [
        `state=$(sed -n 's/^initial-cluster-state=//p' ${record}); cluster=$(sed -n 's/^initial-cluster=//p' ${record})`,
        `[ -n "$state" ] && [ -n "$cluster" ] || { echo "no join decision in ${joinRecordPath(spec)}: the join step must run first" >&2; exit 1; }`,
        `sed -i "s|${joinPlaceholders.initialClusterState}|$state|; s|${joinPlaceholders.initialCluster}|$cluster|" "$tmp"`,
    ];
}

/**
 * A sed script putting a config's join decision back to the placeholders (see renderFillJoinDecision):
 * the config's digest is taken through it, so a decision made again on the host (the member added
 * back to the cluster, see renderRejoinScript) is not drift. etcd reads these keys only when it
 * starts with an empty data dir, so a hand edit of them changes nothing a running member does.
 */
export function renderUnfillJoinDecision(): string {
    return `s|^initial-cluster-state: .*|initial-cluster-state: "${joinPlaceholders.initialClusterState}"|;` +
        `s|^initial-cluster: .*|initial-cluster: "${joinPlaceholders.initialCluster}"|`;
}

/** etcdctl with this member's own certificate (its server cert carries client auth). */
function ctlFunction(spec: ClusterSpec): string {
    return etcdctlFunction(spec, "--dial-timeout=3s --command-timeout=10s");
}

/** awk over the members file and a member list: the list as name=peerURL, nameless members named from the file. */
function membersAsInitialCluster(spec: ClusterSpec): string {
    const program = `NR == FNR { split($0, f, " "); known[f[2]] = f[1]; next }` +
        ` { name = ${memberRow.name}; if (name == "") name = known[${memberRow.peerUrls}]; if (name == "") name = "member-" ${memberRow.id}; printf "%s%s=%s", sep, name, ${memberRow.peerUrls}; sep = "," } END { print "" }`;
    return `${memberRows(program)} ${shq(membersFilePath(spec))} -`;
}

/** Shell lines setting `others` to the other members' client URLs, space-separated, from the members file. */
function otherClientUrls(spec: ClusterSpec, separator: " " | ","): string {
    return `others=$(awk -v me="$me" '$1 != me { printf "%s%s", sep, $3; sep = "${separator}" }' ${shq(membersFilePath(spec))})`;
}

/**
 * Shell lines of the join script: the cluster lists this member's name at another peer URL, so the
 * stack moved the member to a new host (its old host failed, or is being retired). The old
 * registration is removed *before* the replacement is added, through the members that answer
 * (the old host may be unreachable), so the cluster never counts a dead voter toward its quorum;
 * refused, before anything changes, if the other voting members could not keep a quorum.
 */
function removeOldRegistration(spec: ClusterSpec): string[] {
    return [
        `old=$(ctl --endpoints "$endpoint" member list -w simple | ${memberRows(`${memberRow.name} == n && ${memberRow.peerUrls} != u`, { n: `"$me"`, u: `"$my_peer"` })})`,
        `if [ -n "$old" ]; then`,
        `  old_id=$(echo "$old" | ${memberRows(`{print ${memberRow.id}}`)}); old_peer=$(echo "$old" | ${memberRows(`{print ${memberRow.peerUrls}}`)}); old_client=$(echo "$old" | ${memberRows(`{print ${memberRow.clientUrls}}`)})`,
        `  if [ -n "$old_client" ] && ctl --endpoints "$old_client" endpoint health >/dev/null 2>&1; then old_state="still healthy"; else old_state="down"; fi`,
        `  voters=0; voters_up=0`,
        `  for row in $(ctl --endpoints "$endpoint" member list -w simple | ${memberRows(`${memberRow.id} != id && ${memberRow.isLearner} != "true" {print ${memberRow.id} "|" ${memberRow.clientUrls}}`, { id: `"$old_id"` })}); do`,
        `    voters=$((voters + 1)); if [ -n "\${row#*|}" ] && ctl --endpoints "\${row#*|}" endpoint health >/dev/null 2>&1; then voters_up=$((voters_up + 1)); fi`,
        `  done`,
        `  if [ "$voters_up" -lt $(( voters / 2 + 1 )) ]; then`,
        `    echo "refusing to replace $me (registered at $old_peer, $old_state): only $voters_up of the $voters other voting members are healthy (quorum $(( voters / 2 + 1 ))); nothing was changed" >&2`,
        `    exit 1`,
        `  fi`,
        `  ctl --endpoints "$endpoint" member remove "$old_id" >/dev/null`,
        `  echo "$me moved from $old_peer ($old_state) to $my_peer: removed its old registration $old_id" >&2`,
        `fi`,
    ];
}

/**
 * Join lines for a member that takes over an existing etcd: stop and disable its unit, copy its
 * data into the stack's data dir (through a temporary name, so a run killed mid-copy starts the
 * copy again; the original stays where it was), and start from that data. The record notes the
 * adoption: the promote step then moves the member's peer URL to the stack's TLS one.
 */
function adoptExisting(spec: ClusterSpec, member: MemberSpec, adopt: AdoptSpec): string[] {
    const data = shq(spec.dirs.data);
    const from = shq(adopt.dataDir);
    return [
        `echo "$me: taking over the etcd of ${adopt.unit} (data in ${adopt.dataDir})" >&2`,
        ...handOffAdoptedLeadership(spec, member),
        `systemctl stop ${shq(adopt.unit)} || true; systemctl disable ${shq(adopt.unit)} >/dev/null 2>&1 || true`,
        `if systemctl is-active --quiet ${shq(adopt.unit)}; then echo "$me: ${adopt.unit} did not stop" >&2; exit 1; fi`,
        `if [ ! -d ${data}/member ] && [ ${from} != ${data} ] && [ -d ${from}/member ]; then`,
        `  rm -rf ${data}/member.adopting; cp -a ${from}/member ${data}/member.adopting; mv ${data}/member.adopting ${data}/member`,
        `fi`,
        `[ -d ${data}/member ] || { echo "$me: no etcd data in ${adopt.dataDir} to take over" >&2; exit 1; }`,
        `chown -R ${paths.etcdUser}:${paths.etcdGroup} ${data}; chmod ${paths.modes.dataDir} ${data}`,
        `decide existing "$me=$my_peer" ${shq(`adopted-from=${adopt.dataDir}\n`)}`,
        `exit 0`,
    ];
}

/**
 * Best effort, before an adopted etcd that is one member of a cluster stops: if it leads, hand
 * leadership to another started voting member, so clients see no election. Its registration is
 * found among the others' member list by this host's address in its client URLs; reaching it
 * needs the cluster to trust this member's certificate (the stack was given the cluster's CA).
 * A standalone, or a cluster that cannot be reached this way, just stops.
 */
function handOffAdoptedLeadership(spec: ClusterSpec, member: MemberSpec): string[] {
    return [
        otherClientUrls(spec, ","),
        statusColumnFunction,
        `list=$(ctl --endpoints "$others" --dial-timeout=2s --command-timeout=3s member list -w simple 2>/dev/null) || list=""`,
        `old=$(echo "$list" | ${memberRows(`index(${memberRow.clientUrls}, a) > 0 { print ${memberRow.id} " " ${memberRow.clientUrls}; exit }`, { a: shq(`//${urlHost(member.address)}:`) })})`,
        `if [ -n "$old" ] && [ "$(col "\${old#* }" "IS LEADER" 2>/dev/null)" = true ]; then`,
        `  to=$(echo "$list" | ${memberRows(`${memberRow.id} != id && ${memberRow.status} == "started" && ${memberRow.isLearner} == "false" { print ${memberRow.id} " " ${memberRow.name}; exit }`, { id: `"\${old%% *}"` })})`,
        `  if [ -n "$to" ] && ctl --endpoints "\${old#* }" move-leader "\${to%% *}" >/dev/null 2>&1; then echo "$me: handed leadership to \${to#* } before taking over" >&2; fi`,
        `fi`,
    ];
}

/**
 * Which run a join runs in, as far as bootstrapping goes (renderJoinScript):
 * - `new`: its creation in the stack's first run: the only one that may bootstrap over no data;
 * - `added`: its creation in a later run (a member added, or the re-run of a first `up` that
 *   stopped before this member joined): may bootstrap over no data, as before, so that re-run
 *   converges (members are added only to a cluster that answered the removal check);
 * - `existing`: its update (the host rebuilt or moved, the script changed) or a rejoin: the
 *   cluster exists, so it never bootstraps.
 */
export type JoinRun = "new" | "added" | "existing";

/**
 * Join lines counting the etcd data on this host (`kept`: WAL and snapshot files under member/,
 * what etcd starts from whatever initial-cluster says). In the stack's first run such data is an
 * earlier cluster's (a stack destroyed with its data kept, a hand-built etcd): starting from it
 * would bring that cluster back, old member IDs and keys, while the output says "new". Refused,
 * nothing started; unless a restore is declared, which rebuilds every member from its snapshot:
 * the data is then moved aside (never deleted).
 */
function keptDataGuard(spec: ClusterSpec): string[] {
    // The data dir as data, never spliced into a message's double quotes.
    const found = `$data_dir holds $kept files of an earlier etcd (member/wal, member/snap)`;
    return [
        `data_dir=${shq(spec.dirs.data)}`,
        `kept=0; if [ -d "$data_dir/member" ]; then kept=$(find "$data_dir/member" -type f \\( -path "$data_dir/member/wal/*" -o -path "$data_dir/member/snap/*" \\) | wc -l); kept=$((kept)); fi`,
        `if [ "$run" = new ] && [ "$kept" -gt 0 ]; then`,
        ...(spec.restore ? [
            `  aside=member.kept-$(date +%s); mv "$data_dir/member" "$data_dir/$aside"`,
            `  echo "$me: ${found}; a restore is declared (etcd:restore): moved aside to $data_dir/$aside, the restore rebuilds the data from its snapshot" >&2`,
            `  kept=0`,
        ] : [
            `  echo "$me: refusing to start etcd: this stack is new (its first up), but ${found}: etcd would start from them, bringing back an earlier cluster (its members and keys) instead of a new one; nothing was started." \\`,
            `    "To bring those keys back, restore them from a snapshot taken before (scheduled ones stay in ${paths.snapshotDir} on the members' hosts): pulumi config set --path etcd:restore.snapshot <file>, then pulumi up (README \\"Restore from a snapshot\\"); this data is then moved aside." \\`,
            `    "If the data is not wanted: mv $data_dir/member $data_dir/member.old on this host, then pulumi up." >&2`,
            `  exit 1`,
        ]),
        `fi`,
    ];
}

/**
 * Join lines for when no other member answers with a leader outside the stack's first run: an
 * existing member (its step updated: the host rebuilt or moved) would start a second cluster
 * behind the same endpoints, and a member with data here would start from that data. Refused,
 * nothing started. Not with a restore declared: that rebuilds every member from its snapshot.
 */
function noLeaderGuard(): string[] {
    const ways = `"Bring the cluster's other members back until a quorum answers, then pulumi up again; if the cluster is lost, restore it from a snapshot:" \\`;
    const restore = `"pulumi config set --path etcd:restore.snapshot <file>, then pulumi up (README \\"Restore from a snapshot\\")." >&2`;
    return [
        `  if [ "$run" = existing ]; then`,
        `    if [ "$kept" -gt 0 ]; then held=" ($data_dir holds $kept files of etcd data)"; else held=""; fi`,
        `    echo "$me: refusing to bootstrap a new cluster: no other member answers with a leader, and this stack is not new (its first up was earlier)$held;" \\`,
        `      "bootstrapping would start a second cluster behind the same endpoints; nothing was started." \\`,
        `      ${ways}`,
        `      ${restore}`,
        `    exit 1`,
        `  fi`,
        `  if [ "$run" != new ] && [ "$kept" -gt 0 ]; then`,
        `    echo "$me: refusing to bootstrap a new cluster: no other member answers with a leader, and $data_dir holds $kept files of an earlier etcd (member/wal, member/snap): etcd would start from them; nothing was started." \\`,
        `      ${ways}`,
        `      ${restore}`,
        `    exit 1`,
        `  fi`,
    ];
}

/**
 * Decides, once, how `member` joins, records it on the host and prints it. A later run prints the
 * record, so an existing member's config never changes because the member list did.
 * - the member takes over an existing etcd (`adopt`): its data, see adoptExisting;
 * - this host holds etcd data (WAL or snapshot files) in the stack's first run (`run`, see
 *   JoinRun): refused (keptDataGuard); that data is an earlier cluster's, and etcd would start from it;
 * - no other member answers: a new cluster, bootstrapped from every member of the stack, on a host
 *   without data, and never by an existing member (noLeaderGuard): not a second cluster behind
 *   the same endpoints;
 * - a cluster answers and already lists this peer URL: join it as that member (`existing`); if it
 *   was once started but this host has no data (a wiped or new disk), its old registration is
 *   removed and it is added again;
 * - the cluster lists this member's name at another peer URL: the member moved to a new host; its
 *   old registration is removed first (see removeOldRegistration);
 * - otherwise: `member add --learner` (promoted by the promote step once caught up).
 */
export function renderJoinScript(spec: ClusterSpec, member: MemberSpec, run: JoinRun = "existing"): string {
    const record = shq(joinRecordPath(spec));
    const data = shq(spec.dirs.data);
    return scriptHeader + [
        `me=${shq(member.name)}`,
        `my_peer=${shq(peerUrl(spec, member))}`,
        // Whether, with no leader answering, this join may bootstrap (see JoinRun).
        `run=${run}`,
        ctlFunction(spec),
        `if [ -s ${record} ]; then cat ${record}; exit 0; fi`,
        `decide() { printf 'initial-cluster-state=%s\\ninitial-cluster=%s\\n%s' "$1" "$2" "\${3:-}" > ${record}.tmp; mv ${record}.tmp ${record}; cat ${record}; }`,
        ...(member.adopt ? adoptExisting(spec, member, member.adopt) : []),
        ...keptDataGuard(spec),
        otherClientUrls(spec, " "),
        // Ask every other member at once: a cold cluster's members are all silent, and asking
        // them one after another would cost a timeout each. A host that refuses the TCP connection
        // has no etcd listening at that URL: it is silent at once, without etcdctl's dial timeout.
        // A member that serves answers `endpoint status` at once, leader or not (`endpoint health`
        // would wait out its timeout without a leader). A member started in a cluster that has no
        // quorum yet accepts the TCP connection but completes no TLS handshake until it has
        // published itself to a quorum (etcd 3.6's client listener waits for that), so etcdctl
        // fails "while waiting for connections to become ready": such a member is silent after one
        // second instead of a whole timeout (the joins of a new cluster's members started before
        // its quorum each paid 3 s). A connection made within that second but slow to answer is a
        // serving member, asked again with time to answer: how loaded a cluster is never turns it
        // into a new one; only a network where a handshake takes over a second would.
        `answers=$(mktemp -d); n=0`,
        `for url in $others; do`,
        `  n=$((n + 1)); (`,
        `    hp=\${url#https://}; h=\${hp%:*}; h=\${h#[}; h=\${h%]}; p=\${hp##*:}`,
        `    if command -v bash >/dev/null; then if timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' sh "$h" "$p" 2>/dev/null; then :; else [ $? -ne 1 ] || exit 0; fi; fi`,
        `    if ! st=$(ctl --endpoints "$url" --dial-timeout=1s --command-timeout=1s endpoint status -w fields 2>&1); then`,
        `      case "$st" in *"waiting for connections to become ready"*) exit 0 ;; esac`,
        `      st=$(ctl --endpoints "$url" --dial-timeout=2s --command-timeout=3s endpoint status -w fields 2>/dev/null) || exit 0`,
        `    fi`,
        `    echo "$st" | grep -q '^"Leader" : [1-9]' && echo "$url" > "$answers/$n"`,
        `  ) &`,
        `done`,
        `wait`,
        `endpoint=$(cat "$answers"/* 2>/dev/null | head -n 1); rm -rf "$answers"`,
        `if [ -z "$endpoint" ]; then`,
        ...(spec.restore ? [] : noLeaderGuard()),
        `  echo "$me: no other member answers: bootstrapping a new cluster" >&2`,
        `  decide new "$(awk '{ printf "%s%s=%s", sep, $1, $2; sep = "," } END { print "" }' ${shq(membersFilePath(spec))})"`,
        `  exit 0`,
        `fi`,
        ...(spec.restore ? [
            // A member joining the running cluster would be left out of the cluster the restore builds.
            `echo "$me cannot join the running cluster while a restore is declared (etcd:restore): restore first, remove etcd:restore, then add members" >&2`,
            `exit 1`,
        ] : []),
        ...removeOldRegistration(spec),
        `mine=$(ctl --endpoints "$endpoint" member list -w simple | ${memberRows(`${memberRow.peerUrls} == u`, { u: `"$my_peer"` })})`,
        // Listed with client URLs (it published them, so it once started), yet this host has no
        // data: the member that started is gone. (Bootstrap members carry names before they start.)
        `if [ -n "$mine" ] && [ -n "$(echo "$mine" | ${memberRows(`{print ${memberRow.clientUrls}}`)})" ] && [ ! -d ${data}/member ]; then`,
        `  id=$(echo "$mine" | ${memberRows(`{print ${memberRow.id}}`)})`,
        `  echo "$me: registered as $id and once started, but this host has no data: removing the stale registration" >&2`,
        `  ctl --endpoints "$endpoint" member remove "$id" >&2`,
        `  mine=""`,
        `fi`,
        `if [ -z "$mine" ]; then`,
        // Data left by an earlier, removed incarnation would make etcd refuse to start as a new member.
        `  if [ -d ${data}/member ]; then mv ${data}/member ${data}/member.removed-$(date +%s); echo "$me: moved old data aside" >&2; fi`,
        // etcd answers "unhealthy cluster" until the member asked has been connected to every
        // voting member for a few seconds (a member promoted a moment ago): wait for that.
        `  deadline=$(( $(date +%s) + ${spec.healthTimeoutSeconds} ))`,
        `  while ! out=$(ctl --endpoints "$endpoint" member add "$me" --peer-urls="$my_peer" --learner 2>&1); do`,
        `    case "$out" in *"unhealthy cluster"*) if [ "$(date +%s)" -lt "$deadline" ]; then sleep 1; continue; fi ;; esac`,
        `    echo "member add of $me (as a learner) failed: $(echo "$out" | grep -v '^{"level"')" >&2`,
        `    case "$out" in *"too many learner"*)`,
        // Name the learner(s) in the way: name, or peer URL when never started; ID; whether this stack lists it.
        `      learners=$(ctl --endpoints "$endpoint" member list -w simple 2>/dev/null | ${memberRows(`NR == FNR { split($0, f, " "); known[f[2]] = f[1]; next } ${memberRow.isLearner} == "true" { printf "%s%s (ID %s, %s, %s)", sep, (${memberRow.name} == "" ? ${memberRow.peerUrls} : ${memberRow.name}), ${memberRow.id}, (${memberRow.name} == "" ? "never started" : "started, not caught up yet"), ((${memberRow.peerUrls} in known) ? "member " known[${memberRow.peerUrls}] " of this stack" : "not in this stack"); sep = "; " }`)} ${shq(membersFilePath(spec))} -)`,
        `      echo "etcd allows one learner at a time (by default) and the cluster has: \${learners:-another learner (etcdctl member list shows it)}." >&2`,
        `      echo "What to do: a learner of this stack is promoted by its own promote step once it has caught up (check journalctl -u ${paths.unitName} on its host), so run pulumi up again; a learner not in this stack is removed with etcdctl member remove <ID>, then run pulumi up again." >&2 ;;`,
        `    esac`,
        `    exit 1`,
        `  done`,
        `  echo "$me: added as a learner through $endpoint" >&2`,
        `  decide existing "$(echo "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\\(.*\\)"$/\\1/p')"`,
        `  exit 0`,
        `fi`,
        `echo "$me: already registered in the running cluster" >&2`,
        `decide existing "$(ctl --endpoints "$endpoint" member list -w simple | ${membersAsInitialCluster(spec)})"`,
    ].join("\n") + "\n";
}

/** Removes the join record (on destroy), unless the host now runs another member: a later stack on this host decides afresh. */
export function renderForgetJoinScript(spec: ClusterSpec, member: MemberSpec): string {
    return scriptHeader + renderOwnerGuard(spec, member) + `rm -f ${shq(joinRecordPath(spec))}\n`;
}

/**
 * Promote lines for a member that took over an existing etcd (a voting member already): once it
 * answers, its registered peer URL (often plaintext `http://`, or `localhost` for a standalone)
 * becomes the stack's TLS one with `member update`. The member already listens there, so nothing
 * restarts; the next member added reaches it at that URL.
 */
function settleAdopted(spec: ClusterSpec): string[] {
    return [
        `if grep -q '^adopted-from=' ${shq(joinRecordPath(spec))} 2>/dev/null; then`,
        `  local_ep=https://127.0.0.1:${spec.ports.client}`,
        statusColumnFunction.replace(/^/, "  "),
        `  deadline=$(( $(date +%s) + ${spec.healthTimeoutSeconds} ))`,
        ...untilDeadline(`ctl --endpoints "$local_ep" endpoint health >/dev/null 2>&1`, `$me (adopted) not healthy after ${spec.healthTimeoutSeconds}s`).map((l) => `  ${l}`),
        `  id=$(col "$local_ep" ID)`,
        `  peer=$(ctl --endpoints "$local_ep" member list -w simple | ${memberRows(`${memberRow.id} == id {print ${memberRow.peerUrls}}`, { id: `"$id"` })})`,
        `  if [ "$peer" != "$my_peer" ]; then`,
        `    ctl --endpoints "$local_ep" member update "$id" --peer-urls="$my_peer" >/dev/null`,
        `    echo "$me (adopted) now reached by its peers at $my_peer (was $peer)"`,
        `  else echo "$me (adopted) is a voting member at $my_peer"; fi`,
        `  exit 0`,
        `fi`,
    ];
}

/**
 * Promotes `member` from learner to voting member once it has caught up with the leader (etcd
 * refuses before that; the refusal is retried until the health timeout). A voting member: nothing to do.
 * A member the cluster does not list (removed by hand): nothing either, so its service step ends and
 * the membership step, which waits for every service step, adds it back (renderRejoinScript).
 */
export function renderPromoteScript(spec: ClusterSpec, member: MemberSpec): string {
    return scriptHeader + [
        ...restorePendingGuard(spec, "the promotion"),
        `me=${shq(member.name)}`,
        `my_peer=${shq(peerUrl(spec, member))}`,
        ctlFunction(spec),
        otherClientUrls(spec, ","),
        // Bootstrap members vote from the start; and while the cluster forms they cannot answer.
        `if grep -qx 'initial-cluster-state=new' ${shq(joinRecordPath(spec))} 2>/dev/null; then echo "$me bootstrapped the cluster: a voting member"; exit 0; fi`,
        ...settleAdopted(spec),
        `promoted() {`,
        `  list=$(ctl --endpoints "$others" member list -w simple 2>/dev/null) || list=""`,
        `  mine=$(echo "$list" | ${memberRows(`${memberRow.peerUrls} == u`, { u: `"$my_peer"` })})`,
        `  case "$mine" in`,
        `    *", false") echo "$me is a voting member"; return 0 ;;`,
        `    *", true") id=$(echo "$mine" | ${memberRows(`{print ${memberRow.id}}`)}); out=$(ctl --endpoints "$others" member promote "$id" 2>&1) && { echo "$me promoted from learner to voting member"; return 0; }`,
        `      next="$me is still a learner (ID $id): it has not caught up with the leader. Check its journal (below), its disk and its network to the other members, then run pulumi up again; to give up on it, take it out of etcd:members and run pulumi up (that removes it from the cluster)" ;;`,
        // Removed by hand (a member list is linearizable since etcd 3.5: this answer is the cluster's):
        // the restart left it stopped; the membership step, after every service step, adds it back.
        `    *) [ -z "$list" ] || { echo "$me is not in the member list (removed by hand?): not promoted; the cluster's membership step adds it back (pulumi up --refresh)"; return 0; }`,
        `      out="no other member answers (at $others)"; next="" ;;`,
        `  esac`,
        `  return 1`,
        `}`,
        `deadline=$(( $(date +%s) + ${spec.healthTimeoutSeconds} ))`,
        `next=""`,
        ...untilDeadline("promoted", `$me could not be promoted within ${spec.healthTimeoutSeconds}s: $out\${next:+. $next}`),
    ].join("\n") + "\n";
}

/**
 * Through this host's etcd (`ctl`, `$local_ep`): which listed members stay (their peer URLs are
 * the stack's) and which leave, and whether enough of the voters that stay are up (`serving`) to
 * keep a quorum without the others; learners do not vote, so they are not counted.
 * Refuses (exit 1) when not, ends (exit 0) when no member leaves.
 */
function quorumOfStayingMembers(spec: ClusterSpec): string[] {
    const desired = spec.members.map((m) => peerUrl(spec, m)).join(" ");
    return [
        `desired=${shq(desired)}`,
        `listed() { ctl --endpoints "$local_ep" member list -w simple; }`,
        `is_desired() { case " $desired " in *" $1 "*) return 0 ;; esac; return 1; }`,
        servingFunction,
        statusColumnFunction,
        `staying=0; staying_up=0; leaving_down=""; leaving_up=""`,
        `for row in $(listed | ${memberRows(`{print ${memberRow.id} "|" (${memberRow.name} == "" ? "(unstarted)" : ${memberRow.name}) "|" ${memberRow.peerUrls} "|" ${memberRow.clientUrls} "|" ${memberRow.isLearner}}`)}); do`,
        `  id=\${row%%|*}; rest=\${row#*|}; name=\${rest%%|*}; rest=\${rest#*|}; peer=\${rest%%|*}; rest=\${rest#*|}; client=\${rest%%|*}; learner=\${rest#*|}`,
        `  if is_desired "$peer"; then`,
        `    [ "$learner" != true ] || continue`,
        `    staying=$((staying + 1)); if serving "$client"; then staying_up=$((staying_up + 1)); fi`,
        `  elif serving "$client"; then leaving_up="$leaving_up $id|$name|$client"`,
        `  else leaving_down="$leaving_down $id|$name|"; fi`,
        `done`,
        `if [ -z "$leaving_down$leaving_up" ]; then echo "membership matches the stack ($staying voting members)"; exit 0; fi`,
        `quorum=$(( staying / 2 + 1 ))`,
        `if [ "$staying_up" -lt "$quorum" ]; then`,
        `  echo "refusing to remove$(for m in $leaving_down $leaving_up; do r=\${m#*|}; printf ' %s' "\${r%%|*}"; done): only $staying_up of the $staying voting members that stay are up (quorum $quorum); nothing was changed" >&2`,
        `  exit 1`,
        `fi`,
    ];
}

/**
 * The removal check (removalCheck.ts), run on a member that stays before anything reaches a host:
 * the same quorum count as the reconcile's (quorumOfStayingMembers), changing nothing. Exit 3:
 * this host's etcd does not answer with a quorum (try another member).
 */
export function renderRemovalCheckScript(spec: ClusterSpec): string {
    return scriptHeader + [
        ctlFunction(spec),
        `local_ep=https://127.0.0.1:${spec.ports.client}`,
        // Healthy means this member reaches a quorum (etcd commits a read through raft): one that
        // does not is asked nothing more, and the next member that stays is tried.
        `ctl --endpoints "$local_ep" endpoint health >/dev/null 2>&1 || { echo "the etcd on this host does not answer with a quorum at $local_ep" >&2; exit 3; }`,
        ...quorumOfStayingMembers(spec),
        `echo "removing$(for m in $leaving_down $leaving_up; do r=\${m#*|}; printf ' %s' "\${r%%|*}"; done) keeps a quorum: $staying_up of the $staying voting members that stay are up (quorum $quorum)"`,
    ].join("\n") + "\n";
}

/**
 * Removes from the cluster every member whose peer URL the stack no longer lists, one at a time,
 * before their hosts are stopped and cleaned. Refuses before removing anything when the members
 * that stay could not keep a quorum; hands leadership to a staying member first; removes members
 * that are down before those that are up, each group in name order (as the plan lists them).
 */
export function renderReconcileMembershipScript(spec: ClusterSpec): string {
    return scriptHeader + [
        ctlFunction(spec),
        `local_ep=https://127.0.0.1:${spec.ports.client}`,
        ...quorumOfStayingMembers(spec),
        // By name within each group (etcd lists by member ID): the order the plan prints (plan.ts).
        `by_name() { for m in "$@"; do echo "$m"; done | LC_ALL=C sort -t '|' -k 2,2; }`,
        `leaving_down=$(by_name $leaving_down); leaving_up=$(by_name $leaving_up)`,
        `my_id=$(col "$local_ep" ID)`,
        // Members that are down go first: removing them never costs a healthy vote.
        `for m in $leaving_down $leaving_up; do`,
        `  id=\${m%%|*}; rest=\${m#*|}; name=\${rest%%|*}; client=\${rest#*|}`,
        `  if [ -n "$client" ] && [ "$(col "$client" "IS LEADER" 2>/dev/null)" = true ]; then`,
        `    ctl --endpoints "$client" move-leader "$my_id" >/dev/null && echo "moved leadership from $name to this member"`,
        `  fi`,
        `  ctl --endpoints "$local_ep" member remove "$id" >/dev/null`,
        `  echo "removed member $name ($id)"`,
        `  deadline=$(( $(date +%s) + ${spec.healthTimeoutSeconds} ))`,
        `  until ctl --endpoints "$local_ep" endpoint health >/dev/null 2>&1; do`,
        `    [ "$(date +%s)" -lt "$deadline" ] || { echo "cluster not healthy after removing $name" >&2; exit 1; }`,
        `    sleep 1`,
        `  done`,
        `done`,
        `echo "membership matches the stack ($staying voting members)"`,
    ].join("\n") + "\n";
}

/**
 * Lists the cluster's members from a member's host, with that member's certificate: through its
 * own etcd when it answers (the first line then says `answered-by local`: this host can run the
 * reconcile, which works through its local endpoint), else through the others in the members file,
 * waiting as many seconds as stdin says. Each member is printed as `member <etcdctl member list -w
 * simple line>`. Changes nothing.
 */
export function renderMemberListScript(spec: ClusterSpec): string {
    return scriptHeader + [
        ctlFunction(spec),
        `local_ep=https://127.0.0.1:${spec.ports.client}`,
        `all=$(awk '{ printf "%s%s", sep, $3; sep = "," }' ${shq(membersFilePath(spec))})`,
        // stdin: how many seconds to wait for an answer (a new cluster forms once all its members run).
        `read -r wait || wait=0`,
        `deadline=$(( $(date +%s) + wait ))`,
        `while :; do`,
        `  if out=$(ctl --endpoints "$local_ep" member list -w simple 2>/dev/null); then echo "answered-by local"; break; fi`,
        `  if out=$(ctl --endpoints "$all" member list -w simple 2>/dev/null); then echo "answered-by others"; break; fi`,
        `  [ "$(date +%s)" -lt "$deadline" ] || { echo "no member of the cluster answers, at $local_ep or at $all" >&2; exit 3; }`,
        `  sleep 0.5`,
        `done`,
        `printf '%s\\n' "$out" | sed 's/^/member /'`,
    ].join("\n") + "\n";
}

/**
 * The live health a refresh reads for the plan (plan.ts `LiveHealth`), run on one member's host
 * (planResource.ts `readLiveHealth`): `live <name> serving|down[ leader]` for each of the stack's members in the
 * members file, by the liveness every quorum count uses (`serving`: answers `endpoint status` and
 * knows a leader; a member under NOSPACE still serves). Changes nothing; always succeeds.
 */
export function renderLiveHealthScript(spec: ClusterSpec): string {
    return scriptHeader + [
        ctlFunction(spec),
        servingFunction,
        statusColumnFunction,
        `while read -r name _peer client; do`,
        `  [ -n "$name" ] || continue`,
        `  if serving "$client" </dev/null; then`,
        `    if [ "$(col "$client" "IS LEADER" </dev/null 2>/dev/null)" = true ]; then echo "live $name serving leader"; else echo "live $name serving"; fi`,
        `  else`,
        `    echo "live $name down"`,
        `  fi`,
        `done < ${shq(membersFilePath(spec))}`,
    ].join("\n") + "\n";
}

/** Whether this host has etcd data (`data present` or `data missing`). Changes nothing. */
export function renderDataProbeScript(spec: ClusterSpec): string {
    return scriptHeader + `if [ -d ${shq(spec.dirs.data)}/member ]; then echo "data present"; else echo "data missing"; fi\n`;
}

/**
 * Adds a stack member back to the cluster after it was removed by hand (`etcdctl member remove`):
 * its etcd has stopped for good and its data belongs to the removed member. Or after its data dir
 * was wiped on its host: the cluster still lists it as started, and etcd would refuse to start
 * as that member with no data (the join removes the stale registration first). The others must
 * agree it is not listed (or that this host has no data); then its unit stops, its data is moved
 * aside (never deleted), the join decides again (`member add` as a learner, see
 * renderJoinScript), the config takes the new decision, and etcd starts; the promote step then makes it a voting member once it has caught up. Each part is
 * checked before it is done, so a run killed half-way is finished by the next.
 */
export function renderRejoinScript(spec: ClusterSpec, member: MemberSpec): string {
    const config = shq(configPath(spec));
    const data = shq(spec.dirs.data);
    // An adopted member's join copies the adopted etcd's data: not what a member added back needs.
    const join = renderJoinScript(spec, { ...member, adopt: undefined });
    return scriptHeader + [
        `me=${shq(member.name)}`,
        `my_peer=${shq(peerUrl(spec, member))}`,
        ctlFunction(spec),
        otherClientUrls(spec, ","),
        `tmp=""; js=""`,
        `trap 'rm -f "$tmp" "$js"' EXIT`,
        `list=$(ctl --endpoints "$others" member list -w simple) || { echo "$me: no other member answers (at $others): cannot add it back" >&2; exit 1; }`,
        `mine=$(echo "$list" | ${memberRows(`${memberRow.peerUrls} == u`, { u: `"$my_peer"` })})`,
        // Listed as started (it published client URLs) with no data on this host: the data dir was
        // wiped; the join below removes that registration before adding the member again.
        `if [ -n "$mine" ] && [ ! -d ${data}/member ] && [ -n "$(echo "$mine" | ${memberRows(`{print ${memberRow.clientUrls}}`)})" ]; then`,
        `  echo "$me has no data on its host but the cluster lists it as started (data dir wiped?): adding it back as a new member"`,
        `  mine=""`,
        `elif [ -z "$mine" ]; then`,
        `  echo "$me is not a member of the cluster (removed by hand?): adding it back as a new member"`,
        `fi`,
        `if [ -z "$mine" ]; then`,
        `  systemctl stop ${paths.unitName} || true`,
        `  if [ -d ${data}/member ]; then mv ${data}/member ${data}/member.removed-$(date +%s); echo "$me: moved the removed member's data aside" >&2; fi`,
        `  rm -f ${shq(joinRecordPath(spec))}`,
        `  js=$(mktemp)`,
        `  cat > "$js" <<'ETCD_STACK_JOIN'`,
        join.replace(/\n$/, ""),
        `ETCD_STACK_JOIN`,
        `  sh "$js" >/dev/null </dev/null`,
        `fi`,
        // The config carries the (new) decision: etcd reads it when it starts with an empty data dir.
        `tmp=$(mktemp "$(dirname ${config})/.etcd-stack.XXXXXX")`,
        `sed -e ${shq(renderUnfillJoinDecision())} ${config} > "$tmp"`,
        ...renderFillJoinDecision(spec),
        `chmod --reference=${config} "$tmp"; chown --reference=${config} "$tmp"`,
        `if cmp -s "$tmp" ${config}; then rm -f "$tmp"; else mv -f "$tmp" ${config}; fi`,
        `if ! systemctl is-active --quiet ${paths.unitName}; then`,
        `  systemctl reset-failed ${paths.unitName} >/dev/null 2>&1 || true`,
        `  systemctl start --no-block ${paths.unitName}`,
        `  echo "$me: etcd started as a learner"`,
        `fi`,
    ].join("\n") + "\n";
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
        `listed() { got=$(ctl --endpoints https://127.0.0.1:${spec.ports.client} member list -w simple 2>/dev/null | ${memberRows(`${memberRow.status} == "started" {print ${memberRow.name}}`)} | sort | paste -sd, -) && [ "$got" = "$want" ]; }`,
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

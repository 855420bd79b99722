/**
 * A fake cluster for running the membership scripts (renderMembership.ts) under sh: a fake
 * `etcdctl` that keeps a member list its `member add/remove/promote/update` and `move-leader`
 * change and records every call, a fake `systemctl` recording its calls, fake `journalctl` and
 * `bash` (the join's TCP probe: the port is open), and a temp host (config dir with the members
 * file, data dir). Used by membershipScripts.test.ts and joinScripts.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { membersFilePath } from "../../components/spec/where";
import { renderMembersFile } from "../../components/membership/renderMembership";
import { ClusterSpec, RawClusterConfig } from "../../components/spec/types";
import { spec } from "./fixtures";

export const localEp = "https://127.0.0.1:2379";
export const client = (n: number) => `https://10.213.0.1${n}:2379`;
export const peer = (n: number) => `https://10.213.0.1${n}:2380`;
export const ids: Record<number, string> = { 1: "8e9e05c52164694d", 2: "91bc3c398fb3c146", 3: "fd422379fda50e48", 4: "a1b2c3d4e5f60718", 5: "b2c3d4e5f6071829" };
/** One `member list -w simple` row: ID, status, name, peer URLs, client URLs, is learner. */
export const row = (n: number, o: { learner?: boolean; name?: string; peer?: string; client?: string; id?: string } = {}) =>
    `${o.id ?? ids[n]}, started, ${o.name ?? `lab-${n}`}, ${o.peer ?? peer(n)}, ${o.client ?? client(n)}, ${o.learner ?? false}`;

/**
 * The fake etcdctl. Every call must carry a dial and a command timeout; only the client URLs of
 * listed members and this host's answer (a URL run together from two is no etcd). State in $FAKE: `list` (member list rows), `down` (client URLs that answer
 * nothing), `leader` (the leader's client URL), `local` (what 127.0.0.1 is), `refuse-promote`
 * (how many promotes etcd refuses, or `always`), `unhealthy-after-remove` (how many health checks
 * fail after a removal), `add-unhealthy` (how many adds fail "unhealthy cluster"), `add-error`
 * (an add's permanent error), `log` (one line per call: command @endpoints).
 */
export const fakeEtcdctl = `#!/bin/sh
eps=""; w=simple; skip=""; cmd=""; url=""; dial=""; timeout=""
for a; do
  if [ -n "$skip" ]; then case "$skip" in --endpoints) eps=$a ;; -w) w=$a ;; esac; skip=""; continue; fi
  case "$a" in
    --endpoints|-w|--cacert|--cert|--key) skip=$a ;;
    --peer-urls=*) url=\${a#--peer-urls=} ;;
    --dial-timeout=*) dial=\${a#*=} ;;
    --command-timeout=*) timeout=\${a#*=} ;;
    -*) ;;
    *) cmd="\${cmd:+$cmd }$a" ;;
  esac
done
echo "etcdctl $cmd @$eps" >> "$FAKE/log"
# Every call is bounded: a dead member must not hang a step.
[ -n "$dial" ] && [ -n "$timeout" ] || { echo "fake etcdctl: unbounded call (no --dial-timeout or --command-timeout): $*" >&2; echo "UNBOUNDED $cmd" >> "$FAKE/log"; exit 1; }
down=$(cat "$FAKE/down"); local=$(cat "$FAKE/local"); nl='
'
# Client URLs that can answer: those of listed members and this host's; any other is no etcd at all.
known=$(awk -F', ' '{print $5}' "$FAKE/list")
answering=""; failed=""
IFS=,; for ep in $eps; do
  [ "$ep" != ${localEp} ] || ep=$local
  case "$nl$down$nl" in
    *"$nl$ep$nl"*) failed="$failed $ep" ;;
    *) case "$nl$known$nl$local$nl" in *"$nl$ep$nl"*) answering="$answering $ep" ;; *) failed="$failed $ep" ;; esac ;;
  esac
done; unset IFS
count() { n=$(cat "$FAKE/$1" 2>/dev/null || echo 0); [ "$n" = always ] && return 0; [ "$n" -gt 0 ] || return 1; echo $((n - 1)) > "$FAKE/$1"; }
case "$cmd" in
  "endpoint status"|"endpoint health") [ -z "$failed" ] || { echo "Error: context deadline exceeded" >&2; exit 1; } ;;
  *) [ -n "$answering" ] || { echo "Error: context deadline exceeded" >&2; exit 1; } ;;
esac
leader=$(cat "$FAKE/leader" 2>/dev/null || true)
rewrite() { awk -F', ' -v OFS=', ' "$1" "$FAKE/list" > "$FAKE/list.new"; mv "$FAKE/list.new" "$FAKE/list"; }
case "$cmd" in
  "member list") cat "$FAKE/list" ;;
  "endpoint status")
    for ep in $answering; do
      id=$(awk -F', ' -v u="$ep" '$5 == u {print $1}' "$FAKE/list")
      if [ "$w" = table ]; then
        echo "+------------------------+------------------+---------+-----------+------------+--------+"
        echo "|        ENDPOINT        |        ID        | VERSION | IS LEADER | IS LEARNER | ERRORS |"
        echo "+------------------------+------------------+---------+-----------+------------+--------+"
        echo "| $ep | $id |  3.6.16 | $([ "$ep" = "$leader" ] && echo true || echo false) |      false |        |"
        echo "+------------------------+------------------+---------+-----------+------------+--------+"
      else
        printf '"MemberID" : 2\\n"Leader" : %s\\n"Endpoint" : "%s"\\n' "$([ -n "$leader" ] && echo 10276657743932975437 || echo 0)" "$ep"
      fi
    done ;;
  "endpoint health")
    if count unhealthy; then echo "$eps is unhealthy: failed to commit proposal: context deadline exceeded" >&2; echo "Error: unhealthy cluster" >&2; exit 1; fi
    for ep in $answering; do echo "$ep is healthy: successfully committed proposal: took = 2.1ms"; done ;;
  "member promote "*)
    id=\${cmd##* }
    if count refuse-promote; then echo "Error: etcdserver: can only promote a learner member which is in sync with leader" >&2; exit 1; fi
    rewrite "\\$1 == \\"$id\\" { \\$6 = \\"false\\" } { print }"
    echo "Member $id promoted in cluster 5a0c3e4b1c1d2e3f" ;;
  "member remove "*)
    id=\${cmd##* }
    rewrite "\\$1 != \\"$id\\""
    cp "$FAKE/unhealthy-after-remove" "$FAKE/unhealthy" 2>/dev/null || true
    echo "Member $id removed from cluster 5a0c3e4b1c1d2e3f" ;;
  "member add "*)
    name=\${cmd#member add }
    if count add-unhealthy; then echo "Error: etcdserver: unhealthy cluster" >&2; exit 1; fi
    if [ -s "$FAKE/add-error" ]; then cat "$FAKE/add-error" >&2; exit 1; fi
    initial=$(awk -F', ' '$3 != "" { printf "%s=%s,", $3, $4 }' "$FAKE/list")
    echo "ffffffffffffff99, unstarted, , $url, , true" >> "$FAKE/list"
    echo "Member ffffffffffffff99 added to cluster 5a0c3e4b1c1d2e3f"
    echo
    echo "ETCD_NAME=\\"$name\\""
    echo "ETCD_INITIAL_CLUSTER=\\"$initial$name=$url\\""
    echo "ETCD_INITIAL_ADVERTISE_PEER_URLS=\\"$url\\""
    echo "ETCD_INITIAL_CLUSTER_STATE=\\"existing\\"" ;;
  "member update "*)
    id=\${cmd##* }
    rewrite "\\$1 == \\"$id\\" { \\$4 = \\"$url\\" } { print }"
    echo "Member $id updated in cluster 5a0c3e4b1c1d2e3f" ;;
  "move-leader "*)
    id=\${cmd##* }
    awk -F', ' -v id="$id" '$1 == id {print $5}' "$FAKE/list" > "$FAKE/leader"
    echo "Leadership transferred from 1 to $id" ;;
  *) echo "unexpected etcdctl $*" >&2; exit 1 ;;
esac
`;

/** The fake systemctl: logs every call; `is-active` answers from $FAKE/active (present: active). */
export const fakeSystemctl = `#!/bin/sh
echo "systemctl $*" >> "$FAKE/log"
case "$1" in
  is-active) [ -e "$FAKE/active" ] || exit 3 ;;
  stop) [ -e "$FAKE/stuck" ] || rm -f "$FAKE/active" ;;
  start) : > "$FAKE/active" ;;
esac
exit 0
`;

export interface Cluster {
    list: string[];
    /** Members (by number) whose etcd answers nothing. */
    down?: number[];
    leader?: number;
    /** This host's member (by number). */
    local: number;
    refusePromote?: number | "always";
    unhealthyAfterRemove?: number;
    addUnhealthy?: number;
    addError?: string;
    /** This host's etcd unit active (default true). */
    active?: boolean;
    /** `systemctl stop` leaves the unit active. */
    stuck?: boolean;
}

export interface Host {
    dir: string;
    spec: ClusterSpec;
    data: string;
    /** Runs `script` as this host's root would, against the cluster `c`; stdin as given. */
    run: (c: Cluster, script: string, stdin?: string) => { status: number | null; stdout: string; stderr: string; log: string[]; list: string[] };
}

/** `overrides` of the fixture's stack config, or a function of the host's temp dir giving them. */
export function makeHost(healthTimeoutSeconds = 2, overrides: Partial<RawClusterConfig> | ((dir: string) => Partial<RawClusterConfig>) = {}): Host {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-membership-"));
    const bin = path.join(dir, "bin"), fake = path.join(dir, "fake"), data = path.join(dir, "data");
    for (const d of [bin, fake, path.join(dir, "config"), data]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(bin, "etcdctl"), fakeEtcdctl, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "systemctl"), fakeSystemctl, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "journalctl"), "#!/bin/sh\necho 'journal: lab-2 is catching up'\n", { mode: 0o755 });
    // The join's TCP probe (bash /dev/tcp): the port is open, so etcdctl is asked.
    fs.writeFileSync(path.join(bin, "bash"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    // An adopted etcd's data is handed to the etcd user: recorded, not done (tests do not run as root).
    fs.writeFileSync(path.join(bin, "chown"), `#!/bin/sh\necho "chown $*" >> "$FAKE/log"\n`, { mode: 0o755 });
    const s = spec({ dirs: { config: path.join(dir, "config"), data, pki: path.join(dir, "pki") }, healthTimeoutSeconds, ...(typeof overrides === "function" ? overrides(dir) : overrides) });
    fs.writeFileSync(membersFilePath(s), renderMembersFile(s));
    return {
        dir, spec: s, data,
        run: (c, script, stdin = "") => {
            fs.writeFileSync(path.join(fake, "list"), c.list.join("\n") + "\n");
            fs.writeFileSync(path.join(fake, "down"), (c.down ?? []).map((n) => client(n) + "\n").join(""));
            fs.writeFileSync(path.join(fake, "leader"), c.leader === undefined ? "" : client(c.leader));
            fs.writeFileSync(path.join(fake, "local"), client(c.local));
            for (const f of ["refuse-promote", "unhealthy-after-remove", "unhealthy", "add-unhealthy", "add-error", "active", "stuck"]) fs.rmSync(path.join(fake, f), { force: true });
            if (c.refusePromote !== undefined) fs.writeFileSync(path.join(fake, "refuse-promote"), String(c.refusePromote));
            if (c.unhealthyAfterRemove !== undefined) fs.writeFileSync(path.join(fake, "unhealthy-after-remove"), String(c.unhealthyAfterRemove));
            if (c.addUnhealthy !== undefined) fs.writeFileSync(path.join(fake, "add-unhealthy"), String(c.addUnhealthy));
            if (c.addError !== undefined) fs.writeFileSync(path.join(fake, "add-error"), c.addError);
            if (c.active ?? true) fs.writeFileSync(path.join(fake, "active"), "");
            if (c.stuck) fs.writeFileSync(path.join(fake, "stuck"), "");
            fs.writeFileSync(path.join(fake, "log"), "");
            const r = spawnSync("sh", ["-c", script.split("/usr/local/bin/etcdctl").join(path.join(bin, "etcdctl"))], {
                encoding: "utf8", input: stdin, timeout: 30_000,
                env: { ...process.env, FAKE: fake, PATH: `${bin}:${process.env.PATH}` },
            });
            const log = fs.readFileSync(path.join(fake, "log"), "utf8").trim().split("\n").filter((l) => l !== "");
            const list = fs.readFileSync(path.join(fake, "list"), "utf8").trim().split("\n");
            return { status: r.status, stdout: r.stdout, stderr: r.stderr, log, list };
        },
    };
}

/** The calls that change the cluster or the unit, in order. */
export const changes = (log: string[]) => log.filter((l) => /^etcdctl (member (promote|remove|add|update)|move-leader)|^systemctl (stop|start|restart)/.test(l));
export const voters3 = [row(1), row(2), row(3)];


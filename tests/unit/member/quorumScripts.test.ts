/**
 * The quorum counts of the scripts that stop or remove a member, proven by running the rendered
 * scripts under sh against a fake cluster: a fake `etcdctl` that answers `member list -w simple`,
 * `endpoint status` (-w fields / -w table), `endpoint health`, `move-leader` and `member remove`
 * as real etcdctl prints them, and a fake `systemctl`; both record their calls.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderRestartScript } from "../../../components/member/render";
import { renderSequence } from "../../../components/shell/script";
import { appliedInputsPath, membersFilePath } from "../../../components/spec/where";
import { joinRecordPath, renderLiveHealthScript, renderMembersFile, renderPromoteScript, renderReconcileMembershipScript, renderRemovalCheckScript } from "../../../components/membership/renderMembership";
import { parseLiveHealth } from "../../../components/plan/planResource";
import { ClusterSpec } from "../../../components/spec/types";
import { spec } from "../fixtures";

const localEp = "https://127.0.0.1:2379";
const url = (n: number, port = 2379) => `https://10.213.0.1${n}:${port}`;
const ids: Record<number, string> = { 1: "8e9e05c52164694d", 2: "91bc3c398fb3c146", 3: "fd422379fda50e48", 4: "a1b2c3d4e5f60718", 5: "b2c3d4e5f6071829" };
/** One `member list -w simple` row: ID, status, name, peer URLs, client URLs, is learner. */
const row = (n: number, learner = false, name = `lab-${n}`) => `${ids[n]}, started, ${name}, ${url(n, 2380)}, ${url(n)}, ${learner}`;

/**
 * The fake etcdctl. State in $FAKE: `list` (the member list), `down` (client URLs that answer
 * nothing, one a line), `alarm` (present: NOSPACE raised, so `endpoint health` fails everywhere
 * while `endpoint status` answers), `leader` (the leader's client URL), `local` (what
 * 127.0.0.1 is), `log` (calls that matter).
 */
const fakeEtcdctl = `#!/bin/sh
eps=""; w=simple; prev=""
for a; do case "$prev" in --endpoints) eps=$a ;; -w) w=$a ;; esac; prev=$a; done
cmd=$(echo "$*" | grep -o -E 'member list|endpoint status|endpoint health|alarm list|move-leader [0-9a-f]+|member remove [0-9a-f]+')
echo "etcdctl $cmd @$eps" >> "$FAKE/log"
answering=""; failed=""
for ep in $(echo "$eps" | tr ',' ' '); do
  [ "$ep" != ${localEp} ] || ep=$(cat "$FAKE/local")
  if grep -qxF "$ep" "$FAKE/down" 2>/dev/null; then failed="$failed $ep"; else answering="$answering $ep"; fi
done
leader=$(cat "$FAKE/leader" 2>/dev/null || true)
case "$cmd" in
  "member list")
    [ -n "$answering" ] || { echo "Error: context deadline exceeded" >&2; exit 1; }
    cat "$FAKE/list" ;;
  "endpoint status")
    for ep in $answering; do
      id=$(awk -F', ' -v u="$ep" '$5 == u {print $1}' "$FAKE/list")
      errors="[]"; [ ! -e "$FAKE/alarm" ] || errors="[memberID:1234 alarm:NOSPACE ]"
      if [ "$w" = table ]; then
        echo "+------------------------+------------------+---------+-----------+------------+--------+"
        echo "|        ENDPOINT        |        ID        | VERSION | IS LEADER | IS LEARNER | ERRORS |"
        echo "+------------------------+------------------+---------+-----------+------------+--------+"
        echo "| $ep | $id |  3.6.16 | $([ "$ep" = "$leader" ] && echo true || echo false) |      false | $errors |"
        echo "+------------------------+------------------+---------+-----------+------------+--------+"
      else
        printf '"ClusterID" : 1\\n"MemberID" : 2\\n"Revision" : 9\\n"RaftTerm" : 3\\n"Version" : "3.6.16"\\n"DBSize" : 20480\\n'
        printf '"Leader" : %s\\n"RaftIndex" : 9\\n"RaftTerm" : 3\\n"RaftAppliedIndex" : 9\\n"Errors" : %s\\n"Endpoint" : "%s"\\n\\n' "$([ -n "$leader" ] && echo 10276657743932975437 || echo 0)" "$errors" "$ep"
      fi
    done
    for ep in $failed; do echo "{\\"level\\":\\"warn\\",\\"msg\\":\\"retrying of unary invoker failed\\",\\"target\\":\\"$ep\\"}" >&2; done
    [ -z "$failed" ] || { echo "Error: context deadline exceeded" >&2; exit 1; } ;;
  "endpoint health")
    bad=0
    for ep in $failed; do echo "$ep is unhealthy: failed to commit proposal: context deadline exceeded" >&2; bad=1; done
    for ep in $answering; do
      if [ -e "$FAKE/alarm" ]; then echo "$ep is unhealthy: failed to commit proposal: Active Alarm(s): NOSPACE " >&2; bad=1
      else echo "$ep is healthy: successfully committed proposal: took = 2.1ms"; fi
    done
    [ "$bad" = 0 ] || { echo "Error: unhealthy cluster" >&2; exit 1; } ;;
  "alarm list")
    [ -n "$answering" ] || { echo "Error: context deadline exceeded" >&2; exit 1; }
    [ ! -e "$FAKE/alarm" ] || echo "memberID:1234 alarm:$(cat "$FAKE/alarm") " ;;
  move-leader*|"member remove"*)
    [ -n "$answering" ] || { echo "Error: context deadline exceeded" >&2; exit 1; }
    echo "done" ;;
esac
`;

/** The fake systemctl: logs every call; `restart` starts a new process, which answers from then on. */
const fakeSystemctl = `#!/bin/sh
echo "systemctl $*" >> "$FAKE/log"
case "$1" in
  show) cat "$FAKE/pid" ;;
  is-active) [ "$(cat "$FAKE/pid")" != 0 ] || exit 3 ;;
  restart|start|stop) if [ "$1" = stop ]; then echo 0; else echo 4242; fi > "$FAKE/pid"
    grep -vxF "$(cat "$FAKE/local")" "$FAKE/down" > "$FAKE/down.new" || true; mv "$FAKE/down.new" "$FAKE/down" ;;
esac
exit 0
`;

interface Cluster {
    /** Member list rows. */
    list: string[];
    /** Members (by number) whose etcd answers nothing. */
    down?: number[];
    /** An alarm raised (true: NOSPACE). */
    alarm?: boolean | "NOSPACE" | "CORRUPT";
    /** The leader's number. */
    leader?: number;
    /** This host's member (by number). */
    local: number;
    /** This host's etcd MainPID (0: not running). */
    pid?: number;
}

/** A fake cluster in a temporary directory; runs `render(spec)` as this host's root would. */
function withCluster<T>(fn: (run: (c: Cluster, render: (s: ClusterSpec) => string) => { status: number | null; stdout: string; stderr: string; log: string[] }) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-quorum-"));
    try {
        const bin = path.join(dir, "bin"), fake = path.join(dir, "fake");
        for (const d of [bin, fake, path.join(dir, "config"), path.join(dir, "data", "member")]) fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(path.join(bin, "etcdctl"), fakeEtcdctl, { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "systemctl"), fakeSystemctl, { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "journalctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const local = spec({ dirs: { config: path.join(dir, "config"), data: path.join(dir, "data"), pki: path.join(dir, "pki") }, healthTimeoutSeconds: 2 });
        fs.writeFileSync(membersFilePath(local), renderMembersFile(local));
        return fn((c, render) => {
            fs.writeFileSync(path.join(fake, "list"), c.list.join("\n") + "\n");
            fs.writeFileSync(path.join(fake, "down"), (c.down ?? []).map((n) => url(n) + "\n").join(""));
            fs.rmSync(path.join(fake, "alarm"), { force: true });
            if (c.alarm) fs.writeFileSync(path.join(fake, "alarm"), c.alarm === true ? "NOSPACE" : c.alarm);
            fs.writeFileSync(path.join(fake, "leader"), c.leader === undefined ? "" : url(c.leader));
            fs.writeFileSync(path.join(fake, "local"), url(c.local));
            fs.writeFileSync(path.join(fake, "pid"), `${c.pid ?? 1000}\n`);
            fs.writeFileSync(path.join(fake, "log"), "");
            fs.writeFileSync(appliedInputsPath(local), "an-older-digest\n");
            const script = render(local).split("/usr/local/bin/etcdctl").join(path.join(bin, "etcdctl"));
            const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, FAKE: fake, PATH: `${bin}:${process.env.PATH}` } });
            const log = fs.readFileSync(path.join(fake, "log"), "utf8").trim().split("\n");
            return { status: r.status, stdout: r.stdout, stderr: r.stderr, log };
        });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The restart script of member `n` (1-based), with new inputs. */
const restartOf = (n: number) => (s: ClusterSpec) => renderRestartScript(s, s.members[n - 1], "a-new-digest");
const stops = (log: string[]) => log.filter((l) => /^systemctl (restart|stop|kill)/.test(l));
const voters3 = [row(1), row(2), row(3)];

describe("quorum scripts: the restart counts the other voters before it stops one (run by sh against a fake cluster)", function () {
    this.timeout(20_000);

    it("NOSPACE: local `endpoint health` fails, `endpoint status` answers, one of 3 voters down: refused, nothing stopped", () => withCluster((run) => {
        const r = run({ list: voters3, down: [3], alarm: true, leader: 1, local: 2 }, restartOf(2));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.deepEqual(stops(r.log), [], "nothing stopped");
        assert.match(r.stderr, /refusing to restart lab-2: with lab-2 stopped, 1 of its 3 voters would be up \(a quorum is 2\); voters: lab-1 \(up\), lab-2 \(this member\), lab-3 \(down\); nothing was stopped/);
    }));

    it("3 voters, all healthy, this member leading: hands leadership on (to the member the roll reaches last), then restarts", () => withCluster((run) => {
        const r = run({ list: voters3, leader: 2, local: 2 }, restartOf(2));
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const moved = r.log.findIndex((l) => l.startsWith(`etcdctl move-leader ${ids[3]} `));
        const restarted = r.log.findIndex((l) => l.startsWith("systemctl restart"));
        assert.ok(moved >= 0 && restarted > moved, `move-leader to lab-3, then restart:\n${r.log.join("\n")}`);
        assert.match(r.stdout, /lab-2: handed leadership to lab-3/);
    }));

    it("3 voters, all healthy, not leading: restarts without moving leadership", () => withCluster((run) => {
        const r = run({ list: voters3, leader: 1, local: 2 }, restartOf(2));
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.equal(stops(r.log).length, 1);
        assert.ok(!r.log.some((l) => l.includes("move-leader")));
    }));

    it("NOSPACE on every member, all 3 voters up, this member leading: leadership is handed on, the member restarts and the roll goes on, with a warning to disarm", () => withCluster((run) => {
        // Raising the quota (a roll) is the documented remedy, before the alarm is disarmed: the
        // wait after the restart takes a serving member with only NOSPACE raised as done.
        const r = run({ list: voters3, alarm: true, leader: 2, local: 2 }, restartOf(2));
        const moved = r.log.findIndex((l) => l.startsWith(`etcdctl move-leader ${ids[3]} `));
        const restarted = r.log.findIndex((l) => l.startsWith("systemctl restart"));
        assert.ok(moved >= 0 && restarted > moved, `move-leader, then restart:\n${r.log.join("\n")}\n${r.stderr}`);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /warning: lab-2 serves, and the cluster's NOSPACE alarm is still raised: .*npm run maintenance/);
        assert.match(r.stdout, /restarted etcd\.service on lab-2/);
    }));

    it("another alarm (CORRUPT) is not waived: the restart ends at the health timeout, naming the member", () => withCluster((run) => {
        const r = run({ list: voters3, alarm: "CORRUPT", leader: 1, local: 2 }, restartOf(2));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /member lab-2 not healthy after 2s/);
    }));

    it("3 voters + 2 learners, one voter down: refused (learners are not counted), nothing stopped", () => withCluster((run) => {
        const r = run({ list: [...voters3, row(4, true, "lab-4"), row(5, true, "lab-5")], down: [3], leader: 1, local: 2 }, restartOf(2));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.deepEqual(stops(r.log), []);
        assert.match(r.stderr, /1 of its 3 voters would be up \(a quorum is 2\); voters: lab-1 \(up\), lab-2 \(this member\), lab-3 \(down\);/);
    }));

    it("this member down (its process answers nothing), the others healthy: restarted", () => withCluster((run) => {
        const r = run({ list: voters3, down: [2], leader: 1, local: 2 }, restartOf(2));
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.equal(stops(r.log).length, 1);
    }));

    it("this member running but not answering, another voter down: refused, nothing stopped", () => withCluster((run) => {
        const r = run({ list: voters3, down: [2, 3], leader: 1, local: 2 }, restartOf(2));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.deepEqual(stops(r.log), []);
        assert.match(r.stderr, /refusing to restart lab-2: with lab-2 stopped, 1 of its 3 voters would be up/);
    }));

    it("no member answers and this member's etcd runs: refused, naming what was asked, nothing stopped", () => withCluster((run) => {
        const r = run({ list: voters3, down: [1, 2, 3], local: 2 }, restartOf(2));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.deepEqual(stops(r.log), []);
        assert.match(r.stderr, /refusing to restart lab-2: no member answers \(asked https:\/\/127\.0\.0\.1:2379,https:\/\/10\.213\.0\.11:2379,https:\/\/10\.213\.0\.13:2379\), so its voters cannot be counted; nothing was stopped/);
    }));

    it("this member's etcd is not running (no process: stopping it takes no vote away), the others down: started anyway, with a warning", () => withCluster((run) => {
        const r = run({ list: voters3, down: [1, 2, 3], local: 2, pid: 0 }, restartOf(2));
        assert.equal(stops(r.log).length, 1, r.stdout + r.stderr);
        assert.match(r.stdout + r.stderr, /lab-2's etcd is not running/);
    }));
});

describe("quorum scripts: the removal check and the membership reconcile count only voters among the members that stay (run by sh)", function () {
    this.timeout(20_000);
    // The stack lists lab-1..lab-3. lab-3 is a learner still catching up; old-4 (a voter the stack
    // no longer lists) leaves; lab-2 is down. Voters that stay: lab-1 (up), lab-2 (down): removing
    // old-4 would leave 1 of 2, no quorum (counting the learner would see 2 of 3).
    const list = [row(1), row(2), row(3, true), row(4, false, "old-4")];

    it("the removal check refuses, counting 1 of 2 voting members that stay", () => withCluster((run) => {
        const r = run({ list, down: [2], leader: 1, local: 1 }, renderRemovalCheckScript);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /refusing to remove old-4: only 1 of the 2 voting members that stay are up \(quorum 2\); nothing was changed/);
    }));

    it("the reconcile refuses the same way and removes nothing", () => withCluster((run) => {
        const r = run({ list, down: [2], leader: 1, local: 1 }, renderReconcileMembershipScript);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.ok(!r.log.some((l) => l.includes("member remove")), r.log.join("\n"));
    }));

    it("with lab-2 up, removing old-4 keeps a quorum of voters: allowed", () => withCluster((run) => {
        const r = run({ list, leader: 1, local: 1 }, renderRemovalCheckScript);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /removing old-4 keeps a quorum: 2 of the 2 voting members that stay are up \(quorum 2\)/);
    }));
});

describe("quorum scripts: a member removed by hand, with a config change (the service step's restart then promote, run by sh)", function () {
    this.timeout(20_000);

    it("the restart leaves it stopped and the promote steps aside, so the step ends and the membership step can add it back", () => withCluster((run) => {
        const r = run({ list: [row(1), row(3)], leader: 1, local: 2 }, (s) => {
            fs.writeFileSync(joinRecordPath(s), "initial-cluster-state=existing\ninitial-cluster=lab-1=https://10.213.0.11:2380,lab-2=https://10.213.0.12:2380\n");
            return renderSequence(restartOf(2)(s), renderPromoteScript(s, s.members[1]));
        });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(stops(r.log), []);
        assert.match(r.stdout, /lab-2 is not a member of the cluster \(removed by hand\?\): not restarted/);
        assert.match(r.stdout, /lab-2 is not in the member list \(removed by hand\?\): not promoted; the cluster's membership step adds it back/);
    }));
});

describe("quorum scripts: the live health a refresh reads for the plan (run by sh against a fake cluster)", function () {
    this.timeout(20_000);

    it("names each of the stack's members serving or down, and the leader, by the same liveness the restart counts", () => withCluster((run) => {
        const r = run({ list: voters3, down: [3], leader: 2, local: 1 }, renderLiveHealthScript);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(r.stdout.trim().split("\n"), ["live lab-1 serving", "live lab-2 serving leader", "live lab-3 down"]);
        assert.deepEqual(parseLiveHealth(r.stdout), { unhealthy: ["lab-3"], leader: "lab-2" });
        // Read-only: asked each member's status, nothing else.
        assert.deepEqual(r.log.filter((l) => !/^etcdctl endpoint status @https:\/\/10\.213\.0\.1[123]:2379$/.test(l)), []);
    }));

    it("under NOSPACE every member still serves (it votes): none is unhealthy", () => withCluster((run) => {
        const r = run({ list: voters3, alarm: true, leader: 1, local: 1 }, renderLiveHealthScript);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(parseLiveHealth(r.stdout), { unhealthy: [], leader: "lab-1" });
    }));

    it("no leader (a quorum lost): every member down, no leader named, and the script still succeeds", () => withCluster((run) => {
        const r = run({ list: voters3, down: [2, 3], local: 1 }, renderLiveHealthScript);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(parseLiveHealth(r.stdout), { unhealthy: ["lab-1", "lab-2", "lab-3"] });
    }));

    it("parses only its own lines: anything else, or a hostile name, is not a member", () => {
        assert.deepEqual(parseLiveHealth("noise\nlive lab-1 serving\nlive $(x) down\nlive lab-2 down leader\n"), { unhealthy: ["lab-2"] });
    });
});

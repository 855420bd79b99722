import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderHostKeyCheckScript } from "../../components/host/renderHostKeyCheck";
import { renderReleaseCheckScript, renderStageReleaseScript, unpackedReleaseDir } from "../../components/host/renderRelease";
import { handoffOrder, renderEtcdConfig, renderInstallBinariesScript, renderPreflightScript, renderPrepareHostScript, renderRemoveDirsScript, renderRepairRestartScript, renderRestartScript, renderStartScript, renderStopScript, renderUnit } from "../../components/member/render";
import { renderHealthGateScript } from "../../components/membership/renderMembership";
import { renderScriptBundle, renderSequence, renderStdinRunner, shq } from "../../components/shell/script";
import { initialCluster, membersFilePath } from "../../components/spec/where";
import { renderDefragScript, renderDefragTimer, renderDefragUnit } from "../../components/maintenance/renderDefrag";
import { renderApplyScript, renderInspectScript } from "../../components/host/renderHostFiles";
import { renderRestoreScript, stagedSnapshotPath } from "../../components/maintenance/renderRestore";
import * as paths from "../../components/base/paths";
import { renderSnapshotScript, renderSnapshotTimer, renderSnapshotUnit } from "../../components/maintenance/renderSnapshots";
import {
    joinPlaceholders, renderFillJoinDecision, renderJoinScript, renderLiveHealthScript, renderMemberListScript, renderMembersFile, renderPromoteScript, renderReconcileMembershipScript,
    renderDataProbeScript, renderRejoinScript, renderRemovalCheckScript, renderUnfillJoinDecision,
} from "../../components/membership/renderMembership";
import { spec } from "./fixtures";
import { golden } from "./golden";


describe("render: golden files", () => {
    const s = spec();
    const m = s.members[0];
    const adopting = { ...s.members[0], adopt: { unit: "etcd-legacy.service", dataDir: "/var/lib/etcd-legacy" } };
    it("etcd config", () => golden("member/etcd.conf.yml", renderEtcdConfig(s, m, { token: "lab-0123456789abcdef", initialClusterState: "new" })));
    it("systemd unit", () => golden("member/etcd.service", renderUnit(s, m)));
    it("preflight script", () => golden("member/preflight.sh", renderPreflightScript(s, m, "2026-11-23T08:00:00Z")));
    it("prepare-host script", () => golden("member/prepare-host.sh", renderPrepareHostScript(s)));
    it("install script", () => golden("member/install.sh", renderInstallBinariesScript(s, "/var/lib/etcd-stack/releases/etcd.tar.gz", "b".repeat(64))));
    it("stage-release script (url)", () => golden("host/stage-release-url.sh", renderStageReleaseScript("/var/lib/etcd-stack/releases/etcd-v3.6.16.tar.gz", "a".repeat(64), { url: "https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz" })));
    it("stage-release script (local tarball)", () => golden("host/stage-release-local.sh", renderStageReleaseScript("/var/lib/etcd-stack/releases/etcd.tar.gz", "b".repeat(64), { stdin: true })));
    it("release check script", () => golden("host/release-check.sh", renderReleaseCheckScript("/var/lib/etcd-stack/releases/etcd.tar.gz", "b".repeat(64))));
    const digest = "d".repeat(64);
    it("start script", () => golden("member/start.sh", renderStartScript(s, digest)));
    it("restart script", () => golden("member/restart.sh", renderRestartScript(s, s.members[1], digest)));
    it("remove-dirs script", () => golden("member/remove-dirs.sh", renderRemoveDirsScript(s, m)));
    it("join script", () => golden("membership/join.sh", renderJoinScript(s, s.members[1])));
    it("promote script", () => golden("membership/promote.sh", renderPromoteScript(s, s.members[1])));
    it("host key check script", () => golden("host/host-key-check.sh", renderHostKeyCheckScript(m, m.hostKey!)));
    it("restore script", () => golden("maintenance/restore.sh", renderRestoreScript(s, s.members[1], { snapshotPath: "/tmp/backup.db", sha256: "d".repeat(64), id: "dddddddddddd" }, "lab-0123456789abcdef")));
    it("join script of a member taking over an existing etcd", () => golden("membership/join-adopt.sh", renderJoinScript(s, adopting)));
    it("preflight of a member taking over an existing etcd", () => golden("member/preflight-adopt.sh", renderPreflightScript(s, adopting, "2026-11-23T08:00:00Z")));
    it("membership reconcile script", () => golden("membership/membership.sh", renderReconcileMembershipScript(s)));
    it("member list script", () => golden("membership/member-list.sh", renderMemberListScript(s)));
    it("live health script (a refresh's, for the plan)", () => golden("membership/live-health.sh", renderLiveHealthScript(s)));
    it("rejoin script (a member removed by hand, or its data wiped)", () => golden("membership/rejoin.sh", renderRejoinScript(s, s.members[1])));
    it("removal check script", () => golden("membership/removal-check.sh", renderRemovalCheckScript(s)));
    it("data probe script", () => golden("membership/data-probe.sh", renderDataProbeScript(s)));
    const snaps = spec({ snapshots: { onCalendar: "hourly", keep: 48, maxAgeDays: 7 } });
    it("snapshot script", () => golden("maintenance/etcd-snapshot.sh", renderSnapshotScript(snaps, snaps.snapshots!)));
    it("snapshot unit and timer", () => golden("maintenance/etcd-snapshot.units", renderSnapshotUnit() + "---\n" + renderSnapshotTimer(snaps.snapshots!)));
    const defrag = spec({ defrag: { onCalendar: "weekly" } });
    it("defrag script", () => golden("maintenance/etcd-defrag.sh", renderDefragScript(defrag)));
    it("defrag unit and timer", () => golden("maintenance/etcd-defrag.units", renderDefragUnit() + "---\n" + renderDefragTimer(defrag.defrag!)));
    it("stdin runner and script bundle", () => golden("shell/runner-and-bundle.sh",
        renderStdinRunner("lab-1 service", "update") + "\n# --- stdin ---\n" + renderScriptBundle({ create: "set -eu\necho a\n", update: "set -eu\necho b\n" })));
    it("stop script", () => golden("member/stop.sh", renderStopScript(s, m)));
    it("health gate script", () => golden("membership/health-gate.sh", renderHealthGateScript(s)));
    const hostFiles = [
        { path: "/etc/etcd/pki/server.key", mode: "0600", owner: "etcd:etcd", readByEtcd: true },
        { path: "/etc/etcd/etcd.conf.yml", mode: "0644", owner: "root:root", readByEtcd: true, fill: renderFillJoinDecision(s), unfill: renderUnfillJoinDecision() },
        { path: "/etc/etcd/etcd-stack.members", mode: "0644", owner: "root:root", readByEtcd: false },
    ];
    const hostChecks = { unit: "etcd.service", binaries: { tarball: "/var/lib/etcd-stack/releases/etcd-v3.6.16-0123456789ab.tar.gz", sha256: "b".repeat(64) } };
    it("host files: first write", () => golden("host/host-files-create.sh", renderApplyScript(hostFiles, hostChecks, { repair: false })));
    it("host files: write with repair", () => golden("host/host-files-update.sh", renderApplyScript(hostFiles, hostChecks, { repair: true, restartScript: renderRepairRestartScript(s, m) })));
    it("host files: read back", () => golden("host/host-files-inspect.sh", renderInspectScript(hostFiles, hostChecks)));
});

describe("render: semantics", () => {
    const s = spec();
    const cfg = renderEtcdConfig(s, s.members[1], { token: "t", initialClusterState: "new" });

    it("a sequence runs its parts in order, an early `exit 0` ending only its own part, and stops at the first failure", () => {
        const run = (...parts: string[]) => spawnSync("sh", ["-c", renderSequence(...parts)], { encoding: "utf8" });
        const ok = run("set -eu\necho one; exit 0; echo never\n", "set -eu\necho two\n");
        assert.equal(ok.status, 0);
        assert.equal(ok.stdout, "one\ntwo\n");
        const failed = run("set -eu\necho one; exit 3\n", "set -eu\necho two\n");
        assert.equal(failed.status, 3);
        assert.equal(failed.stdout, "one\n");
        const unset = run("set -eu\necho \"$nope\"\n", "echo two\n");
        assert.notEqual(unset.status, 0, "set -u inside a part still fails the sequence");
        assert.equal(unset.stdout, "");
    });

    it("serves clients and peers over TLS only, with client certificate auth on both", () => {
        const urls = cfg.split("\n").filter((l) => /-urls:/.test(l));
        for (const l of urls.filter((l) => !l.startsWith("listen-metrics-urls"))) {
            assert.doesNotMatch(l, /http:\/\//, l);
        }
        assert.match(cfg, /^listen-metrics-urls: "http:\/\/127\.0\.0\.1:2381"$/m);
        assert.equal((cfg.match(/client-cert-auth: true/g) ?? []).length, 2);
        assert.equal((cfg.match(/auto-tls: false/g) ?? []).length, 2);
        // Only certificates with the peer CN may speak on the peer port; client certificates may not.
        assert.match(cfg, /^peer-transport-security:\n(  .*\n)*  allowed-cn: \["etcd-peer"\]$/m);
    });

    it("lists every member in initial-cluster", () => {
        assert.equal(initialCluster(s), "lab-1=https://10.213.0.11:2380,lab-2=https://10.213.0.12:2380,lab-3=https://10.213.0.13:2380");
        assert.match(cfg, /^name: "lab-2"$/m);
        assert.match(cfg, /^advertise-client-urls: "https:\/\/10\.213\.0\.12:2379"$/m);
    });

    it("brackets IPv6 addresses in URLs", () => {
        const v6 = spec({ members: [{ name: "a", address: "fd00::1" }, { name: "b", address: "fd00::2" }, { name: "c", address: "fd00::3" }], allowUnverifiedHosts: true });
        assert.match(renderEtcdConfig(v6, v6.members[0], { token: "t", initialClusterState: "new" }), /"https:\/\/\[fd00::1\]:2380"/);
    });

    it("carries tuning values through", () => {
        const t = spec({ tuning: { heartbeatIntervalMs: 250, electionTimeoutMs: 2500, quotaBackendBytes: 4294967296, snapshotCount: 5000 } });
        const c = renderEtcdConfig(t, t.members[0], { token: "t", initialClusterState: "new" });
        assert.match(c, /^heartbeat-interval: 250$/m);
        assert.match(c, /^election-timeout: 2500$/m);
        assert.match(c, /^quota-backend-bytes: 4294967296$/m);
        assert.match(c, /^snapshot-count: 5000$/m);
    });

    it("unit is Type=notify, runs as etcd, and may write only the data dir", () => {
        const u = renderUnit(s, s.members[0]);
        for (const line of ["Type=notify", "User=etcd", "WorkingDirectory=/var/lib/etcd", "Restart=on-failure", "LimitNOFILE=65536",
            "NoNewPrivileges=true", "ProtectSystem=strict", "ReadWritePaths=/var/lib/etcd",
            "ExecStart=/usr/local/bin/etcd --config-file /etc/etcd/etcd.conf.yml"]) {
            assert.ok(u.split("\n").includes(line), `unit lacks ${line}`);
        }
    });

    it("start does not block on Type=notify and records what etcd read; restart waits for a new, healthy process", () => {
        const start = renderStartScript(s, "d".repeat(64));
        assert.match(start, /systemctl start --no-block etcd\.service/);
        assert.match(start, /echo 'd{64}' > '\/etc\/etcd\/etcd-stack\.applied'/);
        const restart = renderRestartScript(s, s.members[0], "e".repeat(64));
        assert.match(restart, /\[ "\$pid" != "\$old_pid" \]/);
        assert.match(restart, /endpoint health/);
        assert.match(restart, /for to in \$\(awk .*'\/etc\/etcd\/etcd-stack\.members'\); do/);
    });

    it("the data dir goes with the prepare step, only when purge is asked for; stopping never touches it", () => {
        for (const purge of [false, true]) {
            assert.doesNotMatch(renderStopScript(spec({ purgeDataOnDestroy: purge }), s.members[0]), /\/var\/lib\/etcd/);
        }
        assert.doesNotMatch(renderRemoveDirsScript(s, s.members[0]), /rm -rf '\/var\/lib\/etcd'/);
        assert.match(renderRemoveDirsScript(spec({ purgeDataOnDestroy: true }), s.members[0]), /rm -rf '\/var\/lib\/etcd'/);
    });

    it("hands leadership to the member the roll reaches last, so the leader restarts last; the last one to the member before it (the awk, run by sh)", () => {
        const names = ["a", "b", "c", "d", "e"];
        const five = spec({ members: names.map((n, i) => ({ name: n, address: `10.0.0.${i + 1}` })), allowUnverifiedHosts: true,
            dirs: { config: fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-handoff-")) } });
        fs.writeFileSync(membersFilePath(five), renderMembersFile(five));
        const order = (me: string) => execFileSync("sh", ["-c", `me=${me}; ${handoffOrder(five)}`], { encoding: "utf8" }).trim().split("\n");
        try {
            assert.deepEqual(order("a"), ["e", "d", "c", "b"]);
            assert.deepEqual(order("c"), ["e", "d", "b", "a"]);
            assert.deepEqual(order("e"), ["d", "c", "b", "a"]);
        } finally {
            fs.rmSync(five.dirs.config, { recursive: true, force: true });
        }
    });

    it("a member's config gets initial-cluster and its state from the host's join record as it is written (run by sh)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-fill-"));
        try {
            const local = spec({ dirs: { config: dir } });
            const tmp = path.join(dir, "config.tmp");
            fs.writeFileSync(tmp, renderEtcdConfig(local, local.members[0], { token: "t", ...joinPlaceholders }));
            fs.writeFileSync(path.join(dir, "etcd-stack.join"), "initial-cluster-state=existing\ninitial-cluster=lab-4=https://10.213.0.14:2380,lab-1=https://10.213.0.11:2380\n");
            execFileSync("sh", ["-c", `set -eu; tmp=${shq(tmp)}\n${renderFillJoinDecision(local).join("\n")}`]);
            const c = fs.readFileSync(tmp, "utf8");
            assert.match(c, /^initial-cluster-state: "existing"$/m);
            assert.match(c, /^initial-cluster: "lab-4=https:\/\/10\.213\.0\.14:2380,lab-1=https:\/\/10\.213\.0\.11:2380"$/m);
            assert.doesNotMatch(c, /@@/);
            // Without a record the write fails instead of landing a half-made config.
            fs.rmSync(path.join(dir, "etcd-stack.join"));
            assert.throws(() => execFileSync("sh", ["-c", `set -eu; tmp=${shq(tmp)}\n${renderFillJoinDecision(local).join("\n")}`], { stdio: "pipe" }));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    /** Runs `script` by sh with a fake etcdctl (a member list, a refusal for everything else); returns stderr and the exit status. */
    function runWithFakeEtcdctl(dir: string, script: string, memberList: string, refusal: string): { stderr: string; status: number | null } {
        const fake = path.join(dir, "etcdctl");
        fs.writeFileSync(fake, `#!/bin/sh\ncase "$*" in *"member list"*) printf '%s\\n' ${shq(memberList)} ;; *) echo ${shq(refusal)} >&2; exit 1 ;; esac\n`, { mode: 0o755 });
        const r = spawnSync("sh", ["-c", script.split("/usr/local/bin/etcdctl").join(fake)], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
        return { stderr: r.stderr, status: r.status };
    }
    const learnerList = [
        "8e9e05c52164694d, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
        "91bc3c398fb3c146, started, old-4, https://10.213.0.14:2380, https://10.213.0.14:2379, true",
        "fd422379fda50e48, unstarted, , https://10.213.0.13:2380, , true",
    ].join("\n");

    it("a learner add etcd refuses (too many learners) names each learner in the way and what to do (the case, run by sh)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-learners-"));
        try {
            const local = spec({ dirs: { config: dir } });
            fs.writeFileSync(membersFilePath(local), renderMembersFile(local));
            const join = renderJoinScript(local, local.members[1]);
            const start = join.indexOf(`    case "$out" in *"too many learner"*)`);
            const block = join.slice(start, join.indexOf("    esac\n", start) + "    esac\n".length);
            assert.ok(start > 0, "the join script handles the refusal");
            const out = `{"level":"warn"}\nError: etcdserver: too many learner members in cluster`;
            const r = runWithFakeEtcdctl(dir, `set -eu\n${join.split("\n").find((l) => l.startsWith("ctl() {"))}\nendpoint=https://10.213.0.11:2379; out=${shq(out)}\n${block}`, learnerList, "unused");
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stderr.split("\n")[0], "etcd allows one learner at a time (by default) and the cluster has: " +
                "old-4 (ID 91bc3c398fb3c146, started, not caught up yet, not in this stack); " +
                "https://10.213.0.13:2380 (ID fd422379fda50e48, never started, member lab-3 of this stack).");
            assert.match(r.stderr.split("\n")[1], /^What to do: a learner of this stack is promoted by its own promote step .* run pulumi up again; a learner not in this stack is removed with etcdctl member remove <ID>/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the join's probe: a member whose connection is not ready within a second is silent at once; one connected but slow is asked again (the probe, run by sh)", async function () {
        this.timeout(20_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-probe-"));
        // A listening socket on loopback: the kernel completes the TCP handshake, as it does for an etcd not serving yet.
        const server = require("net").createServer() as import("net").Server;
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
            const port = (server.address() as import("net").AddressInfo).port;
            const local = spec({ dirs: { config: dir } });
            fs.writeFileSync(membersFilePath(local), `lab-1 https://127.0.0.1:2380 https://127.0.0.1:${port}\nlab-2 https://127.0.0.2:2380 https://127.0.0.2:2379\n`);
            const join = renderJoinScript(local, local.members[1]).split("\n");
            const probe = join.slice(join.findIndex((l) => l.startsWith("others=")), join.findIndex((l) => l.startsWith("endpoint=$(cat")) + 1);
            assert.ok(probe.length > 5, "the join script has the probe");
            const calls = path.join(dir, "calls");
            // The fake etcdctl logs its timeout and answers as $MODE says.
            fs.writeFileSync(path.join(dir, "etcdctl"), `#!/bin/sh\nfor a; do case "$a" in --command-timeout=*) echo "$a" >> ${shq(calls)} ;; esac; done\n` +
                `case "$MODE:$*" in\n` +
                `  notready:*) echo "Error: context deadline exceeded while waiting for connections to become ready" >&2; exit 1 ;;\n` +
                `  slow:*--command-timeout=1s*) echo "Error: context deadline exceeded" >&2; exit 1 ;;\n` +
                `  slow:*) echo '"Leader" : 1234'; exit 0 ;;\n` +
                `esac\n`, { mode: 0o755 });
            const run = (mode: string) => {
                fs.rmSync(calls, { force: true });
                const script = ["set -eu", "me=lab-2", join.find((l) => l.startsWith("ctl() {"))!, ...probe, `echo "endpoint=$endpoint"`].join("\n").split("/usr/local/bin/etcdctl").join(path.join(dir, "etcdctl"));
                const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, MODE: mode } });
                assert.equal(r.status, 0, r.stderr);
                return { endpoint: /^endpoint=(.*)$/m.exec(r.stdout)?.[1], timeouts: fs.readFileSync(calls, "utf8").trim().split("\n").filter((l) => l !== "--command-timeout=10s") };
            };
            assert.deepEqual(run("notready"), { endpoint: "", timeouts: ["--command-timeout=1s"] }, "not serving: silent after the one-second try");
            assert.deepEqual(run("slow"), { endpoint: `https://127.0.0.1:${port}`, timeouts: ["--command-timeout=1s", "--command-timeout=3s"] }, "serving but slow: asked again, and it answers");
        } finally {
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a promote that times out names the learner, its ID and the next step (the whole script, run by sh)", function () {
        this.timeout(10_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-promote-"));
        try {
            const local = spec({ dirs: { config: dir }, healthTimeoutSeconds: 1 });
            fs.writeFileSync(membersFilePath(local), renderMembersFile(local));
            const refusal = "Error: etcdserver: can only promote a learner member which is in sync with leader";
            const r = runWithFakeEtcdctl(dir, renderPromoteScript(local, local.members[2]), learnerList, refusal);
            assert.equal(r.status, 1);
            assert.equal(r.stderr.split("\n")[0], `lab-3 could not be promoted within 1s: ${refusal}. ` +
                "lab-3 is still a learner (ID fd422379fda50e48): it has not caught up with the leader. Check its journal (below), its disk and its network " +
                "to the other members, then run pulumi up again; to give up on it, take it out of etcd:members and run pulumi up (that removes it from the cluster); last journal lines:");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("restore rebuilds the data dir from the file whether or not the host had data, moving old data aside, once (the script, run by sh)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-restore-"));
        try {
            const bin = path.join(dir, "bin"), staging = path.join(dir, "staging");
            for (const d of [bin, staging, path.join(dir, "config"), path.join(dir, "data")]) fs.mkdirSync(d);
            // systemctl and chown do nothing; etcdutl "restores" by writing member/restored into --data-dir.
            fs.writeFileSync(path.join(bin, "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "chown"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "etcdutl"), '#!/bin/sh\n[ "$2" = restore ] || exit 0\nwhile [ "$1" != --data-dir ]; do shift; done\nmkdir -p "$2/member" && echo "$2" > "$2/member/restored"\n', { mode: 0o755 });
            const local = spec({ dirs: { config: path.join(dir, "config"), data: path.join(dir, "data"), pki: path.join(dir, "pki") } });
            const snapshot = Buffer.from("a snapshot");
            const restore = { snapshotPath: "/unused", sha256: crypto.createHash("sha256").update(snapshot).digest("hex"), id: "" };
            const run = (id: string, me: number) => {
                restore.id = id;
                const staged = stagedSnapshotPath(restore).split(paths.stagingDir).join(staging);
                fs.writeFileSync(staged, snapshot);
                const script = renderRestoreScript(local, local.members[me], restore, "t").split(paths.stagingDir).join(staging).split(`${paths.binDir}/`).join(`${bin}/`);
                return execFileSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
            };
            const data = local.dirs.data;
            // No data at all (every member wiped): restored from the file alone, nothing set aside.
            assert.match(run("aaaaaaaaaaaa", 0), /^lab-1: restored from snapshot aaaaaaaaaaaa$/m);
            assert.deepEqual(fs.readdirSync(data), ["member"]);
            assert.equal(fs.readdirSync(staging).length, 0, "the staged copy is removed");
            // Data present (a later restore): it is moved aside, never deleted.
            const out = run("bbbbbbbbbbbb", 0);
            assert.match(out, /previous data moved aside to .*\/member\.before-restore-bbbbbbbbbbbb-\d+$/m);
            const aside = fs.readdirSync(data).filter((f) => f.startsWith("member.before-restore-bbbbbbbbbbbb-"));
            assert.equal(aside.length, 1);
            assert.equal(fs.readFileSync(path.join(data, aside[0], "restored"), "utf8").trim(), path.join(data, "restore-aaaaaaaaaaaa.tmp"), "the earlier data, intact");
            assert.equal(fs.readFileSync(path.join(data, "member", "restored"), "utf8").trim(), path.join(data, "restore-bbbbbbbbbbbb.tmp"));
            // The same restore again: nothing happens.
            assert.match(run("bbbbbbbbbbbb", 0), /^lab-1: snapshot bbbbbbbbbbbb already restored here$/m);
            assert.deepEqual(fs.readdirSync(data).sort(), ["member", aside[0]]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("restore moves revisions forward: etcdutl gets --bump-revision 1000000000 --mark-compacted on every version the spec accepts (etcdutl has them from 3.5.10), the same on every member (fake etcdutl records its arguments, run by sh)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-restore-flags-"));
        try {
            const bin = path.join(dir, "bin"), staging = path.join(dir, "staging");
            for (const d of [bin, staging, path.join(dir, "config"), path.join(dir, "data")]) fs.mkdirSync(d);
            const calls = path.join(dir, "calls");
            fs.writeFileSync(path.join(bin, "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
            fs.writeFileSync(path.join(bin, "chown"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
            // One line per restore: its arguments; then a data dir as etcdutl leaves it.
            fs.writeFileSync(path.join(bin, "etcdutl"), `#!/bin/sh\n[ "$2" = restore ] || exit 0\necho "$@" >> ${shq(calls)}\n` +
                'while [ "$1" != --data-dir ]; do shift; done\nmkdir -p "$2/member"\n', { mode: 0o755 });
            const snapshot = Buffer.from("a snapshot");
            const sha256 = crypto.createHash("sha256").update(snapshot).digest("hex");
            const restoreArgs = (version: string, me: number, id: string) => {
                const local = spec({ version, dirs: { config: path.join(dir, "config"), data: path.join(dir, "data"), pki: path.join(dir, "pki") } });
                const restore = { snapshotPath: "/unused", sha256, id };
                fs.writeFileSync(stagedSnapshotPath(restore).split(paths.stagingDir).join(staging), snapshot);
                const script = renderRestoreScript(local, local.members[me], restore, "t").split(paths.stagingDir).join(staging).split(`${paths.binDir}/`).join(`${bin}/`);
                execFileSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
                return fs.readFileSync(calls, "utf8").trim().split("\n").pop()!.split(" ");
            };
            const bumped = (args: string[]) => {
                const at = args.indexOf("--bump-revision");
                return at < 0 ? undefined : { by: args[at + 1], compacted: args.includes("--mark-compacted") };
            };
            for (const [version, id] of [["3.6.16", "aaaaaaaaaaaa"], ["3.5.35", "bbbbbbbbbbbb"], ["3.5.14", "cccccccccccc"]]) {
                for (const me of [0, 2]) assert.deepEqual(bumped(restoreArgs(version, me, id)), { by: "1000000000", compacted: true }, `${version}, member ${me + 1}`);
            }
            // No etcdutl without the flags is ever asked: the spec refuses every 3.5 before 3.5.14.
            assert.throws(() => spec({ version: "3.5.13" }), /3\.5\.13/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the install script's upgrade guard refuses a downgrade, a skipped minor, 3.5 < 3.5.32 -> 3.6 and v2 data 3.6 cannot read, before changing anything (run by sh with fake binaries)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-upgrade-"));
        try {
            // The host's binaries report $HAVE; etcdutl's `check v2store` records its arguments and fails with $V2STORE when set;
            // etcdctl answers every other call (the health check) with a failure.
            fs.writeFileSync(path.join(dir, "etcd"), '#!/bin/sh\n[ -n "$HAVE" ] || exit 127\necho "etcd Version: $HAVE"\n', { mode: 0o755 });
            const v2storeArgs = path.join(dir, "v2store-args");
            const v2store = `if [ "$1 $2" = "check v2store" ]; then echo "$@" >> ${shq(v2storeArgs)}; if [ -n "$V2STORE" ]; then echo "$V2STORE" >&2; exit 1; fi; ` +
                `echo "No custom content found in both v2store and WAL records."; exit 0; fi\n`;
            for (const b of ["etcdctl", "etcdutl"]) {
                fs.writeFileSync(path.join(dir, b), `#!/bin/sh\n[ -n "$HAVE" ] || exit 127\nif [ "$1" = version ]; then echo "${b} version: $HAVE"; exit 0; fi\n` +
                    (b === "etcdutl" ? v2store : "") + `echo "unhealthy: fake" >&2; exit 1\n`, { mode: 0o755 });
            }
            const guardOutcome = (have: string, want: string, env: Record<string, string> = {}) => {
                const script = renderInstallBinariesScript(spec({ version: want }), path.join(dir, "missing.tar.gz"), "a".repeat(64))
                    .split(paths.stateDir).join(path.join(dir, "state")).split(`${paths.binDir}/`).join(`${dir}/`);
                const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, HAVE: have, ...env } });
                const refused = /refusing to change etcd \S+ to \S+ on .*?: ([^]*); nothing was changed/.exec(r.stderr)?.[1];
                return { status: r.status, refused, out: r.stdout + r.stderr };
            };
            const cases: Array<[string, string, string | RegExp]> = [
                ["3.4.23", "3.6.16", "upgrades go one minor version at a time (to 3.5 first)"],
                ["3.4.23", "3.5.35", /^not every member is healthy/],
                ["3.5.25", "3.6.16", "3.5 members must run 3.5.32 or later before 3.6 (etcd's upgrade guide)"],
                ["3.5.26", "3.6.16", "3.5 members must run 3.5.32 or later before 3.6 (etcd's upgrade guide)"],
                ["3.5.31", "3.6.16", "3.5 members must run 3.5.32 or later before 3.6 (etcd's upgrade guide)"],
                ["3.5.32", "3.6.16", /^not every member is healthy/],
                ["3.5.35", "3.6.16", /^not every member is healthy/],
                ["3.5.20", "3.5.35", /^not every member is healthy/],
                ["3.6.17", "3.6.16", "a downgrade is not supported"],
                ["3.6.16", "3.5.35", "a downgrade is not supported"],
                ["3.5.35", "3.5.20", "a downgrade is not supported"],
                ["4.0.0", "3.6.16", "a downgrade is not supported"],
            ];
            for (const [have, want, expected] of cases) {
                const got = guardOutcome(have, want);
                assert.equal(got.status, 1, `${have} -> ${want}: ${got.out}`);
                // A version the guard lets through reaches the health check, which the fake etcdctl fails.
                if (typeof expected === "string") assert.equal(got.refused, expected, `${have} -> ${want}: ${got.out}`);
                else assert.match(got.refused ?? "", expected, `${have} -> ${want}: ${got.out}`);
            }
            // Only 3.5 -> 3.6 reads the v2 store, of this member's data dir (the other cases all passed or stopped before it).
            assert.deepEqual(fs.readFileSync(v2storeArgs, "utf8").trim().split("\n"), ["check v2store --data-dir /var/lib/etcd", "check v2store --data-dir /var/lib/etcd"]);
            // v2 data 3.6 would refuse to start with: refused with etcdutl's own words, before the health check and the snapshot.
            const custom = "Error: detected custom v2 content in WAL records";
            const v2 = guardOutcome("3.5.35", "3.6.16", { V2STORE: custom });
            assert.equal(v2.status, 1, v2.out);
            assert.match(v2.refused ?? "", /^etcdutl check v2store found data etcd 3\.6 cannot start with/, v2.out);
            assert.ok(v2.refused?.includes(custom), v2.out);
            // A patch upgrade within 3.5, or within 3.6, does not ask.
            assert.match(guardOutcome("3.5.32", "3.5.35", { V2STORE: custom }).refused ?? "", /^not every member is healthy/);
            assert.match(guardOutcome("3.6.15", "3.6.16", { V2STORE: custom }).refused ?? "", /^not every member is healthy/);
            // Same version: nothing to do. No etcd on the host yet: no guard, straight to the (here unstaged) release.
            assert.deepEqual([guardOutcome("3.6.16", "3.6.16").status, guardOutcome("3.6.16", "3.6.16").refused], [0, undefined]);
            const fresh = guardOutcome("", "3.6.16");
            assert.equal(fresh.refused, undefined, fresh.out);
            assert.match(fresh.out, /no release staged at .*missing\.tar\.gz \(the tarball step stages it\)/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    /**
     * A sandbox for the release scripts: the program's state dir (and so the releases dir), the SFTP
     * staging dir and the bin dir moved under `dir`; a release tarball whose binaries report 3.6.16
     * (and $VERSION_OVERRIDE, to fail the install's check), its sha256, and sh to run a script there.
     */
    function releaseSandbox(dir: string) {
        const state = path.join(dir, "state"), releases = path.join(state, path.basename(paths.releaseDir)), bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const release = (name: string, etcd: string) => {
            const rel = path.join(dir, name, "etcd-v3.6.16-linux-amd64");
            fs.mkdirSync(rel, { recursive: true });
            fs.writeFileSync(path.join(rel, "etcd"), etcd, { mode: 0o755 });
            for (const b of ["etcdctl", "etcdutl"]) fs.writeFileSync(path.join(rel, b), `#!/bin/sh\necho "${b} version: 3.6.16"\n`, { mode: 0o755 });
            const file = path.join(dir, `${name}.tar.gz`);
            execFileSync("tar", ["-czf", file, "-C", path.dirname(rel), path.basename(rel)]);
            return { rel, file, sha: crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex") };
        };
        const genuine = release("genuine", '#!/bin/sh\necho "etcd Version: ${VERSION_OVERRIDE:-3.6.16}"\n');
        const tarball = path.join(paths.releaseDir, "etcd-v3.6.16.tar.gz");
        const local = (script: string) => script.split(paths.stateDir).join(state).split(paths.stagingDir).join(path.join(dir, "tmp")).split(`${paths.binDir}/`).join(`${bin}/`);
        const sh = (script: string, input?: Buffer, env: Record<string, string> = {}) =>
            spawnSync("sh", ["-c", local(script)], { input, encoding: "utf8", env: { ...process.env, ...env } });
        const stage = () => sh(renderStageReleaseScript(tarball, genuine.sha, { stdin: true }), fs.readFileSync(genuine.file));
        const check = () => sh(renderReleaseCheckScript(tarball, genuine.sha));
        const install = (env: Record<string, string> = {}) => sh(renderInstallBinariesScript(spec({ version: "3.6.16" }), tarball, genuine.sha), undefined, env);
        return { state, releases, bin, release, genuine, onHost: (p: string) => local(p), stage, check, install, sh, tarball };
    }

    it("a release is staged from stdin only with the right sha256, checked, and installed from the tarball checked again (run by sh with a real tarball)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-stage-"));
        try {
            const { releases, bin, genuine, onHost, stage, check, install, sh, tarball } = releaseSandbox(dir);
            const staged = onHost(tarball);

            assert.equal(check().stdout.trim(), "tarball missing");
            const wrong = sh(renderStageReleaseScript(tarball, "0".repeat(64), { stdin: true }), fs.readFileSync(genuine.file));
            assert.equal(wrong.status, 1);
            assert.match(wrong.stderr, new RegExp(`checksum mismatch for the release from the operator's machine: want 0{64}, got ${genuine.sha}`));
            assert.deepEqual(fs.readdirSync(releases), [], "nothing kept from a tarball with another sha256");
            // Root only: the dirs the stage script made.
            for (const d of [path.dirname(releases), releases]) assert.equal(fs.statSync(d).mode & 0o777, 0o700, d);

            assert.equal(stage().status, 0);
            assert.equal(check().stdout.trim(), "staged");
            assert.deepEqual(fs.readdirSync(releases).sort(), ["etcd-v3.6.16.tar.gz", "etcd-v3.6.16.tar.gz.d", `etcd-v3.6.16.tar.gz${paths.releaseSumsSuffix}`]);
            assert.equal(fs.readFileSync(staged + paths.releaseSumsSuffix, "utf8").split("\n")[0], `tarball ${genuine.sha}`);

            // An unpacked binary changed by hand: not staged any more (staging again puts it back).
            fs.appendFileSync(path.join(unpackedReleaseDir(staged), "etcdctl"), "# changed\n");
            assert.equal(check().stdout.trim(), "unpacked binaries differ");
            assert.equal(stage().status, 0);
            assert.equal(check().stdout.trim(), "staged");

            const bad = install({ VERSION_OVERRIDE: "3.6.15" });
            assert.equal(bad.status, 1);
            assert.match(bad.stderr, /installed binaries do not all report version 3\.6\.16: etcd Version: 3\.6\.15/);
            for (const b of fs.readdirSync(bin)) fs.rmSync(path.join(bin, b));
            const installed = install();
            assert.equal(installed.status, 0, installed.stderr);
            assert.match(installed.stdout, /^installed etcd, etcdctl and etcdutl 3\.6\.16$/m);
            for (const b of paths.releaseBinaries) assert.ok(fs.readFileSync(path.join(bin, b)).equals(fs.readFileSync(path.join(genuine.rel, b))), `${b} installed from the release`);
            assert.match(install().stdout, /already installed/);
            assert.deepEqual(fs.readdirSync(releases).sort(), ["etcd-v3.6.16.tar.gz", "etcd-v3.6.16.tar.gz.d", `etcd-v3.6.16.tar.gz${paths.releaseSumsSuffix}`], "the install leaves nothing behind");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a tarball or unpacked binary swapped after staging is never installed: the install and the release check hash the tarball (run by sh)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-swap-"));
        try {
            const { bin, release, genuine, onHost, stage, check, install, tarball } = releaseSandbox(dir);
            const staged = onHost(tarball);
            assert.equal(stage().status, 0);
            // Another release, its etcd a planted program, put in the staged tarball's place (sums and unpacked dir untouched).
            const planted = release("planted", '#!/bin/sh\necho "etcd Version: 3.6.16"\n# planted\n');
            fs.copyFileSync(planted.file, staged);
            assert.equal(check().stdout.trim(), "tarball differs", "the check hashes the tarball instead of trusting the sums file");
            const refused = install();
            assert.equal(refused.status, 1, refused.stdout);
            assert.match(refused.stderr, new RegExp(`^refusing to install from ${staged}: its sha256 is ${planted.sha}, not the staged release's ${genuine.sha}; nothing was installed`, "m"));
            assert.deepEqual(fs.readdirSync(bin), [], "no binary installed");
            // A planted binary in the unpacked dir, the tarball intact: the install unpacks the tarball afresh and never reads it.
            assert.equal(stage().status, 0);
            fs.writeFileSync(path.join(unpackedReleaseDir(staged), "etcd"), '#!/bin/sh\necho "etcd Version: 3.6.16"\n# planted\n', { mode: 0o755 });
            assert.equal(install().status, 0);
            assert.ok(fs.readFileSync(path.join(bin, "etcd")).equals(fs.readFileSync(path.join(genuine.rel, "etcd"))), "etcd installed from the tarball, not the planted copy");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the releases dir is refused when another user owns it, group or others can write it, or it is a symlink: nothing staged, checked or installed there (run by sh)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-unsafe-"));
        try {
            const { state, releases, bin, stage, check, install } = releaseSandbox(dir);
            assert.equal(stage().status, 0);
            const refusedEverywhere = (why: RegExp, what: string) => {
                for (const [step, r] of [["stage", stage()], ["check", check()], ["install", install()]] as const) {
                    assert.equal(r.status, 1, `${what}: ${step} ran: ${r.stdout}`);
                    assert.match(r.stderr, new RegExp(`^refusing to use ${why.source}`, "m"), `${what}: ${step}`);
                }
                assert.deepEqual(fs.readdirSync(bin), [], `${what}: no binary installed`);
            };
            const me = process.getuid!();
            // Owned by another user: as root, nobody; otherwise a directory root owns stands in for the state dir.
            if (me === 0) {
                fs.chownSync(releases, 65534, 65534);
                refusedEverywhere(new RegExp(`${releases} for etcd releases: it is owned by uid 65534, not 0`), "another owner");
                fs.chownSync(releases, 0, 0);
            } else {
                const r = spawnSync("sh", ["-c", renderStageReleaseScript(path.join(paths.releaseDir, "x.tar.gz"), "a".repeat(64), { stdin: true }).split(paths.stateDir).join("/usr")], { input: "", encoding: "utf8" });
                assert.equal(r.status, 1, r.stdout);
                assert.match(r.stderr, new RegExp(`^refusing to use /usr for etcd releases: it is owned by uid 0, not ${me}`, "m"));
            }
            for (const [d, mode] of [[releases, 0o777], [releases, 0o720], [state, 0o702], [releases, 0o1777]] as const) {
                fs.chmodSync(d, mode);
                refusedEverywhere(new RegExp(`${d} for etcd releases: it is writable by group or others \\(mode ${mode.toString(8)}\\)`), `mode ${mode.toString(8)}`);
                fs.chmodSync(d, 0o700);
            }
            // A symlink to a dir that would pass: still refused (the link could be swapped).
            const elsewhere = path.join(dir, "elsewhere");
            fs.renameSync(releases, elsewhere);
            fs.symlinkSync(elsewhere, releases);
            refusedEverywhere(new RegExp(`${releases} for etcd releases: it is a symlink or not a directory`), "symlink");
            fs.rmSync(releases);
            fs.renameSync(elsewhere, releases);
            assert.equal(install().status, 0, "the same dir, put right, is used again");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a filled config read back through the unfill script is the stack's own config, whatever the host decided (run by sed)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-unfill-"));
        try {
            const local = spec({ dirs: { config: dir } });
            const template = renderEtcdConfig(local, local.members[0], { token: "t", ...joinPlaceholders });
            const filled = (record: string) => {
                const tmp = path.join(dir, "config.tmp");
                fs.writeFileSync(tmp, template);
                fs.writeFileSync(path.join(dir, "etcd-stack.join"), record);
                execFileSync("sh", ["-c", `set -eu; tmp=${shq(tmp)}\n${renderFillJoinDecision(local).join("\n")}`]);
                return execFileSync("sed", ["-e", renderUnfillJoinDecision(), tmp], { encoding: "utf8" });
            };
            assert.equal(filled("initial-cluster-state=new\ninitial-cluster=lab-1=https://10.213.0.11:2380,lab-2=https://10.213.0.12:2380\n"), template);
            assert.equal(filled("initial-cluster-state=existing\ninitial-cluster=lab-1=https://10.213.0.11:2380\n"), template);
            // Any other edit still shows.
            const edited = execFileSync("sed", ["-e", renderUnfillJoinDecision()], { input: template.replace(/^heartbeat-interval: .*$/m, "heartbeat-interval: 150"), encoding: "utf8" });
            assert.notEqual(edited, template);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("join adds a new member as a learner and reads an existing record first", () => {
        const j = renderJoinScript(s, s.members[2]);
        assert.match(j, /member add "\$me" --peer-urls="\$my_peer" --learner/);
        assert.ok(j.indexOf("cat '/etc/etcd/etcd-stack.join'") < j.indexOf("member add"));
        // The member list comes from the members file at run time, never from the script itself.
        assert.doesNotMatch(j, /10\.213\.0\.1[12]/);
        assert.equal(renderMembersFile(s), "lab-1 https://10.213.0.11:2380 https://10.213.0.11:2379\n" +
            "lab-2 https://10.213.0.12:2380 https://10.213.0.12:2379\nlab-3 https://10.213.0.13:2380 https://10.213.0.13:2379\n");
    });

    it("quotes shell values safely", () => {
        assert.equal(shq("it's"), `'it'"'"'s'`);
    });
});

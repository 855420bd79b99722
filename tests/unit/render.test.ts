import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    handoffOrder, initialCluster, membersFilePath, renderEtcdConfig, renderHostKeyCheckScript, renderHealthGateScript, renderInstallBinariesScript, renderPreflightScript,
    renderPrepareHostScript, renderRemoveDirsScript, renderRepairRestartScript, renderRestartScript, renderScriptBundle, renderStartScript, renderStdinRunner,
    renderStopScript, renderUnit, shq,
} from "../../components/render";
import { renderApplyScript, renderInspectScript } from "../../components/renderHostFiles";
import { renderRestoreScript } from "../../components/renderRestore";
import { renderSnapshotScript, renderSnapshotTimer, renderSnapshotUnit } from "../../components/renderSnapshots";
import {
    joinPlaceholders, renderFillJoinDecision, renderJoinScript, renderMemberListScript, renderMembersFile, renderPromoteScript, renderReconcileMembershipScript,
    renderRejoinScript, renderUnfillJoinDecision,
} from "../../components/renderMembership";
import { spec } from "./fixtures";

const goldenDir = path.join(__dirname, "..", "golden");

/** Compares with tests/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead. */
function golden(name: string, actual: string): void {
    const file = path.join(goldenDir, name);
    if (process.env.UPDATE_GOLDEN === "1") {
        fs.writeFileSync(file, actual);
        return;
    }
    assert.ok(fs.existsSync(file), `golden file ${file} missing; run UPDATE_GOLDEN=1 npm run test:unit`);
    assert.equal(actual, fs.readFileSync(file, "utf8"), `${name} differs from its golden file`);
}

describe("render: golden files", () => {
    const s = spec();
    const m = s.members[0];
    const adopting = { ...s.members[0], adopt: { unit: "etcd-legacy.service", dataDir: "/var/lib/etcd-legacy" } };
    it("etcd config", () => golden("etcd.conf.yml", renderEtcdConfig(s, m, { token: "lab-0123456789abcdef", initialClusterState: "new" })));
    it("systemd unit", () => golden("etcd.service", renderUnit(s, m)));
    it("preflight script", () => golden("preflight.sh", renderPreflightScript(s, m, "2026-11-23T08:00:00Z")));
    it("prepare-host script", () => golden("prepare-host.sh", renderPrepareHostScript(s)));
    it("install script (url)", () => golden("install-url.sh", renderInstallBinariesScript(s, { url: "https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz", sha256: "a".repeat(64) })));
    it("install script (local tarball)", () => golden("install-local.sh", renderInstallBinariesScript(s, { stagedTarball: "/var/tmp/etcd-stack/etcd.tar.gz", sha256: "b".repeat(64) })));
    const digest = "d".repeat(64);
    it("start script", () => golden("start.sh", renderStartScript(s, digest)));
    it("restart script", () => golden("restart.sh", renderRestartScript(s, s.members[1], digest)));
    it("remove-dirs script", () => golden("remove-dirs.sh", renderRemoveDirsScript(s)));
    it("join script", () => golden("join.sh", renderJoinScript(s, s.members[1])));
    it("promote script", () => golden("promote.sh", renderPromoteScript(s, s.members[1])));
    it("host key check script", () => golden("host-key-check.sh", renderHostKeyCheckScript(m, m.hostKey!)));
    it("restore script", () => golden("restore.sh", renderRestoreScript(s, s.members[1], { snapshotPath: "/tmp/backup.db", sha256: "d".repeat(64), id: "dddddddddddd" }, "lab-0123456789abcdef")));
    it("join script of a member taking over an existing etcd", () => golden("join-adopt.sh", renderJoinScript(s, adopting)));
    it("preflight of a member taking over an existing etcd", () => golden("preflight-adopt.sh", renderPreflightScript(s, adopting, "2026-11-23T08:00:00Z")));
    it("membership reconcile script", () => golden("membership.sh", renderReconcileMembershipScript(s)));
    it("member list script", () => golden("member-list.sh", renderMemberListScript(s)));
    it("rejoin script (a member removed by hand)", () => golden("rejoin.sh", renderRejoinScript(s, s.members[1])));
    const snaps = spec({ snapshots: { onCalendar: "hourly", keep: 48, maxAgeDays: 7 } });
    it("snapshot script", () => golden("etcd-snapshot.sh", renderSnapshotScript(snaps, snaps.snapshots!)));
    it("snapshot unit and timer", () => golden("etcd-snapshot.units", renderSnapshotUnit() + "---\n" + renderSnapshotTimer(snaps.snapshots!)));
    it("stdin runner and script bundle", () => golden("runner-and-bundle.sh",
        renderStdinRunner("lab-1 service", "update") + "\n# --- stdin ---\n" + renderScriptBundle({ create: "set -eu\necho a\n", update: "set -eu\necho b\n" })));
    it("stop script", () => golden("stop.sh", renderStopScript(s)));
    it("health gate script", () => golden("health-gate.sh", renderHealthGateScript(s, ["lab-3", "lab-1", "lab-2"])));
    const hostFiles = [
        { path: "/etc/etcd/pki/server.key", mode: "0600", owner: "etcd:etcd", readByEtcd: true },
        { path: "/etc/etcd/etcd.conf.yml", mode: "0644", owner: "root:root", readByEtcd: true, fill: renderFillJoinDecision(s), unfill: renderUnfillJoinDecision() },
        { path: "/etc/etcd/etcd-stack.members", mode: "0644", owner: "root:root", readByEtcd: false },
    ];
    const hostChecks = { unit: "etcd.service", binaries: { tarball: "/var/tmp/etcd-stack/etcd-v3.6.16-0123456789ab.tar.gz", sha256: "b".repeat(64) } };
    it("host files: first write", () => golden("host-files-create.sh", renderApplyScript(hostFiles, hostChecks, { repair: false })));
    it("host files: write with repair", () => golden("host-files-update.sh", renderApplyScript(hostFiles, hostChecks, { repair: true, restartScript: renderRepairRestartScript(s, m) })));
    it("host files: read back", () => golden("host-files-inspect.sh", renderInspectScript(hostFiles, hostChecks)));
});

describe("render: semantics", () => {
    const s = spec();
    const cfg = renderEtcdConfig(s, s.members[1], { token: "t", initialClusterState: "new" });

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
            assert.doesNotMatch(renderStopScript(spec({ purgeDataOnDestroy: purge })), /\/var\/lib\/etcd/);
        }
        assert.doesNotMatch(renderRemoveDirsScript(s), /rm -rf '\/var\/lib\/etcd'/);
        assert.match(renderRemoveDirsScript(spec({ purgeDataOnDestroy: true })), /rm -rf '\/var\/lib\/etcd'/);
    });

    it("hands leadership to members already rolled, nearest first, then from the end (the awk, run by sh)", () => {
        const names = ["a", "b", "c", "d", "e"];
        const five = spec({ members: names.map((n, i) => ({ name: n, address: `10.0.0.${i + 1}` })), allowUnverifiedHosts: true,
            dirs: { config: fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-handoff-")) } });
        fs.writeFileSync(membersFilePath(five), renderMembersFile(five));
        const order = (me: string) => execFileSync("sh", ["-c", `me=${me}; ${handoffOrder(five)}`], { encoding: "utf8" }).trim().split("\n");
        try {
            assert.deepEqual(order("a"), ["e", "d", "c", "b"]);
            assert.deepEqual(order("c"), ["b", "a", "e", "d"]);
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

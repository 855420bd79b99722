/**
 * A stack value that reaches a script is code unless it is checked or quoted (issue 25, item 4).
 * For every spec field that reaches a rendered file, hostile strings (command substitution,
 * backticks, separators, newlines, quotes, `${IFS}`, redirections, globs) must either be refused by
 * parseClusterSpec with a problem naming the field, or, if accepted, leave every rendered script
 * harmless: each script whose text the value changed is RUN under sh with a PATH of fake binaries
 * (once with every fake succeeding, once with every fake failing, so both sides of `cmd || fail`
 * run), and the sentinel file the payloads would create must never appear. Units and timers
 * (not scripts) must keep their line count: no injected directive.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as fc from "fast-check";
import * as paths from "../../components/base/paths";
import { renderHostKeyCheckScript } from "../../components/host/renderHostKeyCheck";
import { renderReleaseCheckScript, renderRemoveStagedReleaseScript, renderStageReleaseScript, stagedReleasePath } from "../../components/host/renderRelease";
import { renderEtcdConfig, renderInstallBinariesScript, renderPreflightScript, renderPrepareHostScript, renderRemoveBinariesScript, renderRemoveDirsScript, renderRepairRestartScript, renderRestartScript, renderStartScript, renderStopScript, renderUnit } from "../../components/member/render";
import { renderHealthGateScript } from "../../components/membership/renderMembership";
import { configPath, membersFilePath, pkiPath } from "../../components/spec/where";
import { defragCertPath, renderDefragScript, renderDefragTimer, renderDefragUnit, renderDisableDefragScript, renderEnableDefragScript } from "../../components/maintenance/renderDefrag";
import { ManagedFile, renderApplyScript, renderInspectScript } from "../../components/host/renderHostFiles";
import {
    renderDataProbeScript, renderFillJoinDecision, renderForgetJoinScript, renderJoinScript, renderLiveHealthScript, renderMemberListScript, renderMembersFile, renderPromoteScript,
    renderReconcileMembershipScript, renderRejoinScript, renderRemovalCheckScript, renderUnfillJoinDecision,
} from "../../components/membership/renderMembership";
import { renderRestoreScript, renderStartRestoredScript } from "../../components/maintenance/renderRestore";
import { renderSnapshotCopyKnownHosts, renderSnapshotCopyScript } from "../../components/maintenance/renderSnapshotCopy";
import { renderDisableSnapshotsScript, renderEnableSnapshotsScript, renderSnapshotScript, renderSnapshotTimer, renderSnapshotUnit, snapshotCertPath } from "../../components/maintenance/renderSnapshots";
import { SpecError } from "../../components/spec/problems";
import { parseClusterSpec } from "../../components/spec/parse";
import { ClusterSpec, RawClusterConfig } from "../../components/spec/types";
import { releaseUrl } from "../../components/spec/values";
import { fixtureHostKeys, rawConfig } from "./fixtures";

const sha = "a".repeat(64);

/**
 * Calls a renderer that another change in progress gives a member argument (stop, remove, forget
 * the join): the extra argument is harmless to the older form, and either form is rendered.
 */
function withMember(render: (...args: never[]) => string, s: ClusterSpec, m: ClusterSpec["members"][number]): string {
    return (render as (...args: unknown[]) => string)(s, m);
}

/** Every rendered file, by name: scripts (run under sh) and other files (units, config: line-counted). */
function renderAll(s: ClusterSpec): { scripts: Record<string, string>; files: Record<string, string> } {
    const m = s.members[0];
    const tarball = stagedReleasePath(s);
    const token = `${s.clusterName}-0123456789abcdef`;
    const managed: ManagedFile[] = [
        { path: configPath(s), mode: paths.modes.config, owner: "root:root", fill: renderFillJoinDecision(s), unfill: renderUnfillJoinDecision(), readByEtcd: true },
        { path: paths.unitPath, mode: paths.modes.unit, owner: "root:root", readByEtcd: true },
        { path: membersFilePath(s), mode: paths.modes.config, owner: "root:root", readByEtcd: false },
        ...(["ca", "serverCert", "serverKey", "peerCert", "peerKey"] as const).map((f) => ({ path: pkiPath(s, f), mode: "0600", owner: "etcd:etcd", readByEtcd: true })),
        ...(["cert", "key"] as const).flatMap((f) => [snapshotCertPath(s, f), defragCertPath(s, f)]).map((p) => ({ path: p, mode: "0600", owner: "root:root", readByEtcd: false })),
    ];
    const checks = { unit: paths.unitName, binaries: { tarball, sha256: sha } };
    const url = s.binary.kind === "url" ? releaseUrl(s.binary.urlTemplate, s.version, "amd64") : undefined;
    const scripts: Record<string, string> = {
        preflight: renderPreflightScript(s, m, "2026-11-23T08:00:00Z"),
        hostKeyCheck: renderHostKeyCheckScript(m, m.hostKey ?? fixtureHostKeys[0]),
        prepareHost: renderPrepareHostScript(s),
        releaseCheck: renderReleaseCheckScript(tarball, sha),
        stageRelease: renderStageReleaseScript(tarball, sha, url ? { url } : { stdin: true }),
        removeStagedRelease: renderRemoveStagedReleaseScript(tarball),
        install: renderInstallBinariesScript(s, tarball, sha),
        removeBinaries: withMember(renderRemoveBinariesScript, s, m),
        start: renderStartScript(s, "d".repeat(64)),
        restart: renderRestartScript(s, m, "d".repeat(64)),
        repairRestart: renderRepairRestartScript(s, m),
        stop: withMember(renderStopScript, s, m),
        healthGate: renderHealthGateScript(s),
        removeDirs: withMember(renderRemoveDirsScript, s, m),
        hostFilesCreate: renderApplyScript(managed, checks, { repair: false }),
        hostFilesUpdate: renderApplyScript(managed, checks, { repair: true, restartScript: renderRepairRestartScript(s, m) }),
        hostFilesInspect: renderInspectScript(managed, checks),
        join: renderJoinScript(s, m),
        forgetJoin: withMember(renderForgetJoinScript, s, m),
        promote: renderPromoteScript(s, m),
        removalCheck: renderRemovalCheckScript(s),
        reconcileMembership: renderReconcileMembershipScript(s),
        memberList: renderMemberListScript(s),
        liveHealth: renderLiveHealthScript(s),
        dataProbe: renderDataProbeScript(s),
        rejoin: renderRejoinScript(s, m),
        defrag: renderDefragScript(s),
        disableDefrag: renderDisableDefragScript(),
        disableSnapshots: renderDisableSnapshotsScript(),
        ...(s.snapshots ? { snapshot: renderSnapshotScript(s, s.snapshots), enableSnapshots: renderEnableSnapshotsScript(s.snapshots) } : {}),
        ...(s.defrag ? { enableDefrag: renderEnableDefragScript(s.defrag) } : {}),
        // Run with the argument the snapshot script gives it.
        ...(s.snapshots?.copyTo ? { snapshotCopy: `set -- ${paths.snapshotDir}/scheduled-lab1-20261206T000000Z.db\n${renderSnapshotCopyScript(s, s.snapshots.copyTo, m)}` } : {}),
        ...(s.restore ? { restore: renderRestoreScript(s, m, s.restore, token), startRestored: renderStartRestoredScript(s, s.restore, "d".repeat(64)) } : {}),
    };
    const files: Record<string, string> = {
        etcdConfig: renderEtcdConfig(s, m, { token, initialClusterState: "new" }),
        unit: renderUnit(s, m),
        membersFile: renderMembersFile(s),
        snapshotUnit: renderSnapshotUnit(),
        defragUnit: renderDefragUnit(),
        ...(s.snapshots ? { snapshotTimer: renderSnapshotTimer(s.snapshots) } : {}),
        ...(s.defrag ? { defragTimer: renderDefragTimer(s.defrag) } : {}),
        ...(s.snapshots?.copyTo ? { snapshotCopyKnownHosts: renderSnapshotCopyKnownHosts(s.snapshots.copyTo) } : {}),
    };
    return { scripts, files };
}

/** Commands the rendered scripts call; each is a fake here (the harness test below checks none is missing). */
const fakeCommands = [
    "awk", "base64", "cat", "chmod", "chown", "cmp", "cp", "curl", "cut", "df", "etcd", "etcdctl", "etcdutl", "find", "getent",
    "grep", "groupadd", "head", "hostname", "id", "install", "journalctl", "ln", "ls", "mkdir", "mktemp", "mv", "nc", "paste", "readlink", "rm", "rmdir",
    "sed", "sha256sum", "sleep", "sort", "ss", "ssh-keyscan", "stat", "sudo", "systemctl", "systemd-analyze", "tail", "tar", "tee", "timeout", "tr",
    "uname", "useradd", "wc", "wget", "xargs", "nproc", "uniq", "flock", "sync", "seq", "ip", "sftp", "etcd-snapshot-copy",
];

/** A temp dir (writable by the user the scripts run as), a bin dir of fakes, and the sentinel the payloads aim at. */
function makeSandbox(): { dir: string; bin: string; sentinel: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-"));
    fs.chmodSync(dir, 0o777);
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { mode: 0o755 });
    fs.chmodSync(bin, 0o755);
    for (const c of fakeCommands) fs.writeFileSync(path.join(bin, c), `#!/bin/sh\nexit \${FAKE_RC:-0}\n`, { mode: 0o755 });
    // A clock that jumps 100000 s a call: every wait loop reaches its deadline at once.
    fs.writeFileSync(path.join(bin, "date"), `#!/bin/sh\nn=0; [ -f "$CLOCK" ] && read n < "$CLOCK"; n=$((n + 100000)); echo $n > "$CLOCK"; echo $n\n`, { mode: 0o755 });
    // Real ones: the payloads' own tool, sh for scripts that start another, and pure path arithmetic
    // (a loop climbing to an existing directory needs a dirname that answers).
    for (const real of ["touch", "sh", "dirname", "basename"]) {
        const found = spawnSync("sh", ["-c", `command -v ${real}`], { encoding: "utf8" }).stdout.trim();
        fs.symlinkSync(found, path.join(bin, real));
    }
    return { dir, bin, sentinel: path.join(dir, "sentinel") };
}

/** Runs `script` under sh with only the fakes on PATH (as nobody when the tests run as root: a stray write cannot land). */
function runFaked(box: { dir: string; bin: string }, script: string, rc: 0 | 1): { status: number | null; stderr: string } {
    // The copy script the snapshot script ends with is a fake too (it is run as a script of its own).
    const text = script.split(`${paths.binDir}/`).join(`${box.bin}/`).split(paths.snapshotCopyScriptPath).join(`${box.bin}/etcd-snapshot-copy`);
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = spawnSync("/bin/sh", ["-c", text], {
        cwd: box.dir, input: "", encoding: "utf8", timeout: 10000, ...asNobody,
        env: { PATH: box.bin, FAKE_RC: String(rc), CLOCK: path.join(box.dir, "clock"), HOME: box.dir },
    });
    return { status: r.status, stderr: r.stderr };
}

/** A spec field that reaches a rendered file: how to set it, and how a problem about it is named. */
interface Field {
    key: string;
    /** A problem naming this field matches. */
    named: RegExp;
    /** A valid value, which hostile text is put around. */
    valid: string;
    set(value: string): Partial<RawClusterConfig>;
}

const copyTo = { host: "backup.example.internal", user: "etcdbackup", path: "/srv/etcd-snapshots", hostKey: fixtureHostKeys[1] };
const base = (): Partial<RawClusterConfig> => ({ snapshots: { copyTo }, defrag: {} });
const withMember0 = (patch: Record<string, unknown>): Partial<RawClusterConfig> => {
    const [first, ...rest] = rawConfig().members as Record<string, unknown>[];
    return { ...base(), members: [{ ...first, ...patch }, ...rest] };
};

const fields: Field[] = [
    { key: "clusterName", named: /^clusterName/, valid: "lab", set: (v) => ({ ...base(), clusterName: v }) },
    { key: "members[0].name", named: /^members\[0\][\s\S]*name/, valid: "lab-1", set: (v) => withMember0({ name: v }) },
    { key: "members[0].address", named: /^members\[0\].*address/, valid: "10.213.0.11", set: (v) => withMember0({ address: v }) },
    { key: "members[0].sshHost", named: /^members\[0\].*sshHost/, valid: "lab-1.example.internal", set: (v) => withMember0({ sshHost: v }) },
    { key: "members[0].sshUser", named: /^members\[0\].*sshUser/, valid: "ops", set: (v) => withMember0({ sshUser: v }) },
    { key: "members[0].extraSans", named: /^members\[0\].*extraSans/, valid: "etcd.example.internal", set: (v) => withMember0({ extraSans: [v] }) },
    { key: "members[0].hostKey", named: /^members\[0\].*hostKey/, valid: fixtureHostKeys[0], set: (v) => withMember0({ hostKey: v }) },
    { key: "members[0].adopt.unit", named: /^members\[0\].*adopt\.unit/, valid: "etcd-legacy.service", set: (v) => withMember0({ adopt: { unit: v, dataDir: "/var/lib/etcd-legacy" } }) },
    { key: "members[0].adopt.dataDir", named: /^members\[0\].*adopt\.dataDir/, valid: "/var/lib/etcd-legacy", set: (v) => withMember0({ adopt: { unit: "etcd-legacy.service", dataDir: v } }) },
    { key: "dirs.data", named: /^dirs\.data/, valid: "/var/lib/etcd", set: (v) => ({ ...base(), dirs: { data: v } }) },
    { key: "dirs.config", named: /^dirs\.config/, valid: "/etc/etcd", set: (v) => ({ ...base(), dirs: { config: v } }) },
    { key: "dirs.pki", named: /^dirs\.pki/, valid: "/etc/etcd/pki", set: (v) => ({ ...base(), dirs: { pki: v } }) },
    { key: "version", named: /^version/, valid: "3.6.16", set: (v) => ({ ...base(), version: v }) },
    { key: "binary.url", named: /^binary\.url/, valid: "https://mirror.example/etcd-{version}-{arch}.tgz", set: (v) => ({ ...base(), binary: { url: v, sha256: { amd64: sha } } }) },
    { key: "binary.localTarball", named: /^binary\.localTarball/, valid: "/tmp/etcd.tar.gz", set: (v) => ({ ...base(), binary: { localTarball: v } }) },
    { key: "tuning.autoCompactionRetention", named: /^tuning\.autoCompactionRetention/, valid: "1h", set: (v) => ({ ...base(), tuning: { autoCompactionRetention: v } }) },
    { key: "tuning.autoCompactionMode", named: /^tuning\.autoCompactionMode/, valid: "periodic", set: (v) => ({ ...base(), tuning: { autoCompactionMode: v } }) },
    { key: "clientCertificates[0].name", named: /^clientCertificates\[0\].*name/, valid: "flannel", set: (v) => ({ ...base(), clientCertificates: [{ name: v, commonName: "flannel" }] }) },
    { key: "clientCertificates[0].commonName", named: /^clientCertificates\[0\].*commonName/, valid: "flannel", set: (v) => ({ ...base(), clientCertificates: [{ name: "flannel", commonName: v }] }) },
    { key: "clientCertificates[0].organization", named: /^clientCertificates\[0\].*organization/, valid: "kube", set: (v) => ({ ...base(), clientCertificates: [{ name: "flannel", commonName: "flannel", organization: v }] }) },
    { key: "clientCertificates[0].dir", named: /^clientCertificates\[0\].*dir/, valid: "/etc/flannel/etcd", set: (v) => ({ ...base(), clientCertificates: [{ name: "flannel", commonName: "flannel", dir: v }] }) },
    { key: "snapshots.onCalendar", named: /^snapshots\.onCalendar/, valid: "hourly", set: (v) => ({ ...base(), snapshots: { onCalendar: v, keep: 3, copyTo } }) },
    { key: "snapshots.members", named: /^snapshots\.members/, valid: "lab-2", set: (v) => ({ ...base(), snapshots: { members: [v], copyTo } }) },
    { key: "defrag.onCalendar", named: /^defrag\.onCalendar/, valid: "Sun *-*-* 03:00:00", set: (v) => ({ ...base(), defrag: { onCalendar: v } }) },
    { key: "defrag.member", named: /^defrag\.member/, valid: "lab-3", set: (v) => ({ ...base(), defrag: { member: v } }) },
    { key: "restore.snapshot", named: /^restore\.snapshot/, valid: "/backups/etcd.db", set: (v) => ({ ...base(), restore: { snapshot: v, sha256: "e".repeat(64) } }) },
    { key: "snapshots.copyTo.host", named: /^snapshots\.copyTo\.host/, valid: "backup.example.internal", set: (v) => ({ ...base(), snapshots: { copyTo: { ...copyTo, host: v } } }) },
    { key: "snapshots.copyTo.user", named: /^snapshots\.copyTo\.user/, valid: "etcdbackup", set: (v) => ({ ...base(), snapshots: { copyTo: { ...copyTo, user: v } } }) },
    { key: "snapshots.copyTo.path", named: /^snapshots\.copyTo\.path/, valid: "/srv/etcd-snapshots", set: (v) => ({ ...base(), snapshots: { copyTo: { ...copyTo, path: v } } }) },
    { key: "snapshots.copyTo.hostKey", named: /^snapshots\.copyTo\.hostKey/, valid: fixtureHostKeys[1], set: (v) => ({ ...base(), snapshots: { copyTo: { ...copyTo, hostKey: v } } }) },
    { key: "bastion.host", named: /^bastion.*host/, valid: "jump.example.internal", set: (v) => ({ ...base(), bastion: { host: v, user: "ops", hostKey: fixtureHostKeys[0] } }) },
    { key: "bastion.user", named: /^bastion.*user/, valid: "ops", set: (v) => ({ ...base(), bastion: { host: "10.213.0.2", user: v, hostKey: fixtureHostKeys[0] } }) },
];

/** Hostile text, each aimed at creating `sentinel` (a path with no characters that need quoting). */
function payloads(sentinel: string): string[] {
    return [
        `$(touch ${sentinel})`, `$(touch\${IFS}${sentinel})`, "`touch " + sentinel + "`", `;touch ${sentinel}`, `; touch ${sentinel};`,
        `|touch ${sentinel}`, `&touch ${sentinel}`, `&&touch\${IFS}${sentinel}`, `\ntouch ${sentinel}\n`, `'$(touch ${sentinel})'`, `"$(touch ${sentinel})"`,
        `'; touch ${sentinel}; '`, `"; touch ${sentinel}; "`, `$(:>${sentinel})`, `>${sentinel}`, `'>${sentinel}'`, `\\$(touch ${sentinel})`,
        `\${IFS}`, "*", "?", "[a]", "~", "{a,b}", "#", " ", "\t", "-x", "$HOME",
    ];
}

/** Either refused with a problem naming the field, or harmless in every rendered script (returns what it found). */
function check(box: ReturnType<typeof makeSandbox>, baseline: ReturnType<typeof renderAll>, f: Field, value: string): void {
    let s: ClusterSpec;
    try {
        s = parseClusterSpec(rawConfig(f.set(value)));
    } catch (e) {
        assert.ok(e instanceof SpecError, `${f.key}=${JSON.stringify(value)}: ${e}`);
        assert.ok(e.problems.some((p) => f.named.test(p)), `${f.key}=${JSON.stringify(value)} refused, but no problem names ${f.key}:\n${e.problems.join("\n")}`);
        return;
    }
    const rendered = renderAll(s);
    for (const [name, text] of Object.entries(rendered.files)) {
        const want = baseline.files[name]?.split("\n").length;
        if (want !== undefined) assert.equal(text.split("\n").length, want, `${f.key}=${JSON.stringify(value)} adds lines to ${name}:\n${text}`);
    }
    for (const [name, script] of Object.entries(rendered.scripts)) {
        if (script === baseline.scripts[name]) continue; // the value does not reach it
        for (const rc of [0, 1] as const) {
            runFaked(box, script, rc);
            assert.ok(!fs.existsSync(box.sentinel), `${f.key}=${JSON.stringify(value)} accepted, and the ${name} script (fakes exiting ${rc}) ran it`);
        }
    }
}

describe("hostile stack values (issue 25)", function () {
    this.timeout(120000);
    let box: ReturnType<typeof makeSandbox>;
    let baseline: ReturnType<typeof renderAll>;
    before(() => {
        box = makeSandbox();
        baseline = renderAll(parseClusterSpec(rawConfig(base())));
    });
    after(() => fs.rmSync(box.dir, { recursive: true, force: true }));
    afterEach(() => fs.rmSync(box.sentinel, { force: true }));

    it("the harness: fakes stand for every command the scripts call, and a substitution that runs is seen", () => {
        const adopting = renderAll(parseClusterSpec(rawConfig(fields.find((f) => f.key === "members[0].adopt.unit")!.set("etcd-legacy.service"))));
        const restoring = renderAll(parseClusterSpec(rawConfig(fields.find((f) => f.key === "restore.snapshot")!.set("/b.db"))));
        for (const scripts of [baseline.scripts, adopting.scripts, restoring.scripts]) {
            for (const [name, script] of Object.entries(scripts)) {
                for (const rc of [0, 1] as const) {
                    const r = runFaked(box, script, rc);
                    assert.ok(!/not found/.test(r.stderr), `${name} (fakes exiting ${rc}) calls a command with no fake:\n${r.stderr}`);
                    assert.notEqual(r.status, null, `${name} (fakes exiting ${rc}) did not finish`);
                }
            }
        }
        runFaked(box, `echo "$(touch ${box.sentinel})"`, 0);
        assert.ok(fs.existsSync(box.sentinel), "the sentinel should appear when a payload runs");
        fs.rmSync(box.sentinel);
    });

    it("the timer's refusal quotes the calendar as data even if one got past the spec (the lab printed '' after running it)", () => {
        const onCalendar = `$(touch ${box.sentinel})'"`;
        const r = runFaked(box, renderEnableSnapshotsScript({ onCalendar, keep: 3, maxAgeDays: 7, members: [] }), 1);
        assert.ok(!fs.existsSync(box.sentinel), "the calendar ran as a command");
        assert.ok(r.stderr.includes(`snapshots.onCalendar "${onCalendar}" is not a systemd calendar expression`), r.stderr);
    });

    it("every field: each hostile value is refused naming the field, or runs nowhere (fast-check)", () => {
        const hostile = payloads(box.sentinel);
        const arb = fc.record({
            field: fc.constantFrom(...fields),
            payload: fc.constantFrom(...hostile),
            where: fc.constantFrom("alone", "after", "before", "inside"),
        });
        const valueOf = (c: { field: Field; payload: string; where: string }): string =>
            c.where === "alone" ? c.payload : c.where === "after" ? c.field.valid + c.payload : c.where === "before" ? c.payload + c.field.valid
                : c.field.valid.slice(0, 2) + c.payload + c.field.valid.slice(2);
        // Every field meets the lab's payload (`$(touch${IFS}…)` behind a valid value) whatever the random draw.
        const examples = fields.map((field) => [{ field, payload: hostile[1], where: "after" }] as [{ field: Field; payload: string; where: string }]);
        fc.assert(fc.property(arb, (c) => {
            try {
                check(box, baseline, c.field, valueOf(c));
            } finally {
                fs.rmSync(box.sentinel, { force: true });
            }
        }), { numRuns: 300, examples });
    });
});

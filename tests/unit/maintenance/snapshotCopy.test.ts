/**
 * Copies of scheduled snapshots off their member (etcd:snapshots.copyTo): the config's checks
 * (each field, listed with every other problem), the rendered scripts (golden files), the copy
 * script run by sh against a fake `sftp` and `timeout` on PATH (a failed, partial or stalled copy
 * exits non-zero, keeps the member's snapshot and leaves nothing under a final name; retention
 * keeps exactly the newest `keep`), and the resources as declared (mocked engine): each member's
 * own key only on its own host, secret, and its restricted authorized_keys line in the output.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "../../../components/cluster";
import * as paths from "../../../components/base/paths";
import {
    renderSnapshotCopyKnownHosts, renderSnapshotCopyScript, snapshotCopyAuthorizedKey, snapshotCopyPath,
} from "../../../components/maintenance/renderSnapshotCopy";
import { renderSnapshotScript } from "../../../components/maintenance/renderSnapshots";
import { ClusterSpec, RawClusterConfig } from "../../../components/spec/types";
import { problemsOf, spec } from "../fixtures";
import { golden } from "../golden";
import { Recorded, installMocks, resolve } from "../mocks";

const destinationKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL+1aQBtGX9rLn/VK/lcViJYObI7EyOoUJ2qovQZb9Sk";
const copyTo = (patch: Record<string, unknown> = {}) => ({ host: "backup.example.internal", user: "etcdbackup", path: "/srv/etcd-snapshots", hostKey: destinationKey, keep: 3, ...patch });
const withCopy = (patch: Record<string, unknown> = {}, snapshots: Record<string, unknown> = {}): Partial<RawClusterConfig> =>
    ({ snapshots: { onCalendar: "hourly", keep: 5, maxAgeDays: 7, copyTo: copyTo(patch), ...snapshots } });

describe("snapshot copies: the config", () => {
    it("off unless asked; the defaults: port 22, keep as snapshots.keep", () => {
        assert.equal(spec({ snapshots: {} }).snapshots?.copyTo, undefined);
        const s = spec(withCopy({ keep: undefined, port: undefined }));
        assert.deepEqual(s.snapshots?.copyTo, { host: "backup.example.internal", port: 22, user: "etcdbackup", path: "/srv/etcd-snapshots", hostKey: destinationKey, keep: 5 });
    });

    for (const [what, patch, problem] of [
        ["a path with a space", { path: "/srv/etcd snapshots" }, /^snapshots\.copyTo\.path: "\/srv\/etcd snapshots" must be an absolute path/],
        ["a path with quotes", { path: "/srv/'x'\"y\"" }, /^snapshots\.copyTo\.path: .* may hold only letters, digits/],
        ["a path with ..", { path: "/srv/../etc" }, /^snapshots\.copyTo\.path: "\/srv\/\.\.\/etc" must be an absolute path without spaces, "\.\."/],
        ["a relative path", { path: "backups" }, /^snapshots\.copyTo\.path: "backups" must be an absolute path/],
        ["a path with a glob", { path: "/srv/*" }, /^snapshots\.copyTo\.path: .* may hold only/],
        ["no path", { path: undefined }, /^snapshots\.copyTo\.path: required/],
        ["a host that is neither a name nor an IP", { host: "backup host;reboot" }, /^snapshots\.copyTo\.host: "backup host;reboot" is neither a host name nor an IP address/],
        ["a host with a user in it", { host: "root@backup" }, /^snapshots\.copyTo\.host: "root@backup" is neither/],
        ["no host", { host: undefined }, /^snapshots\.copyTo\.host: required/],
        ["a user that is not a user name", { user: "-oProxyCommand=x" }, /^snapshots\.copyTo\.user: "-oProxyCommand=x" is not a user name/],
        ["no user", { user: undefined }, /^snapshots\.copyTo\.user: required/],
        ["keep 0", { keep: 0 }, /^snapshots\.copyTo\.keep: must be a positive integer/],
        ["keep -1", { keep: -1 }, /^snapshots\.copyTo\.keep: must be a positive integer/],
        ["port 0", { port: 0 }, /^snapshots\.copyTo\.port: must be a positive integer/],
        ["port 70000", { port: 70000 }, /^snapshots\.copyTo\.port: 70000 is not a TCP port/],
        ["no hostKey", { hostKey: undefined }, /^snapshots\.copyTo\.hostKey: required, the destination's SSH host key line/],
        ["a hostKey that is not a key", { hostKey: "ssh-ed25519 AAAA" }, /^snapshots\.copyTo\.hostKey is not an SSH public key line/],
        ["a hostKey under another key's type", { hostKey: destinationKey.replace("ssh-ed25519", "ssh-rsa") }, /^snapshots\.copyTo\.hostKey is not an SSH public key line/],
    ] as Array<[string, Record<string, unknown>, RegExp]>) {
        it(`refuses ${what}, naming the field`, () => {
            const problems = problemsOf(withCopy(patch));
            assert.ok(problems.some((p) => problem.test(p)), problems.join("\n"));
        });
    }

    it("refuses a copyTo that is not an object", () => {
        assert.ok(problemsOf({ snapshots: { copyTo: "backup:/srv" } }).includes("snapshots.copyTo: must be an object"));
    });

    it("lists every copyTo problem with every other problem of the stack, in one refusal", () => {
        const problems = problemsOf({ ...withCopy({ host: "a b", user: "1x", path: "/srv/../x", hostKey: undefined, keep: 0 }), tuning: { snapshotCount: -5 } });
        for (const field of ["host", "user", "path", "hostKey", "keep"]) {
            assert.ok(problems.some((p) => p.startsWith(`snapshots.copyTo.${field}`)), `${field}: ${problems.join("\n")}`);
        }
        assert.ok(problems.some((p) => p.startsWith("tuning.snapshotCount")), problems.join("\n"));
    });

    it("the host key is stored as its type and key only: a comment after it never reaches the known_hosts file", () => {
        const s = spec(withCopy({ hostKey: `${destinationKey} root@backup $(reboot)` }));
        assert.equal(renderSnapshotCopyKnownHosts(s.snapshots!.copyTo!), `${paths.snapshotCopyHostAlias} ${destinationKey}\n`);
    });
});

describe("snapshot copies: rendered files (golden)", () => {
    const s = spec(withCopy({ port: 2222 }));
    const m = s.members[0];
    it("copy script", () => golden("maintenance/etcd-snapshot-copy.sh", renderSnapshotCopyScript(s, s.snapshots!.copyTo!, m)));
    it("snapshot script ending with the copy", () => golden("maintenance/etcd-snapshot-with-copy.sh", renderSnapshotScript(s, s.snapshots!)));
    it("known_hosts", () => golden("maintenance/etcd-snapshot-copy.known_hosts", renderSnapshotCopyKnownHosts(s.snapshots!.copyTo!)));
    it("without copyTo, the snapshot script is unchanged (no copy line)", () => {
        const plain = spec({ snapshots: { onCalendar: "hourly", keep: 5, maxAgeDays: 7 } });
        assert.ok(!renderSnapshotScript(plain, plain.snapshots!).includes(paths.snapshotCopyScriptPath));
        assert.ok(renderSnapshotScript(s, s.snapshots!).trimEnd().endsWith(`${paths.snapshotCopyScriptPath} "$file"`));
    });
    it("an IPv6 destination is bracketed for sftp", () => {
        const v6 = spec(withCopy({ host: "fd00::9" }));
        assert.match(renderSnapshotCopyScript(v6, v6.snapshots!.copyTo!, v6.members[0]), /'etcdbackup@\[fd00::9\]'/);
    });
    it("the authorized_keys line: restricted to SFTP, the key's type and body, named after the member", () => {
        assert.equal(snapshotCopyAuthorizedKey("ssh-ed25519 AAAAkey\n", m), 'restrict,command="internal-sftp" ssh-ed25519 AAAAkey etcd-snapshot-copy@lab-1');
    });
});

/**
 * A fake sftp: runs the batch file (-b) against $REMOTE (the destination's filesystem, remote
 * paths under it), echoing each command as sftp does ("sftp> …") and stopping at the first failed
 * one unless it starts with "-". SFTP=refuse: no connection (exit 255); SFTP=partial: the upload
 * writes 3 bytes and fails; SFTP=hang: the upload writes 3 bytes and waits; SFTP=noprune: rm fails.
 * Its arguments go to $LOG.
 */
const fakeSftp = `#!/bin/sh
echo "$*" >> "$LOG"
batch=""; while [ $# -gt 1 ]; do [ "$1" = -b ] && batch=$2; shift; done
[ "\${SFTP:-}" = refuse ] && { echo "ssh: connect to host backup port 22: Connection refused" >&2; echo "Connection closed" >&2; exit 255; }
while IFS= read -r line; do
  echo "sftp> $line"
  ignore=0; case $line in -*) ignore=1; line=\${line#-} ;; esac
  set -- $line
  rc=0
  case $1 in
    mkdir) mkdir "$REMOTE$2" 2>/dev/null || rc=1 ;;
    put) case "\${SFTP:-}" in
           partial) head -c 3 "$2" > "$REMOTE$3"; echo "dest open: Failure (disk full)" >&2; rc=1 ;;
           hang) head -c 3 "$2" > "$REMOTE$3"; sleep 30 ;;
           *) cp "$2" "$REMOTE$3" || rc=1 ;;
         esac ;;
    rename) [ ! -e "$REMOTE$3" ] && mv "$REMOTE$2" "$REMOTE$3" || rc=1 ;;
    ls) for f in "$REMOTE$3"/*; do [ -e "$f" ] && echo "$3/$(basename "$f")"; done ;;
    rm) [ "\${SFTP:-}" = noprune ] && rc=1 || rm "$REMOTE$2" || rc=1 ;;
    *) echo "unknown command $1" >&2; rc=1 ;;
  esac
  [ $rc = 0 ] || [ $ignore = 1 ] || { echo "$1 failed" >&2; exit 1; }
done < "$batch"
`;
/** A fake timeout: records its bound, then runs the command under the real one, 2 s instead. */
const fakeTimeout = (real: string) => `#!/bin/sh
echo "timeout $1 $2 $3" >> "$LOG"
shift 3
exec ${real} -k 1s 2s "$@"
`;

describe("snapshot copies: the copy script run by sh against a fake sftp", function () {
    this.timeout(30_000);
    const s = spec(withCopy());
    const copy = s.snapshots!.copyTo!;
    const m = s.members[0];
    let root = "", bin = "", local = "", remote = "", log = "";
    const memberDir = () => path.join(remote, copy.path, m.name);
    const snapshot = (time: string) => path.join(local, `scheduled-lab1-${time}.db`);

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-snapshot-copy-"));
        bin = path.join(root, "bin");
        local = path.join(root, "backups");
        remote = path.join(root, "remote");
        log = path.join(root, "log");
        for (const d of [bin, local, path.join(remote, copy.path)]) fs.mkdirSync(d, { recursive: true });
        fs.writeFileSync(path.join(bin, "sftp"), fakeSftp, { mode: 0o755 });
        const real = spawnSync("sh", ["-c", "command -v timeout"], { encoding: "utf8" }).stdout.trim();
        fs.writeFileSync(path.join(bin, "timeout"), fakeTimeout(real), { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    function run(file: string, env: Record<string, string> = {}) {
        const script = renderSnapshotCopyScript(s, copy, m);
        return spawnSync("sh", ["-c", script, "etcd-snapshot-copy", file], {
            encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, REMOTE: remote, LOG: log, ...env },
        });
    }
    function take(time: string, content = `snapshot at ${time}\n`.repeat(50)): string {
        const f = snapshot(time);
        fs.writeFileSync(f, content);
        return f;
    }
    const copies = () => fs.existsSync(memberDir()) ? fs.readdirSync(memberDir()).sort() : [];

    it("copies the snapshot to <path>/<member>/ under its own name, through sftp with the pinned key, batch mode and a bound", () => {
        const f = take("20261206T040000Z");
        const r = run(f);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(copies(), ["scheduled-lab1-20261206T040000Z.db"]);
        assert.equal(fs.readFileSync(path.join(memberDir(), "scheduled-lab1-20261206T040000Z.db"), "utf8"), fs.readFileSync(f, "utf8"));
        assert.match(r.stdout, /^copied scheduled-lab1-20261206T040000Z\.db to etcdbackup@backup\.example\.internal:\/srv\/etcd-snapshots\/lab-1\/ \(\d+ bytes\); 1 kept there\n$/);
        assert.ok(fs.existsSync(f), "the member's snapshot stays");
        const calls = fs.readFileSync(log, "utf8");
        assert.match(calls, new RegExp(`^timeout -k 10s ${paths.snapshotCopyTimeoutSeconds}s\\n`));
        for (const option of ["-b ", "-P 22", "-o BatchMode=yes", "-o StrictHostKeyChecking=yes", `-o UserKnownHostsFile=${snapshotCopyPath(s, "knownHosts")}`,
            "-o GlobalKnownHostsFile=/dev/null", `-o HostKeyAlias=${paths.snapshotCopyHostAlias}`, `-o IdentityFile=${snapshotCopyPath(s, "key")}`, "-o IdentitiesOnly=yes",
            `-o ConnectTimeout=${paths.snapshotCopyConnectTimeoutSeconds}`, "-o ServerAliveInterval=", "-F none"]) {
            assert.ok(calls.includes(option), `sftp without ${option}: ${calls}`);
        }
        assert.match(calls, / etcdbackup@backup\.example\.internal\n/);
    });

    it("retention: keeps exactly the newest 3 of this member's copies (by the time in their names), removes a stale partial, touches nothing else", () => {
        fs.mkdirSync(memberDir(), { recursive: true });
        const old = ["20261201T000000Z", "20261202T000000Z", "20261203T000000Z", "20261204T000000Z"];
        // Written newest first, so their mtimes disagree with their names: the names decide.
        for (const t of [...old].reverse()) fs.writeFileSync(path.join(memberDir(), `scheduled-lab1-${t}.db`), "old");
        // A copy from the member's earlier host name counts too; a stale partial goes; other files stay.
        fs.writeFileSync(path.join(memberDir(), "scheduled-old-host-20261205T000000Z.db"), "old");
        fs.writeFileSync(path.join(memberDir(), "scheduled-lab1-20261130T000000Z.db.part"), "par");
        fs.writeFileSync(path.join(memberDir(), "README"), "mine");
        fs.mkdirSync(path.join(remote, copy.path, "lab-2"));
        fs.writeFileSync(path.join(remote, copy.path, "lab-2", "scheduled-lab2-20261101T000000Z.db"), "other member");
        const r = run(take("20261206T000000Z"));
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(copies(), ["README", "scheduled-lab1-20261204T000000Z.db", "scheduled-lab1-20261206T000000Z.db", "scheduled-old-host-20261205T000000Z.db"]);
        assert.match(r.stdout, /; 3 kept there\n$/);
        assert.deepEqual(fs.readdirSync(path.join(remote, copy.path, "lab-2")), ["scheduled-lab2-20261101T000000Z.db"]);
    });

    it("retention: fewer than keep, nothing removed", () => {
        run(take("20261206T010000Z"));
        const r = run(take("20261206T020000Z"));
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(copies(), ["scheduled-lab1-20261206T010000Z.db", "scheduled-lab1-20261206T020000Z.db"]);
        assert.match(r.stdout, /; 2 kept there\n$/);
    });

    it("a destination that does not answer: exit non-zero, the reason in stderr (the journal), the member's snapshot kept", () => {
        const f = take("20261206T030000Z");
        const r = run(f, { SFTP: "refuse" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /Connection refused/);
        assert.match(r.stderr, /snapshot scheduled-lab1-20261206T030000Z\.db not copied to etcdbackup@backup\.example\.internal:\/srv\/etcd-snapshots\/lab-1\/ \(sftp exit 255\); the snapshot stays on this host: /);
        assert.ok(fs.existsSync(f));
        assert.deepEqual(copies(), []);
    });

    it("a copy that fails halfway: exit non-zero, never under the final name, the snapshot kept; the next run clears the partial and copies", () => {
        const f = take("20261206T040000Z");
        const r = run(f, { SFTP: "partial" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /disk full/);
        assert.ok(fs.existsSync(f));
        assert.deepEqual(copies(), ["scheduled-lab1-20261206T040000Z.db.part"], "only the temporary name");
        const next = run(take("20261206T050000Z"));
        assert.equal(next.status, 0, next.stderr);
        assert.deepEqual(copies(), ["scheduled-lab1-20261206T050000Z.db"]);
    });

    it("a copy that stalls is stopped by its time bound: exit non-zero, nothing under the final name, the snapshot kept", () => {
        const f = take("20261206T060000Z");
        const started = Date.now();
        const r = run(f, { SFTP: "hang" });
        assert.ok(Date.now() - started < 15_000, "bounded");
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /\(sftp exit 124\)/);
        assert.ok(fs.existsSync(f));
        assert.ok(copies().every((c) => c.endsWith(".part")), copies().join(" "));
    });

    it("copied but not pruned: exit non-zero, saying so; the copy and the snapshot stay", () => {
        fs.mkdirSync(memberDir(), { recursive: true });
        for (const t of ["20261201T000000Z", "20261202T000000Z", "20261203T000000Z"]) fs.writeFileSync(path.join(memberDir(), `scheduled-lab1-${t}.db`), "old");
        const f = take("20261206T070000Z");
        const r = run(f, { SFTP: "noprune" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /copied to .* but the old copies there were not removed/);
        assert.ok(copies().includes("scheduled-lab1-20261206T070000Z.db"));
        assert.ok(fs.existsSync(f));
    });

    it("refuses a file that is not a scheduled snapshot, or a path with characters sftp would read", () => {
        fs.writeFileSync(path.join(local, "other.db"), "x");
        assert.notEqual(run(path.join(local, "other.db")).status, 0);
        const odd = path.join(local, "scheduled-lab1 x.db");
        fs.writeFileSync(odd, "x");
        const r = run(odd);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /unexpected characters/);
        assert.ok(!fs.existsSync(log), "sftp never ran");
    });

    it("the snapshot job with copyTo: a failed copy fails the job after the snapshot was checked and kept", () => {
        // The snapshot script with fake etcdctl/etcdutl/install (as snapshotRetention.test.ts), ending with this copy script.
        for (const [name, text] of Object.entries({
            etcdctl: '#!/bin/sh\ncase "$*" in *"snapshot save"*) for a; do f=$a; done; echo snapshot > "$f" ;; esac\n',
            etcdutl: "#!/bin/sh\nexit 0\n",
            install: '#!/bin/sh\nfor a; do d=$a; done; mkdir -p "$d"\n',
        })) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
        const copyScript = path.join(bin, "etcd-snapshot-copy");
        fs.writeFileSync(copyScript, renderSnapshotCopyScript(s, copy, m), { mode: 0o755 });
        const job = renderSnapshotScript(s, s.snapshots!).split(paths.snapshotDir).join(local).split(`${paths.binDir}/`).join(`${bin}/`)
            .split(paths.snapshotCopyScriptPath).join(copyScript);
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, REMOTE: remote, LOG: log };
        const failed = spawnSync("sh", ["-c", job], { encoding: "utf8", env: { ...env, SFTP: "refuse" } });
        assert.notEqual(failed.status, 0);
        assert.match(failed.stdout, /checked; 1 kept/);
        assert.match(failed.stderr, /not copied to/);
        assert.equal(fs.readdirSync(local).filter((f) => /^scheduled-.*\.db$/.test(f)).length, 1, "the snapshot stays");
        const ok = spawnSync("sh", ["-c", job], { encoding: "utf8", env });
        assert.equal(ok.status, 0, ok.stderr);
        assert.match(ok.stdout, /copied scheduled-.*; 1 kept there/);
    });
});

describe("snapshot copies as declared: a key of each member's own, only on its host (mocked engine)", function () {
    this.timeout(60_000);
    let recorded: Recorded[];
    let s: ClusterSpec;
    let keys: Record<string, string>;
    let tmp = "";
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-copy-mock-"));
        const tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
        recorded = installMocks();
        s = spec({ ...withCopy({}, { members: ["lab-1", "lab-2"] }), binary: { localTarball: tarball } });
        const c = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
        keys = await resolve(pulumi.all(c.snapshotCopyKeys));
        await new Promise((r) => setTimeout(r, 200));
    });

    const unwrapSecret = (v: any): any => (typeof v === "object" && v !== null && "value" in v ? v.value : v);
    const write = (member: string) => {
        const r = recorded.find((x) => x.name === `${member}-snapshot-files-write`);
        assert.ok(r, `no files of ${member}`);
        return r;
    };

    it("each snapshotting member gets an ED25519 key of its own; the third member none", () => {
        const made = recorded.filter((r) => r.type === "tls:index/privateKey:PrivateKey" && /copy-key$/.test(r.name));
        assert.deepEqual(made.map((r) => [r.name, r.inputs.algorithm]).sort(), [["lab-1-snapshots-copy-key", "ED25519"], ["lab-2-snapshots-copy-key", "ED25519"]]);
    });

    it("its private key, known_hosts and copy script are among the member's files (key 0600 root), the contents secret, on its own host only", () => {
        for (const [member, host] of [["lab-1", "10.213.0.11"], ["lab-2", "10.213.0.12"]]) {
            const w = write(member);
            assert.ok(typeof w.inputs.contents === "object" && w.inputs.contents !== null && "value" in w.inputs.contents, "contents are a secret");
            const contents = unwrapSecret(w.inputs.contents) as Record<string, string>;
            assert.equal(contents[snapshotCopyPath(s, "key")], `OPENSSH-PRIVATE-KEY(${member}-snapshots-copy-key)\n`);
            assert.equal(contents[snapshotCopyPath(s, "knownHosts")], renderSnapshotCopyKnownHosts(s.snapshots!.copyTo!));
            assert.equal(contents[paths.snapshotCopyScriptPath], renderSnapshotCopyScript(s, s.snapshots!.copyTo!, s.members.find((m) => m.name === member)!));
            const files = w.inputs.files as Record<string, { sha256: string; mode: string; owner: string }>;
            assert.deepEqual(files[snapshotCopyPath(s, "key")], { sha256: files[snapshotCopyPath(s, "key")].sha256, mode: "0600", owner: "root:root" });
            assert.equal(files[paths.snapshotCopyScriptPath].mode, paths.modes.binary);
            assert.equal(unwrapSecret(w.inputs.connection).host, host);
        }
        // No other resource carries a member's copy key: not the other member's files, not a command.
        for (const r of recorded) {
            const text = JSON.stringify(r.inputs);
            for (const member of ["lab-1", "lab-2"]) {
                if (text.includes(`OPENSSH-PRIVATE-KEY(${member}-`)) assert.equal(r.name, `${member}-snapshot-files-write`, `${member}'s copy key in ${r.name}`);
            }
        }
    });

    it("the output: member → its restricted authorized_keys line, public", () => {
        assert.deepEqual(keys, {
            "lab-1": 'restrict,command="internal-sftp" ssh-ed25519 PUBLIC-KEY(lab-1-snapshots-copy-key) etcd-snapshot-copy@lab-1',
            "lab-2": 'restrict,command="internal-sftp" ssh-ed25519 PUBLIC-KEY(lab-2-snapshots-copy-key) etcd-snapshot-copy@lab-2',
        });
    });
});

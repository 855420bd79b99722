/**
 * render.ts's scripts that the golden files pin only as text, run under `sh` with fake commands
 * (each records its arguments): the host key check per key type, the health gate's member count
 * whatever the order of the stack's names, the stdin runner and the step bundle, the removal of a
 * staged release; and the etcd config of a member whose address is loopback.
 * Every temp dir is made inside its test (the suite passes a second run in one process).
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../components/base/paths";
import { renderHostKeyCheckScript } from "../../components/host/renderHostKeyCheck";
import { renderRemoveStagedReleaseScript, renderStageReleaseScript, unpackedReleaseDir } from "../../components/host/renderRelease";
import { renderEtcdConfig, renderRemoveBinariesScript, renderRemoveDirsScript } from "../../components/member/render";
import { renderHealthGateScript } from "../../components/membership/renderMembership";
import { renderSequence, shq, renderScriptBundle, renderStdinRunner } from "../../components/shell/script";
import { configPath } from "../../components/spec/where";
import { hostKeyFingerprint } from "../../components/base/hostKeys";
import { spec } from "./fixtures";

function withDir<T>(prefix: string, fn: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `etcd-stack-${prefix}-`));
    try {
        return fn(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function tool(dir: string, name: string, body: string): void {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}`, { mode: 0o755 });
}

describe("render scripts run by sh: the host key check asks the host for the pinned key's type", function () {
    this.timeout(20_000);
    const s = spec({ members: [{ name: "m-1", address: "10.213.0.11", sshPort: 2222 }, { name: "m-2", address: "10.213.0.12" }, { name: "m-3", address: "10.213.0.13" }], allowUnverifiedHosts: true });
    const member = s.members[0];
    const pinned = { "ssh-ed25519": "AAAAC3NzaC1lZDI1NTE5AAAAIO2LLz4IJXE9JMXkcKhwfbvX3gkk92DKtYXITyCtmZF3", "ecdsa-sha2-nistp256": "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPINNED", "ssh-rsa": "AAAAB3NzaC1yc2EAAAADAQABAAABAQPINNED", "rsa-sha2-512": "AAAAB3NzaC1yc2EAAAADAQABAAABAQPINNED512" };
    const scan = { "ssh-ed25519": "ed25519", "ecdsa-sha2-nistp256": "ecdsa", "ssh-rsa": "rsa", "rsa-sha2-512": "rsa" } as const;

    /** Runs the check against a fake ssh-keyscan presenting `presents` (a blob, or nothing). */
    const check = (type: keyof typeof pinned, presents: string | undefined) => withDir("hostkey", (dir) => {
        const calls = path.join(dir, "calls");
        tool(dir, "ssh-keyscan", `echo "ssh-keyscan $*" >> ${calls}\necho "# 10.213.0.11:2222 SSH-2.0-OpenSSH_9.6"\n${presents === undefined ? "" : `echo "[10.213.0.11]:2222 ${type} ${presents}"`}\n`);
        tool(dir, "ssh-keygen", `echo "ssh-keygen $*" >> ${calls}\nwhile read -r t b; do echo "256 SHA256:fp-of-$b no comment ($t)"; done\n`);
        const r = spawnSync("sh", ["-c", renderHostKeyCheckScript(member, `${type} ${pinned[type]}`)], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
        return { ...r, calls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [] };
    });

    for (const type of Object.keys(pinned) as (keyof typeof pinned)[]) {
        it(`${type}: asks for ${scan[type]} keys on the member's SSH port; the pinned key passes, another fails naming both fingerprints and the ${scan[type]} host key file`, () => {
            const ok = check(type, pinned[type]);
            assert.equal(ok.status, 0, ok.stdout + ok.stderr);
            assert.deepEqual(ok.calls, [`ssh-keyscan -T 5 -t ${scan[type]} -p 2222 10.213.0.11`]);
            assert.equal(ok.stdout, `m-1: 10.213.0.11:2222 presents the pinned host key ${hostKeyFingerprint(`${type} ${pinned[type]}`)}\n`);

            const other = check(type, "AAAAOTHERKEY");
            assert.equal(other.status, 1, other.stdout + other.stderr);
            assert.deepEqual(other.calls, [`ssh-keyscan -T 5 -t ${scan[type]} -p 2222 10.213.0.11`, "ssh-keygen -lf -"]);
            assert.equal(other.stdout, "");
            assert.match(other.stderr, new RegExp(`^m-1: 10\\.213\\.0\\.11:2222 presents host key SHA256:fp-of-AAAAOTHERKEY, but the stack pins ${hostKeyFingerprint(`${type} ${pinned[type]}`).replace(/[+/]/g, "\\$&")} \\(${type}\\): another machine answers there; nothing was sent to it\\. .*ssh_host_${scan[type]}_key\\.pub`));

            const none = check(type, undefined);
            assert.equal(none.status, 1);
            assert.equal(none.stderr, `m-1: 10.213.0.11:2222 presents no ${type} host key (host down, or sshd not answering)\n`);
        });
    }
});

describe("render scripts run by sh: the health gate", function () {
    this.timeout(20_000);
    const id = (n: number) => `${n}000000000000000`;

    /**
     * The stack's members, not in sorted order, and a fake etcdctl: `list` the member list rows
     * (name, started or not), `sick` the client URLs whose health fails.
     */
    const gate = (list: { name: string; started?: boolean }[], sick: string[] = []) => withDir("gate", (dir) => {
        const s = spec({ members: [{ name: "zeta", address: "10.0.0.3" }, { name: "alpha", address: "10.0.0.1" }, { name: "mid", address: "10.0.0.2" }], allowUnverifiedHosts: true, healthTimeoutSeconds: 1 });
        const rows = list.map((m, i) => `${id(i + 1)}, ${m.started === false ? "unstarted" : "started"}, ${m.started === false ? "" : m.name}, https://x:2380, https://x:2379, false`);
        fs.writeFileSync(path.join(dir, "list"), rows.join("\n") + "\n");
        fs.writeFileSync(path.join(dir, "sick"), sick.join("\n") + "\n");
        tool(dir, "etcdctl", [
            `eps=""; prev=""; for a; do [ "$prev" != --endpoints ] || eps=$a; prev=$a; done`,
            `case "$*" in`,
            `  *"member list"*) cat ${dir}/list ;;`,
            `  *"endpoint health"*) bad=0; for ep in $(echo "$eps" | tr , ' '); do if grep -qxF "$ep" ${dir}/sick; then echo "$ep is unhealthy: failed to commit proposal: context deadline exceeded" >&2; bad=1; else echo "$ep is healthy"; fi; done; exit $bad ;;`,
            `esac`,
        ].join("\n") + "\n");
        tool(dir, "journalctl", "exit 0\n");
        tool(dir, "hostname", "echo gatehost\n");
        const script = renderHealthGateScript(s).split(`${paths.binDir}/etcdctl`).join(path.join(dir, "etcdctl"));
        return spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
    });

    it("passes when the member list holds the stack's members, started, in any order, and every member answers healthy", () => {
        const r = gate([{ name: "mid" }, { name: "zeta" }, { name: "alpha" }]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.equal(r.stdout, "healthy: every member of [alpha,mid,zeta] answers (asked on gatehost)\n");
    });

    it("fails naming the list when a member is missing or not started, or a stranger is listed", () => {
        for (const list of [[{ name: "mid" }, { name: "zeta" }], [{ name: "mid" }, { name: "zeta" }, { name: "alpha", started: false }], [{ name: "mid" }, { name: "zeta" }, { name: "alpha" }, { name: "other" }]]) {
            const r = gate(list);
            assert.equal(r.status, 1, r.stdout + r.stderr);
            const got = list.filter((m) => m.started !== false).map((m) => m.name).sort().join(",");
            assert.equal(r.stderr, `the cluster lists [${got}] as started members, expected [alpha,mid,zeta] (asked on gatehost)\n`);
        }
    });

    it("fails naming each member that does not answer healthy, with its error, and only those", () => {
        const r = gate([{ name: "mid" }, { name: "zeta" }, { name: "alpha" }], ["https://10.0.0.3:2379"]);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.equal(r.stderr, "not every member is healthy after 1s (asked on gatehost):\n" +
            "  - zeta (https://10.0.0.3:2379): https://10.0.0.3:2379 is unhealthy: failed to commit proposal: context deadline exceeded; see journalctl -u etcd.service on zeta\n");
    });
});

describe("render scripts run by sh: the stdin runner and the step bundle", function () {
    this.timeout(20_000);
    const bundle = renderScriptBundle({ create: "set -eu\necho made\n", update: "set -eu\necho changed; exit 7\n" });

    it("the runner's label is one comment line, newlines and all; it runs the named step of the bundle on stdin and passes its exit code", () => {
        const runner = renderStdinRunner("m-1 service\nsecond line\nthird", "update");
        assert.equal(runner.split("\n")[0], "# etcd-stack: m-1 service second line third (update)");
        assert.equal(runner.split("\n").length, 5);
        const r = spawnSync("sh", ["-c", runner], { input: bundle, encoding: "utf8" });
        assert.equal(r.status, 7);
        assert.equal(r.stdout, "changed\n");
        const c = spawnSync("sh", ["-c", renderStdinRunner("m-1 service", "create")], { input: bundle, encoding: "utf8" });
        assert.equal(c.status, 0, c.stderr);
        assert.equal(c.stdout, "made\n");
    });

    it("as another login than root it runs the step through sudo -n; a login whose sudo asks for a password stops first, naming the login, the host and what to configure, and runs nothing", () => withDir("sudo", (dir) => {
        // id answers $FAKE_UID; sudo, like sudo -n with a password rule when $FAKE_SUDO=password.
        tool(dir, "id", `case "$1" in -u) echo "$FAKE_UID" ;; -un) echo deploy ;; esac\n`);
        tool(dir, "uname", `[ "$1" = -n ] && echo lab2\n`);
        tool(dir, "sudo", `[ "$1" = -n ] || exit 97\n[ "$FAKE_SUDO" != password ] || { echo "sudo: a password is required" >&2; exit 1; }\nshift\necho "$*" >> "$SUDO_LOG"\nexec "$@"\n`);
        const tmp = path.join(dir, "tmp");
        fs.mkdirSync(tmp);
        const run = (uid: number, sudo: string) => spawnSync("sh", ["-c", renderStdinRunner("m-2 prepare", "create")], {
            input: bundle, encoding: "utf8",
            env: { PATH: `${dir}:${process.env.PATH}`, FAKE_UID: String(uid), FAKE_SUDO: sudo, SUDO_LOG: path.join(dir, "sudo.log"), TMPDIR: tmp },
        });
        const root = run(0, "");
        assert.deepEqual([root.status, root.stdout, fs.existsSync(path.join(dir, "sudo.log"))], [0, "made\n", false], root.stderr);
        const deploy = run(1000, "");
        assert.deepEqual([deploy.status, deploy.stdout], [0, "made\n"], deploy.stderr);
        assert.match(fs.readFileSync(path.join(dir, "sudo.log"), "utf8"), /^true\nsh \S+ create\n$/, "sudo -n asked once to check, once to run");
        const refused = run(1000, "password");
        assert.equal(refused.status, 1);
        assert.equal(refused.stdout, "", "the step did not run");
        assert.equal(refused.stderr, "etcd-stack: the login deploy on lab2 cannot run commands as root without a password (sudo -n failed): " +
            "give it passwordless sudo (a NOPASSWD rule in /etc/sudoers.d) or log in as root\n");
        assert.deepEqual(fs.readdirSync(tmp), [], "no script left in the temp dir");
    }));

    it("an empty stdin fails before running anything; an unknown step fails with exit 2", () => {
        const empty = spawnSync("sh", ["-c", renderStdinRunner("m-1 service", "create")], { input: "", encoding: "utf8" });
        assert.equal(empty.status, 1);
        assert.equal(empty.stderr, "etcd-stack: no script on stdin\n");
        const unknown = spawnSync("sh", ["-c", renderStdinRunner("m-1 service", "delete")], { input: bundle, encoding: "utf8" });
        assert.equal(unknown.status, 2);
        assert.equal(unknown.stdout, "");
        assert.equal(unknown.stderr, "unknown step: delete\n");
    });
});

describe("render scripts run by sh: removing a staged release", function () {
    this.timeout(20_000);

    const remove = (state: string, tarball: string) => spawnSync("sh", ["-c", renderRemoveStagedReleaseScript(tarball).split(paths.stateDir).join(state)], { encoding: "utf8" });

    it("removes the tarball, its unpacked binaries and its sums, then the empty releases and state dirs", () => withDir("unstage", (dir) => {
        const state = path.join(dir, "state"), releases = path.join(state, "releases");
        const tarball = path.join(paths.releaseDir, "etcd-v3.6.16.tar.gz");
        const local = tarball.split(paths.stateDir).join(state);
        fs.mkdirSync(path.join(unpackedReleaseDir(local)), { recursive: true });
        fs.writeFileSync(path.join(unpackedReleaseDir(local), "etcd"), "bin");
        fs.writeFileSync(local, "tar");
        fs.writeFileSync(local + paths.releaseSumsSuffix, "sums");
        const r = remove(state, tarball);
        assert.equal(r.status, 0, r.stderr);
        assert.ok(!fs.existsSync(releases) && !fs.existsSync(state), "releases and state dirs removed once empty");
    }));

    it("keeps another release and the dirs that hold it", () => withDir("unstage", (dir) => {
        const state = path.join(dir, "state"), releases = path.join(state, "releases");
        fs.mkdirSync(releases, { recursive: true });
        const mine = path.join(releases, "etcd-v3.6.16.tar.gz"), other = path.join(releases, "etcd-v3.6.15.tar.gz");
        for (const t of [mine, other]) {
            fs.writeFileSync(t, "tar");
            fs.writeFileSync(t + paths.releaseSumsSuffix, "sums");
            fs.mkdirSync(unpackedReleaseDir(t));
        }
        const r = remove(state, path.join(paths.releaseDir, "etcd-v3.6.16.tar.gz"));
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(fs.readdirSync(releases).sort(), ["etcd-v3.6.15.tar.gz", "etcd-v3.6.15.tar.gz.d", "etcd-v3.6.15.tar.gz.sha256sums"]);
    }));
});

describe("render: the etcd config of a member whose address is loopback", () => {
    it("listens for clients on 127.0.0.1 once; a member elsewhere also on loopback", () => {
        const s = spec({ members: [{ name: "a", address: "127.0.0.1" }, { name: "b", address: "10.0.0.2" }, { name: "c", address: "10.0.0.3" }], allowUnverifiedHosts: true });
        const line = (i: number) => renderEtcdConfig(s, s.members[i], { token: "t", initialClusterState: "new" }).split("\n").find((l) => l.startsWith("listen-client-urls:"));
        assert.equal(line(0), `listen-client-urls: "https://127.0.0.1:2379"`);
        assert.equal(line(1), `listen-client-urls: "https://10.0.0.2:2379,https://127.0.0.1:2379"`);
    });
});

describe("render: shq quotes any value as one word that sh reads back unchanged", () => {
    it("quotes, several of them, spaces, newlines, $ and backquotes (run by sh)", () => {
        const values = ["plain", "it's", "a'b'c''d", "'", "''", " two  words ", "line\nbreak", "$(touch /tmp/x) `id` ${HOME} \\ \"", ""];
        const script = values.map((v) => `printf '%s\\0' ${shq(v)}`).join("\n");
        const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.stdout.split("\0").slice(0, -1), values);
        assert.equal(shq(42), "'42'");
    });
});

describe("render scripts run by sh: removing the binaries (on destroy)", function () {
    this.timeout(20_000);

    it("removes etcd, etcdctl and etcdutl on this member's host, and leaves other files (the staging dir is the prepare step's)", () => withDir("unbin", (root) => {
        const s = spec({ dirs: { config: path.join(root, "etc", "etcd") } });
        const bin = path.join(root, "bin"), staging = path.join(root, "staging");
        for (const d of [bin, path.join(staging, "sub"), s.dirs.config]) fs.mkdirSync(d, { recursive: true });
        for (const b of [...paths.releaseBinaries, "other-tool"]) fs.writeFileSync(path.join(bin, b), "bin");
        fs.writeFileSync(path.join(staging, "sub", "x"), "staged");
        fs.writeFileSync(configPath(s), `name: "lab-2"\n`);
        const script = renderRemoveBinariesScript(s, s.members[1]).split(`${paths.binDir}/`).join(`${bin}/`).split(paths.stagingDir).join(staging);
        // Inside a sequence too (each part a subshell): what follows it still runs.
        const r = spawnSync("sh", ["-c", renderSequence(script, "echo after\n")], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "after\n");
        assert.deepEqual(fs.readdirSync(bin), ["other-tool"]);
        assert.ok(fs.existsSync(staging), "the staging dir is left to the prepare step's removal");
    }));
});

describe("render scripts run by sh: removing the prepared dirs (on destroy)", function () {
    this.timeout(20_000);

    it("removes the staging dir the prepare step made, with what is in it, and the empty config and pki dirs; keeps the data dir; leaves a host that runs another member alone", () => withDir("undirs", (root) => {
        const s = spec({ dirs: { config: path.join(root, "etc"), pki: path.join(root, "etc", "pki"), data: path.join(root, "data") } });
        const staging = path.join(root, "staging");
        const prepare = () => {
            for (const d of [s.dirs.pki, s.dirs.data, path.join(staging, "sub")]) fs.mkdirSync(d, { recursive: true });
            fs.writeFileSync(path.join(staging, "sub", "restore.db"), "staged");
        };
        const run = () => spawnSync("sh", ["-c", renderRemoveDirsScript(s, s.members[1]).split(paths.stagingDir).join(staging)], { encoding: "utf8" });
        prepare();
        fs.writeFileSync(configPath(s), `name: "lab-3"\n`);
        const other = run();
        assert.equal(other.status, 0, other.stderr);
        assert.ok(fs.existsSync(staging) && fs.existsSync(s.dirs.pki), "a host whose config names lab-3 keeps everything");
        fs.rmSync(configPath(s));
        const r = run();
        assert.equal(r.status, 0, r.stderr);
        assert.ok(!fs.existsSync(staging), "the staging dir is removed, with what was left in it");
        assert.ok(!fs.existsSync(s.dirs.pki) && !fs.existsSync(s.dirs.config), "the empty pki and config dirs are removed");
        assert.ok(fs.existsSync(s.dirs.data), "the data dir is kept (purgeDataOnDestroy is false)");
    }));
});

describe("render scripts run by sh: a release download from a mirror that stalls", function () {
    this.timeout(60_000);

    it("gives up (curl, then wget) instead of waiting for ever, names the URL's failure, and keeps nothing", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-stall-"));
        // A mirror that accepts the connection and never answers (a hung proxy, a dead backend).
        const net = await import("net");
        const held: import("net").Socket[] = [];
        const server = net.createServer((c) => { held.push(c); }).listen(0, "127.0.0.1");
        await new Promise((r) => server.once("listening", r));
        const port = (server.address() as import("net").AddressInfo).port;
        try {
            const state = path.join(dir, "state");
            const tarball = path.join(paths.releaseDir, "etcd-v3.6.16.tar.gz");
            // The production bound is paths.downloadStallSeconds (60); 2 s here, the same script.
            const script = renderStageReleaseScript(tarball, "a".repeat(64), { url: `https://127.0.0.1:${port}/etcd.tar.gz` }, 2).split(paths.stateDir).join(state);
            const started = Date.now();
            const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
                const child = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "pipe"] });
                let stderr = "";
                child.stderr.on("data", (d) => (stderr += d));
                const kill = setTimeout(() => child.kill("SIGKILL"), 50_000);
                child.on("close", (code) => { clearTimeout(kill); resolve({ code, stderr }); });
            });
            const seconds = (Date.now() - started) / 1000;
            assert.notEqual(r.code, 0, "a stalled download must fail the step");
            assert.notEqual(r.code, null, `killed after ${seconds} s: the script did not give up by itself`);
            assert.ok(seconds < 45, `gave up after ${seconds} s`);
            assert.match(r.stderr, /curl: \(28\)|Operation timed out|timed out/i);
            assert.deepEqual(fs.readdirSync(path.join(state, "releases")), [], "no partial download kept");
        } finally {
            for (const c of held) c.destroy();
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

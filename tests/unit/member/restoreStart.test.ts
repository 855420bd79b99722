/**
 * The restore's last step on each member (renderRestore.ts renderStartRestoredScript), run by sh
 * with fake systemctl and hostname: etcd is started without waiting (the restored members form
 * their cluster together, so a member waiting for its own start would wait for the others), and a
 * start systemd refuses fails the step.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../../components/base/paths";
import { renderPromoteScript } from "../../../components/membership/renderMembership";
import { renderRestartScript, renderStartScript } from "../../../components/member/render";
import { restoreMarkerPath } from "../../../components/spec/where";
import { renderStartRestoredScript } from "../../../components/maintenance/renderRestore";
import { ClusterSpec } from "../../../components/spec/types";
import { spec } from "../fixtures";

describe("restore: the restored member's start (run by sh with fake systemctl)", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-restore-start-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "systemctl"), `#!/bin/sh\necho "$*" >> '${path.join(dir, "calls")}'\nexit \${SYSTEMCTL_RC:-0}\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin", "hostname"), "#!/bin/sh\necho lab2\n", { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const applied = () => path.join(dir, "etc", paths.appliedInputsFile);
    const run = (rc: number) => {
        fs.mkdirSync(path.join(dir, "etc"), { recursive: true });
        const s = spec({ dirs: { config: path.join(dir, "etc") } as never });
        const r = spawnSync("/bin/sh", ["-c", renderStartRestoredScript(s, { id: "r-2026-12-05", snapshotPath: "/x.db", sha256: "a".repeat(64) }, "e".repeat(64))], {
            encoding: "utf8", env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, SYSTEMCTL_RC: String(rc) },
        });
        const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8") : "";
        return { ...r, calls };
    };

    it("starts etcd without waiting for it and says so, naming the host and the restore", () => {
        const r = run(0);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.calls, `start --no-block ${paths.unitName}\n`);
        assert.equal(r.stdout, "lab2: etcd started from snapshot r-2026-12-05\n");
        // What it runs with, recorded as the roll's start records it: the next roll does not restart it for these inputs.
        assert.equal(fs.readFileSync(applied(), "utf8"), `${"e".repeat(64)}\n`);
    });

    it("a start systemd refuses fails the step, and nothing claims it started", () => {
        const r = run(5);
        assert.equal(r.status, 5);
        assert.equal(r.calls, `start --no-block ${paths.unitName}\n`);
        assert.equal(r.stdout, "");
        assert.ok(!fs.existsSync(applied()), "nothing recorded");
    });
});

/**
 * While a declared restore has not run on a host, the roll's steps start, restart and promote
 * nothing there (render.ts restorePendingGuard): the restore starts every member together. Run
 * by sh with a fake systemctl, the config dir a temp dir; the marker file says whether it ran.
 */
describe("restore pending: the roll starts nothing before the restore (run by sh with fake systemctl)", () => {
    let dir: string;
    let s: ClusterSpec;
    const id = "abababababab";
    const digest = "d".repeat(64);
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-restore-pending-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.mkdirSync(path.join(dir, "etc"));
        fs.writeFileSync(path.join(dir, "bin", "systemctl"), `#!/bin/sh\necho "$*" >> '${path.join(dir, "calls")}'\ncase "$1" in show) echo 0 ;; esac\nexit 0\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin", "hostname"), "#!/bin/sh\necho lab3\n", { mode: 0o755 });
        const base = spec({ dirs: { config: path.join(dir, "etc") } as never });
        s = { ...base, restore: { id, snapshotPath: "/x.db", sha256: "ab".repeat(32) } };
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (script: string) => {
        const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8", env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin` } });
        const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8") : "";
        return { ...r, calls };
    };
    const restoredHere = (...ids: string[]) => fs.writeFileSync(restoreMarkerPath(s), ids.map((x) => `${x}\n`).join(""));

    it("start: not started while the restore is pending (no marker, or another restore's), started once it ran", () => {
        for (const before of [[], ["cdcdcdcdcdcd"], [`${id}0`]]) {
            restoredHere(...before);
            const r = run(renderStartScript(s, digest));
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.calls, "", `marker ${JSON.stringify(before)}: systemctl called`);
            assert.equal(r.stdout, `lab3: etcd's start left to the restore from snapshot ${id}, not yet done on this host (it starts every member together)\n`);
        }
        restoredHere("cdcdcdcdcdcd", id);
        const r = run(renderStartScript(s, digest));
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.calls, new RegExp(`^start --no-block ${paths.unitName}$`, "m"));
    });

    it("restart: neither stopped nor restarted, no voter counted, while pending; once it ran, the restart runs as ever", () => {
        const m = s.members[2];
        const r = run(renderRestartScript(s, m, digest));
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.calls, /restart|stop|start/);
        assert.match(r.stdout, /etcd's restart left to the restore from snapshot abababababab/);
        restoredHere(id);
        fs.writeFileSync(path.join(dir, "etc", paths.appliedInputsFile), `${digest}\n`);
        const after = run(renderRestartScript(s, m, digest));
        assert.equal(after.status, 0, after.stderr);
        assert.match(after.stdout, /etcd already runs with these inputs; not restarted/, "past the guard: the restart's own first check");
    });

    it("promote: nothing asked of the cluster while pending; once it ran, as ever", () => {
        const m = s.members[2];
        const r = run(renderPromoteScript(s, m));
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /the promotion left to the restore from snapshot abababababab/);
        restoredHere(id);
        fs.writeFileSync(path.join(dir, "etc", paths.membersFile), s.members.map((x) => `${x.name} https://${x.address}:2380 https://${x.address}:2379\n`).join(""));
        fs.writeFileSync(path.join(dir, "etc", paths.joinRecordFile), "initial-cluster-state=new\ninitial-cluster=x\n");
        const after = run(renderPromoteScript(s, m));
        assert.equal(after.status, 0, after.stderr);
        assert.match(after.stdout, /lab-3 bootstrapped the cluster: a voting member/);
    });

    it("without a restore declared, no script carries the guard", () => {
        const plain = spec();
        for (const script of [renderStartScript(plain, digest), renderRestartScript(plain, plain.members[0], digest), renderPromoteScript(plain, plain.members[0])]) {
            assert.doesNotMatch(script, new RegExp(paths.restoredFile));
        }
    });
});

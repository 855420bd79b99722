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
import * as paths from "../../components/paths";
import { renderStartRestoredScript } from "../../components/renderRestore";

describe("restore: the restored member's start (run by sh with fake systemctl)", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-restore-start-"));
        fs.mkdirSync(path.join(dir, "bin"));
        fs.writeFileSync(path.join(dir, "bin", "systemctl"), `#!/bin/sh\necho "$*" >> '${path.join(dir, "calls")}'\nexit \${SYSTEMCTL_RC:-0}\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin", "hostname"), "#!/bin/sh\necho lab2\n", { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (rc: number) => {
        const r = spawnSync("/bin/sh", ["-c", renderStartRestoredScript({ id: "r-2026-12-05", snapshotPath: "/x.db", sha256: "a".repeat(64) })], {
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
    });

    it("a start systemd refuses fails the step, and nothing claims it started", () => {
        const r = run(5);
        assert.equal(r.status, 5);
        assert.equal(r.calls, `start --no-block ${paths.unitName}\n`);
        assert.equal(r.stdout, "");
    });
});

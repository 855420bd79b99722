/**
 * renderHostFiles.ts's apply script with a restart script and no unit to check, run by `sh` on
 * files in a temp dir: the case of a member's certificates and keys (member.ts's `files` write,
 * which etcd reads but which checks no unit). A hand change there is repaired; with no unit to
 * ask, etcd is taken as not started since (`started=0`), so nothing is restarted, and the script
 * must not stop on an unset `started` (it runs under `set -eu`).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ManagedFile, renderApplyScript } from "../../../components/host/renderHostFiles";

const sha256 = (text: string) => crypto.createHash("sha256").update(text, "utf8").digest("hex");
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const owner = (() => {
    const id = (flag: string) => spawnSync("id", [flag], { encoding: "utf8" }).stdout.trim();
    return `${id("-un")}:${id("-gn")}`;
})();

describe("host files: the apply script with a restart script and no unit checked (run by sh)", () => {
    let tmp: string;
    beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-apply-")); });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("a file etcd reads, changed by hand, is put back; nothing restarted (no unit: etcd not known to have started), exit 0", () => {
        const file = path.join(tmp, "server.crt");
        const restartMark = path.join(tmp, "restart-ran");
        fs.writeFileSync(file, "changed by hand\n", { mode: 0o644 });
        fs.chmodSync(file, 0o644);
        const f: ManagedFile = { path: file, mode: "0644", owner, readByEtcd: true };
        const script = renderApplyScript([f], {}, { repair: true, restartScript: `echo ran > '${restartMark}'\n` });
        assert.ok(script.includes("was changed by hand and etcd has started with it since"), "the hand-change check is in the script");
        const wrote = "what the stack wrote\n";
        // stdin: per file, the digest the stack last wrote there, then the content in base64.
        const r = spawnSync("sh", ["-c", script], { input: `${sha256(wrote)}\n${b64(wrote)}\n`, encoding: "utf8" });
        assert.equal(r.status, 0, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
        assert.equal(r.stderr, "");
        assert.equal(fs.readFileSync(file, "utf8"), wrote);
        assert.equal(r.stdout, `file ${file} ${sha256(wrote)} 644 ${owner}\n`);
        assert.ok(!fs.existsSync(restartMark), "no restart");
    });

    it("a unit file written anew is followed by one systemctl daemon-reload (no restart); an unchanged one, or another file, by none", () => {
        const bin = path.join(tmp, "bin");
        fs.mkdirSync(bin);
        const calls = path.join(tmp, "systemctl.log");
        fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\necho "$*" >> '${calls}'\n`, { mode: 0o755 });
        const unit: ManagedFile = { path: path.join(tmp, "etcd.service"), mode: "0644", owner, readByEtcd: true, systemdUnit: true };
        const other: ManagedFile = { path: path.join(tmp, "etcd.conf.yml"), mode: "0644", owner, readByEtcd: true };
        const run = (unitText: string, otherText: string) => {
            fs.rmSync(calls, { force: true });
            const script = renderApplyScript([unit, other], {}, { repair: true, restartScript: "echo restart\n" });
            const r = spawnSync("sh", ["-c", script], { input: `-\n${b64(unitText)}\n-\n${b64(otherText)}\n`, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
            assert.equal(r.status, 0, r.stderr);
            return fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "";
        };
        assert.equal(run("[Service]\n", "a: 1\n"), "daemon-reload\n", "the unit was written: one reload");
        assert.equal(run("[Service]\n", "a: 2\n"), "", "the unit unchanged, the other file changed: no reload");
        fs.writeFileSync(unit.path, "[Service]\n# edited by hand\n");
        assert.equal(run("[Service]\n", "a: 2\n"), "daemon-reload\n", "a hand edit repaired: one reload");
        assert.equal(fs.readFileSync(unit.path, "utf8"), "[Service]\n");
    });
});

/**
 * Defence in depth for a member's identity (name and host): every script that removes a member's
 * things from its host first reads the host's etcd config, and when it names another member, it
 * leaves the host alone. Run by sh with a fake systemctl, every system path moved into a temp dir.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../../components/base/paths";
import { renderRemoveBinariesScript, renderRemoveDirsScript, renderStopScript } from "../../../components/member/render";
import { renderOwnerGuard } from "../../../components/shell/guards";
import { configPath } from "../../../components/spec/where";
import { joinRecordPath, renderForgetJoinScript } from "../../../components/membership/renderMembership";
import { renderHostFilesRemoveScript } from "../../../components/host/renderHostFiles";
import { ClusterSpec, MemberSpec } from "../../../components/spec/types";
import { spec as fixtureSpec } from "../fixtures";

interface Host { root: string; calls: string; run: (script: string) => { status: number | null; stdout: string; stderr: string } }

/** A host in a temp dir: /etc, /usr/local/bin, /var/lib and the unit dir live under `root`; systemctl records its calls. */
function fakeHost(): Host {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "owner-guard-"));
    const bin = path.join(root, "fakebin");
    fs.mkdirSync(bin);
    const calls = path.join(root, "systemctl.calls");
    fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/sh\necho "$*" >> ${calls}\n`, { mode: 0o755 });
    const moved = (script: string) => script
        .split("/etc/systemd/system/").join(`${root}/etc/systemd/system/`)
        .split(`${paths.binDir}/`).join(`${root}${paths.binDir}/`)
        .split(`${paths.stagingDir}`).join(`${root}${paths.stagingDir}`);
    return {
        root, calls,
        run: (script) => {
            assert.ok(!/'\/(etc|var|usr)\//.test(moved(script)), `a system path was not moved into the temp dir:\n${moved(script)}`);
            return spawnSync("sh", ["-c", moved(script)], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        },
    };
}

/** The fixture spec with every directory under `root`, data purged on destroy. */
function specUnder(root: string): ClusterSpec {
    const s = fixtureSpec();
    return { ...s, purgeDataOnDestroy: true, dirs: { config: `${root}/etc/etcd`, pki: `${root}/etc/etcd/pki`, data: `${root}/var/lib/etcd` } };
}

/** A host that runs `runs`: its config, unit, binaries, join record and data. */
function populate(host: Host, s: ClusterSpec, runs: string): void {
    for (const d of [s.dirs.config, s.dirs.pki, s.dirs.data + "/member/wal", `${host.root}/etc/systemd/system`, `${host.root}${paths.binDir}`, `${host.root}${paths.stagingDir}`]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(configPath(s), `name: "${runs}"\ndata-dir: "${s.dirs.data}"\n`);
    fs.writeFileSync(`${host.root}/etc/systemd/system/etcd.service`, "[Unit]\n");
    for (const b of paths.releaseBinaries) fs.writeFileSync(`${host.root}${paths.binDir}/${b}`, "bin");
    fs.writeFileSync(joinRecordPath(s), "decision=new\n");
    fs.writeFileSync(`${s.dirs.data}/member/wal/0.wal`, "wal");
}

/** Every removal script of member `m`, as its resources' deletes run them (service first, prepare last). */
function removals(s: ClusterSpec, m: MemberSpec): [string, string][] {
    return [
        ["service (stop)", renderStopScript(s, m)],
        ["config files", renderHostFilesRemoveScript([configPath(s)], renderOwnerGuard(s, m))],
        ["join record", renderForgetJoinScript(s, m)],
        ["binaries", renderRemoveBinariesScript(s, m)],
        ["prepare (dirs, data)", renderRemoveDirsScript(s, m)],
    ];
}

describe("owner guard: a member's removal leaves alone a host that runs another member", () => {
    const roots: string[] = [];
    const fakeHostHere = () => { const h = fakeHost(); roots.push(h.root); return h; };
    after(() => { for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true }); });

    it("lab-2's deletes on a host whose config names lab-2b stop nothing and remove nothing", () => {
        const host = fakeHostHere();
        const s = specUnder(host.root);
        populate(host, s, "lab-2b");
        for (const [what, script] of removals(s, s.members[1])) {
            const r = host.run(script);
            assert.equal(r.status, 0, `${what}: ${r.stderr}`);
            assert.match(r.stdout, /lab-2: this host's etcd config names "lab-2b"/, `${what} did not say why it left the host alone`);
        }
        assert.ok(!fs.existsSync(host.calls), `systemctl was called: ${fs.existsSync(host.calls) ? fs.readFileSync(host.calls, "utf8") : ""}`);
        for (const f of [configPath(s), `${host.root}/etc/systemd/system/etcd.service`, `${host.root}${paths.binDir}/etcd`, joinRecordPath(s), `${s.dirs.data}/member/wal/0.wal`]) {
            assert.ok(fs.existsSync(f), `${f} was removed`);
        }
    });

    it("lab-2's deletes on its own host stop and remove everything (purge on), as before", () => {
        const host = fakeHostHere();
        const s = specUnder(host.root);
        populate(host, s, "lab-2");
        for (const [what, script] of removals(s, s.members[1])) {
            const r = host.run(script);
            assert.equal(r.status, 0, `${what}: ${r.stderr}`);
        }
        assert.match(fs.readFileSync(host.calls, "utf8"), /^disable --now etcd\.service$/m);
        for (const f of [configPath(s), `${host.root}/etc/systemd/system/etcd.service`, `${host.root}${paths.binDir}/etcd`, joinRecordPath(s), s.dirs.data]) {
            assert.ok(!fs.existsSync(f), `${f} is still there`);
        }
    });

    it("a host without a config (a member never configured, or already cleaned) is cleaned", () => {
        const host = fakeHostHere();
        const s = specUnder(host.root);
        populate(host, s, "lab-2");
        fs.rmSync(configPath(s));
        const r = host.run(renderStopScript(s, s.members[1]));
        assert.equal(r.status, 0, r.stderr);
        assert.match(fs.readFileSync(host.calls, "utf8"), /disable --now etcd\.service/);
    });
});

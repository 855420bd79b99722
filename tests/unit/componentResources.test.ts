/**
 * The membership, restore and host-files components as declared, each built alone on the mocked
 * engine (membership.ts ClusterMembership, restore.ts ClusterRestore, hostFiles.ts HostFiles):
 * the type and name of what they register, every input (the scripts are the renderers' own, for
 * the right member), what is secret and what is not, the options kept and the order they declare
 * (dependsOn). The whole cluster's wiring: cluster.test.ts.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { HostFiles, HostFilesProvider, hostFilesWriteType } from "../../components/host/hostFiles";
import { ClusterMembership, membershipType } from "../../components/membership/membership";
import { renderHealthGateScript } from "../../components/membership/renderMembership";
import { renderScriptBundle, renderStdinRunner } from "../../components/shell/script";
import { peerUrl } from "../../components/spec/where";
import { renderApplyScript, renderHostFilesRemoveScript, renderInspectScript } from "../../components/host/renderHostFiles";
import { renderDataProbeScript, renderMemberListScript, renderPromoteScript, renderReconcileMembershipScript, renderRejoinScript } from "../../components/membership/renderMembership";
import { renderRestoreScript, renderStartRestoredScript, stagedSnapshotPath } from "../../components/maintenance/renderRestore";
import { ClusterRestore } from "../../components/maintenance/restore";
import { DependencyRecorder, installMocks, resolve } from "./mocks";
import { RawClusterConfig } from "../../components/spec/types";
import { rawConfig, spec } from "./fixtures";

const secretSig = "4dabf18193072939515e22adb298388d";
const isSecret = (v: any) => typeof v === "object" && v !== null && v[secretSig] !== undefined;
const unwrap = (v: any) => isSecret(v) ? v.value : v;

/** Something a component must wait for. */
class Marker extends pulumi.CustomResource {
    constructor(name: string, opts: pulumi.CustomResourceOptions) {
        super("test:index:Before", name, {}, opts);
    }
}

/** Records each resource's options and parent by name (a transformation given to the component). */
function optionsRecorder() {
    const opts = new Map<string, pulumi.ResourceOptions>();
    const byResource = new Map<pulumi.Resource, string>();
    const transformation: pulumi.ResourceTransformation = (a) => {
        opts.set(a.name, a.opts);
        byResource.set(a.resource, a.name);
        return undefined;
    };
    const nameOf = (r: pulumi.Resource | undefined) => (r === undefined ? undefined : byResource.get(r));
    return { opts, transformation, nameOf };
}

describe("components as declared (mocked engine)", function () {
    this.timeout(20_000);

    describe("ClusterMembership", () => {
        it("one dynamic resource of type etcd:Membership: the stack's members and order, every script the renderers' own, the wait, connections as given, the options kept", async () => {
            const recorded = installMocks();
            const s = spec({ healthTimeoutSeconds: 77 });
            const rec = optionsRecorder();
            const connections = Object.fromEntries(s.members.map((m) => [m.name, { host: m.address, port: 22, user: "root", privateKey: pulumi.secret(`KEY-${m.name}`) }]));
            const m = new ClusterMembership("etcd-membership", { spec: s, connections }, { ignoreChanges: ["report"], transformations: [rec.transformation] });
            await resolve(m.urn);
            const r = recorded.filter((x) => x.name === "etcd-membership");
            assert.equal(r.length, 1);
            assert.equal(r[0].type, membershipType);
            assert.equal(membershipType, "pulumi-nodejs:dynamic/etcd:Membership");
            const i = r[0].inputs;
            assert.deepEqual(i.members, Object.fromEntries(s.members.map((x) => [x.name, peerUrl(s, x)])));
            assert.deepEqual(i.members, { "lab-1": "https://10.213.0.11:2380", "lab-2": "https://10.213.0.12:2380", "lab-3": "https://10.213.0.13:2380" });
            assert.deepEqual(i.order, ["lab-1", "lab-2", "lab-3"]);
            assert.equal(i.waitSeconds, 77);
            assert.deepEqual(i.scripts, {
                list: renderMemberListScript(s),
                reconcile: renderReconcileMembershipScript(s),
                data: renderDataProbeScript(s),
                rejoin: Object.fromEntries(s.members.map((x) => [x.name, renderRejoinScript(s, x)])),
                promote: Object.fromEntries(s.members.map((x) => [x.name, renderPromoteScript(s, x)])),
                health: renderHealthGateScript(s),
            });
            // Each member's own rejoin and promote (not another member's).
            assert.notEqual(i.scripts.promote["lab-1"], i.scripts.promote["lab-2"]);
            // The connections as given: the whole map is not one secret (hosts show in a preview); the keys are.
            assert.deepEqual(Object.keys(unwrap(i.connections)), ["lab-1", "lab-2", "lab-3"]);
            assert.equal(unwrap(i.connections)["lab-2"].host, "10.213.0.12");
            const o = rec.opts.get("etcd-membership") as pulumi.CustomResourceOptions;
            assert.deepEqual(o.additionalSecretOutputs, ["connections"]);
            assert.deepEqual(o.ignoreChanges, ["report"]);
        });
    });

    describe("ClusterRestore", () => {
        let tmp: string;
        before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-restore-")); });
        after(() => fs.rmSync(tmp, { recursive: true, force: true }));

        it("per member: the snapshot copied (re-copied when the host changes), the restore after every copy and what it must wait for, the starts after every restore; the token carried", async () => {
            const recorded = installMocks();
            const snapshot = path.join(tmp, "backup.db");
            fs.writeFileSync(snapshot, "snapshot");
            const s = spec({ restore: { snapshot, sha256: "d".repeat(64) } });
            const restore = s.restore!;
            const deps = new DependencyRecorder();
            const rec = optionsRecorder();
            // Something the restore must wait for (the roll, in the stack), and each host's prepare step (its staging dir).
            const before = new Marker("the-roll", { transformations: [deps.transformation] });
            const prepared = s.members.map((m) => new Marker(`${m.name}-prepare`, { transformations: [deps.transformation] }));
            const connections = s.members.map((m) => ({ host: m.address, port: 22, user: "root", privateKey: "KEY" }));
            const digests = s.members.map((m) => `digest-of-${m.name}`);
            const c = new ClusterRestore("etcd-restore", { spec: s, restore, connections, token: pulumi.output("lab-0123456789abcdef"), after: [before], prepared, inputsDigests: digests },
                { transformations: [deps.transformation, rec.transformation] });
            await resolve(c.urn);
            await Promise.all(c.started.map((x) => resolve(x.urn)));
            await deps.settled();
            assert.ok(recorded.some((x) => x.type === "etcd:index:ClusterRestore" && x.name === "etcd-restore"));
            const names = s.members.map((m) => m.name);
            const staged = names.map((n) => `${n}-restore-snapshot`);
            const restored = names.map((n) => `${n}-restore`);
            for (const [i, m] of s.members.entries()) {
                const copy = recorded.find((x) => x.name === `${m.name}-restore-snapshot`);
                assert.ok(copy, `no copy for ${m.name}`);
                assert.equal(copy.type, "command:remote:CopyToRemote");
                assert.equal(copy.inputs.remotePath, stagedSnapshotPath(restore));
                assert.equal(await copy.inputs.source.path, snapshot);
                assert.deepEqual(copy.inputs.triggers, [m.sshHost, m.sshPort, m.hostKey ?? ""]);
                assert.equal(unwrap(copy.inputs.connection).host, connections[i].host, "each member's own connection");
                const step = recorded.find((x) => x.name === `${m.name}-restore`)!;
                const script = renderRestoreScript(s, m, restore, "lab-0123456789abcdef");
                assert.equal(step.inputs.stdin, renderScriptBundle({ create: script, update: script }));
                assert.equal(step.inputs.create, renderStdinRunner(`${m.name} restore ${restore.id}`, "create"));
                assert.equal(unwrap(step.inputs.connection).host, connections[i].host);
                assert.deepEqual(deps.dependsOn(`${m.name}-restore`), [...staged, "the-roll"].sort());
                assert.deepEqual(deps.dependsOn(`${m.name}-restore-snapshot`), [`${m.name}-prepare`], "copied once its host's staging dir exists");
                const start = recorded.find((x) => x.name === `${m.name}-restore-start`)!;
                const startScript = renderStartRestoredScript(s, restore, digests[i]);
                assert.equal(start.inputs.stdin, renderScriptBundle({ create: startScript, update: startScript }));
                assert.equal(start.inputs.create, renderStdinRunner(`${m.name} start after restore`, "create"));
                assert.equal(unwrap(start.inputs.connection).host, connections[i].host);
                assert.deepEqual(deps.dependsOn(`${m.name}-restore-start`), [...restored].sort());
                for (const n of [`${m.name}-restore-snapshot`, `${m.name}-restore`, `${m.name}-restore-start`]) {
                    assert.equal(rec.nameOf(rec.opts.get(n)?.parent), "etcd-restore", `${n}'s parent`);
                }
            }
            assert.deepEqual(c.started.map((x) => rec.nameOf(x)), names.map((n) => `${n}-restore-start`));
        });
    });

    describe("ClusterRestore, a member without a pinned host key (allowUnverifiedHosts)", () => {
        let tmp: string;
        before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-restore-")); });
        after(() => fs.rmSync(tmp, { recursive: true, force: true }));

        it("its snapshot copy is triggered by host and port, with an empty host key", async () => {
            const recorded = installMocks();
            const snapshot = path.join(tmp, "backup.db");
            fs.writeFileSync(snapshot, "snapshot");
            const members = (rawConfig().members as object[]).map((m) => ({ ...m, hostKey: undefined })) as RawClusterConfig["members"];
            const s = spec({ members, allowUnverifiedHosts: true, restore: { snapshot, sha256: "d".repeat(64) } });
            const connections = s.members.map((m) => ({ host: m.address, port: 22, user: "root", privateKey: "KEY" }));
            const c = new ClusterRestore("etcd-restore", { spec: s, restore: s.restore!, connections, token: "lab-0123456789abcdef", after: [], prepared: [], inputsDigests: [] });
            await Promise.all(c.started.map((x) => resolve(x.urn)));
            const copy = recorded.find((x) => x.name === "lab-2-restore-snapshot")!;
            assert.deepEqual(copy.inputs.triggers, ["10.213.0.12", 22, ""]);
        });
    });

    describe("HostFiles", () => {
        const files = [
            { path: "/etc/etcd/pki/server.key", mode: "0600", owner: "etcd:etcd", readByEtcd: true, content: pulumi.secret("PRIVATE KEY") as pulumi.Input<string> },
            { path: "/etc/etcd/etcd.conf.yml", mode: "0644", owner: "root:root", readByEtcd: true, fill: ["sed -i s/@@x@@/1/ \"$tmp\""], content: "name: lab-1\n" },
        ];
        const sha = (t: string) => crypto.createHash("sha256").update(t, "utf8").digest("hex");

        it("one write of type etcd:HostFilesWrite: digests, modes and owners shown, contents secret, every script the renderers' own, checks as the preview shows them, the options and dependsOn kept", async () => {
            const recorded = installMocks();
            const rec = optionsRecorder();
            const deps = new DependencyRecorder();
            const before = new Marker("the-prepare", { transformations: [deps.transformation] });
            const checks = { unit: "etcd.service", binaries: { tarball: "/var/lib/etcd-stack/releases/etcd-v3.6.16.tar.gz", sha256: "b".repeat(64) } };
            const connection = { host: "10.213.0.11", port: 22, user: "root", privateKey: pulumi.secret("KEY") };
            const hf = new HostFiles("lab-1-config", {
                connection, label: "lab-1 config", files, checks, restartScript: pulumi.output("echo restart\n"), removeGuard: "echo guard\n",
            }, { dependsOn: [before], transformations: [rec.transformation, deps.transformation] });
            await resolve(hf.write.urn);
            await deps.settled();
            assert.ok(recorded.some((x) => x.type === "etcd:index:HostFiles" && x.name === "lab-1-config"));
            const w = recorded.find((x) => x.name === "lab-1-config-write")!;
            assert.ok(w, recorded.map((x) => x.name).join(", "));
            assert.equal(w.type, hostFilesWriteType);
            assert.equal(hostFilesWriteType, "pulumi-nodejs:dynamic/etcd:HostFilesWrite");
            const i = w.inputs;
            assert.equal(i.label, "lab-1 config");
            assert.ok(!isSecret(i.files), "digests, modes and owners show in a preview");
            assert.deepEqual(i.files, {
                "/etc/etcd/pki/server.key": { sha256: sha("PRIVATE KEY"), mode: "0600", owner: "etcd:etcd" },
                "/etc/etcd/etcd.conf.yml": { sha256: sha("name: lab-1\n"), mode: "0644", owner: "root:root" },
            });
            assert.ok(isSecret(i.contents), "contents are secret");
            assert.deepEqual(unwrap(i.contents), { "/etc/etcd/pki/server.key": "PRIVATE KEY", "/etc/etcd/etcd.conf.yml": "name: lab-1\n" });
            assert.deepEqual(i.order, ["/etc/etcd/pki/server.key", "/etc/etcd/etcd.conf.yml"]);
            assert.deepEqual(unwrap(i.checks), { unit: "enabled active", binaries: "same as etcd-v3.6.16.tar.gz" });
            const plain = files.map((f) => ({ ...f, content: "" }));
            assert.deepEqual(unwrap(i.scripts), {
                create: renderApplyScript(plain, checks, { repair: false }),
                update: renderApplyScript(plain, checks, { repair: true, restartScript: "echo restart\n" }),
                inspect: renderInspectScript(plain, checks),
                remove: renderHostFilesRemoveScript(["/etc/etcd/pki/server.key", "/etc/etcd/etcd.conf.yml"], "echo guard\n"),
            });
            assert.equal(unwrap(i.connection).host, "10.213.0.11");
            const o = rec.opts.get("lab-1-config-write") as pulumi.CustomResourceOptions;
            assert.deepEqual(o.additionalSecretOutputs, ["contents", "connection"]);
            assert.equal(rec.nameOf(o.parent), "lab-1-config");
            assert.deepEqual(deps.dependsOn("lab-1-config-write"), ["the-prepare"], "the write itself waits");
        });

        it("no checks: none shown, and the scripts check nothing", async () => {
            const recorded = installMocks();
            const hf = new HostFiles("lab-2-files", { connection: { host: "10.213.0.12", port: 22, user: "root", privateKey: "KEY" }, label: "lab-2 files", files });
            await resolve(hf.write.urn);
            const i = recorded.find((x) => x.name === "lab-2-files-write")!.inputs;
            assert.deepEqual(unwrap(i.checks), {});
            const plain = files.map((f) => ({ ...f, content: "" }));
            assert.equal(unwrap(i.scripts).inspect, renderInspectScript(plain, {}));
            assert.equal(unwrap(i.scripts).update, renderApplyScript(plain, {}, { repair: true, restartScript: undefined }));
            assert.equal(unwrap(i.scripts).remove, renderHostFilesRemoveScript(["/etc/etcd/pki/server.key", "/etc/etcd/etcd.conf.yml"], undefined));
        });

        it("the provider resource HostFiles writes use is a pulumi-nodejs provider", async () => {
            const recorded = installMocks();
            const p = new HostFilesProvider("host-files");
            await resolve(p.urn);
            assert.ok(recorded.some((x) => x.type === "pulumi:providers:pulumi-nodejs" && x.name === "host-files"), recorded.map((x) => `${x.type} ${x.name}`).join(", "));
        });
    });
});

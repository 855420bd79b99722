/**
 * One member's steps as declared (member.ts, mocked engine), where cluster.test.ts does not look:
 * a release from a URL (each host its own arch, read from its preflight: the tarball, sha256 and
 * URL staged, the install's check, the config write's binaries check), an arch without a sha256,
 * the host key check command, a member without a pinned key, the scripts of each step's create,
 * update and delete, the host files' repair restart and owner guard, and the inputs digest
 * following the etcd version. Every cluster is declared inside the test that reads it (`byUrl()`,
 * `local()`, `older()`: declared on first use, forgotten before each test), so Stryker's per-test
 * coverage sees which tests reach member.ts (a cluster declared in `before` made every mutant
 * "static", run against every test); the suite passes a second run in one process.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DependencyRecorder, Recorded, installMocks, resolve } from "../mocks";
import { EtcdCluster } from "../../../components/cluster";
import { EtcdMember, parseArch } from "../../../components/member/member";
import { connectionFor } from "../../../components/cluster";
import { HostFilesProvider } from "../../../components/host/hostFiles";
import { CertificateAuthority, MemberCertificates, certificateLifetime } from "../../../components/pki/pki";
import * as paths from "../../../components/base/paths";
import { stagedReleasePath } from "../../../components/host/renderRelease";
import { renderEtcdConfig, renderRemoveBinariesScript, renderUnit, renderRemoveDirsScript, renderRepairRestartScript, renderStopScript } from "../../../components/member/render";
import { renderOwnerGuard } from "../../../components/shell/guards";
import { shq } from "../../../components/shell/script";
import { joinPlaceholders, renderFillJoinDecision, renderForgetJoinScript, renderMembersFile, renderUnfillJoinDecision } from "../../../components/membership/renderMembership";
import { ClusterSpec, RawClusterConfig } from "../../../components/spec/types";
import { fixtureHostKeys, rawConfig, spec } from "../fixtures";

const sha = { amd64: "a".repeat(64), arm64: "b".repeat(64) };
const urlTemplate = "https://mirror.example/etcd-v{version}-linux-{arch}.tar.gz";

/** Mocks of mocks.ts, with each member's prepare step printing `arch=<its arch>` after other output, as the preflight does. */
function mocks(archOf: Record<string, string>): Recorded[] {
    return installMocks({
        commandStdout: (name) => {
            const m = /^(.*)-prepare$/.exec(name);
            return m ? `preflight ok\narch=${archOf[m[1]] ?? "amd64"}\n` : "ok\n";
        },
    });
}

type Declared = Awaited<ReturnType<typeof declare>>;

/** Declares a cluster and waits until every resource is registered. */
async function declare(s: ClusterSpec, archOf: Record<string, string> = {}) {
    const recorded = mocks(archOf);
    const deps = new DependencyRecorder();
    const cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") }, { transformations: [deps.transformation] });
    await resolve(cluster.clientEndpoints);
    await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
    await deps.settled();
    const named = (n: string) => {
        const r = recorded.find((x) => x.name === n);
        assert.ok(r, `no resource named ${n}; have ${recorded.map((x) => x.name).join(", ")}`);
        return r;
    };
    return { cluster, recorded, deps, named };
}

function unwrapSecret(v: any): any {
    return typeof v === "object" && v !== null && "value" in v ? v.value : v;
}

/** The step bundle's script for one step (`step_<op>() (\n<script>)`). */
function stepScript(bundle: string, op: string): string {
    const m = new RegExp(`^step_${op}\\(\\) \\(\\n([\\s\\S]*?)\\)\\n(?=step_|case )`, "m").exec(bundle);
    assert.ok(m, `no step_${op} in\n${bundle}`);
    return m[1];
}

describe("member steps (mocked engine)", function () {
    this.timeout(60_000);
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let tmp: string;
    let tarball: string;
    let urlSpec: ClusterSpec;
    let localSpec: ClusterSpec;
    let olderSpec: ClusterSpec;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-member-"));
        tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
        urlSpec = spec({
            binary: { url: urlTemplate, sha256: sha }, allowUnverifiedHosts: true,
            members: (rawConfig().members as any[]).map((m, i) => i === 1 ? { name: m.name, address: m.address } : m),
        });
        // Given relative to the working directory: the provider (another process) gets it absolute.
        // Behind a bastion: the host keys are checked through it (a dynamic resource), not by ssh-keyscan.
        localSpec = spec({ binary: { localTarball: path.relative(process.cwd(), tarball) }, bastion: { host: "10.213.0.2", user: "ops", hostKey: fixtureHostKeys[0] } });
        olderSpec = spec({ binary: { localTarball: tarball }, bastion: { host: "10.213.0.2", user: "ops", hostKey: fixtureHostKeys[0] }, version: "3.6.15" });
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // The clusters, each declared by the first test of its own that asks for it (never shared between tests).
    const declared = new Map<string, Promise<Declared>>();
    beforeEach(() => declared.clear());
    const once = (key: string, make: () => Promise<Declared>): Promise<Declared> => {
        if (!declared.has(key)) declared.set(key, make());
        return declared.get(key)!;
    };
    /** A release from a URL; lab-2 an arm64 host with no pinned key. */
    const byUrl = () => once("byUrl", () => declare(urlSpec, { "lab-2": "arm64" }));
    /** A local tarball, etcd 3.6.16 (local) and 3.6.15 (older). */
    const local = () => once("local", () => declare(localSpec));
    const older = () => once("older", () => declare(olderSpec));

    it("parseArch reads the preflight's own arch line, among others, and refuses anything else", () => {
        assert.equal(parseArch("arch=amd64\n"), "amd64");
        assert.equal(parseArch("preflight ok\narch=arm64\nmore\n"), "arm64");
        for (const out of ["", "arch=\n", "arch=x86_64\n", "arch=amd64x\n", "xarch=amd64\n", "arch=amd64 \n", "march=arm64"]) {
            assert.throws(() => parseArch(out), new RegExp(`^Error: preflight printed no supported arch: ${JSON.stringify(out).replace(/[\\[\]()$.+*?^]/g, "\\$&")}$`), JSON.stringify(out));
        }
    });

    it("a preflight's warning line (a slow disk) is a Pulumi warning on its member, naming it and its host; the prepare step repeats the host's own checks only", async () => {
        const warned: Array<{ message: string; resource?: pulumi.Resource }> = [];
        const log = pulumi.log as { warn: typeof pulumi.log.warn };
        const warn = log.warn;
        log.warn = (message: string, resource?: pulumi.Resource) => { warned.push({ message, resource }); return Promise.resolve(); };
        try {
            const disk = "slow disk: mean 31.2 ms per synchronous write to /var/lib (dd oflag=dsync: …; 20 in 624 ms)";
            const recorded = installMocks({ commandStdout: (name) => name === "lab-2-preflight" ? `warning: ${disk}\narch=amd64\n` : undefined });
            const s = spec({ binary: { localTarball: __filename } });
            const cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
            await resolve(cluster.clientEndpoints);
            await Promise.all(cluster.members.map((m) => resolve(m.preflight.stdout)));
            assert.deepEqual(warned.map((w) => w.message), [`lab-2 (10.213.0.12): ${disk}`]);
            assert.equal(warned[0].resource, cluster.members[1], "on lab-2's member component");
            const stdin = (n: string) => recorded.find((r) => r.name === n)!.inputs.stdin as string;
            assert.match(stdin("lab-2-preflight"), /dev\/tcp[\s\S]*oflag=dsync/, "the preflight step tries the peers and times the disk");
            assert.doesNotMatch(stdin("lab-2-prepare"), /dev\/tcp|oflag=dsync/, "the prepare step does neither again");
            assert.match(stdin("lab-2-prepare"), /preflight failed on[\s\S]*useradd/);
        } finally {
            log.warn = warn;
        }
    });

    it("a release from a URL: each host stages its own arch's tarball from the URL, with that arch's sha256, and the install and the config write check it", async () => {
        const { named } = await byUrl();
        const staged = stagedReleasePath(urlSpec);
        assert.equal(staged, `${paths.releaseDir}/etcd-v3.6.16.tar.gz`);
        for (const [m, arch] of [["lab-1", "amd64"], ["lab-2", "arm64"], ["lab-3", "amd64"]] as const) {
            const release = named(`${m}-tarball`).inputs;
            assert.equal(release.tarball, staged, m);
            assert.equal(release.sha256, sha[arch], m);
            assert.deepEqual(release.source, { url: `https://mirror.example/etcd-v3.6.16-linux-${arch}.tar.gz` }, m);
            assert.equal(release.label, `${m} tarball`);
            const install = stepScript(named(`${m}-binaries`).inputs.stdin, "update");
            assert.match(install, new RegExp(`^\\[ "\\$got" = '${sha[arch]}' \\]`, "m"), m);
            assert.ok(install.includes(`[ -f '${staged}' ]`), m);
            assert.equal(stepScript(named(`${m}-binaries`).inputs.stdin, "create"), install);
            assert.deepEqual(named(`${m}-config-write`).inputs.checks, { unit: "enabled active", binaries: "same as etcd-v3.6.16.tar.gz" }, m);
            assert.match(named(`${m}-config-write`).inputs.scripts.inspect, new RegExp(`'${staged}'`), m);
            assert.ok(named(`${m}-config-write`).inputs.scripts.inspect.includes(sha[arch]), m);
        }
    });

    it("a release from a URL: each member's install waits for its own staged tarball (the checksum checked on the host first); the staging waits for its prepare only", async () => {
        const { deps } = await byUrl();
        for (const m of ["lab-1", "lab-2", "lab-3"]) {
            const install = deps.dependsOn(`${m}-binaries`);
            assert.ok(install.includes(`${m}-tarball`), `${m}-binaries waits for ${install.join(", ")}`);
            assert.ok(!install.some((d) => d.endsWith("-tarball") && d !== `${m}-tarball`), `${m}-binaries: ${install.join(", ")}`);
            assert.deepEqual(deps.dependsOn(`${m}-tarball`), [`${m}-prepare`]);
        }
    });

    it("a host whose arch has no sha256 configured stops the member's binaries step, naming the arch and the setting", async () => {
        const s = spec({ binary: { url: urlTemplate, sha256: { amd64: sha.amd64 } } });
        const errors: string[] = [];
        const logError = pulumi.log.error;
        (pulumi.log as { error: unknown }).error = async (msg: string) => { errors.push(msg); };
        const rejections: unknown[] = [];
        const onRejection = (e: unknown) => rejections.push(e);
        process.on("unhandledRejection", onRejection);
        try {
            const recorded = mocks({ "lab-2": "arm64" });
            const cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
            await resolve(cluster.members[0].inputsDigest);
            await new Promise((r) => setTimeout(r, 300));
            const seen = [...errors, ...rejections.map(String)].join("\n");
            assert.match(seen, /no sha256 configured for arch arm64 \(etcd:binary\.sha256\.arm64, or etcd:binary\.sha256\["3\.6\.16"\]\.arm64 where the sums are given per version\)/);
            assert.ok(!recorded.some((r) => r.name === "lab-2-binaries"), "lab-2 installs nothing");
            assert.ok(recorded.some((r) => r.name === "lab-1-binaries"), "an amd64 member still does");
        } finally {
            (pulumi.log as { error: unknown }).error = logError;
            process.off("unhandledRejection", onRejection);
        }
    });

    it("a local tarball: staged under its digest from the operator's file; the install and the config write check that digest", async () => {
        const { named } = await local();
        const digest = crypto.createHash("sha256").update("not really a tarball").digest("hex");
        const staged = `${paths.releaseDir}/etcd-v3.6.16-${digest.slice(0, 12)}.tar.gz`;
        const release = named("lab-2-tarball").inputs;
        assert.deepEqual([release.tarball, release.sha256, release.source], [staged, digest, { file: tarball }]);
        assert.ok(!path.isAbsolute((localSpec.binary as { tarballPath: string }).tarballPath), "the stack gave a relative path");
        assert.match(stepScript(named("lab-2-binaries").inputs.stdin, "update"), new RegExp(`^\\[ "\\$got" = '${digest}' \\]`, "m"));
        assert.deepEqual(named("lab-2-config-write").inputs.checks, { unit: "enabled active", binaries: `same as etcd-v3.6.16-${digest.slice(0, 12)}.tar.gz` });
    });

    it("each step's delete: the binaries and the dirs go only where the host runs this member; the join is forgotten; the service stopped", async () => {
        const { named } = await local();
        const s = localSpec, m = s.members[1];
        assert.equal(stepScript(named("lab-2-binaries").inputs.stdin, "delete"), renderRemoveBinariesScript(s, m));
        assert.equal(stepScript(named("lab-2-prepare").inputs.stdin, "delete"), renderRemoveDirsScript(s, m));
        assert.equal(stepScript(named("lab-2-join").inputs.stdin, "delete"), renderForgetJoinScript(s, m));
        assert.equal(stepScript(named("lab-2-service").inputs.stdin, "delete"), renderStopScript(s, m));
        assert.equal(stepScript(named("lab-2-prepare").inputs.stdin, "create"), stepScript(named("lab-2-prepare").inputs.stdin, "update"));
        // The join: a member added later, or a host rebuilt (update), never bootstraps; only the stack's first run may.
        const join = named("lab-2-join").inputs;
        assert.match(stepScript(join.stdin, "create"), /^run=added$/m);
        assert.match(stepScript(join.stdin, "create_in_new_stack"), /^run=new$/m);
        assert.match(stepScript(join.stdin, "update"), /^run=existing$/m);
        assert.match(join.create, /sh "\$s" create </, "a later run creates it as a member added later");
    });

    it("host files: a repair of what etcd reads restarts it through the quorum-checked restart; the members file and removals are guarded", async () => {
        const { named } = await local();
        const s = localSpec, m = s.members[1];
        for (const w of ["lab-2-files-write", "lab-2-config-write"]) {
            const inputs = named(w).inputs;
            assert.ok(inputs.scripts.update.includes(renderRepairRestartScript(s, m).replace(/\n$/, "")), `${w}: the repair restart`);
            assert.ok(!inputs.scripts.create.includes("ETCD_STACK_RESTART"), `${w}: no restart on the first write`);
            assert.ok(inputs.scripts.remove.startsWith("set -eu\n" + renderOwnerGuard(s, m)), `${w}: the owner guard first`);
        }
        assert.equal(named("lab-2-files-write").inputs.label, "lab-2 files");
        assert.equal(named("lab-2-config-write").inputs.label, "lab-2 config");
        // Which files etcd reads (a hand change to them, once etcd started with it, restarts etcd): not the members file.
        const handChanged = (w: string) => [...named(w).inputs.scripts.update.matchAll(/echo "(\S+) was changed by hand and etcd has started with it since"/g)].map((x) => x[1]);
        assert.deepEqual(handChanged("lab-2-files-write"), ["/etc/etcd/pki/ca.crt", "/etc/etcd/pki/server.crt", "/etc/etcd/pki/server.key", "/etc/etcd/pki/peer.crt", "/etc/etcd/pki/peer.key"]);
        assert.deepEqual(handChanged("lab-2-config-write"), ["/etc/etcd/etcd.conf.yml", "/etc/systemd/system/etcd.service"]);
        const files = named("lab-2-files-write").inputs.files;
        assert.deepEqual(Object.fromEntries(Object.entries(files).map(([p, f]: [string, any]) => [p, `${f.mode} ${f.owner}`])), {
            "/etc/etcd/pki/ca.crt": "0644 etcd:etcd", "/etc/etcd/pki/server.crt": "0644 etcd:etcd", "/etc/etcd/pki/server.key": "0600 etcd:etcd",
            "/etc/etcd/pki/peer.crt": "0644 etcd:etcd", "/etc/etcd/pki/peer.key": "0600 etcd:etcd", "/etc/etcd/etcd-stack.members": "0644 root:root",
        });
        const config = named("lab-2-config-write").inputs.files;
        assert.deepEqual(Object.fromEntries(Object.entries(config).map(([p, f]: [string, any]) => [p, `${f.mode} ${f.owner}`])), {
            "/etc/etcd/etcd.conf.yml": "0644 root:root", "/etc/systemd/system/etcd.service": "0644 root:root",
        });
        // The config is completed on the host with the join's decision (and read back without it).
        const configScripts = named("lab-2-config-write").inputs.scripts;
        assert.ok(configScripts.create.includes(renderFillJoinDecision(s).join("\n")));
        assert.ok(configScripts.inspect.includes(`sed -e ${shq(renderUnfillJoinDecision())} '/etc/etcd/etcd.conf.yml'`));
        assert.ok(!configScripts.inspect.includes("sed -e '/etc/systemd/system/etcd.service'") && configScripts.inspect.includes("sha256sum < '/etc/systemd/system/etcd.service'"));
        // What the files hold: the config with the cluster's token and the join's placeholders, the unit, the members file.
        const contents = (w: string) => unwrapSecret(named(w).inputs.contents) as Record<string, string>;
        assert.equal(contents("lab-2-config-write")["/etc/etcd/etcd.conf.yml"], renderEtcdConfig(s, m, { token: "lab-0123456789abcdef", ...joinPlaceholders }));
        assert.equal(contents("lab-2-config-write")["/etc/systemd/system/etcd.service"], renderUnit(s, m));
        assert.equal(contents("lab-2-files-write")["/etc/etcd/etcd-stack.members"], renderMembersFile(s));
    });

    it("the host key check: the pinned key's script from the operator's machine, with no previous output in its environment; none for a member without a pinned key", async () => {
        const { recorded, named, deps } = await byUrl();
        const check = named("lab-1-host-key").inputs;
        assert.equal(check.create, "# etcd-stack: lab-1 host key\nsh -s");
        assert.equal(check.addPreviousOutputInEnv, false);
        assert.match(check.stdin, /ssh-keyscan -T 5 -t ed25519 -p 22 '10\.213\.0\.11'/);
        assert.ok(String(check.stdin).includes(fixtureHostKeys[0].split(" ")[1]));
        assert.ok(!recorded.some((r) => r.name === "lab-2-host-key"), "no check without a pinned key");
        assert.deepEqual(deps.dependsOn("lab-2-preflight"), ["etcd-removal-check"]);
        assert.deepEqual(deps.dependsOn("lab-1-preflight"), ["etcd-removal-check", "lab-1-host-key"]);
        const preflights = ["lab-1-preflight", "lab-2-preflight", "lab-3-preflight"];
        assert.deepEqual(deps.dependsOn("lab-2-prepare"), ["etcd-removal-check", ...preflights]);
        assert.deepEqual(deps.dependsOn("lab-1-prepare"), ["etcd-removal-check", "lab-1-host-key", ...preflights].sort());
    });

    it("behind a bastion, each pinned key is checked through it by the stack's provider, before the member's first step", async () => {
        const { named, deps } = await local();
        for (const [i, m] of ["lab-1", "lab-2", "lab-3"].entries()) {
            const check = named(`${m}-host-key`);
            assert.equal(check.type, "pulumi-nodejs:dynamic/etcd:HostKeyCheck");
            assert.equal(check.inputs.label, m);
            assert.match(check.provider ?? "", /::etcd-host-files::/);
            const c = unwrapSecret(check.inputs.connection);
            assert.deepEqual([c.host, c.port, c.hostKey, c.proxy?.host], [`10.213.0.1${i + 1}`, 22, fixtureHostKeys[i], "10.213.0.2"]);
            assert.deepEqual(deps.dependsOn(`${m}-preflight`), ["etcd-removal-check", `${m}-host-key`]);
            assert.deepEqual(deps.dependsOn(`${m}-prepare`), ["etcd-removal-check", `${m}-host-key`, "lab-1-preflight", "lab-2-preflight", "lab-3-preflight"].sort());
        }
    });

    it("the inputs digest follows the etcd version even when the config reads the same (the upgrade restarts etcd on the new binary)", async () => {
        // One after the other: each declaration installs its own mocks.
        const old = await older();
        const cur = await local();
        const config = (d: Declared) => d.named("lab-2-config-write").inputs.files["/etc/etcd/etcd.conf.yml"].sha256;
        assert.equal(config(old), config(cur), "the same config file for both");
        const [a, b] = [await resolve(old.cluster.members[1].inputsDigest), await resolve(cur.cluster.members[1].inputsDigest)];
        assert.match(a, /^[0-9a-f]{64}$/);
        assert.match(b, /^[0-9a-f]{64}$/);
        assert.notEqual(a, b);
        // Each member's own config and certificates: three members, three digests (a change to one restarts only it).
        const all = await Promise.all(cur.cluster.members.map((m) => resolve(m.inputsDigest)));
        assert.equal(new Set(all).size, 3, all.join(" "));
    });

    it("a member given steps to wait for as a plain list (not an Output) waits for them in its turn, and for nothing when given none", async () => {
        mocks({});
        const deps = new DependencyRecorder();
        const s = localSpec;
        const root = new pulumi.ComponentResource("test:index:Root", "root", {}, { transformations: [deps.transformation] });
        const ca = new CertificateAuthority("t-ca", { spec: s.ca, commonName: "t-ca", protect: false }, { parent: root });
        const provider = new HostFilesProvider("t-host-files", { parent: root });
        const before = new pulumi.ComponentResource("test:index:Before", "earlier", {}, { parent: root });
        const member = (i: number, after?: pulumi.Resource[]) => new EtcdMember(s.members[i].name, {
            spec: s, member: s.members[i], connection: connectionFor(s, s.members[i], "KEY"), caCertPem: ca.certPem, token: "t-token", newStack: false,
            certificates: new MemberCertificates(`${s.members[i].name}-certs`, { ca, member: s.members[i], algorithm: { algorithm: "ECDSA", rsaBits: 2048 }, lifetime: certificateLifetime(s) }, { parent: root }),
            hostFilesProvider: provider, ...(after ? { after } : {}),
        }, { parent: root });
        const waiting = member(0, [before]);
        const alone = member(1);
        await Promise.all([resolve(waiting.inputsDigest), resolve(alone.inputsDigest)]);
        await deps.settled();
        for (const step of ["binaries", "files-write", "join", "config-write", "service"]) {
            assert.ok(deps.dependsOn(`lab-1-${step}`).includes("earlier"), `lab-1-${step}: ${deps.dependsOn(`lab-1-${step}`)}`);
            assert.ok(!deps.dependsOn(`lab-2-${step}`).some((d) => !d.startsWith("lab-2-")), `lab-2-${step}: ${deps.dependsOn(`lab-2-${step}`)}`);
        }
        assert.deepEqual(deps.dependsOn("lab-1-tarball"), ["lab-1-prepare"], "staging is not part of the roll");
        // Given no cluster-wide checks (checkedBy) nor the others' preflights, the first step waits for its host key check only.
        assert.deepEqual(deps.dependsOn("lab-2-preflight"), ["lab-2-host-key"]);
        assert.deepEqual(deps.dependsOn("lab-2-prepare"), ["lab-2-host-key", "lab-2-preflight"]);
    });
});

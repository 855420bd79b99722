import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DependencyRecorder, Recorded, installMocks, resolve } from "./mocks";
import { EtcdCluster } from "../../components/cluster";
import { HostFilesInputs } from "../../components/host/hostFilesProvider";
import { hostKeyFingerprint } from "../../components/base/hostKeys";
import { fixtureHostKeys, rawConfig, spec } from "./fixtures";

/** Mocks see secret inputs in their wire form: { <signature>: ..., value }. */
function unwrapSecret(v: any): any {
    return typeof v === "object" && v !== null && "value" in v ? v.value : v;
}

describe("EtcdCluster (mocked engine)", function () {
    // Each hook builds a whole cluster on the mocked engine: seconds when quiet, past mocha's 20 s at a
    // load average of 12 (a unit run beside mutation runs and a lab run timed out here). A bound, not a speed check.
    this.timeout(60_000);
    let recorded: Recorded[];
    let cluster: EtcdCluster;
    let deps: DependencyRecorder;
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let tmp: string;
    let tarball: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-"));
        tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    // The cluster is declared again for each test (not once in `before`): Stryker's per-test coverage
    // then sees which tests reach cluster.ts and member.ts (in `before`, every mutant there was "static",
    // run against every test of the run).
    beforeEach(async () => {
        deps = new DependencyRecorder();
        recorded = installMocks();
        // lab-3 takes over an etcd installed by hand (its unit may share our unit's name).
        const members = (rawConfig().members as object[]).map((m, i) => i === 2 ? { ...m, adopt: { unit: "etcd.service", dataDir: "/var/lib/etcd-old" } } : m);
        const s = spec({ binary: { localTarball: tarball }, members });
        cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") }, { transformations: [deps.transformation] });
        // Wait until every resource has been registered and its outputs resolved.
        await resolve(cluster.clientEndpoints);
        await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
        await deps.settled();
    });

    const ofType = (t: string) => recorded.filter((r) => r.type === t);
    const named = (n: string) => {
        const r = recorded.find((x) => x.name === n);
        assert.ok(r, `no resource named ${n}; have ${recorded.map((x) => x.name).join(", ")}`);
        return r;
    };
    const commands = () => [...ofType("command:remote:Command"), ...ofType("command:remote:CopyToRemote"), ...ofType("pulumi-nodejs:dynamic/etcd:HostFilesWrite"),
        ...ofType("pulumi-nodejs:dynamic/etcd:StagedRelease")];
    /** A HostFiles write's inputs: per path its mode and owner, the (secret) contents, the scripts. */
    const hostFiles = (n: string, from = recorded) => {
        const r = from.find((x) => x.name === `${n}-write`);
        assert.ok(r, `no HostFiles ${n}`);
        return { ...r.inputs, contents: unwrapSecret(r.inputs.contents) as Record<string, string> } as
            Omit<HostFilesInputs, "contents"> & { contents: Record<string, string> };
    };

    it("declares the same phases on every member", () => {
        for (const m of ["lab-1", "lab-2", "lab-3"]) {
            for (const suffix of ["-preflight", "-prepare", "-tarball", "-binaries", "-join", "-service"]) {
                named(`${m}${suffix}`);
            }
            // Read-only checks on their own (the cluster's gate), then again with user and dirs in one
            // session; the service step promotes a learner.
            assert.match(named(`${m}-preflight`).inputs.stdin, /step_create\(\) \([\s\S]*preflight failed on[\s\S]*step_update\(\) \([\s\S]*preflight failed on/);
            assert.doesNotMatch(named(`${m}-preflight`).inputs.stdin, /useradd|install -d|step_delete/, "the preflight changes nothing, and has nothing to undo");
            assert.match(named(`${m}-prepare`).inputs.stdin, /preflight failed on[\s\S]*useradd --system/);
            assert.match(named(`${m}-service`).inputs.stdin, /step_create\(\) \([\s\S]*systemctl start --no-block[\s\S]*promoted from learner[\s\S]*step_update\(\) \([\s\S]*systemctl restart[\s\S]*promoted from learner/);
            // What the join reads, in one write; then the config and unit, in another.
            assert.deepEqual(hostFiles(`${m}-files`).order, ["/etc/etcd/pki/ca.crt", "/etc/etcd/pki/server.crt", "/etc/etcd/pki/server.key",
                "/etc/etcd/pki/peer.crt", "/etc/etcd/pki/peer.key", "/etc/etcd/etcd-stack.members"]);
            assert.deepEqual(hostFiles(`${m}-config`).order, ["/etc/etcd/etcd.conf.yml", "/etc/systemd/system/etcd.service"]);
        }
        // One health gate for the cluster, on the first member's host.
        assert.equal(named("etcd-health").type, "command:remote:Command");
        assert.ok(!recorded.some((r) => /^lab-\d-health$/.test(r.name)), "no gate per member");
        // The membership is cluster state, read from the cluster on refresh: one dynamic resource.
        assert.deepEqual(ofType("pulumi-nodejs:dynamic/etcd:Membership").map((r) => r.name), ["etcd-membership"]);
        // So is the check that an edit removing members keeps a quorum.
        assert.deepEqual(ofType("pulumi-nodejs:dynamic/etcd:RemovalCheck").map((r) => r.name), ["etcd-removal-check"]);
        assert.match(named("etcd-removal-check").inputs.script, /refusing to remove/);
        assert.equal(ofType("command:remote:Command").length, 3 * 5 + 1);
        assert.equal(ofType("pulumi-nodejs:dynamic/etcd:HostFilesWrite").length, 3 * 2);
    });

    it("parents every child under its component", async () => {
        // The mock monitor qualifies a URN with the immediate parent's type only, so check each link.
        assert.match(await resolve(cluster.members[1].service.urn), /::etcd:index:EtcdMember\$command:remote:Command::lab-2-service$/);
        assert.match(await resolve(cluster.members[1].urn), /::etcd:index:Cluster\$etcd:index:EtcdMember::lab-2$/);
    });

    it("creates a CA, two certificates per member and the client certificates", () => {
        assert.equal(ofType("tls:index/selfSignedCert:SelfSignedCert").length, 1);
        const ca = ofType("tls:index/selfSignedCert:SelfSignedCert")[0];
        assert.equal(ca.inputs.isCaCertificate, true);
        assert.equal(ofType("tls:index/locallySignedCert:LocallySignedCert").length, 3 * 2 + 3);
        const clientCns = ofType("tls:index/certRequest:CertRequest").filter((r) => /-client-/.test(r.name)).map((r) => r.inputs.subject.commonName);
        assert.deepEqual(clientCns.sort(), ["apiserver-etcd-client", "healthcheck", "root"]);
    });

    it("covers every address a client dials in the server certificate SANs", () => {
        const csr = named("lab-3-certs-server-csr").inputs;
        assert.equal(csr.subject.commonName, "lab-3");
        assert.deepEqual(csr.dnsNames.sort(), ["etcd.example.internal", "lab-3", "localhost"]);
        assert.deepEqual(csr.ipAddresses.sort(), ["10.213.0.100", "10.213.0.13", "127.0.0.1", "::1"]);
        const peer = named("lab-3-certs-peer-csr").inputs;
        assert.equal(peer.subject.commonName, "etcd-peer", "the CN the peer port accepts (allowed-cn)");
        assert.deepEqual(peer.dnsNames, ["lab-3"]);
        assert.deepEqual(peer.ipAddresses, ["10.213.0.13"]);
        const signed = named("lab-3-certs-server-cert").inputs;
        assert.deepEqual([...signed.allowedUses].sort(), ["client_auth", "digital_signature", "key_encipherment", "server_auth"]);
    });

    it("never sends the CA private key to any host", () => {
        const caKey = "PRIVATE-KEY(etcd-ca-key)";
        assert.ok(named("etcd-ca-key"));
        for (const c of commands()) {
            assert.ok(!JSON.stringify(c.inputs).includes(caKey), `${c.name} carries the CA key`);
        }
    });

    it("sends each member only its own private keys, as 0600 files owned by etcd", () => {
        for (const m of ["lab-1", "lab-2", "lab-3"]) {
            const mine = commands().filter((c) => c.name.startsWith(`${m}`)).map((c) => JSON.stringify(c.inputs)).join("\n");
            const keys = mine.match(/PRIVATE-KEY\([^)]*\)/g) ?? [];
            assert.deepEqual([...new Set(keys)].sort(), [`PRIVATE-KEY(${m}-certs-peer-key)`, `PRIVATE-KEY(${m}-certs-server-key)`]);
            const files = hostFiles(`${m}-files`);
            assert.deepEqual(files.files["/etc/etcd/pki/server.key"].mode, "0600");
            assert.deepEqual(files.files["/etc/etcd/pki/server.key"].owner, "etcd:etcd");
            assert.match(files.scripts.create, /chmod 0600 "\$tmp"\nprintf '%s' "\$content" \| base64 -d > "\$tmp"\nchown etcd:etcd "\$tmp"/);
            assert.equal(files.contents["/etc/etcd/pki/server.key"], `PRIVATE-KEY(${m}-certs-server-key)`);
            assert.doesNotMatch(JSON.stringify(files.scripts), /PRIVATE-KEY/);
            assert.doesNotMatch(JSON.stringify(files.files), /PRIVATE-KEY/, "only digests of contents are shown");
            assert.match(files.files["/etc/etcd/pki/server.key"].sha256, /^[0-9a-f]{64}$/, "the digests are not secret: a preview shows them");
        }
    });

    it("marks connections and private keys secret", async () => {
        for (const c of commands()) {
            assert.notEqual(unwrapSecret(c.inputs.connection), c.inputs.connection, `${c.name}: connection is not secret`);
        }
        const keyFile = named("lab-1-files-write").inputs;
        assert.notEqual(unwrapSecret(keyFile.contents), keyFile.contents, "key content is not secret");
        assert.ok(await pulumi.isSecret(cluster.adminKeyPem as pulumi.Output<string>));
        assert.ok(await pulumi.isSecret(cluster.clientCertificates["healthcheck"].privateKeyPem));
        const membership = named("etcd-membership").inputs;
        assert.notEqual(unwrapSecret(membership.connections), membership.connections, "the membership's connections are not secret");
    });

    it("declares the membership as the stack's list, with each member's own rejoin and promote, and the cluster's health gate for after a repair", () => {
        const m = named("etcd-membership").inputs;
        assert.deepEqual(m.members, { "lab-1": "https://10.213.0.11:2380", "lab-2": "https://10.213.0.12:2380", "lab-3": "https://10.213.0.13:2380" });
        assert.deepEqual(m.order, ["lab-1", "lab-2", "lab-3"]);
        assert.deepEqual(Object.keys(unwrapSecret(m.connections)), ["lab-1", "lab-2", "lab-3"]);
        for (const n of ["lab-1", "lab-2", "lab-3"]) {
            assert.match(m.scripts.rejoin[n], new RegExp(`^me='${n}'$`, "m"));
            assert.match(m.scripts.promote[n], new RegExp(`^me='${n}'$`, "m"));
        }
        assert.match(m.scripts.reconcile, /member remove/);
        // The gate (renderHealthGateScript, golden file): the stack's members listed, every one healthy.
        assert.match(m.scripts.health, /^want='lab-1,lab-2,lab-3'$/m);
        assert.match(m.scripts.health, /healthy: every member of \[\$got\] answers/);
    });

    const names = ["lab-1", "lab-2", "lab-3"];
    const files = ["/etc/etcd/pki/ca.crt", "/etc/etcd/pki/server.crt", "/etc/etcd/pki/server.key", "/etc/etcd/pki/peer.crt",
        "/etc/etcd/pki/peer.key", "/etc/etcd/etcd-stack.members", "/etc/etcd/etcd.conf.yml", "/etc/systemd/system/etcd.service"];

    it("rolls: a member's binaries, files, join and service wait for the previous member's service (its promotion included)", () => {
        names.forEach((m, i) => {
            const previous = i === 0 ? [] : [`${names[i - 1]}-service`];
            assert.deepEqual(deps.dependsOn(`${m}-preflight`), ["etcd-removal-check", `${m}-host-key`],
                "nothing connects before the host key is checked, nor before a removal of members is known to keep a quorum");
            assert.deepEqual(deps.dependsOn(`${m}-prepare`), ["etcd-removal-check", `${m}-host-key`, ...names.map((n) => `${n}-preflight`)].sort(),
                "no host changes before every member's preflight passed");
            assert.deepEqual(deps.dependsOn(`${m}-tarball`), [`${m}-prepare`], "staging the tarball is not part of the roll");
            assert.deepEqual(deps.dependsOn(`${m}-binaries`), [`${m}-tarball`, ...previous].sort());
            assert.deepEqual(deps.dependsOn(`${m}-files-write`), [`${m}-prepare`, ...previous].sort());
            assert.deepEqual(deps.dependsOn(`${m}-join`), [`${m}-binaries`, `${m}-files-write`, ...previous].sort());
            // The config carries the join's decision; the unit (in the same write) may replace an adopted one only once the join stopped it.
            assert.deepEqual(deps.dependsOn(`${m}-config-write`), [`${m}-binaries`, `${m}-join`, ...previous].sort());
            assert.deepEqual(deps.dependsOn(`${m}-service`), [`${m}-binaries`, `${m}-config-write`, `${m}-files-write`, `${m}-join`, ...previous].sort());
        });
    });

    describe("a new cluster's members start together; later runs roll", () => {
        /** Each member's steps that wait for another member, by member, for a 3-member stack. */
        async function crossMemberDeps(options: { newStack: boolean; adopt?: boolean }): Promise<Record<string, string[]>> {
            installMocks({ newStack: options.newStack });
            const recorder = new DependencyRecorder();
            const members = (rawConfig().members as object[]).map((m, i) => i === 1 && options.adopt ? { ...m, adopt: { unit: "etcd.service", dataDir: "/var/lib/etcd-old" } } : m);
            const c = new EtcdCluster("etcd", { spec: spec({ binary: { localTarball: tarball }, members }), sshPrivateKey: pulumi.secret("SSH-KEY") },
                { transformations: [recorder.transformation] });
            await resolve(c.clientEndpoints);
            await recorder.settled();
            // The preflight gate (every prepare after every preflight) is the same in every run: left out here.
            return Object.fromEntries(names.map((m) => [m, ["-prepare", "-tarball", "-binaries", "-files-write", "-join", "-config-write", "-service"]
                .flatMap((step) => recorder.dependsOn(`${m}${step}`).filter((d) => /^lab-\d/.test(d) && !d.startsWith(`${m}-`) && !/-preflight$/.test(d)).map((d) => `${m}${step} after ${d}`))]));
        }

        it("the stack's first run: no member waits for another (the health gate waits for all)", async () => {
            assert.deepEqual(await crossMemberDeps({ newStack: true }), { "lab-1": [], "lab-2": [], "lab-3": [] });
        });

        it("a later run (the removal check existed before): each member's turn waits for the previous member's service", async () => {
            const d = await crossMemberDeps({ newStack: false });
            assert.deepEqual(d["lab-1"], []);
            for (const [m, prev] of [["lab-2", "lab-1"], ["lab-3", "lab-2"]]) {
                assert.deepEqual(d[m], ["-binaries", "-files-write", "-join", "-config-write", "-service"].map((s) => `${m}${s} after ${prev}-service`));
            }
        });

        it("a first run that adopts a running etcd still rolls: that etcd is stopped only in its turn", async () => {
            const d = await crossMemberDeps({ newStack: true, adopt: true });
            assert.deepEqual(d["lab-3"], ["-binaries", "-files-write", "-join", "-config-write", "-service"].map((s) => `lab-3${s} after lab-2-service`));
        });
    });

    it("reconciles membership after every member's turn, then gates on it", () => {
        assert.deepEqual(deps.dependsOn("etcd-membership"), names.map((n) => `${n}-service`));
        assert.deepEqual(deps.dependsOn("etcd-health"), ["etcd-membership"]);
    });

    it("runs scripts from stdin behind a short, labelled command, with no previous-output environment", async () => {
        for (const c of ofType("command:remote:Command")) {
            for (const op of ["create", "update", "delete"]) {
                if (c.inputs[op] === undefined) continue;
                // The label, the root-or-sudo check (asRootShell), and three lines that run the script on stdin.
                assert.ok(c.inputs[op].split("\n").length <= 5, `${c.name} ${op} is not a short runner:\n${c.inputs[op]}`);
                assert.match(c.inputs[op], new RegExp(`^# etcd-stack: (lab-\\d|cluster) .*\\(${op}\\)\n`));
            }
            assert.equal(c.inputs.addPreviousOutputInEnv, false, c.name);
        }
        const service = named("lab-1-service").inputs;
        const digest = await resolve(cluster.members[0].inputsDigest);
        assert.match(service.stdin, /^step_create\(\) \(\n/m);
        assert.match(service.stdin, /systemctl start --no-block etcd\.service/);
        assert.match(service.stdin, new RegExp(`digest='${digest}'`));
        assert.match(service.stdin, /^me='lab-1'$/m);
        const gate = named("etcd-health").inputs;
        assert.match(gate.stdin, /want='lab-1,lab-2,lab-3'/);
        assert.match(gate.stdin, /endpoints='https:\/\/10\.213\.0\.11:2379,https:\/\/10\.213\.0\.12:2379,https:\/\/10\.213\.0\.13:2379'/);
        const digests = await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
        // With no restore declared, the gate script itself follows the digests' comment line: nothing else for sh to run.
        assert.ok(gate.stdin.includes(`# inputs ${digests.join(",")}\nset -eu\n`), gate.stdin);
    });

    it("checks every member's host key from the operator's machine, with its fingerprint, before any connection", () => {
        for (const [i, m] of names.entries()) {
            const check = named(`${m}-host-key`);
            assert.equal(check.type, "command:local:Command");
            assert.ok(String(check.inputs.stdin).includes(`pins ${hostKeyFingerprint(fixtureHostKeys[i])}`), m);
            assert.deepEqual(check.inputs.triggers, [`10.213.0.1${i + 1}`, 22, fixtureHostKeys[i]]);
        }
    });

    it("pins every member's host key on its connection", () => {
        for (const [i, m] of names.entries()) {
            assert.equal(unwrapSecret(named(`${m}-service`).inputs.connection).hostKey, fixtureHostKeys[i]);
            assert.equal(unwrapSecret(named(`${m}-files-write`).inputs.connection).hostKey, fixtureHostKeys[i]);
            assert.equal(unwrapSecret(named(`${m}-config-write`).inputs.connection).hostKey, fixtureHostKeys[i]);
        }
    });

    it("gives every dynamic resource the stack's own provider, which waits for nothing", () => {
        const dynamic = recorded.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
        assert.ok(dynamic.length >= 3 * names.length, `only ${dynamic.map((r) => r.name).join(", ")}`);
        for (const r of dynamic) assert.match(r.provider ?? "(default provider)", /[$:]pulumi:providers:pulumi-nodejs::etcd-host-files::/, `${r.name}: ${r.provider}`);
        // Members get it on their dynamic resources, not as a component's `providers`, which would hold back
        // their commands until the provider (a Node.js process) has started.
        // A dependency of the provider would also fail a targeted `up` that does not name it (`--target`).
        assert.deepEqual(deps.dependsOn("etcd-host-files"), []);
    });

    it("scheduled snapshots: per chosen member, its own client key, after its service; none by default", async () => {
        assert.equal(recorded.filter((r) => /snapshots/.test(r.name)).length, 0);
        const mine = installMocks();
        const withSnapshots = new EtcdCluster("etcd", {
            spec: spec({ binary: { localTarball: tarball }, snapshots: { members: ["lab-2"], onCalendar: "*:0/15" } }),
            sshPrivateKey: pulumi.secret("SSH-KEY"),
        }, { transformations: [deps.transformation] });
        await resolve(withSnapshots.clientEndpoints);
        await new Promise((r) => setTimeout(r, 100));
        const names = mine.filter((r) => /snapshots/.test(r.name)).map((r) => r.name);
        assert.ok(names.includes("lab-2-snapshots-timer") && !names.some((n) => /^lab-[13]/.test(n)), names.join(", "));
        const files = hostFiles("lab-2-snapshot-files", mine);
        assert.equal(files.contents["/etc/etcd/pki/snapshot.key"], "PRIVATE-KEY(lab-2-snapshots-client-key)");
        assert.equal(files.files["/etc/etcd/pki/snapshot.key"].mode, "0600");
        assert.deepEqual(deps.dependsOn("lab-2-snapshot-files-write"), ["lab-2-service"]);
        assert.deepEqual(deps.dependsOn("lab-2-snapshots-timer"), ["lab-2-snapshot-files-write"]);
        assert.match(files.contents["/etc/systemd/system/etcd-snapshot.timer"], /^OnCalendar=\*:0\/15$/m);
    });

    it("scheduled defragmentation: one timer on the chosen member with its own client key, after the membership; none by default", async () => {
        assert.equal(recorded.filter((r) => /defrag/.test(r.name)).length, 0);
        const mine = installMocks();
        const withDefrag = new EtcdCluster("etcd", {
            spec: spec({ binary: { localTarball: tarball }, defrag: { member: "lab-2", onCalendar: "Sun 03:00" } }),
            sshPrivateKey: pulumi.secret("SSH-KEY"),
        }, { transformations: [deps.transformation] });
        await resolve(withDefrag.clientEndpoints);
        await new Promise((r) => setTimeout(r, 100));
        const steps = mine.filter((r) => /defrag/.test(r.name) && /^(command:|pulumi-nodejs:dynamic)/.test(r.type)).map((r) => r.name).sort();
        assert.deepEqual(steps, ["etcd-defrag-timer", "lab-2-defrag-files-write"]);
        const files = hostFiles("lab-2-defrag-files", mine);
        assert.equal(files.contents["/etc/etcd/pki/defrag.key"], "PRIVATE-KEY(etcd-defrag-client-key)");
        assert.equal(files.files["/etc/etcd/pki/defrag.key"].mode, "0600");
        assert.deepEqual(deps.dependsOn("lab-2-defrag-files-write"), ["etcd-membership"]);
        assert.deepEqual(deps.dependsOn("etcd-defrag-timer"), ["lab-2-defrag-files-write"]);
        assert.equal(unwrapSecret(mine.find((r) => r.name === "etcd-defrag-timer")!.inputs.connection).host, "10.213.0.12");
        assert.match(files.contents["/etc/systemd/system/etcd-defrag.timer"], /^OnCalendar=Sun 03:00$/m);
        // Every member's endpoint, in the script that walks them.
        for (const n of [1, 2, 3]) assert.match(files.contents["/usr/local/sbin/etcd-defrag"], new RegExp(`'https://10\\.213\\.0\\.1${n}:2379'`));
    });

    it("a restore: every member restores after every member's turn of the roll, all start only once all restored, then the membership step and the gate", async () => {
        assert.equal(recorded.filter((r) => /restore/.test(r.name)).length, 0, "no restore unless asked");
        const mine = installMocks();
        const restoring = new EtcdCluster("etcd", {
            spec: spec({ binary: { localTarball: tarball }, restore: { snapshot: "/tmp/backup.db", sha256: "d".repeat(64) } }),
            sshPrivateKey: pulumi.secret("SSH-KEY"),
        }, { transformations: [deps.transformation] });
        await resolve(restoring.clientEndpoints);
        await new Promise((r) => setTimeout(r, 100));
        const staged = names.map((m) => `${m}-restore-snapshot`);
        const restores = names.map((m) => `${m}-restore`);
        for (const m of names) {
            assert.deepEqual(deps.dependsOn(`${m}-restore`), [...names.map((n) => `${n}-service`), ...staged].sort());
            assert.deepEqual(deps.dependsOn(`${m}-restore-start`), restores);
            // A new machine has no staging dir before its prepare step makes it.
            assert.deepEqual(deps.dependsOn(`${m}-restore-snapshot`), [`${m}-prepare`]);
            const script = mine.find((r) => r.name === `${m}-restore`)!.inputs.stdin as string;
            assert.match(script, new RegExp(`--name "\\$me" .*--initial-cluster-token 'lab-[0-9a-f]+-dddddddddddd'`));
        }
        assert.deepEqual(deps.dependsOn("etcd-membership"), [...names.map((n) => `${n}-service`), ...names.map((n) => `${n}-restore-start`)].sort());
        assert.deepEqual(deps.dependsOn("etcd-health"), ["etcd-membership"]);
        // No member starts, restarts or is promoted before the restore has run on its host.
        for (const m of names) assert.match(mine.find((r) => r.name === `${m}-service`)!.inputs.stdin as string, /left to the restore from snapshot dddddddddddd/, m);
        assert.match(mine.find((r) => r.name === "etcd-health")!.inputs.stdin, /# restored from snapshot dddddddddddd/);
        // A member cannot join a running cluster while the restore is declared.
        assert.match(mine.find((r) => r.name === "lab-2-join")!.inputs.stdin, /cannot join the running cluster while a restore is declared/);
    });

    it("every member and client certificate renews inside the stack's window", () => {
        const certs = ofType("tls:index/locallySignedCert:LocallySignedCert");
        assert.equal(certs.length, 3 * 2 + 3, "server and peer per member, three client certificates");
        for (const c of certs) {
            assert.deepEqual([c.inputs.validityPeriodHours, c.inputs.earlyRenewalHours], [8760, 720], c.name);
        }
    });

    it("CA rotation: a second generation is trusted with the first, clients move to it first, members when it issues", async () => {
        const rotate = async (ca: object) => {
            const mine = installMocks();
            const c = new EtcdCluster("etcd", { spec: spec({ binary: { localTarball: tarball }, ca }), sshPrivateKey: pulumi.secret("SSH-KEY") });
            await resolve(c.clientEndpoints);
            await new Promise((r) => setTimeout(r, 100));
            const signer = (n: string) => unwrapSecret(mine.find((r) => r.name === n)!.inputs.caPrivateKeyPem);
            const caFile = hostFiles("lab-2-files", mine).contents["/etc/etcd/pki/ca.crt"];
            return { mine, signer, caFile, caOutput: await resolve(c.caCertPem) };
        };
        // Step 1: trust [1, 2]. The new CA exists; clients are issued by it, members still by the first.
        const trustBoth = await rotate({ trust: [1, 2] });
        assert.equal(trustBoth.mine.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert").length, 2);
        assert.equal(trustBoth.signer("etcd-client-admin-cert"), "PRIVATE-KEY(etcd-ca-g2-key)");
        assert.equal(trustBoth.signer("lab-2-certs-server-cert"), "PRIVATE-KEY(etcd-ca-key)");
        assert.match(trustBoth.caFile, /^CA-CERT\(etcd-ca-cert#\w+\)\nCA-CERT\(etcd-ca-g2-cert#\w+\)\n$/);
        assert.equal(trustBoth.caOutput, trustBoth.caFile, "clients get the same bundle");
        // Step 2: generation 2 issues the members' certificates too; both still trusted.
        const issue = await rotate({ generation: 2, trust: [1, 2] });
        assert.equal(issue.signer("lab-2-certs-server-cert"), "PRIVATE-KEY(etcd-ca-g2-key)");
        assert.equal(issue.signer("lab-2-certs-peer-cert"), "PRIVATE-KEY(etcd-ca-g2-key)");
        // Step 3: only generation 2 is trusted; the first stays in state (protected), never on a host.
        const done = await rotate({ generation: 2 });
        assert.match(done.caFile, /^CA-CERT\(etcd-ca-g2-cert#\w+\)$/);
        assert.equal(done.mine.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert").length, 2);
    });

    it("exports endpoints and peer URLs", async () => {
        assert.equal(await resolve(cluster.clientEndpoints), "https://10.213.0.11:2379,https://10.213.0.12:2379,https://10.213.0.13:2379");
        assert.deepEqual(cluster.peerUrls, { "lab-1": "https://10.213.0.11:2380", "lab-2": "https://10.213.0.12:2380", "lab-3": "https://10.213.0.13:2380" });
        assert.ok((await resolve(cluster.token)).startsWith("lab-"));
    });
});

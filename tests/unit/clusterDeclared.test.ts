/**
 * cluster.ts as declared (mocked engine), where cluster.test.ts does not look: the CAs of every
 * generation up to the newest (names, CNs, protection, algorithm), a CA brought in config (used
 * as given while it is trusted, left out once rotated away), the key algorithm of every key, the
 * token's randomness, the exported names and admin certificate; and connectionFor, called
 * directly: what a member's connection holds, with and without a bastion and pinned keys.
 * Each cluster is declared inside the test that reads it (`rotated()`, `brought()`,
 * `broughtAway()`: on first use, forgotten before each test), so Stryker's per-test coverage sees
 * which tests reach cluster.ts (declared in `before`, every mutant was "static").
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Recorded, installMocks, resolve } from "./mocks";
import { EtcdCluster, connectionFor } from "../../components/cluster";
import { RawClusterConfig } from "../../components/spec/types";
import { fixtureHostKeys, rawConfig, spec } from "./fixtures";

function unwrapSecret(v: any): any {
    return typeof v === "object" && v !== null && "value" in v ? v.value : v;
}

interface Declared {
    cluster: EtcdCluster;
    recorded: Recorded[];
    /** Each resource's `protect` option, by name (a transformation on the root, inherited by every child). */
    protect: Map<string, boolean | undefined>;
}

async function declare(raw: Partial<RawClusterConfig>, byo?: { caCertPem: string; caPrivateKeyPem: string }): Promise<Declared> {
    const recorded = installMocks();
    const protect = new Map<string, boolean | undefined>();
    const cluster = new EtcdCluster("etcd", { spec: spec(raw), sshPrivateKey: pulumi.secret("SSH-KEY"), ...(byo ?? {}) }, {
        transformations: [(args) => { protect.set(args.name, args.opts.protect); return undefined; }],
    });
    await resolve(cluster.clientEndpoints);
    await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
    await new Promise((r) => setTimeout(r, 50));
    return { cluster, recorded, protect };
}

describe("cluster as declared: CAs, keys, token, exports (mocked engine)", function () {
    // A whole cluster on the mocked engine in a test: past 20 s at a load average of 12 (seen).
    this.timeout(60_000);
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let tmp: string;
    let binary: { localTarball: string };
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-cluster-"));
        const tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
        binary = { localTarball: tarball };
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // The clusters, each declared by the first test of its own that asks for it (never shared between tests).
    const declared = new Map<string, Promise<Declared>>();
    beforeEach(() => declared.clear());
    const once = (key: string, make: () => Promise<Declared>): Promise<Declared> => {
        if (!declared.has(key)) declared.set(key, make());
        return declared.get(key)!;
    };
    /** RSA 3072, CA not protected, generation 3 trusting 2 and 3. */
    const rotatedDecl = () => once("rotated", () => declare({ binary, ca: { algorithm: "RSA", rsaBits: 3072, generation: 3, trust: [2, 3] }, protectCa: false }));
    /** A CA brought in config, generation 1. */
    const broughtDecl = () => once("brought", () => declare({ binary, hasCaCert: true, hasCaKey: true }, { caCertPem: "BROUGHT-CA-CERT", caPrivateKeyPem: "BROUGHT-CA-KEY" }));
    /** A CA brought in config, rotated away: generation 2 alone. */
    const broughtAwayDecl = () => once("broughtAway", () => declare({ binary, hasCaCert: true, hasCaKey: true, ca: { generation: 2 } }));

    const ofType = (d: Declared, t: string) => d.recorded.filter((r) => r.type === t);
    const named = (d: Declared, n: string) => {
        const r = d.recorded.find((x) => x.name === n);
        assert.ok(r, `no resource named ${n}; have ${d.recorded.map((x) => x.name).join(", ")}`);
        return r;
    };
    const caFile = (d: Declared) => unwrapSecret(named(d, "lab-2-files-write").inputs.contents)["/etc/etcd/pki/ca.crt"];

    it("the timers' jobs: their files written in the cluster's provider instance, their client certificates listed as timer/snapshot-<member> and timer/defrag", async () => {
        // Declared here, not in a `before` (hostTimers.test.ts): Stryker's per-test coverage then sees this test reach these lines.
        const d = await declare({ binary, snapshots: { members: ["lab-2"], onCalendar: "hourly", keep: 3, maxAgeDays: 2 }, defrag: { member: "lab-3", onCalendar: "weekly" } });
        for (const write of ["lab-2-snapshot-files-write", "lab-3-defrag-files-write"]) {
            assert.match(named(d, write).provider ?? "(the default provider)", /pulumi:providers:pulumi-nodejs::etcd-host-files::/, write);
        }
        const names = d.cluster.issuedCertificates.map((c) => c.name);
        assert.ok(names.includes("timer/snapshot-lab-2") && names.includes("timer/defrag"), names.join(", "));
    });

    it("every CA generation up to the newest is declared, named and CN'd by generation; members and clients signed by the newest; the trusted ones on the hosts", async () => {
        const rotated = await rotatedDecl();
        const cas = ofType(rotated, "tls:index/selfSignedCert:SelfSignedCert");
        assert.deepEqual(cas.map((c) => [c.name, c.inputs.subject.commonName]).sort(), [
            ["etcd-ca-cert", "lab-etcd-ca"], ["etcd-ca-g2-cert", "lab-etcd-ca-g2"], ["etcd-ca-g3-cert", "lab-etcd-ca-g3"]]);
        const signer = (n: string) => unwrapSecret(named(rotated, n).inputs.caPrivateKeyPem);
        assert.equal(signer("lab-2-certs-server-cert"), "PRIVATE-KEY(etcd-ca-g3-key)");
        assert.equal(signer("etcd-client-admin-cert"), "PRIVATE-KEY(etcd-ca-g3-key)");
        assert.match(caFile(rotated), /^CA-CERT\(etcd-ca-g2-cert#\w+\)\nCA-CERT\(etcd-ca-g3-cert#\w+\)\n$/);
    });

    it("the CAs are protected unless the stack says otherwise", async () => {
        const rotated = await rotatedDecl();
        const broughtAway = await broughtAwayDecl();
        for (const n of ["etcd-ca-key", "etcd-ca-cert", "etcd-ca-g3-key", "etcd-ca-g3-cert"]) assert.equal(rotated.protect.get(n), false, n);
        for (const n of ["etcd-ca-g2-key", "etcd-ca-g2-cert"]) assert.equal(broughtAway.protect.get(n), true, n);
    });

    it("every key (CA, members, clients) has the CA's algorithm and size", async () => {
        const rotated = await rotatedDecl();
        const keys = ofType(rotated, "tls:index/privateKey:PrivateKey");
        assert.ok(keys.length >= 3 + 3 * 2 + 3, keys.map((k) => k.name).join(", "));
        for (const k of keys) assert.deepEqual([k.inputs.algorithm, k.inputs.rsaBits], ["RSA", 3072], k.name);
    });

    it("a CA brought in config is used as given: no CA generated, its certificate on the hosts and in the outputs, its key signs", async () => {
        const brought = await broughtDecl();
        assert.equal(ofType(brought, "tls:index/selfSignedCert:SelfSignedCert").length, 0);
        assert.equal(caFile(brought), "BROUGHT-CA-CERT");
        assert.equal(await resolve(brought.cluster.caCertPem), "BROUGHT-CA-CERT");
        assert.equal(unwrapSecret(named(brought, "lab-1-certs-peer-cert").inputs.caPrivateKeyPem), "BROUGHT-CA-KEY");
        assert.equal(unwrapSecret(named(brought, "etcd-client-healthcheck-cert").inputs.caPrivateKeyPem), "BROUGHT-CA-KEY");
    });

    it("a brought CA rotated away is no longer needed: only the generated generation 2 is declared", async () => {
        const broughtAway = await broughtAwayDecl();
        assert.deepEqual(ofType(broughtAway, "tls:index/selfSignedCert:SelfSignedCert").map((c) => c.name), ["etcd-ca-g2-cert"]);
        assert.match(caFile(broughtAway), /^CA-CERT\(etcd-ca-g2-cert#\w+\)$/);
    });

    it("a brought CA's PEM ending in a newline, trusted with generation 2: the bundle holds each PEM once, each ending in one newline", async () => {
        const d = await declare({ binary, hasCaCert: true, hasCaKey: true, ca: { generation: 1, trust: [1, 2] } },
            { caCertPem: "BROUGHT-CA-CERT\n", caPrivateKeyPem: "BROUGHT-CA-KEY" });
        assert.match(caFile(d), /^BROUGHT-CA-CERT\nCA-CERT\(etcd-ca-g2-cert#\w+\)\n$/);
        assert.equal(await resolve(d.cluster.caCertPem), caFile(d), "clients get the same bundle");
    });

    it("declares every resource under the cluster component: a resource left out of it would get another URN, and the engine would replace it (a new token or CA)", async () => {
        const rotated = await rotatedDecl();
        // `protect` is filled by a transformation given to the cluster, which reaches only the cluster and its descendants.
        const outside = rotated.recorded.filter((r) => !rotated.protect.has(r.name)).map((r) => `${r.type} ${r.name}`);
        assert.deepEqual(outside, []);
        assert.ok(rotated.recorded.length > 40, `${rotated.recorded.length} resources`);
    });

    it("the initial-cluster-token: the cluster's name and 8 random bytes, one per stack", async () => {
        const rotated = await rotatedDecl();
        const ids = ofType(rotated, "random:index/randomId:RandomId");
        assert.deepEqual(ids.map((r) => [r.name, r.inputs.byteLength]), [["etcd-token", 8]]);
        assert.equal(await resolve(rotated.cluster.token), "lab-0123456789abcdef");
    });

    it("exports the member names in the stack's order and the admin client certificate (CN root)", async () => {
        const rotated = await rotatedDecl();
        assert.deepEqual(rotated.cluster.memberNames, ["lab-1", "lab-2", "lab-3"]);
        assert.match(await resolve(rotated.cluster.adminCertPem), /^CERT\(etcd-client-admin-cert#\w+\)$/);
        assert.equal(await resolve(rotated.cluster.adminKeyPem), "PRIVATE-KEY(etcd-client-admin-key)");
        assert.equal(named(rotated, "etcd-client-admin-csr").inputs.subject.commonName, "root");
    });
});

describe("connectionFor (called directly)", () => {
    before(() => installMocks());

    it("a member: its host, port, login and pinned key; the private key secret; 15 dials 10 s apart at most; no bastion", async () => {
        const s = spec({ members: (rawConfig().members as any[]).map((m, i) => i === 0 ? { ...m, sshHost: "m1.example", sshPort: 2200, sshUser: "ops" } : m) });
        const c = connectionFor(s, s.members[0], "THE-KEY");
        const { privateKey, ...rest } = c;
        assert.deepEqual(rest, { host: "m1.example", port: 2200, user: "ops", hostKey: fixtureHostKeys[0], dialErrorLimit: 15, perDialTimeout: 10 });
        assert.equal(await resolve(privateKey!), "THE-KEY");
        assert.ok(await pulumi.isSecret(pulumi.output(privateKey!)));
    });

    it("behind a bastion: the bastion's host, port, login and pinned key, the same secret key; no key pinned where none is given", async () => {
        const bastionKey = fixtureHostKeys[2];
        const s = spec({ bastion: { host: "10.213.0.2", port: 2022, user: "jump", hostKey: bastionKey } });
        const c = connectionFor(s, s.members[1], "THE-KEY");
        const { privateKey, ...proxy } = c.proxy as any;
        assert.deepEqual(proxy, { host: "10.213.0.2", port: 2022, user: "jump", hostKey: bastionKey });
        assert.equal(await resolve(privateKey), "THE-KEY");
        assert.ok(await pulumi.isSecret(pulumi.output(privateKey)));

        const open = spec({ allowUnverifiedHosts: true, bastion: { host: "10.213.0.2" }, members: (rawConfig().members as any[]).map((m) => ({ name: m.name, address: m.address })) });
        const o = connectionFor(open, open.members[0], "THE-KEY");
        assert.ok(!("hostKey" in o), "no member key pinned");
        assert.ok(!("hostKey" in (o.proxy as object)), "no bastion key pinned");
        const p = o.proxy as { host: string; port: number; user: string };
        assert.deepEqual([p.host, p.port, p.user], ["10.213.0.2", 22, "root"]);
    });
});

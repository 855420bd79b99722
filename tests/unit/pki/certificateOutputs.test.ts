/**
 * The `certificates` stack output and the consumers' fingerprints (components/pki/certificateExpiry.ts,
 * components/outputs.ts): the pure helpers against openssl on a real certificate, and, with the
 * mocked engine, that every certificate the cluster issues is listed (CAs in use, members' server
 * and peer, every client, the timers' own) with its tls `validityEndTime`, the start of its renewal
 * window and its fingerprint, and nothing secret.
 */
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, resolve } from "../mocks";
import { EtcdCluster } from "../../../components/cluster";
import { CertificateExpiry, certificateExpiries, certificateExpiry, pemNotAfter, renewFrom, renewalHours, sha256Fingerprint } from "../../../components/pki/certificateExpiry";
import { consumerOutputs } from "../../../components/outputs";
import { RawClusterConfig } from "../../../components/spec/types";
import { spec } from "../fixtures";

describe("certificate expiry: fingerprints, dates, windows (pure)", () => {
    let tmp: string;
    let pem: string;
    /** openssl's own view of the certificate. */
    let openssl: { fingerprint: string; notAfter: number };
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cert-expiry-"));
        const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=expiry-test",
            "-days", "30", "-keyout", path.join(tmp, "k.pem"), "-out", path.join(tmp, "c.pem")], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        pem = fs.readFileSync(path.join(tmp, "c.pem"), "utf8");
        const fp = spawnSync("openssl", ["x509", "-in", path.join(tmp, "c.pem"), "-noout", "-fingerprint", "-sha256", "-enddate"], { encoding: "utf8" });
        assert.equal(fp.status, 0, fp.stderr);
        openssl = {
            fingerprint: /fingerprint=([0-9A-F:]+)/i.exec(fp.stdout)![1],
            notAfter: Date.parse(/notAfter=(.+)/.exec(fp.stdout)![1]),
        };
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the fingerprint is openssl's `-fingerprint -sha256` (and Node's fingerprint256) of the certificate", () => {
        assert.equal(sha256Fingerprint(pem), openssl.fingerprint);
        assert.equal(sha256Fingerprint(pem), new X509Certificate(pem).fingerprint256);
        assert.match(sha256Fingerprint(pem), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        // A bundle's first certificate; CRLF line ends are the same certificate.
        assert.equal(sha256Fingerprint(pem + pem.replace(/[A-Z]/, "x")), openssl.fingerprint);
        assert.equal(sha256Fingerprint(pem.replace(/\n/g, "\r\n")), openssl.fingerprint);
        // Not a PEM (the unit tests' fakes): the text's own hash, so a new fake is a new fingerprint.
        assert.notEqual(sha256Fingerprint("CERT(a#1)"), sha256Fingerprint("CERT(a#2)"));
    });

    it("a brought CA's not-after time is read from its PEM; a text that is no certificate is refused naming it", () => {
        assert.equal(Date.parse(pemNotAfter(pem, "ca")), openssl.notAfter);
        assert.match(pemNotAfter(pem, "ca"), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.throws(() => pemNotAfter("BROUGHT-CA-CERT", "ca"), /^Error: ca: not a PEM certificate/);
    });

    it("the renewal window opens certRenewBeforeHours before a member or client certificate expires, certValidityHours before a CA does", () => {
        assert.equal(renewFrom("2027-11-23T08:00:00Z", 720), "2027-10-24T08:00:00Z");
        assert.equal(renewFrom("2027-11-23T08:00:00.000Z", 1), "2027-11-23T07:00:00Z");
        assert.throws(() => renewFrom("soon", 1), /not a time: "soon"/);
        const s = { certRenewBeforeHours: 720, certValidityHours: 8760 };
        assert.equal(renewalHours(s, "up"), 720);
        assert.equal(renewalHours(s, "CA rotation"), 8760);
        assert.deepEqual(certificateExpiry(pem, "2027-11-23T08:00:00.000Z", 48, "up"),
            { notAfter: "2027-11-23T08:00:00Z", renewFrom: "2027-11-21T08:00:00Z", sha256Fingerprint: openssl.fingerprint, renewal: "up" });
    });

    it("a certificate an `up --target` did not create (no PEM, no dates) has no entry, and does not fail the run", async () => {
        const none = pulumi.output(undefined as unknown as string);
        const out = certificateExpiries([
            { name: "member/m-2/server", certPem: none, notAfter: none, renewal: "up" },
            { name: "ca", certPem: none, renewal: "CA rotation" },
            { name: "member/m-1/server", certPem: pulumi.output(pem), notAfter: pulumi.output("2027-11-23T08:00:00Z"), renewal: "up" },
        ], { certRenewBeforeHours: 12, certValidityHours: 48 });
        assert.equal(await resolve(out["member/m-2/server"]), undefined);
        assert.equal(await resolve(out["ca"]), undefined);
        assert.equal((await resolve(out["member/m-1/server"]))?.renewFrom, "2027-11-22T20:00:00Z");
    });

    it("two certificates under one name are refused", () => {
        const c = { name: "client/admin", certPem: pulumi.output("x"), notAfter: pulumi.output("2027-01-01T00:00:00Z"), renewal: "up" as const };
        assert.throws(() => certificateExpiries([c, c], { certRenewBeforeHours: 1, certValidityHours: 2 }), /two certificates named "client\/admin"/);
    });
});

describe("certificate expiry: the `certificates` output and the consumers' fingerprints (mocked engine)", function () {
    this.timeout(60_000);
    let tmp: string;
    let tarball: string;
    let realPem: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cert-outputs-"));
        tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
        const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=brought-ca",
            "-days", "400", "-keyout", path.join(tmp, "ca.key"), "-out", path.join(tmp, "ca.crt")], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        realPem = fs.readFileSync(path.join(tmp, "ca.crt"), "utf8");
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** The output of a cluster declared with `overrides`, resolved, and whether any entry is secret. */
    async function declared(overrides: Partial<RawClusterConfig>, ca?: { certPem: pulumi.Input<string>; privateKeyPem: string }) {
        const recorded = installMocks();
        const s = spec({ binary: { localTarball: tarball }, certValidityHours: 2000, certRenewBeforeHours: 100, ...overrides });
        const cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY"), caCertPem: ca?.certPem, caPrivateKeyPem: ca?.privateKeyPem });
        const out = certificateExpiries(cluster.issuedCertificates, s);
        const values: Record<string, CertificateExpiry> = {};
        let secret = false;
        for (const [k, v] of Object.entries(out)) {
            const value = await resolve(v);
            assert.ok(value, `${k}: no entry`);
            values[k] = value;
            secret ||= await pulumi.isSecret(v);
        }
        return { s, cluster, values, secret, recorded };
    }

    /** A cluster with an extra client, snapshots on two members and defragmentation. */
    let full: Awaited<ReturnType<typeof declared>>;
    before(async () => {
        full = await declared({
            clientCertificates: [{ name: "kube-apiserver", commonName: "kube-apiserver" }],
            snapshots: { members: ["lab-1", "lab-2"], onCalendar: "hourly", keep: 3, maxAgeDays: 2 },
            defrag: { member: "lab-3", onCalendar: "weekly" },
        });
    });

    it("lists every certificate: the CA, each member's server and peer, every client (admin too), the snapshot and defrag timers' own", async () => {
        const { values, secret } = full;
        assert.deepEqual(Object.keys(values), [
            "ca",
            "member/lab-1/server", "member/lab-1/peer", "member/lab-2/server", "member/lab-2/peer", "member/lab-3/server", "member/lab-3/peer",
            "client/admin", "client/healthcheck", "client/apiserver-etcd-client", "client/kube-apiserver",
            "timer/snapshot-lab-1", "timer/snapshot-lab-2", "timer/defrag",
        ]);
        assert.equal(secret, false, "no entry of the output is secret");
        // The mocks' validityEndTime: tls's LocallySignedCert 2027-11-23T08:00:00Z, SelfSignedCert 2036-11-21T08:00:00Z.
        assert.deepEqual(values["member/lab-2/peer"], {
            notAfter: "2027-11-23T08:00:00Z", renewFrom: "2027-11-19T04:00:00Z", renewal: "up", sha256Fingerprint: values["member/lab-2/peer"].sha256Fingerprint,
        }, "100 hours (certRenewBeforeHours) before");
        assert.deepEqual({ ...values["ca"], sha256Fingerprint: "" },
            { notAfter: "2036-11-21T08:00:00Z", renewFrom: "2036-08-30T00:00:00Z", renewal: "CA rotation", sha256Fingerprint: "" }, "2000 hours (certValidityHours) before");
        // Each certificate its own fingerprint (the mocks' PEMs differ per certificate).
        const fps = Object.values(values).map((v) => v.sha256Fingerprint);
        assert.equal(new Set(fps).size, fps.length);
        for (const v of Object.values(values)) assert.deepEqual(Object.keys(v).sort(), ["notAfter", "renewFrom", "renewal", "sha256Fingerprint"], "no PEM, no key");
    });

    it("each entry is the fingerprint of the PEM the cluster hands out", async () => {
        const { cluster, values } = full;
        assert.equal(values["client/admin"].sha256Fingerprint, sha256Fingerprint(await resolve(cluster.adminCertPem)));
        assert.equal(values["client/kube-apiserver"].sha256Fingerprint, sha256Fingerprint(await resolve(cluster.clientCertificates["kube-apiserver"].certPem)));
        assert.equal(values["ca"].sha256Fingerprint, sha256Fingerprint(await resolve(cluster.caCertPem)));
        // What lands on the hosts: the members' files and the snapshot timer's, as their writes were declared.
        const hostFile = (write: string, file: string) => {
            const r = full.recorded.find((x) => x.name === write);
            assert.ok(r, `no ${write}`);
            const contents = r.inputs.contents;
            return ((typeof contents === "object" && "value" in contents ? contents.value : contents) as Record<string, string>)[`${full.s.dirs.pki}/${file}`];
        };
        assert.equal(values["member/lab-1/server"].sha256Fingerprint, sha256Fingerprint(hostFile("lab-1-files-write", "server.crt")));
        assert.equal(values["member/lab-3/peer"].sha256Fingerprint, sha256Fingerprint(hostFile("lab-3-files-write", "peer.crt")));
        assert.equal(values["timer/snapshot-lab-2"].sha256Fingerprint, sha256Fingerprint(hostFile("lab-2-snapshot-files-write", "snapshot.crt")));
    });

    it("during a CA rotation every generation in use is listed; one no longer trusted is not", async () => {
        const rotating = await declared({ ca: { generation: 2, trust: [1, 2] }, protectCa: false });
        assert.deepEqual(Object.keys(rotating.values).filter((k) => k.startsWith("ca")), ["ca", "ca-g2"]);
        const done = await declared({ ca: { generation: 2, trust: [2] }, protectCa: false });
        assert.deepEqual(Object.keys(done.values).filter((k) => k.startsWith("ca")), ["ca-g2"]);
    });

    it("a brought CA's dates come from its PEM, and its entry is not secret even when the PEM is", async () => {
        const { values, secret } = await declared({ hasCaCert: true, hasCaKey: true }, { certPem: pulumi.secret(realPem), privateKeyPem: "KEY" });
        const notAfter = Date.parse(new X509Certificate(realPem).validTo);
        assert.equal(Date.parse(values["ca"].notAfter), notAfter);
        assert.equal(Date.parse(values["ca"].renewFrom), notAfter - 2000 * 3600_000);
        assert.equal(values["ca"].sha256Fingerprint, new X509Certificate(realPem).fingerprint256);
        assert.equal(secret, false);
    });

    it("clientCertificates: each consumer's entry carries its certificate's fingerprint and not-after time, neither secret", async () => {
        installMocks();
        const s = spec({ binary: { localTarball: tarball }, clientCertificates: [{ name: "flannel", commonName: "flannel" }] });
        const cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
        const out = consumerOutputs(s.clientCertificates, cluster.clientCertificates, cluster.clientEndpoints);
        const flannel = out["flannel"];
        assert.equal(await resolve(flannel.sha256Fingerprint), sha256Fingerprint(await resolve(flannel.certPem)));
        assert.equal(await resolve(flannel.notAfter), "2027-11-23T08:00:00Z");
        assert.equal(await pulumi.isSecret(flannel.sha256Fingerprint), false);
        assert.equal(await pulumi.isSecret(flannel.notAfter), false);
        assert.notEqual(await resolve(out["healthcheck"].sha256Fingerprint), await resolve(flannel.sha256Fingerprint));
    });
});

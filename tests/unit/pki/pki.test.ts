/**
 * The cluster's PKI as declared (components/pki/pki.ts; mocked engine): what each tls resource is
 * asked for. The CA: its key algorithm, subject, CA flag, key usages, validity and protection, or
 * a brought CA taken as given (its key a secret, half of one refused). Leaf certificates: signed by
 * the CA, key usages, validity and early renewal, subject. A member's server certificate (its CN
 * the member name, SANs everything clients dial) and peer certificate (CN etcd-peer, SANs name and
 * address only), both server and client auth; a client certificate: client auth only, no SANs.
 * Every resource is built inside its test (not in `before`), so each test covers what it asserts.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, LeafCertificate, MemberCertificates, certificateLifetime, clientCertificate, peerSans, serverSans } from "../../../components/pki/pki";
import { peerCommonName } from "../../../components/base/paths";
import { CaSpec, MemberSpec } from "../../../components/spec/types";
import { Recorded, installMocks, resolve } from "../mocks";
import { spec } from "../fixtures";

const secretSig = "4dabf18193072939515e22adb298388d";
/** Mocks see secret inputs in their wire form. */
const unwrap = (v: any): any => (typeof v === "object" && v !== null && v[secretSig] !== undefined ? v.value : v);

const caSpec = (over: Partial<CaSpec> = {}): CaSpec => ({ algorithm: "ECDSA", rsaBits: 2048, validityHours: 87600, bringYourOwn: false, generation: 1, trust: [1], ...over });
const member: MemberSpec = { name: "lab-3", address: "10.213.0.13", sshHost: "10.213.0.13", sshPort: 22, sshUser: "root", extraSans: ["etcd.example.internal", "10.213.0.100", "lab-3"] };
const lifetime = { validityHours: 8760, renewBeforeHours: 720 };

/** Records every resource's options (type, parent, protect) through a transformation children inherit. */
function optionsRecorder() {
    const seen = new Map<string, { type: string; opts: pulumi.ResourceOptions; parentName?: string }>();
    const names = new Map<pulumi.Resource, string>();
    const transformation: pulumi.ResourceTransformation = (a) => {
        names.set(a.resource, a.name);
        seen.set(a.name, { type: a.type, opts: a.opts, parentName: a.opts.parent ? names.get(a.opts.parent) : undefined });
        return undefined;
    };
    return { seen, transformation };
}

function byName(recorded: Recorded[], name: string): Recorded {
    const r = recorded.find((x) => x.name === name);
    assert.ok(r, `no resource named ${name}; have ${recorded.map((x) => `${x.type} ${x.name}`).join(", ")}`);
    return r;
}

async function settle(...outputs: pulumi.Output<unknown>[]): Promise<void> {
    await Promise.all(outputs.map((o) => resolve(o)));
}

describe("pki: the CA (mocked engine)", () => {
    it("a generated ECDSA CA: a P-256 key, a self-signed CA certificate for signing only, the given validity and protection", async () => {
        const recorded = installMocks();
        const rec = optionsRecorder();
        const ca = new CertificateAuthority("etcd-ca", { spec: caSpec({ validityHours: 1234 }), commonName: "lab etcd CA", protect: true }, { transformations: [rec.transformation] });
        await settle(ca.certPem, ca.privateKeyPem, ca.urn);
        assert.equal(byName(recorded, "etcd-ca").type, "etcd:index:CertificateAuthority");
        assert.equal(rec.seen.get("etcd-ca")?.type, "etcd:index:CertificateAuthority");
        const key = byName(recorded, "etcd-ca-key");
        assert.equal(key.type, "tls:index/privateKey:PrivateKey");
        assert.deepEqual(key.inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
        const cert = byName(recorded, "etcd-ca-cert");
        assert.equal(cert.type, "tls:index/selfSignedCert:SelfSignedCert");
        assert.deepEqual({ ...cert.inputs, privateKeyPem: unwrap(cert.inputs.privateKeyPem) }, {
            privateKeyPem: "PRIVATE-KEY(etcd-ca-key)",
            subject: { commonName: "lab etcd CA", organization: "etcd-stack" },
            isCaCertificate: true,
            validityPeriodHours: 1234,
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        });
        for (const child of ["etcd-ca-key", "etcd-ca-cert"]) {
            assert.equal(rec.seen.get(child)?.opts.protect, true, `${child} protected`);
            assert.equal(rec.seen.get(child)?.parentName, "etcd-ca", `${child} a child of the CA`);
        }
        assert.match(await resolve(ca.certPem), /^CA-CERT\(etcd-ca-cert#/);
        assert.equal(await resolve(ca.privateKeyPem), "PRIVATE-KEY(etcd-ca-key)");
        assert.ok(await pulumi.isSecret(ca.privateKeyPem), "the CA key is a secret output");
        assert.equal(await pulumi.isSecret(ca.certPem), false, "the CA certificate is not secret");
    });

    it("a generated RSA CA: an RSA key of the given size; unprotected when protect is false", async () => {
        const recorded = installMocks();
        const rec = optionsRecorder();
        const ca = new CertificateAuthority("ca2", { spec: caSpec({ algorithm: "RSA", rsaBits: 3072 }), commonName: "x", protect: false }, { transformations: [rec.transformation] });
        await settle(ca.certPem, ca.privateKeyPem);
        assert.deepEqual(byName(recorded, "ca2-key").inputs, { algorithm: "RSA", rsaBits: 3072 });
        for (const child of ["ca2-key", "ca2-cert"]) assert.equal(rec.seen.get(child)?.opts.protect, false, `${child} not protected`);
    });

    it("a brought CA: its certificate and key taken as given (the key a secret), no tls resource; half of one refused", async () => {
        const recorded = installMocks();
        const ca = new CertificateAuthority("byo", { spec: caSpec({ bringYourOwn: true }), commonName: "unused", certPem: "MY-CA-CERT", privateKeyPem: "MY-CA-KEY", protect: true });
        await settle(ca.certPem, ca.privateKeyPem, ca.urn);
        assert.equal(await resolve(ca.certPem), "MY-CA-CERT");
        assert.equal(await resolve(ca.privateKeyPem), "MY-CA-KEY");
        assert.ok(await pulumi.isSecret(ca.privateKeyPem));
        assert.deepEqual(recorded.filter((r) => r.type.startsWith("tls:")), []);
        for (const half of [{ certPem: "MY-CA-CERT" }, { privateKeyPem: "MY-CA-KEY" }, {}]) {
            assert.throws(() => new CertificateAuthority(`byo-${Object.keys(half).join("")}`, { spec: caSpec({ bringYourOwn: true }), commonName: "x", protect: true, ...half }),
                /bring-your-own CA needs both a certificate and a private key/, JSON.stringify(half));
        }
    });
});

describe("pki: leaf certificates (mocked engine)", () => {
    it("certificateLifetime takes the stack's validity and renewal window", () => {
        const s = spec({ certValidityHours: 100, certRenewBeforeHours: 10 });
        assert.deepEqual(certificateLifetime(s), { validityHours: 100, renewBeforeHours: 10 });
    });

    it("a leaf: its own key, a CSR with subject and SANs, signed by the CA with the given usages, validity and early renewal", async () => {
        const recorded = installMocks();
        const rec = optionsRecorder();
        const ca = new CertificateAuthority("ca", { spec: caSpec(), commonName: "ca", protect: false });
        const leaf = new LeafCertificate("leaf", {
            ca, algorithm: { algorithm: "RSA", rsaBits: 4096 }, commonName: "flannel", organization: "kube",
            dnsNames: ["a.example"], ipAddresses: ["10.0.0.1"], usages: ["client_auth"], lifetime: { validityHours: 100, renewBeforeHours: 7 },
        }, { transformations: [rec.transformation] });
        await settle(leaf.certPem, leaf.privateKeyPem, leaf.validityStartTime, leaf.urn);
        assert.equal(byName(recorded, "leaf").type, "etcd:index:LeafCertificate");
        assert.deepEqual(byName(recorded, "leaf-key").inputs, { algorithm: "RSA", rsaBits: 4096 });
        const csr = byName(recorded, "leaf-csr");
        assert.equal(csr.type, "tls:index/certRequest:CertRequest");
        assert.deepEqual({ ...csr.inputs, privateKeyPem: unwrap(csr.inputs.privateKeyPem) }, {
            privateKeyPem: "PRIVATE-KEY(leaf-key)", subject: { commonName: "flannel", organization: "kube" }, dnsNames: ["a.example"], ipAddresses: ["10.0.0.1"],
        });
        const cert = byName(recorded, "leaf-cert");
        assert.equal(cert.type, "tls:index/locallySignedCert:LocallySignedCert");
        assert.match(cert.inputs.certRequestPem, /^CSR\(leaf-csr#/);
        assert.match(cert.inputs.caCertPem, /^CA-CERT\(ca-cert#/);
        assert.equal(unwrap(cert.inputs.caPrivateKeyPem), "PRIVATE-KEY(ca-key)");
        assert.equal(cert.inputs.validityPeriodHours, 100);
        assert.equal(cert.inputs.earlyRenewalHours, 7);
        assert.deepEqual(cert.inputs.allowedUses, ["digital_signature", "key_encipherment", "client_auth"]);
        for (const child of ["leaf-key", "leaf-csr", "leaf-cert"]) assert.equal(rec.seen.get(child)?.parentName, "leaf", `${child} a child of the leaf`);
        assert.match(await resolve(leaf.certPem), /^CERT\(leaf-cert#/);
        assert.equal(await resolve(leaf.privateKeyPem), "PRIVATE-KEY(leaf-key)");
        assert.ok(await pulumi.isSecret(leaf.privateKeyPem), "a leaf key is a secret output");
        assert.equal(await resolve(leaf.validityStartTime), "2026-11-23T08:00:00Z");
    });
});

describe("pki: SANs", () => {
    it("a server certificate names everything clients dial: the member, localhost, its address, loopback v4 and v6, its extra SANs, each once", () => {
        assert.deepEqual(serverSans(member), { dnsNames: ["lab-3", "localhost", "etcd.example.internal"], ipAddresses: ["10.213.0.13", "127.0.0.1", "::1", "10.213.0.100"] });
        assert.deepEqual(serverSans({ ...member, address: "fd00::13", extraSans: ["fd00::13", "*.example"] }),
            { dnsNames: ["lab-3", "localhost", "*.example"], ipAddresses: ["fd00::13", "127.0.0.1", "::1"] });
    });

    it("a peer certificate names only the member and its address (no loopback, no extra SANs)", () => {
        assert.deepEqual(peerSans(member), { dnsNames: ["lab-3"], ipAddresses: ["10.213.0.13"] });
        assert.deepEqual(peerSans({ ...member, address: "fd00::13" }), { dnsNames: ["lab-3"], ipAddresses: ["fd00::13"] });
    });
});

describe("pki: member and client certificates (mocked engine)", () => {
    it("a member's server certificate (CN the member) and peer certificate (CN etcd-peer), both server and client auth", async () => {
        const recorded = installMocks();
        const rec = optionsRecorder();
        const ca = new CertificateAuthority("ca", { spec: caSpec(), commonName: "ca", protect: false });
        const certs = new MemberCertificates("lab-3-certs", { ca, member, algorithm: { algorithm: "ECDSA", rsaBits: 2048 }, lifetime }, { transformations: [rec.transformation] });
        await settle(certs.server.certPem, certs.peer.certPem, certs.urn);
        assert.equal(byName(recorded, "lab-3-certs").type, "etcd:index:MemberCertificates");
        assert.equal(rec.seen.get("lab-3-certs-server")?.parentName, "lab-3-certs");
        assert.equal(rec.seen.get("lab-3-certs-peer")?.parentName, "lab-3-certs");
        const server = byName(recorded, "lab-3-certs-server-csr").inputs;
        assert.deepEqual({ subject: server.subject, dnsNames: server.dnsNames, ipAddresses: server.ipAddresses }, { subject: { commonName: "lab-3" }, ...serverSans(member) });
        const peer = byName(recorded, "lab-3-certs-peer-csr").inputs;
        assert.equal(peerCommonName, "etcd-peer");
        assert.deepEqual({ subject: peer.subject, dnsNames: peer.dnsNames, ipAddresses: peer.ipAddresses }, { subject: { commonName: "etcd-peer" }, ...peerSans(member) });
        for (const n of ["lab-3-certs-server-cert", "lab-3-certs-peer-cert"]) {
            const c = byName(recorded, n).inputs;
            assert.deepEqual(c.allowedUses, ["digital_signature", "key_encipherment", "server_auth", "client_auth"], n);
            assert.equal(c.validityPeriodHours, 8760, n);
            assert.equal(c.earlyRenewalHours, 720, n);
            assert.match(c.caCertPem, /^CA-CERT\(ca-cert#/, n);
        }
        assert.deepEqual(byName(recorded, "lab-3-certs-peer-key").inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    });

    it("a client certificate: its CN and organization, client auth only, no SANs, the options given kept", async () => {
        const recorded = installMocks();
        const rec = optionsRecorder();
        const ca = new CertificateAuthority("ca", { spec: caSpec(), commonName: "ca", protect: false });
        const c = clientCertificate("etcd-client-flannel", { name: "flannel", commonName: "flannel-cn", organization: "kube" }, ca,
            { algorithm: "ECDSA", rsaBits: 2048 }, lifetime, { transformations: [rec.transformation] });
        await settle(c.certPem, c.urn);
        assert.equal(rec.seen.get("etcd-client-flannel")?.type, "etcd:index:LeafCertificate", "the options given reach the certificate");
        assert.deepEqual(byName(recorded, "etcd-client-flannel-csr").inputs.subject, { commonName: "flannel-cn", organization: "kube" });
        assert.deepEqual(byName(recorded, "etcd-client-flannel-csr").inputs.dnsNames, []);
        assert.deepEqual(byName(recorded, "etcd-client-flannel-csr").inputs.ipAddresses, []);
        const cert = byName(recorded, "etcd-client-flannel-cert").inputs;
        assert.deepEqual(cert.allowedUses, ["digital_signature", "key_encipherment", "client_auth"]);
        assert.equal(cert.validityPeriodHours, 8760);
        assert.equal(cert.earlyRenewalHours, 720);
    });
});

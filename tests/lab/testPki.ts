/**
 * Certificates for the host-artifact lab test, shaped exactly like the ones
 * components/pki.ts declares (same SAN functions, CNs, usages), but generated in
 * the test process: the tls provider plugin cannot be built here (see the README),
 * so the real engine cannot issue them. This is test scaffolding, never product code.
 */
import "reflect-metadata";
import { webcrypto } from "crypto";
import * as x509 from "@peculiar/x509";
import { peerSans, serverSans } from "../../components/pki";
import { ClientCertificateSpec, ClusterSpec } from "../../components/spec";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

export interface KeyPairPem { certPem: string; privateKeyPem: string }

export interface TestPki {
    ca: KeyPairPem;
    members: Record<string, { server: KeyPairPem; peer: KeyPairPem }>;
    clients: Record<string, KeyPairPem>;
    /** RFC 3339 start of validity, as the preflight script expects it. */
    notBefore: string;
}

let serial = 1;

async function keyPair(): Promise<CryptoKeyPair> {
    return await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
    const der = await webcrypto.subtle.exportKey("pkcs8", key);
    return x509.PemConverter.encode(der, "PRIVATE KEY");
}

function validity(): { notBefore: Date; notAfter: Date } {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    return { notBefore, notAfter: new Date(notBefore.getTime() + 24 * 3600 * 1000) };
}

/** A self-signed CA with the given common name. */
export async function makeCa(commonName: string): Promise<{ pem: KeyPairPem; cert: x509.X509Certificate; keys: CryptoKeyPair }> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: (serial++).toString(16).padStart(2, "0"),
        name: `CN=${commonName}`,
        ...validity(),
        keys,
        signingAlgorithm: algorithm,
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        ],
    });
    return { pem: { certPem: cert.toString("pem"), privateKeyPem: await privateKeyPem(keys.privateKey) }, cert, keys };
}

async function leaf(ca: { cert: x509.X509Certificate; keys: CryptoKeyPair }, subject: string,
    sans: { dnsNames: string[]; ipAddresses: string[] }, usages: string[]): Promise<KeyPairPem> {
    const keys = await keyPair();
    const names = [
        ...sans.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...sans.ipAddresses.map((value) => ({ type: "ip" as const, value })),
    ];
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, "0"),
        subject,
        issuer: ca.cert.subject,
        ...validity(),
        publicKey: keys.publicKey,
        signingKey: ca.keys.privateKey,
        signingAlgorithm: algorithm,
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension(usages),
            ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        ],
    });
    return { certPem: cert.toString("pem"), privateKeyPem: await privateKeyPem(keys.privateKey) };
}

const serverAuth = "1.3.6.1.5.5.7.3.1";
const clientAuth = "1.3.6.1.5.5.7.3.2";

function clientSubject(c: ClientCertificateSpec): string {
    return c.organization ? `CN=${c.commonName}, O=${c.organization}` : `CN=${c.commonName}`;
}

/** The CA, every member's server and peer certificate, and every client certificate of `spec`. */
export async function makeTestPki(spec: ClusterSpec): Promise<TestPki> {
    const ca = await makeCa(`${spec.clusterName}-etcd-ca`);
    const members: TestPki["members"] = {};
    for (const m of spec.members) {
        members[m.name] = {
            server: await leaf(ca, `CN=${m.name}`, serverSans(m), [serverAuth, clientAuth]),
            peer: await leaf(ca, `CN=${m.name}`, peerSans(m), [serverAuth, clientAuth]),
        };
    }
    const clients: TestPki["clients"] = {};
    for (const c of spec.clientCertificates) {
        clients[c.name] = await leaf(ca, clientSubject(c), { dnsNames: [], ipAddresses: [] }, [clientAuth]);
    }
    return { ca: ca.pem, members, clients, notBefore: ca.cert.notBefore.toISOString().replace(/\.\d+Z$/, "Z") };
}

/** A client certificate from a CA the cluster does not trust. */
export async function makeForeignClient(): Promise<KeyPairPem> {
    const foreign = await makeCa("foreign-ca");
    return leaf(foreign, "CN=root", { dnsNames: [], ipAddresses: [] }, [clientAuth]);
}

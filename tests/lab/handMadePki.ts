/**
 * Certificates made by hand in the test process (@peculiar/x509), never by the program: a CA the
 * cluster does not trust (what an attacker with *a* certificate presents), and the PKI of an etcd
 * cluster someone set up by hand before the stack adopted it. Everything the stack itself uses
 * comes from its own PKI (components/pki/pki.ts).
 */
import "reflect-metadata";
import { createPrivateKey, webcrypto } from "crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const clientAuth = "1.3.6.1.5.5.7.3.2";
const serverAuth = "1.3.6.1.5.5.7.3.1";

export interface KeyPairPem { certPem: string; privateKeyPem: string }

/** A CA: its PEMs and what signs with it. */
export interface HandMadeCa extends KeyPairPem { cert: x509.X509Certificate; keys: CryptoKeyPair }

async function privateKeyPem(key: CryptoKey): Promise<string> {
    return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

function defaultValidity(): { notBefore: Date; notAfter: Date } {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    return { notBefore, notAfter: new Date(notBefore.getTime() + 24 * 3600 * 1000) };
}

export async function makeCa(commonName: string): Promise<HandMadeCa> {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "01", name: `CN=${commonName}`, ...defaultValidity(), keys, signingAlgorithm: algorithm,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
    });
    return { cert, keys, certPem: cert.toString("pem"), privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/** An existing CA (e.g. the stack's, read from its state) as a HandMadeCa that can sign. */
export async function caFromPem(certPem: string, privateKeyPem: string): Promise<HandMadeCa> {
    const der = createPrivateKey(privateKeyPem).export({ format: "der", type: "pkcs8" });
    const privateKey = await webcrypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]);
    const cert = new x509.X509Certificate(certPem);
    return { cert, keys: { privateKey, publicKey: await cert.publicKey.export() } as CryptoKeyPair, certPem, privateKeyPem };
}

let serial = 2;

/**
 * A certificate from `ca`: client auth only, or (with `ips`) a server certificate that also
 * authenticates as a client. `validity` defaults to a day from now.
 */
export async function issue(ca: HandMadeCa, commonName: string, ips?: string[], validity = defaultValidity()): Promise<KeyPairPem> {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (serial++).toString(16).padStart(2, "0"), subject: `CN=${commonName}`, issuer: ca.cert.subject, ...validity,
        publicKey: keys.publicKey, signingKey: ca.keys.privateKey, signingAlgorithm: algorithm,
        extensions: [new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension(ips ? [serverAuth, clientAuth] : [clientAuth]),
            ...(ips ? [new x509.SubjectAlternativeNameExtension(ips.map((value) => ({ type: "ip" as const, value })))] : [])],
    });
    return { certPem: cert.toString("pem"), privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/** A client certificate (CN root) from a CA the cluster does not trust. */
export async function makeForeignClient(): Promise<KeyPairPem> {
    return issue(await makeCa("foreign-ca"), "root");
}

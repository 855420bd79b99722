/**
 * A client certificate from a CA the cluster does not trust: what an attacker with *a*
 * certificate, but not one of ours, presents. Made in the test process (@peculiar/x509);
 * everything the cluster itself uses comes from the program's own PKI.
 */
import "reflect-metadata";
import { webcrypto } from "crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const clientAuth = "1.3.6.1.5.5.7.3.2";

export interface KeyPairPem { certPem: string; privateKeyPem: string }

async function privateKeyPem(key: CryptoKey): Promise<string> {
    return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

export async function makeForeignClient(): Promise<KeyPairPem> {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const notAfter = new Date(notBefore.getTime() + 24 * 3600 * 1000);
    const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]) as CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: "01", name: "CN=foreign-ca", notBefore, notAfter, keys: caKeys, signingAlgorithm: algorithm,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)],
    });
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: "02", subject: "CN=root", issuer: ca.subject, notBefore, notAfter,
        publicKey: keys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: algorithm,
        extensions: [new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([clientAuth])],
    });
    return { certPem: cert.toString("pem"), privateKeyPem: await privateKeyPem(keys.privateKey) };
}

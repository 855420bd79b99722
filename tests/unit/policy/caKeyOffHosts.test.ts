/**
 * The CA key off the hosts: found by what signs certificates, as a dependency (known in a preview)
 * or as text (a brought CA, or any key once known); certificates and a host's own keys pass.
 */
import { strict as assert } from "assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import { caKeyCarriers, caKeys } from "../../../policy/caKeyOffHosts";
import { resource } from "./stackResources";

// How @pulumi/policy marks a string that is unknown during a preview (internal to its proxy module).
const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };

const caKeyPem = "-----BEGIN EC PRIVATE KEY-----\nCAKEY\n-----END EC PRIVATE KEY-----\n";
const memberKeyPem = "-----BEGIN EC PRIVATE KEY-----\nMEMBERKEY\n-----END EC PRIVATE KEY-----\n";

/** A generated CA, a member certificate it signs, and the member key's write; values unknown as in a first preview. */
function generatedCa() {
    const caKey = resource("tls:index/privateKey:PrivateKey", "etcd-ca-key");
    const caCert = resource("tls:index/selfSignedCert:SelfSignedCert", "etcd-ca-cert", undefined, {
        props: unknownCheckingProxy({ isCaCertificate: true, privateKeyPem: unknownStringValue }),
        propertyDependencies: { privateKeyPem: [caKey] },
    });
    const memberKey = resource("tls:index/privateKey:PrivateKey", "lab-1-certs-server-key");
    const memberCert = resource("tls:index/locallySignedCert:LocallySignedCert", "lab-1-certs-server-cert", undefined, {
        props: unknownCheckingProxy({ caPrivateKeyPem: unknownStringValue, validityPeriodHours: 8760 }),
        propertyDependencies: { caPrivateKeyPem: [caKey], caCertPem: [caCert] },
    });
    const write = (name: string, from: typeof caKey) => resource("command:remote:Command", name, undefined, {
        props: unknownCheckingProxy({ create: "# write", stdin: unknownStringValue }),
        propertyDependencies: { stdin: [from], connection: [] },
    });
    return { caKey, caCert, memberKey, memberCert, write };
}

describe("policy: the CA key off the hosts", () => {
    it("takes the CA key from what signs: locally signed certificates and a self-signed CA", () => {
        const { caKey, caCert, memberCert } = generatedCa();
        const keys = caKeys([caKey, caCert, memberCert]);
        assert.deepEqual([...keys.sources], [caKey.urn]);
        assert.deepEqual(keys.texts, [], "unknown texts are skipped, not read");
    });

    it("passes the program's shape: the CA certificate and a member's own key go to the host", () => {
        const { caKey, caCert, memberKey, memberCert, write } = generatedCa();
        const resources = [caKey, caCert, memberKey, memberCert, write("lab-1:/etc/etcd/pki/ca.crt-write", caCert), write("lab-1:/etc/etcd/pki/server.key-write", memberKey)];
        assert.deepEqual(caKeyCarriers(resources), []);
    });

    it("refuses a write whose content comes from the CA key, even with the text unknown", () => {
        const { caKey, caCert, memberCert, write } = generatedCa();
        const leak = write("lab-1:/etc/etcd/pki/ca.key-write", caKey);
        const found = caKeyCarriers([caKey, caCert, memberCert, leak]);
        assert.deepEqual(found.map((f) => [f.resource.name, f.input]), [["lab-1:/etc/etcd/pki/ca.key-write", "stdin"]]);
    });

    it("refuses a brought CA's key by its text, in any input sent to the host", () => {
        const signed = resource("tls:index/locallySignedCert:LocallySignedCert", "lab-1-certs-peer-cert", undefined, { props: { caPrivateKeyPem: caKeyPem } });
        const ownKey = resource("command:remote:Command", "lab-1:/etc/etcd/pki/peer.key-write", undefined, { props: { stdin: memberKeyPem } });
        const inScript = resource("command:remote:Command", "lab-1-debug", undefined, { props: { create: `cat > /root/ca.key <<EOF\n${caKeyPem}EOF\n` } });
        const inEnv = resource("command:remote:Command", "lab-2-debug", undefined, {
            props: unknownCheckingProxy({ environment: { NOT_YET: unknownStringValue, CA_KEY: caKeyPem } }),
        });
        const local = resource("command:local:Command", "operator-side", undefined, { props: { stdin: caKeyPem } });
        const hostFiles = (name: string, contents: Record<string, string>) => resource("pulumi-nodejs:dynamic/etcd:HostFilesWrite", name, undefined, { props: { contents } });
        const ownFiles = hostFiles("lab-1-files", { "/etc/etcd/pki/peer.key": memberKeyPem });
        const inFiles = hostFiles("lab-3-files", { "/etc/etcd/pki/peer.key": memberKeyPem, "/etc/etcd/pki/ca.key": caKeyPem });
        const found = caKeyCarriers([signed, ownKey, inScript, inEnv, local, ownFiles, inFiles]);
        assert.deepEqual(found.map((f) => [f.resource.name, f.input]), [["lab-1-debug", "create"], ["lab-2-debug", "environment"], ["lab-3-files", "contents"]]);
    });
});

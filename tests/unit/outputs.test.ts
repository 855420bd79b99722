/**
 * The `clientCertificates` stack output (components/outputs.ts): the pure flag and file helpers,
 * and, with the mocked engine, that each named certificate comes out with only its key secret.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, resolve } from "./mocks";
import { EtcdCluster } from "../../components/cluster";
import { ClientCertificateOutput, clientFiles, consumerOutputs, defaultClientDir, flannelFlags, kubeApiserverFlags } from "../../components/outputs";
import { SpecError } from "../../components/spec/problems";
import { spec } from "./fixtures";

const endpoints = "https://10.213.0.11:2379,https://10.213.0.12:2379,https://10.213.0.13:2379";

describe("outputs: flags for kube-apiserver and flannel (pure)", () => {
    it("names the CA bundle, the certificate and the key in the certificate's dir", () => {
        assert.deepEqual(clientFiles("flannel", "/etc/flannel/etcd"),
            { ca: "/etc/flannel/etcd/ca.crt", cert: "/etc/flannel/etcd/flannel.crt", key: "/etc/flannel/etcd/flannel.key" });
        assert.equal(defaultClientDir("flannel"), "/etc/etcd-stack/clients/flannel");
        assert.deepEqual(clientFiles("flannel"), clientFiles("flannel", "/etc/etcd-stack/clients/flannel"));
    });

    it("renders kube-apiserver's --etcd-* flags and flannel's -etcd-* options from the same files", () => {
        const files = clientFiles("kube-apiserver", "/etc/kubernetes/pki/etcd");
        assert.equal(kubeApiserverFlags(endpoints, files),
            `--etcd-servers=${endpoints} --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt` +
            " --etcd-certfile=/etc/kubernetes/pki/etcd/kube-apiserver.crt --etcd-keyfile=/etc/kubernetes/pki/etcd/kube-apiserver.key");
        assert.equal(flannelFlags(endpoints, files),
            `-etcd-endpoints=${endpoints} -etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt` +
            " -etcd-certfile=/etc/kubernetes/pki/etcd/kube-apiserver.crt -etcd-keyfile=/etc/kubernetes/pki/etcd/kube-apiserver.key");
    });

    it("takes a certificate's dir from config, refusing a relative one or one that would need quoting", () => {
        const s = spec({ clientCertificates: [{ name: "flannel", commonName: "flannel", dir: "/etc/flannel/etcd" }, { name: "backup", commonName: "etcd-backup" }] });
        assert.deepEqual(s.clientCertificates.slice(3), [
            { name: "flannel", commonName: "flannel", organization: undefined, dir: "/etc/flannel/etcd" },
            { name: "backup", commonName: "etcd-backup", organization: undefined },
        ]);
        for (const [dir, problem] of [["etc/flannel", /must be an absolute path/], ["/etc/flannel etcd", /must be an absolute path/],
            ["/etc/$(reboot)", /clientCertificates\[0\]\.dir: "\/etc\/\$\(reboot\)" may hold only/]] as const) {
            assert.throws(() => spec({ clientCertificates: [{ name: "flannel", commonName: "flannel", dir }] }),
                (e: unknown) => e instanceof SpecError && e.problems.some((p) => problem.test(p)), dir);
        }
    });
});

describe("outputs: the clientCertificates stack output (mocked engine)", function () {
    let out: Record<string, ClientCertificateOutput>;
    let cluster: EtcdCluster;
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let tmp: string;
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-"));
        installMocks();
        const tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
        const s = spec({ binary: { localTarball: tarball }, clientCertificates: [
            { name: "kube-apiserver", commonName: "kube-apiserver", dir: "/etc/kubernetes/pki/etcd" },
            { name: "flannel", commonName: "flannel", organization: "network" }] });
        cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
        out = consumerOutputs(s.clientCertificates, cluster.clientCertificates, cluster.clientEndpoints);
        await resolve(cluster.clientEndpoints);
    });

    it("has every client certificate but admin, by name, with the configured CN and files", async () => {
        assert.deepEqual(Object.keys(out), ["healthcheck", "apiserver-etcd-client", "kube-apiserver", "flannel"]);
        assert.equal(out["kube-apiserver"].commonName, "kube-apiserver");
        assert.equal(out["flannel"].files.key, "/etc/etcd-stack/clients/flannel/flannel.key");
        assert.equal(await resolve(out["kube-apiserver"].certPem), await resolve(cluster.clientCertificates["kube-apiserver"].certPem));
        assert.equal(await resolve(out["kube-apiserver"].keyPem), "PRIVATE-KEY(etcd-client-kube-apiserver-key)");
        assert.equal(await resolve(out["kube-apiserver"].kubeApiserverFlags),
            kubeApiserverFlags(await resolve(cluster.clientEndpoints), clientFiles("kube-apiserver", "/etc/kubernetes/pki/etcd")));
        assert.match(await resolve(out["flannel"].flannelFlags), /^-etcd-endpoints=https:\/\/10\.213\.0\.11:2379,https:\/\/10\.213\.0\.12:2379,https:\/\/10\.213\.0\.13:2379 -etcd-cafile=/);
    });

    it("marks each key secret and nothing else; the engine receives the key alone wrapped as a secret", async () => {
        for (const [name, c] of Object.entries(out)) {
            assert.ok(await pulumi.isSecret(c.keyPem), `${name}: keyPem is not secret`);
            for (const k of ["certPem", "kubeApiserverFlags", "flannelFlags"] as const) {
                assert.equal(await pulumi.isSecret(c[k]), false, `${name}: ${k} is secret`);
            }
        }
        // What the stack's outputs become on the wire: a secret is { <sig>: <secret sig>, value }.
        const wire = await pulumi.runtime.serializeProperties("outputs", { clientCertificates: out });
        const flannel = wire.clientCertificates.flannel;
        assert.equal(flannel.keyPem[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig);
        assert.equal(typeof flannel.kubeApiserverFlags, "string");
        assert.equal(typeof flannel.certPem, "string");
        const unwrapped = JSON.stringify(wire, (k, v) => k === "keyPem" ? "<secret>" : v);
        assert.doesNotMatch(unwrapped, /PRIVATE-KEY/, "a key outside keyPem");
    });
});

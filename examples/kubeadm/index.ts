// A consumer of an etcd-stack stack, through a StackReference only: kubeadm's external etcd block
// and flannel's etcd flags, each with the client certificate the etcd stack declares for it.
import * as pulumi from "@pulumi/pulumi";

interface ClientCertificate { commonName: string; certPem: string; keyPem: string; files: { ca: string; cert: string; key: string }; flannelFlags: string }

const config = new pulumi.Config();
// e.g. "organization/etcd-stack/prod": the etcd stack, in the same backend.
const etcd = new pulumi.StackReference(config.require("etcdStack"));
const endpoints = etcd.requireOutput("clientEndpoints") as pulumi.Output<string>;
const clients = etcd.requireOutput("clientCertificates") as pulumi.Output<Record<string, ClientCertificate>>;
const certificate = (name: string) => clients.apply((all) => {
    const c = all[name];
    if (!c) throw new Error(`the etcd stack declares no client certificate "${name}" (its etcd:clientCertificates)`);
    return c;
});
const apiserver = certificate(config.get("apiserverCertificate") ?? "kube-apiserver");
const flannel = certificate(config.get("flannelCertificate") ?? "flannel");

/** kubeadm's ClusterConfiguration (v1beta4) with `etcd.external`: `kubeadm init --config` reads it. */
export const clusterConfiguration = pulumi.all([endpoints, apiserver]).apply(([e, c]) => [
    "apiVersion: kubeadm.k8s.io/v1beta4",
    "kind: ClusterConfiguration",
    "etcd:",
    "  external:",
    "    endpoints:",
    ...e.split(",").map((u) => `      - ${u}`),
    `    caFile: ${c.files.ca}`,
    `    certFile: ${c.files.cert}`,
    `    keyFile: ${c.files.key}`,
    "",
].join("\n"));
/** flanneld's etcd options, as the etcd stack computed them for flannel's certificate. */
export const flannelFlags = flannel.flannelFlags;
/** The files each consumer's host needs, path → content (the keys are secrets). */
export const files = pulumi.secret(pulumi.all([etcd.requireOutput("caCertPem"), apiserver, flannel]).apply(([ca, a, f]) => ({
    [a.files.ca]: ca as string, [a.files.cert]: a.certPem, [a.files.key]: a.keyPem,
    [f.files.ca]: ca as string, [f.files.cert]: f.certPem, [f.files.key]: f.keyPem,
})));

// etcd-stack: stack config -> validated spec -> EtcdCluster -> outputs.
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "./components/cluster";
import { readStackInputs } from "./components/config";
import { etcdctlEnv } from "./components/outputs";

const inputs = readStackInputs();
const cluster = new EtcdCluster("etcd", {
    spec: inputs.spec,
    sshPrivateKey: inputs.sshPrivateKey,
    caCertPem: inputs.caCertPem,
    caPrivateKeyPem: inputs.caPrivateKeyPem,
    protectCa: inputs.protectCa,
});

export const clientEndpoints = cluster.clientEndpoints;
export const caCertPem = cluster.caCertPem;
export const adminCertPem = cluster.adminCertPem;
export const adminKeyPem = pulumi.secret(cluster.adminKeyPem);
export const members = cluster.memberNames;
export const peerUrls = cluster.peerUrls;
export const etcdctlEnvironment = etcdctlEnv(cluster.clientEndpoints);

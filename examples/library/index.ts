// Another team's program: its own config and naming, one etcd cluster from the etcd-stack library.
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster, consumerOutputs, parseClusterSpec } from "etcd-stack";

const config = new pulumi.Config();
// The library's validator: the same checks and messages as etcd-stack's own stacks.
const spec = parseClusterSpec({
    clusterName: "orders",
    members: config.requireObject("members"),
    version: config.require("etcdVersion"),
    binary: config.requireObject("binary"),
    clientCertificates: [{ name: "orders-api", commonName: "orders-api" }],
    snapshots: { onCalendar: "hourly", keep: 24 },
    hasSshKey: true,
});
const cluster = new EtcdCluster("orders", { spec, sshPrivateKey: config.requireSecret("sshPrivateKey") });

export const endpoints = cluster.clientEndpoints;
export const caCertPem = cluster.caCertPem;
/** What the orders API reads: its certificate (key secret), and ready-made flags. */
export const ordersApi = consumerOutputs(spec.clientCertificates, cluster.clientCertificates, cluster.clientEndpoints)["orders-api"];

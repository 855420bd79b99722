// etcd-stack: stack config -> validated spec -> EtcdCluster (and its plan) -> outputs.
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "./components/cluster";
import { StackInputs, readStackInputs } from "./components/spec/config";
import { certificateExpiries, consumerOutputs, etcdctlEnv } from "./components/outputs";
import { ClusterPlan } from "./components/plan/planResource";
import { skipPromiseStackMapping } from "./components/base/promiseStacks";
import { monitoringOutputs } from "./components/renderMonitoring";
import { SpecError } from "./components/spec/problems";

/** Validates the whole stack config before any resource exists; a bad config fails with every problem listed. */
function validatedInputs(): StackInputs {
    try {
        return readStackInputs();
    } catch (e) {
        // RunError prints just the message: the operator needs the problems, not our stack trace.
        if (e instanceof SpecError) throw new pulumi.RunError(e.message);
        throw e;
    }
}

skipPromiseStackMapping();
const inputs = validatedInputs();
const cluster = new EtcdCluster("etcd", inputs); // the spec, the SSH keys (none: the ssh-agent) and a brought CA (StackInputs are its args)
new ClusterPlan("etcd-plan", { spec: inputs.spec, after: [cluster], provider: cluster.hostFilesProvider, connections: cluster.connections }); // printed by a preview

export const clientEndpoints = cluster.clientEndpoints;
export const caCertPem = cluster.caCertPem;
export const adminCertPem = cluster.adminCertPem;
export const adminKeyPem = pulumi.secret(cluster.adminKeyPem);
export const members = cluster.memberNames;
export const peerUrls = cluster.peerUrls;
export const etcdctlEnvironment = etcdctlEnv(cluster.clientEndpoints);
/** Every client certificate but admin, by name: PEMs (key secret), fingerprint, expiry, kube-apiserver's and flannel's etcd flags. */
export const clientCertificates = consumerOutputs(inputs.spec.clientCertificates, cluster.clientCertificates, cluster.clientEndpoints);
export const certificates = certificateExpiries(cluster.issuedCertificates, inputs.spec); // expiries, renewal windows (docs/certificates.md)
export const monitoring = monitoringOutputs(inputs.spec); // with etcd:metrics: the scrape job and alert rules (docs/monitoring.md), else null
// With snapshots.copyTo: member → its line for the destination's authorized_keys (docs/snapshots.md); null, not undefined, which the engine warns about.
export const snapshotCopyKeys = inputs.spec.snapshots?.copyTo ? cluster.snapshotCopyKeys : null;

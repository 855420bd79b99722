/** Helpers that shape the stack's outputs for people and scripts. */
import * as pulumi from "@pulumi/pulumi";

/** Files the README's commands write the CA and admin credentials to (`pulumi stack output … > file`). */
export const credentialFiles = { ca: "ca.crt", cert: "admin.crt", key: "admin.key" } as const;

/**
 * A shell snippet for etcdctl against this cluster. It names credential files rather than
 * embedding the key, so the output itself is not a secret.
 */
export function etcdctlEnv(endpoints: pulumi.Input<string>, dir = "$PWD"): pulumi.Output<string> {
    return pulumi.interpolate`export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=${endpoints} ETCDCTL_CACERT=${dir}/${credentialFiles.ca} ETCDCTL_CERT=${dir}/${credentialFiles.cert} ETCDCTL_KEY=${dir}/${credentialFiles.key}`;
}

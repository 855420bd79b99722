/** Helpers that shape the stack's outputs for people and scripts. */
import * as pulumi from "@pulumi/pulumi";
import { sha256Fingerprint } from "./pki/certificateExpiry";
import { ClientCertificateSpec } from "./spec/types";

export { certificateExpiries } from "./pki/certificateExpiry";

/** Files the README's commands write the CA and admin credentials to (`pulumi stack output … > file`). */
export const credentialFiles = { ca: "ca.crt", cert: "admin.crt", key: "admin.key" } as const;

/**
 * A shell snippet for etcdctl against this cluster. It names credential files rather than
 * embedding the key, so the output itself is not a secret.
 */
export function etcdctlEnv(endpoints: pulumi.Input<string>, dir = "$PWD"): pulumi.Output<string> {
    return pulumi.interpolate`export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=${endpoints} ETCDCTL_CACERT=${dir}/${credentialFiles.ca} ETCDCTL_CERT=${dir}/${credentialFiles.cert} ETCDCTL_KEY=${dir}/${credentialFiles.key}`;
}

/** Where a consumer's host keeps a client certificate's files when its config sets no `dir`. */
export function defaultClientDir(name: string): string {
    return `/etc/etcd-stack/clients/${name}`;
}

/** The three files a consumer of the cluster reads: the CA bundle, its certificate and its key. */
export interface ClientFiles {
    /** The cluster's CA bundle (the `caCertPem` output). */
    ca: string;
    /** The client certificate (`certPem`). */
    cert: string;
    /** The client's private key (`keyPem`), to be written with mode 0600. */
    key: string;
}

/** The files of client certificate `name` in `dir`: `ca.crt`, `<name>.crt`, `<name>.key`. */
export function clientFiles(name: string, dir: string = defaultClientDir(name)): ClientFiles {
    return { ca: `${dir}/ca.crt`, cert: `${dir}/${name}.crt`, key: `${dir}/${name}.key` };
}

/** kube-apiserver's flags for an external etcd: `--etcd-servers=… --etcd-cafile=… --etcd-certfile=… --etcd-keyfile=…`. */
export function kubeApiserverFlags(endpoints: string, files: ClientFiles): string {
    return `--etcd-servers=${endpoints} --etcd-cafile=${files.ca} --etcd-certfile=${files.cert} --etcd-keyfile=${files.key}`;
}

/** flanneld's etcd options: `-etcd-endpoints=… -etcd-cafile=… -etcd-certfile=… -etcd-keyfile=…`. */
export function flannelFlags(endpoints: string, files: ClientFiles): string {
    return `-etcd-endpoints=${endpoints} -etcd-cafile=${files.ca} -etcd-certfile=${files.cert} -etcd-keyfile=${files.key}`;
}

/**
 * One entry of the `clientCertificates` stack output: what a consumer of the cluster (kube-apiserver,
 * flannel, a backup job) needs, ready to paste. The flags name the credential files, not their
 * contents, so only `keyPem` is a secret; write the files (README, "Feeding kube-apiserver and
 * flannel") to the paths in `files`, on the consumer's host.
 */
export interface ClientCertificateOutput {
    /** The certificate's subject CN: the user etcd sees when auth is enabled. */
    commonName: string;
    /** Where the consumer's host keeps the files the flags name (the certificate's `dir`). */
    files: ClientFiles;
    /** The client certificate (PEM), signed by the cluster's client CA. */
    certPem: pulumi.Output<string>;
    /**
     * SHA-256 of the certificate (`openssl x509 -noout -fingerprint -sha256` of the copied file prints
     * the same): when it differs from the consumer's copy, the stack re-issued the certificate
     * (renewal, CA rotation, a validity change) and the consumer's files need writing again.
     */
    sha256Fingerprint: pulumi.Output<string>;
    /** When the certificate expires (RFC 3339); an `up` re-issues it `certRenewBeforeHours` before. */
    notAfter: pulumi.Output<string>;
    /** The client's private key (PEM). Secret: `pulumi stack output --show-secrets` shows it. */
    keyPem: pulumi.Output<string>;
    /** kube-apiserver's `--etcd-servers`, `--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`. */
    kubeApiserverFlags: pulumi.Output<string>;
    /** flanneld's `-etcd-endpoints`, `-etcd-cafile`, `-etcd-certfile`, `-etcd-keyfile`. */
    flannelFlags: pulumi.Output<string>;
}

/** Built-in certificates kept out of the `clientCertificates` output: admin has outputs of its own. */
export const notForConsumers = ["admin"];

/**
 * The `clientCertificates` stack output: every client certificate but admin (the built-in
 * healthcheck and apiserver-etcd-client, and each one from `etcd:clientCertificates`), by name.
 * A plain object of Outputs, so the engine keeps each key's secrecy: only `keyPem` is masked.
 */
export function consumerOutputs(specs: ClientCertificateSpec[],
    issued: Record<string, { certPem: pulumi.Output<string>; privateKeyPem: pulumi.Output<string>; validityEndTime: pulumi.Output<string> }>,
    endpoints: pulumi.Input<string>): Record<string, ClientCertificateOutput> {
    const result: Record<string, ClientCertificateOutput> = {};
    for (const spec of specs) {
        if (notForConsumers.includes(spec.name)) continue;
        const cert = issued[spec.name];
        if (cert === undefined) throw new Error(`no issued client certificate named "${spec.name}"`);
        const files = clientFiles(spec.name, spec.dir);
        result[spec.name] = {
            commonName: spec.commonName,
            files,
            certPem: cert.certPem,
            // undefined for a certificate an `up --target` did not create
            sha256Fingerprint: cert.certPem.apply((pem) => pem === undefined ? pem : sha256Fingerprint(pem)),
            notAfter: cert.validityEndTime,
            keyPem: pulumi.secret(cert.privateKeyPem),
            kubeApiserverFlags: pulumi.output(endpoints).apply((e) => kubeApiserverFlags(e, files)),
            flannelFlags: pulumi.output(endpoints).apply((e) => flannelFlags(e, files)),
        };
    }
    return result;
}

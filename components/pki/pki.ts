/**
 * The cluster's PKI, entirely in Pulumi state with @pulumi/tls: a CA, per-member server and
 * peer certificates, and client certificates. No openssl or cfssl anywhere, and the CA key
 * never leaves the operator's state.
 */
import * as pulumi from "@pulumi/pulumi";
import * as paths from "../base/paths";
import * as tls from "@pulumi/tls";
import { CaSpec, ClientCertificateSpec, ClusterSpec, MemberSpec } from "../spec/types";
import { isValidAddress } from "../spec/values";

/** Key algorithm for the CA and every leaf key. */
export interface KeyAlgorithm {
    algorithm: "ECDSA" | "RSA";
    rsaBits: number;
}

function newPrivateKey(name: string, alg: KeyAlgorithm, opts: pulumi.CustomResourceOptions): tls.PrivateKey {
    return new tls.PrivateKey(name, alg.algorithm === "ECDSA"
        ? { algorithm: "ECDSA", ecdsaCurve: "P256" }
        : { algorithm: "RSA", rsaBits: alg.rsaBits }, opts);
}

export interface CertificateAuthorityArgs {
    /** Algorithm, key size and validity of a generated CA. */
    spec: CaSpec;
    /** Common name of a generated CA. */
    commonName: string;
    /** A CA certificate to bring instead of generating one (PEM). */
    certPem?: pulumi.Input<string>;
    /** The private key of the brought CA (PEM, secret). */
    privateKeyPem?: pulumi.Input<string>;
    /**
     * Protects the generated CA key and certificate from deletion and replacement: replacing
     * the CA replaces every certificate in the cluster, so rotation is an explicit operation.
     */
    protect: boolean;
}

/** A self-signed CA kept in Pulumi state, or a CA brought in from config. */
export class CertificateAuthority extends pulumi.ComponentResource {
    public readonly certPem: pulumi.Output<string>;
    /** Secret. Used only to sign certificates in the operator's state; never copied to a host. */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** A generated CA's expiry (RFC 3339, the tls provider's); undefined for a brought CA (its PEM says it). */
    public readonly validityEndTime?: pulumi.Output<string>;

    constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:CertificateAuthority", name, {}, opts);
        if (args.spec.bringYourOwn) {
            if (args.certPem === undefined || args.privateKeyPem === undefined) {
                throw new pulumi.ResourceError("bring-your-own CA needs both a certificate and a private key", this);
            }
            this.certPem = pulumi.output(args.certPem);
            this.privateKeyPem = pulumi.secret(args.privateKeyPem);
        } else {
            const childOpts = { parent: this, protect: args.protect };
            const key = newPrivateKey(`${name}-key`, args.spec, childOpts);
            const cert = new tls.SelfSignedCert(`${name}-cert`, {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: args.commonName, organization: "etcd-stack" },
                isCaCertificate: true,
                validityPeriodHours: args.spec.validityHours,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            }, childOpts);
            this.certPem = cert.certPem;
            this.privateKeyPem = pulumi.secret(key.privateKeyPem);
            this.validityEndTime = cert.validityEndTime;
        }
        this.registerOutputs({ certPem: this.certPem });
    }
}

/** How long member and client certificates live, and how early an `up` re-issues them. */
export interface CertificateLifetime {
    validityHours: number;
    /** An `up` this close to a certificate's expiry replaces it (and rolls the member that uses it). */
    renewBeforeHours: number;
}

/** The stack's certificate lifetime (etcd:certValidityHours, etcd:certRenewBeforeHours). */
export function certificateLifetime(spec: ClusterSpec): CertificateLifetime {
    return { validityHours: spec.certValidityHours, renewBeforeHours: spec.certRenewBeforeHours };
}

/** What a signed leaf certificate needs. */
export interface LeafCertificateArgs {
    ca: CertificateAuthority;
    algorithm: KeyAlgorithm;
    commonName: string;
    organization?: string;
    dnsNames: string[];
    ipAddresses: string[];
    usages: Array<"server_auth" | "client_auth">;
    lifetime: CertificateLifetime;
}

/** A key pair and certificate signed by the cluster CA. */
export class LeafCertificate extends pulumi.ComponentResource {
    public readonly certPem: pulumi.Output<string>;
    /** Secret. Lands only on the host (or client) that owns it. */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** When the certificate becomes valid (RFC 3339): hosts whose clock is behind it reject it. */
    public readonly validityStartTime: pulumi.Output<string>;
    /** When it expires (RFC 3339): an `up` from `renewBeforeHours` before it re-issues it. */
    public readonly validityEndTime: pulumi.Output<string>;

    constructor(name: string, args: LeafCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:LeafCertificate", name, {}, opts);
        const key = newPrivateKey(`${name}-key`, args.algorithm, { parent: this });
        const csr = new tls.CertRequest(`${name}-csr`, {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: args.commonName, organization: args.organization },
            dnsNames: args.dnsNames,
            ipAddresses: args.ipAddresses,
        }, { parent: this });
        const cert = new tls.LocallySignedCert(`${name}-cert`, {
            certRequestPem: csr.certRequestPem,
            caCertPem: args.ca.certPem,
            caPrivateKeyPem: args.ca.privateKeyPem,
            validityPeriodHours: args.lifetime.validityHours,
            // Renewal happens on the next `up` inside this window; nothing renews by itself.
            earlyRenewalHours: args.lifetime.renewBeforeHours,
            allowedUses: ["digital_signature", "key_encipherment", ...args.usages],
        }, { parent: this });
        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.validityStartTime = cert.validityStartTime;
        this.validityEndTime = cert.validityEndTime;
        this.registerOutputs({ certPem: this.certPem, validityStartTime: this.validityStartTime });
    }
}

/** The subject alternative names of a member's server certificate: everything clients dial. */
export function serverSans(member: MemberSpec): { dnsNames: string[]; ipAddresses: string[] } {
    const all = [member.name, "localhost", member.address, "127.0.0.1", "::1", ...member.extraSans];
    return splitSans(all);
}

/** The SANs of a member's peer certificate: the name and address other members dial. */
export function peerSans(member: MemberSpec): { dnsNames: string[]; ipAddresses: string[] } {
    return splitSans([member.name, member.address]);
}

function splitSans(sans: string[]): { dnsNames: string[]; ipAddresses: string[] } {
    const unique = [...new Set(sans)];
    return {
        dnsNames: unique.filter((s) => !isValidAddress(s)),
        ipAddresses: unique.filter((s) => isValidAddress(s)),
    };
}

export interface MemberCertificatesArgs {
    ca: CertificateAuthority;
    member: MemberSpec;
    algorithm: KeyAlgorithm;
    lifetime: CertificateLifetime;
}

/** A member's server certificate (for clients) and peer certificate (for other members). */
export class MemberCertificates extends pulumi.ComponentResource {
    public readonly server: LeafCertificate;
    public readonly peer: LeafCertificate;

    constructor(name: string, args: MemberCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:MemberCertificates", name, {}, opts);
        const common = { ca: args.ca, algorithm: args.algorithm, commonName: args.member.name, lifetime: args.lifetime };
        this.server = new LeafCertificate(`${name}-server`, {
            ...common, ...serverSans(args.member), usages: ["server_auth", "client_auth"],
        }, { parent: this });
        this.peer = new LeafCertificate(`${name}-peer`, {
            ...common, commonName: paths.peerCommonName, ...peerSans(args.member), usages: ["server_auth", "client_auth"],
        }, { parent: this });
        this.registerOutputs({});
    }
}

/** A client certificate (admin, healthcheck, apiserver-etcd-client, or one from config). */
export function clientCertificate(name: string, spec: ClientCertificateSpec, ca: CertificateAuthority, algorithm: KeyAlgorithm,
    lifetime: CertificateLifetime, opts: pulumi.ComponentResourceOptions): LeafCertificate {
    return new LeafCertificate(name, {
        ca, algorithm, lifetime,
        commonName: spec.commonName,
        organization: spec.organization,
        dnsNames: [],
        ipAddresses: [],
        usages: ["client_auth"],
    }, opts);
}

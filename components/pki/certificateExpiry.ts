/**
 * The `certificates` stack output: every certificate the stack issues (each CA generation in use,
 * each member's server and peer certificates, every client certificate, the snapshot and defrag
 * timers' own client certificates), with when it expires, when its renewal window opens, and its
 * SHA-256 fingerprint. Nothing renews by itself: an `up` inside a member or client certificate's
 * window re-issues it (the tls provider's early renewal, `certRenewBeforeHours`); a CA is never
 * re-issued by an `up` (it is protected, and replacing it would replace every certificate): it is
 * rotated, in three stack edits (docs/certificates.md). `scripts/certExpiry.sh` reads this output
 * and fails while anything is inside its window; the expiry workflow runs it daily.
 */
import { X509Certificate, createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { ClusterSpec } from "../spec/types";

/** What renews a certificate: an `up` inside its window, or a CA rotation (three stack edits). */
export type Renewal = "up" | "CA rotation";

/** One certificate the program issues (or, for a brought CA, holds), before its expiry is known. */
export interface IssuedCertificate {
    /** Its key in the output: `ca`, `ca-g2`, `member/<m>/server`, `member/<m>/peer`, `client/<name>`, `timer/<name>`. */
    name: string;
    certPem: pulumi.Output<string>;
    /** The tls provider's `validityEndTime`; undefined for a brought CA, whose PEM says it. */
    notAfter?: pulumi.Output<string>;
    renewal: Renewal;
}

/** One entry of the `certificates` output. No secret: a certificate is public. */
export interface CertificateExpiry {
    /** The certificate's not-after time (RFC 3339, UTC). */
    notAfter: string;
    /** From when it needs renewing: `notAfter` minus `certRenewBeforeHours`, or for a CA minus `certValidityHours`. */
    renewFrom: string;
    /** SHA-256 of the certificate's DER, as `openssl x509 -noout -fingerprint -sha256` prints it (`AB:CD:…`). */
    sha256Fingerprint: string;
    renewal: Renewal;
}

const pemBlock = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/;

/**
 * A certificate's SHA-256 fingerprint: of the DER in the PEM's first certificate block, upper-case
 * hex pairs joined by colons (openssl's and Node's `fingerprint256` format). Text with no PEM block
 * (only the unit tests' fake certificates) is hashed as it is: a fingerprint still changes exactly
 * when the certificate does.
 */
export function sha256Fingerprint(pem: string): string {
    const block = pemBlock.exec(pem);
    const bytes = block ? Buffer.from(block[1].replace(/\s+/g, ""), "base64") : Buffer.from(pem, "utf8");
    return createHash("sha256").update(bytes).digest("hex").toUpperCase().match(/../g)!.join(":");
}

/** A PEM certificate's not-after time as RFC 3339 (UTC, seconds): how a brought CA's expiry is read. */
export function pemNotAfter(pem: string, name: string): string {
    let cert: X509Certificate;
    try {
        cert = new X509Certificate(pem);
    } catch (e) {
        throw new Error(`${name}: not a PEM certificate (${(e as Error).message})`);
    }
    return rfc3339(Date.parse(cert.validTo));
}

function rfc3339(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `notAfter` minus `hours`, as RFC 3339. */
export function renewFrom(notAfter: string, hours: number): string {
    const ms = Date.parse(notAfter);
    if (Number.isNaN(ms)) throw new Error(`not a time: "${notAfter}"`);
    return rfc3339(ms - hours * 3600_000);
}

/**
 * How long before its expiry a certificate needs renewing. A member or client certificate: its
 * `certRenewBeforeHours` (from then on an `up` re-issues it). A CA: `certValidityHours`, because from
 * then on a certificate it issues or re-issues (for a full `certValidityHours`) outlives it, and a
 * CA is renewed only by a rotation (three `up`s, clients given the new bundle in between).
 */
export function renewalHours(spec: Pick<ClusterSpec, "certRenewBeforeHours" | "certValidityHours">, renewal: Renewal): number {
    return renewal === "up" ? spec.certRenewBeforeHours : spec.certValidityHours;
}

/** One entry of the output, from a certificate's PEM and not-after time. */
export function certificateExpiry(pem: string, notAfter: string, hours: number, renewal: Renewal): CertificateExpiry {
    const normalized = rfc3339(Date.parse(notAfter));
    return { notAfter: normalized, renewFrom: renewFrom(normalized, hours), sha256Fingerprint: sha256Fingerprint(pem), renewal };
}

/**
 * The `certificates` stack output, by name (order: CAs, members, clients, timers). A plain object of
 * Outputs, one per certificate; `pulumi.unsecret` because a brought CA's PEM may come from a secret
 * config value, and a certificate's dates and fingerprint are not secrets. A certificate an `up
 * --target` left out (not created: no PEM, no dates) has no entry (undefined) rather than failing the run.
 */
export function certificateExpiries(certs: IssuedCertificate[], spec: Pick<ClusterSpec, "certRenewBeforeHours" | "certValidityHours">):
    Record<string, pulumi.Output<CertificateExpiry | undefined>> {
    const result: Record<string, pulumi.Output<CertificateExpiry | undefined>> = {};
    for (const c of certs) {
        if (c.name in result) throw new Error(`two certificates named "${c.name}"`);
        const hours = renewalHours(spec, c.renewal);
        const notAfter = c.notAfter ?? c.certPem.apply((pem) => pem === undefined ? undefined : pemNotAfter(pem, c.name));
        result[c.name] = pulumi.unsecret(pulumi.all([c.certPem, notAfter]).apply(([pem, end]) =>
            pem === undefined || end === undefined ? undefined : certificateExpiry(pem, end, hours, c.renewal)));
    }
    return result;
}

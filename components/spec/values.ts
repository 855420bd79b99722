/**
 * What a single config value may be: names, addresses, host names, paths, calendar and subject text,
 * as patterns and predicates, and how an address or host is spelled once. Pure; exported predicates are
 * unit-tested on their own.
 */
import * as net from "net";
import { ReleaseArch } from "./types";

export const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const dnsName = /^(?=.{1,253}$)([a-z0-9*]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
export const semver = /^(\d+)\.(\d+)\.(\d+)$/;
export const sha256Hex = /^[0-9a-f]{64}$/;
export const compactionRetention = /^(\d+)(h|m|s)?$/;
/** An RFC 1123 host name (no wildcard): where SSH connects, printed by the host key check the operator's machine runs. */
export const hostName = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
/** A POSIX login name (portable characters, no leading hyphen). */
export const userName = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
/** What a path written into a root script may hold: nothing a shell would read as code, a glob or a separator. */
export const plainPath = /^[A-Za-z0-9._\/-]+$/;
/** systemd calendar syntax (weekdays, dates, times, ranges, repeats, time zones) and nothing a shell would read. */
export const calendarText = /^[A-Za-z0-9*][A-Za-z0-9 *:\/,.~_+-]*$/;
/** What a certificate subject field may hold (at most X.509's 64 characters). */
export const subjectText = /^[A-Za-z0-9][A-Za-z0-9 ._:@=+,-]{0,63}$/;
/** A systemd service unit name (a member that adopts an existing etcd names its unit). */
export const serviceUnitName = /^[A-Za-z0-9][A-Za-z0-9:_.@-]*\.service$/;

/** True for a name etcd accepts as a member name that is also a DNS label (it goes into cert SANs). */
export function isValidMemberName(name: string): boolean {
    return dnsLabel.test(name);
}

/** True for a literal IPv4 or IPv6 address. */
export function isValidAddress(address: string): boolean {
    return net.isIP(address) !== 0;
}

/** True for a SAN: an IP address or a DNS name (wildcards allowed in the first label). */
export function isValidSan(san: string): boolean {
    return isValidAddress(san) || dnsName.test(san);
}

/** True for an SSH destination: an IP address or an RFC 1123 host name. */
export function isValidHost(host: string): boolean {
    return isValidAddress(host) || hostName.test(host);
}

/** Formats an address for a URL (`[v6]`). */
export function urlHost(address: string): string {
    return net.isIPv6(address) ? `[${address}]` : address;
}

/** `{version}` and `{arch}` in a release URL template are replaced per host. */
export function releaseUrl(template: string, version: string, arch: ReleaseArch): string {
    return template.split("{version}").join(version).split("{arch}").join(arch);
}

/** Normalises an address so "10.0.0.1" and "::ffff:10.0.0.1" style aliases compare equal where net agrees. */
export function canonicalAddress(address: string): string {
    if (net.isIPv6(address)) {
        const sock = new net.SocketAddress({ address, family: "ipv6" });
        return sock.address;
    }
    return address;
}

/** One spelling per machine: an IP address canonical, a DNS name in lower case (names ignore case). */
export function canonicalHost(host: string): string {
    return net.isIP(host) ? canonicalAddress(host) : host.toLowerCase();
}

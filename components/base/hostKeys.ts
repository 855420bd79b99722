/**
 * SSH host keys: the pin that keeps a member's private keys from reaching whatever machine
 * answers on its address. Pure functions: parse and validate a key line, look a host up in
 * known_hosts text (plain and hashed entries), fingerprint a key the way `ssh-keygen -l` does.
 */
import * as crypto from "crypto";

/** Key types the command provider can pin. ed25519 first: OpenSSH ≥ 8.8 no longer offers `ssh-rsa`. */
export const hostKeyTypes = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa",
] as const;

const keyLine = /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa|rsa-sha2-(?:256|512)) ([A-Za-z0-9+/]+={0,3})(?: .*)?$/;

/** The `<type> <base64>` part of a host key line, or undefined if it is not one. */
export function normalizeHostKey(line: string): string | undefined {
    const m = keyLine.exec(line.trim());
    if (!m) return undefined;
    const blob = Buffer.from(m[2], "base64");
    // The blob starts with its own type name: a key pasted under the wrong type is rejected here.
    const typeLen = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
    const inner = blob.subarray(4, 4 + typeLen).toString();
    if (inner !== m[1] && !(m[1].startsWith("rsa-sha2-") && inner === "ssh-rsa")) return undefined;
    return `${m[1]} ${m[2]}`;
}

/** `SHA256:…` fingerprint of a host key line, as `ssh-keygen -lf` prints it. */
export function hostKeyFingerprint(line: string): string {
    return fingerprint(Buffer.from(line.trim().split(/\s+/)[1] ?? "", "base64"));
}

/** How a host is named in known_hosts: `host`, or `[host]:port` for a port other than 22. */
function knownHostsName(host: string, port: number): string {
    return port === 22 ? host : `[${host}]:${port}`;
}

function patternMatches(pattern: string, name: string): boolean {
    if (pattern.startsWith("|1|")) {
        const [, , salt, hash] = pattern.split("|");
        if (!salt || !hash) return false;
        const mac = crypto.createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
        return mac === hash;
    }
    return pattern.toLowerCase() === name.toLowerCase();
}

/**
 * The host key for `host:port` in known_hosts `text` (OpenSSH format, hashed or not), preferring
 * ed25519, then ECDSA, then RSA. Wildcards, negations and @revoked/@cert-authority lines are not
 * pins of one host and are ignored.
 */
export function lookupKnownHost(text: string, host: string, port: number): string | undefined {
    const name = knownHostsName(host, port);
    const found: string[] = [];
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#") || line.startsWith("@")) continue;
        const [patterns, ...rest] = line.split(/\s+/);
        const key = normalizeHostKey(rest.join(" "));
        if (!key) continue;
        if (patterns.split(",").some((p) => !/[*?!]/.test(p) && patternMatches(p, name))) found.push(key);
    }
    const rank = (k: string) => hostKeyTypes.indexOf(k.split(" ")[0] as typeof hostKeyTypes[number]);
    return found.sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * An SSH key's fingerprint as `ssh-keygen -l` prints it. The dynamic providers' ssh2 connections
 * call it, so it is serialized with them: it requires crypto itself, as a captured module import
 * (esModuleInterop's wrapper of crypto) cannot be serialized (tests/unit/providerSerialization.test.ts).
 */
export function fingerprint(blob: Buffer): string {
    return "SHA256:" + require("crypto").createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

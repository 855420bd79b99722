/**
 * components/base/hostKeys.ts, the pure functions behind a member's host key pin: a key line is read
 * only when its blob names its own type, known_hosts is searched by the exact name OpenSSH writes
 * (`host` on port 22, `[host]:port` otherwise; plain or hashed), patterns that are not one host's
 * pin are ignored, and the strongest key type found wins whatever the file's order.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { hostKeyFingerprint, hostKeyTypes, lookupKnownHost, normalizeHostKey } from "../../../components/base/hostKeys";

/** An SSH wire string: uint32 length, then the bytes. */
const sshString = (b: Buffer | string) => {
    const bytes = Buffer.isBuffer(b) ? b : Buffer.from(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    return Buffer.concat([len, bytes]);
};
/** A key line whose blob starts with `inner` as its type name (the rest is random key material). */
const keyOf = (type: string, inner = type, seed = crypto.randomBytes(32)) =>
    `${type} ${Buffer.concat([sshString(inner), sshString(seed)]).toString("base64")}`;
const hashed = (name: string) => {
    const salt = crypto.randomBytes(20);
    return `|1|${salt.toString("base64")}|${crypto.createHmac("sha1", salt).update(name).digest("base64")}`;
};
const sha256Fingerprint = (line: string) =>
    "SHA256:" + crypto.createHash("sha256").update(Buffer.from(line.split(" ")[1], "base64")).digest("base64").replace(/=+$/, "");

describe("host keys: a key line is read only when its blob names its own type", () => {
    it("keeps `<type> <base64>` of a valid line, without its comment and surrounding blanks", () => {
        for (const type of hostKeyTypes.filter((t) => !t.startsWith("rsa-sha2-"))) {
            const key = keyOf(type);
            assert.equal(normalizeHostKey(key), key, type);
            assert.equal(normalizeHostKey(`  ${key} root@host \n`), key, `${type} with a comment`);
        }
    });

    it("takes an ssh-rsa blob under the rsa-sha2-256/512 names (the same key, another signature)", () => {
        for (const type of ["rsa-sha2-256", "rsa-sha2-512"]) {
            const key = keyOf(type, "ssh-rsa");
            assert.equal(normalizeHostKey(key), key, type);
            // but not another key type's blob under those names, nor the name itself as blob type
            assert.equal(normalizeHostKey(keyOf(type, "ssh-ed25519")), undefined, `${type} over an ed25519 blob`);
        }
    });

    it("refuses a key pasted under another type's name", () => {
        assert.equal(normalizeHostKey(keyOf("ssh-rsa", "ssh-ed25519")), undefined);
        assert.equal(normalizeHostKey(keyOf("ssh-ed25519", "ssh-rsa")), undefined);
        assert.equal(normalizeHostKey(keyOf("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384")), undefined);
        // The blob's type name must be all of it, not a prefix.
        assert.equal(normalizeHostKey(keyOf("ssh-ed25519", "ssh-ed25519x")), undefined);
        assert.equal(normalizeHostKey(keyOf("ssh-ed25519", "ssh-ed2551")), undefined);
    });

    it("refuses what is not a key line: an unknown type, no blob, a blob too short to name a type, junk around it", () => {
        const good = keyOf("ssh-ed25519");
        assert.equal(normalizeHostKey(keyOf("ssh-dss")), undefined, "ssh-dss is not pinnable");
        assert.equal(normalizeHostKey("ssh-ed25519"), undefined);
        assert.equal(normalizeHostKey("ssh-ed25519 "), undefined);
        assert.equal(normalizeHostKey("ssh-ed25519 AAA="), undefined, "2 bytes: no length field");
        assert.equal(normalizeHostKey(`x${good}`), undefined, "anchored at the start");
        assert.equal(normalizeHostKey(`${good}#`), undefined, "a comment is separated by a blank");
        assert.equal(normalizeHostKey(good.replace(" ", "  ")), undefined, "one blank between type and key");
        assert.equal(normalizeHostKey(`${good}====`), undefined, "at most 3 padding characters");
        assert.equal(normalizeHostKey(""), undefined);
    });

    it("fingerprints the key as ssh-keygen -l does, whatever follows it", () => {
        const key = keyOf("ssh-ed25519");
        assert.equal(hostKeyFingerprint(key), sha256Fingerprint(key));
        assert.equal(hostKeyFingerprint(`  ${key}\tcomment words `), sha256Fingerprint(key));
        assert.notEqual(hostKeyFingerprint(keyOf("ssh-ed25519")), hostKeyFingerprint(key));
        // Blanks of any length between type and key, as ssh-keygen takes them.
        assert.equal(hostKeyFingerprint(key.replace(" ", "  \t ")), sha256Fingerprint(key));
        // No key at all: the fingerprint of nothing (sha256 of zero bytes), never an exception.
        assert.equal(hostKeyFingerprint("ssh-ed25519"), "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
    });
});

describe("host keys: known_hosts lookup", () => {
    const ed = keyOf("ssh-ed25519");
    const other = keyOf("ssh-ed25519");

    it("finds a plain entry for port 22 by the bare name, in any case, among comma-separated names", () => {
        assert.equal(lookupKnownHost(`10.0.0.1 ${ed}\n`, "10.0.0.1", 22), ed);
        assert.equal(lookupKnownHost(`Lab1.Example ${ed}\n`, "lab1.example", 22), ed);
        assert.equal(lookupKnownHost(`lab1,10.0.0.1 ${ed} comment\n`, "10.0.0.1", 22), ed);
        // Fields separated by runs of blanks and tabs, as OpenSSH reads them.
        assert.equal(lookupKnownHost(`10.0.0.1 \t ${ed.replace(" ", "   ")}\n`, "10.0.0.1", 22), ed);
        assert.equal(lookupKnownHost(`10.0.0.1 ${ed}\n`, "10.0.0.2", 22), undefined);
        assert.equal(lookupKnownHost(`10.0.0.10 ${ed}\n`, "10.0.0.1", 22), undefined, "no prefix match");
        assert.equal(lookupKnownHost("", "10.0.0.1", 22), undefined);
    });

    it("on another port finds only the `[host]:port` entry (OpenSSH writes that; the bare name is port 22's key)", () => {
        const text = `10.0.0.1 ${ed}\n[10.0.0.1]:2222 ${other}\n`;
        assert.equal(lookupKnownHost(text, "10.0.0.1", 2222), other);
        assert.equal(lookupKnownHost(text, "10.0.0.1", 22), ed);
        assert.equal(lookupKnownHost(`10.0.0.1 ${ed}\n`, "10.0.0.1", 2222), undefined);
        assert.equal(lookupKnownHost(`[10.0.0.1]:22 ${ed}\n`, "10.0.0.1", 22), undefined, "port 22 is written bare");
        assert.equal(lookupKnownHost(`[10.0.0.1]:2222 ${ed}\n`, "10.0.0.1", 2223), undefined);
    });

    it("finds hashed entries (HashKnownHosts) by the same names; a broken hash line matches nothing", () => {
        assert.equal(lookupKnownHost(`${hashed("10.0.0.1")} ${ed}\n`, "10.0.0.1", 22), ed);
        assert.equal(lookupKnownHost(`${hashed("[10.0.0.1]:2222")} ${ed}\n`, "10.0.0.1", 2222), ed);
        assert.equal(lookupKnownHost(`${hashed("10.0.0.1")} ${ed}\n`, "10.0.0.1", 2222), undefined);
        assert.equal(lookupKnownHost(`${hashed("10.0.0.2")} ${ed}\n`, "10.0.0.1", 22), undefined);
        const [, , salt] = hashed("10.0.0.1").split("|");
        assert.equal(lookupKnownHost(`|1|${salt} ${ed}\n`, "10.0.0.1", 22), undefined, "no hash");
        assert.equal(lookupKnownHost(`|1||${salt} ${ed}\n`, "10.0.0.1", 22), undefined, "no salt");
        // An empty salt is a broken line too, even when its hash is the HMAC of the name under an empty key.
        const emptyKeyHmac = crypto.createHmac("sha1", Buffer.alloc(0)).update("10.0.0.1").digest("base64");
        assert.equal(lookupKnownHost(`|1||${emptyKeyHmac} ${ed}\n`, "10.0.0.1", 22), undefined, "empty salt");
        // A hashed pattern is compared by its HMAC, never as text (the name in it is not the host).
        assert.equal(lookupKnownHost(`|1|10.0.0.1 ${ed}\n`, "|1|10.0.0.1", 22), undefined);
    });

    it("ignores comments, markers, wildcards, negations and lines without a valid key", () => {
        const text = [
            `# 10.0.0.1 ${ed}`,
            `@revoked 10.0.0.1 ${ed}`,
            `@cert-authority 10.0.0.1 ${ed}`,
            `10.0.0.* ${ed}`, `10.0.0.? ${ed}`, `!10.0.0.1 ${ed}`,
            `10.0.0.1 ${keyOf("ssh-rsa", "ssh-ed25519")}`,
            `10.0.0.1 not-a-key`,
        ].join("\n");
        assert.equal(lookupKnownHost(text, "10.0.0.1", 22), undefined);
        assert.equal(lookupKnownHost(text, "10.0.0.*", 22), undefined, "a wildcard is not read as a literal name either");
        assert.equal(lookupKnownHost(text, "!10.0.0.1", 22), undefined);
        // a valid line after all of these (and blank and CRLF lines) is found
        assert.equal(lookupKnownHost(`${text}\n\n  \r\n  10.0.0.1 ${ed}\r\n`, "10.0.0.1", 22), ed);
        // a wildcard among the names of a line does not hide its literal names
        assert.equal(lookupKnownHost(`10.0.0.*,10.0.0.1 ${ed}\n`, "10.0.0.1", 22), ed);
    });

    it("prefers ed25519, then ECDSA, then RSA (rsa-sha2-512, -256, ssh-rsa), whatever the order of the lines", () => {
        const keys = hostKeyTypes.map((t) => keyOf(t, t.startsWith("rsa-sha2-") ? "ssh-rsa" : t));
        for (let first = 0; first < keys.length; first++) {
            // Only the keys from `first` on, in reverse and in rotated order: the best of them wins.
            const present = keys.slice(first);
            for (const order of [[...present].reverse(), [...present.slice(1), present[0]]]) {
                const text = order.map((k) => `10.0.0.1 ${k}`).join("\n");
                assert.equal(lookupKnownHost(text, "10.0.0.1", 22), keys[first], `best of ${hostKeyTypes.slice(first).join(", ")}`);
            }
        }
        // Among keys of one type the first line wins.
        assert.equal(lookupKnownHost(`10.0.0.1 ${ed}\n10.0.0.1 ${other}\n`, "10.0.0.1", 22), ed);
    });
});

/**
 * Throw-away ed25519 key pairs for unit tests that run an ssh2 server on loopback.
 *
 * ssh2's own generator (1.17.0, lib/keygen.js) strips every leading zero byte of the DER bit
 * string that holds the public key: the bit string's "unused bits" byte, and with it the key's
 * own first byte when that is 0x00, so about 1 key in 256 comes out with a 31-byte public key
 * that `utils.parseKey` then refuses ("Malformed OpenSSH private key"), and the loopback
 * server or client fails to start. A pair is therefore generated again until ssh2 parses both
 * halves (a few tries at most; bounded so a changed ssh2 fails loudly instead of looping).
 */
import { utils as sshUtils } from "ssh2";

export function parseableEd25519KeyPair(): { private: string; public: string } {
    for (let attempt = 1; attempt <= 16; attempt++) {
        const pair = sshUtils.generateKeyPairSync("ed25519");
        if (!(sshUtils.parseKey(pair.private) instanceof Error) && !(sshUtils.parseKey(pair.public) instanceof Error)) return pair;
    }
    throw new Error("ssh2 generated 16 ed25519 key pairs in a row that it cannot parse itself");
}

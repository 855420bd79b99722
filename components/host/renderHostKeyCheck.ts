/** The host key check the operator's machine runs before anything reaches a member (member.ts). Pure. */
import { hostKeyFingerprint } from "../base/hostKeys";
import { scriptHeader, shq } from "../shell/script";
import { MemberSpec } from "../spec/types";
import { sshEndpoint } from "../base/sshEndpoint";

/**
 * Runs on the operator's machine before anything reaches a member: asks the host for its key of
 * the pinned type (`ssh-keyscan`) and stops, naming the member, the address and both
 * fingerprints, when it is not the pinned one. The connections refuse such a host anyway (the
 * pin); this says which machine answered and how to check it.
 */
export function renderHostKeyCheckScript(member: MemberSpec, hostKey: string): string {
    const [type, blob] = hostKey.split(" ");
    const scanType = type === "ssh-ed25519" ? "ed25519" : type.startsWith("ecdsa-") ? "ecdsa" : "rsa";
    const where = sshEndpoint({ host: member.sshHost, port: member.sshPort });
    return scriptHeader + [
        `got=$(ssh-keyscan -T 5 -t ${scanType} -p ${member.sshPort} ${shq(member.sshHost)} 2>/dev/null | awk '$1 !~ /^#/ { print $2 " " $3 }')`,
        `[ -n "$got" ] || { echo "${member.name}: ${where} presents no ${type} host key (host down, or sshd not answering)" >&2; exit 1; }`,
        `if echo "$got" | awk '{ print $2 }' | grep -qxF ${shq(blob)}; then echo "${member.name}: ${where} presents the pinned host key ${hostKeyFingerprint(hostKey)}"; exit 0; fi`,
        `presented=$(echo "$got" | ssh-keygen -lf - 2>/dev/null | awk '{ print $2 }' | paste -sd, -)`,
        `echo "${member.name}: ${where} presents host key $presented, but the stack pins ${hostKeyFingerprint(hostKey)} (${type}): another machine answers there; nothing was sent to it. Check the host's key on its console (ssh-keygen -lf /etc/ssh/ssh_host_${scanType}_key.pub); if it was rebuilt, pin its new key (hostKey or known_hosts)" >&2`,
        `exit 1`,
    ].join("\n") + "\n";
}

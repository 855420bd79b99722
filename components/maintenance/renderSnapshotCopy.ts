/**
 * Pure renderers for copies of scheduled snapshots off their member (etcd:snapshots.copyTo): the
 * script the snapshot job ends with, the known_hosts file pinning the destination, and the
 * authorized_keys line the destination gives each member's key.
 *
 * The copy is SFTP with OpenSSH's own client, in batch mode: it cannot prompt, connects only to the
 * pinned host key, and stops at its first failed command, so a file is renamed to its final name
 * only once it is complete. Nothing here ever removes the member's own snapshot.
 */
import * as net from "net";
import * as paths from "../base/paths";
import { installedScriptHeader, shq } from "../shell/script";
import { ClusterSpec, MemberSpec, SnapshotCopySpec } from "../spec/types";

export function snapshotCopyPath(spec: ClusterSpec, file: keyof typeof paths.snapshotCopyFiles): string {
    return `${spec.dirs.pki}/${paths.snapshotCopyFiles[file]}`;
}

/** This member's directory on the destination: each member's copies, and its retention, stay apart. */
export function snapshotCopyDir(copy: SnapshotCopySpec, member: MemberSpec): string {
    return `${copy.path}/${member.name}`;
}

/** `user@host:dir`, as the journal names the destination. */
export function snapshotCopyTarget(copy: SnapshotCopySpec, member: MemberSpec): string {
    const host = net.isIPv6(copy.host) ? `[${copy.host}]` : copy.host;
    return `${copy.user}@${host}:${snapshotCopyDir(copy, member)}`;
}

/** The known_hosts file the copy reads: the destination's key under the alias ssh is told to look up. */
export function renderSnapshotCopyKnownHosts(copy: SnapshotCopySpec): string {
    return `${paths.snapshotCopyHostAlias} ${copy.hostKey}\n`;
}

/**
 * The line for the destination's authorized_keys: `restrict` (no terminal, no forwarding, no
 * ~/.ssh/rc) and a forced `internal-sftp`, so the key opens no shell and runs no command, only SFTP.
 */
export function snapshotCopyAuthorizedKey(publicKeyOpenssh: string, member: MemberSpec): string {
    return `restrict,command="internal-sftp" ${publicKeyOpenssh.trim().split(/\s+/).slice(0, 2).join(" ")} etcd-snapshot-copy@${member.name}`;
}

/**
 * Copies one checked snapshot (its path is the first argument) to `<path>/<member>/` on the
 * destination: uploaded as `<name>.part`, renamed when complete, then the member's directory there
 * is pruned to the newest `keep` copies (by the time in their names). Any failure (no answer, a
 * different host key, a refused login, a full disk, the time bound) exits non-zero with the reason
 * in the journal; the member's own snapshot is left as it is.
 */
export function renderSnapshotCopyScript(spec: ClusterSpec, copy: SnapshotCopySpec, member: MemberSpec): string {
    const dir = snapshotCopyDir(copy, member);
    const target = snapshotCopyTarget(copy, member);
    const host = net.isIPv6(copy.host) ? `[${copy.host}]` : copy.host;
    const ssh = [
        "-F none", // the destination is what the stack says, whatever root's ssh config holds
        `-P ${copy.port}`,
        "-o BatchMode=yes",
        "-o StrictHostKeyChecking=yes",
        `-o UserKnownHostsFile=${shq(snapshotCopyPath(spec, "knownHosts"))}`,
        "-o GlobalKnownHostsFile=/dev/null",
        `-o HostKeyAlias=${paths.snapshotCopyHostAlias}`,
        "-o CheckHostIP=no",
        "-o UpdateHostKeys=no",
        `-o IdentityFile=${shq(snapshotCopyPath(spec, "key"))}`,
        "-o IdentitiesOnly=yes",
        `-o ConnectTimeout=${paths.snapshotCopyConnectTimeoutSeconds}`,
        `-o ServerAliveInterval=${paths.snapshotCopyConnectTimeoutSeconds}`,
        "-o ServerAliveCountMax=4",
    ].join(" ");
    return [
        ...installedScriptHeader(`copies a checked snapshot of ${member.name} to ${target}/ (run by ${paths.snapshotScriptPath}).`),
        `file=$1`,
        `name=$(basename "$file")`,
        // The path comes from the snapshot script; anything else is refused before it reaches sftp's commands.
        `case "$name" in scheduled-*.db) ;; *) echo "not a scheduled snapshot: $file" >&2; exit 1 ;; esac`,
        `case "$file" in *[!A-Za-z0-9._/-]*) echo "unexpected characters in $file" >&2; exit 1 ;; esac`,
        `work=$(mktemp -d)`,
        `trap 'rm -rf "$work"' EXIT`,
        `trap 'exit 1' HUP INT TERM`,
        // -b: stop at the first failed command ("-" before one: its failure is expected); timeout bounds the whole session.
        // sftp's and ssh's messages (the reason: a refused key, a changed host key…) are shown only when it
        // fails (an existing directory is a "failure" of mkdir each run). Not -q: it silences ssh's reasons too.
        `copy() { timeout -k 10s ${paths.snapshotCopyTimeoutSeconds}s sftp -b "$1" ${ssh} ${shq(`${copy.user}@${host}`)} > "$work/out" 2> "$work/err"; }`,
        `fail() { cat "$work/err" >&2; echo "$1; the snapshot stays on this host: $file" >&2; exit 1; }`,
        `cat > "$work/put" <<EOF`,
        `-mkdir ${dir}`,
        `put $file ${dir}/$name.part`,
        `rename ${dir}/$name.part ${dir}/$name`,
        `ls -1 ${dir}`,
        `EOF`,
        `copy "$work/put" || fail "snapshot $name not copied to ${target}/ (sftp exit $?)"`,
        // The listing (sftp echoes its commands, "sftp> …"): this member's complete copies, oldest first by the time in their names.
        `grep -v '^sftp>' "$work/out" | sed 's#.*/##' > "$work/names" || true`,
        `grep -E '^scheduled-[A-Za-z0-9._-]*-[0-9]{8}T[0-9]{6}Z\\.db$' "$work/names" | sed -E 's/^(.*-([0-9]{8}T[0-9]{6}Z)\\.db)$/\\2 \\1/' | sort | cut -d' ' -f2 > "$work/copies" || true`,
        `grep -qx "$name" "$work/copies" || fail "snapshot $name copied to ${target}/ but not listed there after the rename"`,
        // What a copy stopped halfway left (never under a final name; the job never runs twice at once), and the oldest copies beyond `keep`.
        `total=$(wc -l < "$work/copies")`,
        `{ grep -E '^scheduled-[A-Za-z0-9._-]*\\.db\\.part$' "$work/names" || true; [ "$total" -le ${copy.keep} ] || head -n $((total - ${copy.keep})) "$work/copies"; } | sed 's#^#rm ${dir}/#' > "$work/prune"`,
        `[ ! -s "$work/prune" ] || copy "$work/prune" || fail "snapshot $name copied to ${target}/, but the old copies there were not removed (sftp exit $?)"`,
        `[ "$total" -le ${copy.keep} ] || total=${copy.keep}`,
        `echo "copied $name to ${target}/ ($(stat -c %s "$file") bytes); $total kept there"`,
        ``,
    ].join("\n");
}

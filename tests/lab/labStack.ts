/** The lab stack as the engine tests deploy it, and what they check on the hosts before and after. */
import * as path from "path";
import * as paths from "../../components/base/paths";
import { ScratchStack, cacheDir } from "../engine/engine";
import { Credentials, Etcdctl } from "./etcdClient";
import { readStackFile } from "../stackFile";
import { labKeyPath, labKnownHostsPath, labSsh } from "./lab";

/** An etcd release's tarball as scripts/etcd-build.sh builds it (3.5.35 and 3.6.16 for the lab). */
export const releaseTarball = (version: string) => path.join(cacheDir, `etcd/${version}/etcd-v${version}-linux-amd64.tar.gz`);
export const labTarball = releaseTarball("3.6.16");

/**
 * The plan's record (components/plan/planResource.ts, issue 28): updated by every edit that changes the
 * cluster the plan records (members, versions, config, certificates, trust, timers, restore, the
 * destroy policy), never by drift on a host; it advances only when the whole up succeeded.
 */
export const planRecord = "etcd-plan-record";
/** What the plan adds to a stack: the component and the record (in the cluster's provider instance). */
export const planResources = ["etcd-plan", planRecord];

/** `size` members named lab-k on lab host k, as in stacks/Pulumi.lab.yaml. */
export function labMembers(size: number): Array<{ name: string; address: string }> {
    return Array.from({ length: size }, (_, i) => ({ name: `lab-${i + 1}`, address: `10.213.0.${11 + i}` }));
}

/** The lab stack's config for `size` members, with absolute paths (the engine runs in a scratch copy). */
export function labStackConfig(size: number, tarball = labTarball): Record<string, unknown> {
    return {
        ...readStackFile("lab"),
        members: labMembers(size),
        sshPrivateKeyPath: labKeyPath(),
        knownHostsPath: labKnownHostsPath(),
        binary: { localTarball: tarball },
    };
}

export const hostOf = (member: string) => member.replace(/^lab-/, "lab");

/**
 * A login `user` on `host` with the lab key and passwordless sudo, as production hosts give a
 * deploy user: the commands as one line, for a suite that adds its own (the access suite).
 */
export function sudoLoginCommands(user: string): string[] {
    return [
        "command -v sudo >/dev/null || { echo 'sudo is not installed in the lab rootfs' >&2; exit 1; }",
        `id ${user} >/dev/null 2>&1 || useradd -m -s /bin/sh ${user}`,
        `install -d -m 700 -o ${user} -g ${user} /home/${user}/.ssh`,
        `install -m 600 -o ${user} -g ${user} /root/.ssh/authorized_keys /home/${user}/.ssh/authorized_keys`,
        `echo '${user} ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/${user} && chmod 440 /etc/sudoers.d/${user}`,
    ];
}

/** Removes what any earlier run left on the hosts, so each suite starts from clean machines. */
export function wipeHosts(size: number): void {
    for (const m of labMembers(size)) wipeHost(hostOf(m.name));
}

/** Removes every etcd-stack file, unit (etcd's, the timers'), binary and process from one lab host. */
export function wipeHost(host: string): void {
    const units = [paths.snapshotTimerName, paths.snapshotUnitName, paths.defragTimerName, paths.defragUnitName, paths.unitName].join(" ");
    labSsh(host, [
        `systemctl disable --now ${units} >/dev/null 2>&1 || true`,
        `rm -rf /etc/etcd /var/lib/etcd ${paths.unitPath} ${paths.snapshotUnitPath} ${paths.snapshotTimerPath} ${paths.snapshotScriptPath}`,
        `rm -rf ${paths.defragUnitPath} ${paths.defragTimerPath} ${paths.defragScriptPath}`,
        `rm -rf ${paths.stagingDir} ${paths.stateDir} ${paths.binDir}/etcd ${paths.binDir}/etcdctl ${paths.binDir}/etcdutl`,
        `systemctl daemon-reload; systemctl reset-failed ${units} >/dev/null 2>&1 || true`,
    ].join("; "));
}

/**
 * A suite's clean-up: the scratch stack's state removed and the hosts wiped by hand. Faster than an
 * engine `destroy` (one more engine run per suite), which the suites that test destroy run themselves.
 */
export async function discardStack(scratch: ScratchStack | undefined, size: number): Promise<void> {
    await scratch?.dispose();
    wipeHosts(size);
}

/**
 * What must be gone from a host after destroy (empty when clean). With `dataKept` (a stack with
 * purgeDataOnDestroy false) the data dir must stay, holding the member's data, and is not listed.
 */
export function leftovers(host: string, opts: { dataKept?: boolean } = {}): string {
    return labSsh(host, [
        `systemctl list-unit-files ${paths.unitName} --no-legend | grep . && echo unit-left`,
        `for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = etcd ] && echo process-left; done`,
        `ls ${paths.binDir}/etcd ${paths.binDir}/etcdctl ${paths.binDir}/etcdutl 2>/dev/null`,
        `ls -d ${paths.stateDir} ${paths.stagingDir} 2>/dev/null`,
        opts.dataKept ? `ls -A /etc/etcd 2>/dev/null; [ -d /var/lib/etcd/member/wal ] || echo data-not-kept` : `ls -A /etc/etcd /var/lib/etcd 2>/dev/null`,
        `true`,
    ].join("; ")).stdout.trim();
}


/** The PID of the etcd service on a lab host ("0" when it is not running). */
export function mainPid(host: string): string {
    return labSsh(host, `systemctl show -p MainPID --value ${paths.unitName}`).stdout.trim();
}

/** Indents engine or host output under a mocha test line. */
export function indent(text: string): string {
    return text.trimEnd().replace(/^/gm, "      ");
}

/** The admin client of a deployed scratch stack, from its outputs (CA bundle, admin certificate and key). */
export async function adminCredentials(scratch: ScratchStack, etcdctl: Etcdctl, label = "admin"): Promise<Credentials> {
    const o = await scratch.stack.outputs();
    return etcdctl.credentials(label, String(o["caCertPem"].value),
        { certPem: String(o["adminCertPem"].value), privateKeyPem: String(o["adminKeyPem"].value) });
}

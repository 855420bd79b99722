/**
 * Every path, file mode, port and default the program writes to a host, in one place
 * (the etcdadm way): a reviewer can see at a glance what lands where.
 */

/** Default directories on each member host. All are overridable in the stack config. */
export const defaultDirs = {
    /** etcd's data directory (the member's WAL and snapshots). Mode 0700, owned by etcd. */
    data: "/var/lib/etcd",
    /** Configuration directory holding the rendered etcd config file. */
    config: "/etc/etcd",
    /** Certificates and keys. Mode 0700, owned by etcd. */
    pki: "/etc/etcd/pki",
} as const;

/** Where binaries are installed. */
export const binDir = "/usr/local/bin";

/**
 * Staging directory for files copied over SFTP as the SSH login (a restore's snapshot, checked by
 * its sha256 before use). Not for releases: root runs those (releaseDir).
 */
export const stagingDir = "/var/tmp/etcd-stack";

/** The program's own state on a host, root only. */
export const stateDir = "/var/lib/etcd-stack";

/**
 * Staged release tarballs, unpacked beside themselves: root only (mode modes.releaseDir, owned by
 * the user the steps run as, root), since root installs what is here. A directory found owned by
 * another user, writable by group or others, or a symlink is refused, not repaired.
 */
export const releaseDir = `${stateDir}/releases`;
/**
 * A host's download of the release gives up after this many seconds without a connection, or below
 * 1 KiB/s: a stalled mirror fails the step naming the host, instead of holding the up forever.
 */
export const downloadStallSeconds = 60;

/** Snapshots: before an upgrade and scheduled ones (root only: a snapshot holds every key). */
export const snapshotDir = "/var/backups/etcd";

/** Where the program's systemd units go. */
export const systemdUnitDir = "/etc/systemd/system";

/** The systemd unit, owned by this program. */
export const unitName = "etcd.service";
export const unitPath = `${systemdUnitDir}/${unitName}`;

/** Scheduled snapshots: the script, its unit and timer, and the client certificate it uses. */
export const snapshotScriptPath = "/usr/local/sbin/etcd-snapshot";
export const snapshotUnitName = "etcd-snapshot.service";
export const snapshotTimerName = "etcd-snapshot.timer";
export const snapshotUnitPath = `${systemdUnitDir}/${snapshotUnitName}`;
export const snapshotTimerPath = `${systemdUnitDir}/${snapshotTimerName}`;
export const snapshotCertFiles = { cert: "snapshot.crt", key: "snapshot.key" } as const;

/**
 * Copies of scheduled snapshots off the member (etcd:snapshots.copyTo): the script the snapshot
 * job ends with, and in the pki dir the member's own SSH key for the destination (root only, like
 * the job's client key: the job runs as root) and the destination's pinned host key.
 */
export const snapshotCopyScriptPath = "/usr/local/sbin/etcd-snapshot-copy";
export const snapshotCopyFiles = { key: "snapshot-copy.key", knownHosts: "snapshot-copy.known_hosts" } as const;
/** The name the destination's host key is pinned under in that known_hosts file (ssh's HostKeyAlias). */
export const snapshotCopyHostAlias = "etcd-snapshot-copy";
/** SSH gives up on a destination that does not answer within this many seconds, or stops answering for 4 × 15 s. */
export const snapshotCopyConnectTimeoutSeconds = 15;
/** The whole copy (connect, upload, rename, retention) is stopped after this many seconds: a stalled copy fails the job. */
export const snapshotCopyTimeoutSeconds = 1800;

/** Scheduled defragmentation (on one member, for all): the script, its unit and timer, its client certificate. */
export const defragScriptPath = "/usr/local/sbin/etcd-defrag";
export const defragUnitName = "etcd-defrag.service";
export const defragTimerName = "etcd-defrag.timer";
export const defragUnitPath = `${systemdUnitDir}/${defragUnitName}`;
export const defragTimerPath = `${systemdUnitDir}/${defragTimerName}`;
export const defragCertFiles = { cert: "defrag.crt", key: "defrag.key" } as const;

/** The service account etcd runs as. */
export const etcdUser = "etcd";
export const etcdGroup = "etcd";

/** Default ports (etcd's registered ports, plus the conventional metrics port). */
export const defaultPorts = {
    client: 2379,
    peer: 2380,
    metrics: 2381,
} as const;

/** File modes as octal strings, the form `install -m` takes. */
export const modes = {
    dataDir: "0700",
    pkiDir: "0700",
    configDir: "0755",
    privateKey: "0600",
    certificate: "0644",
    config: "0644",
    unit: "0644",
    binary: "0755",
    releaseDir: "0700",
    /** A pinned host key (known_hosts): public, but only root writes it. */
    knownHosts: "0644",
} as const;

/**
 * The common name of every member's peer certificate, and the only one the peer port accepts
 * (etcd's allowed-cn): a client certificate from the same CA (admin, apiserver…) cannot pose as a member.
 */
export const peerCommonName = "etcd-peer";

/** Names of the files inside the pki dir. */
export const pkiFiles = {
    ca: "ca.crt",
    serverCert: "server.crt",
    serverKey: "server.key",
    peerCert: "peer.crt",
    peerKey: "peer.key",
} as const;

/**
 * Inside the config dir: the digest of everything the running etcd read when it last (re)started.
 * A step whose inputs changed only in ways etcd never reads (SSH connection, destroy policy)
 * finds the same digest and restarts nothing.
 */
export const appliedInputsFile = "etcd-stack.applied";

/** Inside the config dir: the stack's members (name, peer URL, client URL), read by the join and promote steps. */
export const membersFile = "etcd-stack.members";

/** Inside the config dir: how this member joined (initial-cluster and its state), decided once. */
export const joinRecordFile = "etcd-stack.join";

/** Inside the config dir: the restores (snapshot ids) this host has carried out, so each happens once. */
export const restoredFile = "etcd-stack.restored";

/** Name of the etcd config file inside the config dir. */
export const configFileName = "etcd.conf.yml";

/** Binaries shipped in an etcd release tarball. etcdutl exists from 3.5 on. */
export const releaseBinaries = ["etcd", "etcdctl", "etcdutl"] as const;

/**
 * Beside a staged release tarball: its sha256 on the first line (`tarball <sha256>`), then
 * `sha256sum` lines of the binaries inside. Written when the tarball is unpacked, so checking the
 * installed binaries reads three files instead of unpacking the tarball three times.
 */
export const releaseSumsSuffix = ".sha256sums";

/** Beside a staged release tarball: the directory it is unpacked into, which the install step copies from. */
export const releaseUnpackedSuffix = ".d";

/** The official release tarball, by version and arch. Users may point elsewhere (a mirror). */
export const defaultReleaseUrlTemplate =
    "https://github.com/etcd-io/etcd/releases/download/v{version}/etcd-v{version}-linux-{arch}.tar.gz";

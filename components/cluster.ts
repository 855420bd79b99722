/**
 * The whole cluster: PKI, one EtcdMember per host, and the health gate.
 *
 * Ordering is the point of this file. First, an edit that removes members is checked against the
 * cluster's quorum (removalCheck.ts): every member's first step waits for it. A brand-new cluster's
 * members then start together (the start script does not wait for Type=notify readiness; the
 * health gate waits for all). From the stack's second run on, members form a roll: member i's
 * binaries, files, join and service all wait for member i-1's service and promotion, so a
 * scale-up adds one learner at a time, and a later change reaches one host at a time: write,
 * restart, healthy, then the next host's files. A leading member hands leadership to the member the
 * roll reaches last, which hands it back to one already done: the leader restarts last, and is
 * never simply killed. After the roll, a declared restore rebuilds every member from its snapshot
 * (restore.ts); then the membership (membership.ts) removes members the stack no longer lists and
 * puts back what was changed by hand; then the cluster's health gate fails the update naming every
 * member that did not become healthy.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HostFilesProvider } from "./host/hostFiles";
import { EtcdMember } from "./member/member";
import { ClusterMembership } from "./membership/membership";
import { Connection, remoteStep } from "./host/remoteStep";
import { ScheduledSnapshots } from "./maintenance/snapshots";
import { ScheduledDefrag } from "./maintenance/defrag";
import { IssuedCertificate } from "./pki/certificateExpiry";
import { CertificateAuthority, KeyAlgorithm, LeafCertificate, MemberCertificates, certificateLifetime, clientCertificate } from "./pki/pki";
import { renderHealthGateScript } from "./membership/renderMembership";
import { clientUrl, peerUrl } from "./spec/where";
import { RemovalCheck } from "./plan/removalCheck";
import { ClusterRestore } from "./maintenance/restore";
import { ClusterSpec, MemberSpec } from "./spec/types";

export interface EtcdClusterArgs {
    /** The validated cluster spec (see spec/parse.ts). */
    spec: ClusterSpec;
    /**
     * SSH private key (PEM/OpenSSH) for every member host, and the bastion unless it has its own.
     * Secret. None: the connections carry no key and authenticate through the operator's ssh-agent.
     */
    sshPrivateKey?: pulumi.Input<string>;
    /** The bastion's own SSH private key (secret), for the hop to the bastion only; default: sshPrivateKey. */
    bastionPrivateKey?: pulumi.Input<string>;
    /** Bring-your-own CA certificate (PEM), when spec.ca.bringYourOwn. */
    caCertPem?: pulumi.Input<string>;
    /** Bring-your-own CA private key (PEM, secret), when spec.ca.bringYourOwn. */
    caPrivateKeyPem?: pulumi.Input<string>;
}

export class EtcdCluster extends pulumi.ComponentResource {
    /** Client URLs of every member, comma-separated, as etcdctl's --endpoints takes them. */
    public readonly clientEndpoints: pulumi.Output<string>;
    public readonly caCertPem: pulumi.Output<string>;
    /** The admin client certificate (CN root). */
    public readonly adminCertPem: pulumi.Output<string>;
    /** Secret. */
    public readonly adminKeyPem: pulumi.Output<string>;
    /** Every issued client certificate by name (keys are secrets). */
    public readonly clientCertificates: Record<string, LeafCertificate>;
    /** Member names in declaration order. */
    public readonly memberNames: string[];
    /** Peer URL per member name. */
    public readonly peerUrls: Record<string, string>;
    /** The initial-cluster-token, stable for the life of the stack. */
    public readonly token: pulumi.Output<string>;
    public readonly members: EtcdMember[];
    /** Every certificate the cluster uses (CAs in use, members', clients', timers'), for the `certificates` output (certificateExpiry.ts). */
    public readonly issuedCertificates: IssuedCertificate[];
    /** The provider instance of the cluster's dynamic resources (host files, checks, membership); the plan's record uses it too. */
    public readonly hostFilesProvider: pulumi.ProviderResource;
    /** Each member's SSH connection (its key secret), by name: the plan's record reads the live health through them on a refresh. */
    public readonly connections: Record<string, Connection>;
    /** With `snapshots.copyTo`: each snapshotting member's authorized_keys line for the destination, by name (public). */
    public readonly snapshotCopyKeys: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:Cluster", name, {}, opts);
        const spec = args.spec;
        const algorithm: KeyAlgorithm = { algorithm: spec.ca.algorithm, rsaBits: spec.ca.rsaBits };

        const tokenSuffix = new random.RandomId(`${name}-token`, { byteLength: 8 }, { parent: this });
        this.token = pulumi.interpolate`${spec.clusterName}-${tokenSuffix.hex}`;

        const cas = certificateAuthorities(name, spec, args, this);
        // Members' certificates come from the issuing generation; clients move first, to the
        // newest trusted one, so during a rotation they hold new certificates before any member
        // stops trusting the old CA. Members and clients trust the bundle of trusted generations.
        const ca = cas.get(spec.ca.generation)!;
        const clientCa = cas.get(Math.max(...spec.ca.trust))!;
        const trusted = spec.ca.trust.map((g) => cas.get(g)!.certPem);
        // A CA in state that no member or client trusts any more (an old generation) is left out.
        const caName = (g: number) => g === 1 ? "ca" : `ca-g${g}`;
        const issued: IssuedCertificate[] = [...new Set([spec.ca.generation, ...spec.ca.trust])].sort((a, b) => a - b).map((g) => ({
            name: caName(g), certPem: cas.get(g)!.certPem, notAfter: cas.get(g)!.validityEndTime, renewal: "CA rotation" as const,
        }));
        const leaf = (n: string, c: LeafCertificate): IssuedCertificate => ({ name: n, certPem: c.certPem, notAfter: c.validityEndTime, renewal: "up" });
        const trustedPem = trusted.length === 1 ? trusted[0] : pulumi.all(trusted).apply((ps) => ps.map((p) => p.trimEnd() + "\n").join(""));

        this.clientCertificates = {};
        for (const c of spec.clientCertificates) {
            this.clientCertificates[c.name] = clientCertificate(`${name}-client-${c.name}`, c, clientCa, algorithm, certificateLifetime(spec), { parent: this });
        }

        // Host files are written by a dynamic provider of their own: the engine's default one takes
        // the whole stack config as its inputs, so every config edit would show it as changed.
        // Members give it to their dynamic resources, not as a component's `providers`: their commands
        // then need not wait for this Node.js provider to start (about a second here).
        const hostFiles = new HostFilesProvider(`${name}-host-files`, { parent: this });
        this.hostFilesProvider = hostFiles;

        // A stack edit that removes members is checked against the cluster's quorum before anything
        // reaches a host (removalCheck.ts).
        const connections = Object.fromEntries(spec.members.map((m) => [m.name, connectionFor(spec, m, args.sshPrivateKey, args.bastionPrivateKey)]));
        this.connections = connections;
        const removalCheck = new RemovalCheck(`${name}-removal-check`, { spec, connections }, { parent: this, provider: hostFiles });

        // A new cluster's members start together, as a hand-written bootstrap would: nothing runs on
        // a host yet, so nothing can lose a quorum, and the health gate waits for all of them. From
        // the second run on (or when a member adopts an etcd that already runs), the roll below
        // orders every member after the one before. Only then may a join bootstrap (member.ts).
        const together = spec.members.some((m) => m.adopt) ? pulumi.output(false) : removalCheck.newStack;

        // Every host's preflight before any host changes: each member's prepare waits for all of them,
        // known once every member below is declared.
        let declared!: (preflights: pulumi.Resource[]) => void;
        const preflights = pulumi.output(new Promise<pulumi.Resource[]>((resolve) => { declared = resolve; }));

        this.members = [];
        let previous: pulumi.Resource[] = [];
        for (const m of spec.members) {
            const before = previous;
            const certificates = new MemberCertificates(`${m.name}-certs`, {
                ca, member: m, algorithm, lifetime: certificateLifetime(spec),
            }, { parent: this });
            const member = new EtcdMember(m.name, {
                spec,
                member: m,
                connection: connections[m.name],
                certificates,
                caCertPem: trustedPem,
                token: this.token,
                after: together.apply((t) => t ? [] : before),
                newStack: together,
                checkedBy: [removalCheck],
                preflights,
                hostFilesProvider: hostFiles,
            }, { parent: this });
            this.members.push(member);
            issued.push(leaf(`member/${m.name}/server`, certificates.server), leaf(`member/${m.name}/peer`, certificates.peer));
            previous = member.rollDone;
        }

        declared(this.members.map((m) => m.preflight));
        issued.push(...spec.clientCertificates.map((c) => leaf(`client/${c.name}`, this.clientCertificates[c.name])));

        // Scheduled snapshots, on the chosen members once they run (they never restart etcd).
        const snapshots = spec.snapshots;
        if (snapshots) {
            for (const [i, m] of spec.members.entries()) {
                if (!snapshots.members.includes(m.name)) continue;
                const job = new ScheduledSnapshots(`${m.name}-snapshots`, {
                    spec, snapshots, member: m, connection: connections[m.name], ca: clientCa, algorithm,
                    after: this.members[i].rollDone,
                }, { parent: this, providers: [hostFiles] });
                issued.push(leaf(`timer/snapshot-${m.name}`, job.client));
                if (job.copyAuthorizedKey) this.snapshotCopyKeys[m.name] = job.copyAuthorizedKey;
            }
        }

        // A restore from a snapshot (etcd:restore) stops every member once every member had its turn
        // of the roll (which starts no member while the restore is pending on its host:
        // restorePendingGuard), rebuilds each one's data from the snapshot and starts them together.
        // It comes before the membership step: after a quorum loss, the members moved to new hosts
        // and the survivors form the restored cluster, and only then is there a cluster to list.
        const rolled = this.members.flatMap((m) => m.rollDone);
        const restore = spec.restore ? new ClusterRestore(`${name}-restore`, {
            spec, restore: spec.restore, token: this.token, after: rolled, prepared: this.members.map((m) => m.prepared),
            inputsDigests: this.members.map((m) => m.inputsDigest),
            connections: spec.members.map((m) => connections[m.name]),
        }, { parent: this }) : undefined;

        // The cluster's members brought to the stack's list once every member had its turn: members
        // the stack no longer lists leave (one at a time, quorum checked) before their hosts are
        // stopped and cleaned, and members removed or added by hand are put back (membership.ts).
        const membership = new ClusterMembership(`${name}-membership`, {
            spec,
            connections,
        }, { parent: this, provider: hostFiles, dependsOn: [...rolled, ...(restore?.started ?? [])] });

        // Scheduled defragmentation, run from one member's host for every member, once the
        // membership is the stack's (defrag.ts).
        if (spec.defrag) {
            const runner = spec.members.find((m) => m.name === spec.defrag!.member)!;
            const job = new ScheduledDefrag(`${name}-defrag`, {
                spec, defrag: spec.defrag, member: runner, connection: connections[runner.name], ca: clientCa, algorithm,
                after: [membership],
            }, { parent: this, providers: [hostFiles] });
            issued.push(leaf("timer/defrag", job.client));
        }
        this.issuedCertificates = issued;

        // The gate re-runs whenever any member's inputs changed (or a restore happened), so every
        // `up` that touched a member ends with the whole cluster verified healthy: from the first
        // member's host, every member's client URL and the member list.
        const allDigests = pulumi.all(this.members.map((m) => m.inputsDigest)).apply((ds) => ds.join(","));
        const names = spec.members.map((m) => m.name);
        const restored = spec.restore ? `# restored from snapshot ${spec.restore.id}\n` : "";
        const gateScript = allDigests.apply((d) => `# inputs ${d}\n${restored}` + renderHealthGateScript(spec));
        const gate = remoteStep(`${name}-health`, {
            connection: connections[spec.members[0].name],
            label: "cluster health gate",
            create: gateScript,
            update: gateScript,
        }, { parent: this, dependsOn: [membership] });

        // Outputs resolve only after the gate: an endpoint is published once it is known healthy.
        const afterGate = <T>(v: pulumi.Input<T>) => pulumi.all([v, gate.stdout]).apply(([x]) => x as T);
        this.clientEndpoints = afterGate(spec.members.map((m) => clientUrl(spec, m)).join(","));
        this.caCertPem = pulumi.output(trustedPem);
        this.adminCertPem = this.clientCertificates["admin"].certPem;
        this.adminKeyPem = this.clientCertificates["admin"].privateKeyPem;
        this.memberNames = names;
        this.peerUrls = Object.fromEntries(spec.members.map((m) => [m.name, peerUrl(spec, m)]));

        this.registerOutputs({
            clientEndpoints: this.clientEndpoints,
            caCertPem: this.caCertPem,
            adminCertPem: this.adminCertPem,
            adminKeyPem: this.adminKeyPem,
            memberNames: this.memberNames,
            peerUrls: this.peerUrls,
        });
    }
}

/**
 * The cluster's CAs by generation: every generation up to the newest one used is declared (a
 * generated CA is protected, and an old one stays in state with its key, never on a host);
 * generation 1 may be brought (`etcd:caCertPem`/`caKeyPem`) and is then needed only while used.
 */
function certificateAuthorities(name: string, spec: ClusterSpec, args: EtcdClusterArgs, parent: pulumi.Resource): Map<number, CertificateAuthority> {
    const cas = new Map<number, CertificateAuthority>();
    const used = [spec.ca.generation, ...spec.ca.trust];
    for (let g = 1; g <= Math.max(...used); g++) {
        const brought = g === 1 && spec.ca.bringYourOwn;
        if (brought && !used.includes(g)) continue;
        cas.set(g, new CertificateAuthority(g === 1 ? `${name}-ca` : `${name}-ca-g${g}`, {
            spec: { ...spec.ca, bringYourOwn: brought },
            commonName: g === 1 ? `${spec.clusterName}-etcd-ca` : `${spec.clusterName}-etcd-ca-g${g}`,
            ...(brought ? { certPem: args.caCertPem, privateKeyPem: args.caPrivateKeyPem } : {}),
            protect: spec.protectCa,
        }, { parent }));
    }
    return cas;
}

/**
 * The SSH connection to a member's host, its host key pinned. Only the private keys are secret (a
 * secret leaf of a plain object stays at that leaf when inputs are serialized), so a preview of
 * the project's own resources shows a changed address, port, login, host key or bastion. Wrapping
 * it again (pulumi.output/all of the whole object) would hide all of it; @pulumi/command's
 * remote.Command and CopyToRemote do so themselves (their schema makes `connection` secret).
 *
 * Without a key, a hop carries none and its login goes through the ssh-agent: the command
 * provider and ssh.ts read SSH_AUTH_SOCK when they connect. The socket's path is never an input:
 * it changes with every login session, and every step would show as changed.
 */
export function connectionFor(spec: ClusterSpec, member: MemberSpec, privateKey?: pulumi.Input<string>, bastionPrivateKey?: pulumi.Input<string>): Connection {
    const bastion = spec.bastion;
    const key = privateKey === undefined ? undefined : pulumi.secret(privateKey);
    const bastionKey = bastionPrivateKey === undefined ? key : pulumi.secret(bastionPrivateKey);
    return {
        host: member.sshHost,
        port: member.sshPort,
        user: member.sshUser,
        ...(key ? { privateKey: key } : {}),
        ...(member.hostKey ? { hostKey: member.hostKey } : {}),
        dialErrorLimit: 15,
        perDialTimeout: 10,
        ...(bastion ? {
            proxy: { host: bastion.host, port: bastion.port, user: bastion.user, ...(bastionKey ? { privateKey: bastionKey } : {}), ...(bastion.hostKey ? { hostKey: bastion.hostKey } : {}) },
        } : {}),
    };
}

/**
 * One etcd member on one host, in explicit phases:
 * host key check (from the operator's machine, or through the bastion) → preflight (read-only; every member's prepare
 * waits for every member's) → host prep (the checks again, user, dirs) → binaries →
 * certificates, keys and member list (one HostFiles write) → join (how this member enters the cluster, decided once) →
 * config and unit (another HostFiles write, which also watches the unit and binaries) → service, then promotion (a learner,
 * once caught up) in the same step.
 *
 * The service is *started* without waiting (members of a new cluster must start together,
 * see cluster.ts); a later change to any file it reads *restarts* it and waits until it is
 * healthy, and the cluster chains members so that happens one member at a time.
 */
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as paths from "../base/paths";
import { sha256File } from "../spec/config";
import { HostFiles } from "../host/hostFiles";
import { HostKeyCheck } from "../host/hostKeyCheck";
import { StagedRelease } from "../host/stagedRelease";
import { HostChecks } from "../host/renderHostFiles";
import { MemberCertificates } from "../pki/pki";
import {
    joinPlaceholders, renderFillJoinDecision, renderForgetJoinScript, renderJoinScript, renderMembersFile, renderPromoteScript, renderUnfillJoinDecision,
} from "../membership/renderMembership";
import { Connection, remoteStep } from "../host/remoteStep";
import { renderHostKeyCheckScript } from "../host/renderHostKeyCheck";
import { stagedReleasePath } from "../host/renderRelease";
import { preflightWarningPrefix, renderEtcdConfig, renderInstallBinariesScript, renderPreflightScript, renderPrepareHostScript, renderRemoveBinariesScript, renderRemoveDirsScript, renderRepairRestartScript, renderRestartScript, renderStartScript, renderStopScript, renderUnit } from "./render";
import { renderOwnerGuard } from "../shell/guards";
import { renderSequence } from "../shell/script";
import { configPath, membersFilePath, pkiPath } from "../spec/where";
import { ClusterSpec, MemberSpec, ReleaseArch } from "../spec/types";
import { releaseUrl } from "../spec/values";

export { Connection };

export interface EtcdMemberArgs {
    spec: ClusterSpec;
    member: MemberSpec;
    /** SSH connection to this member's host (secret). */
    connection: pulumi.Input<Connection>;
    certificates: MemberCertificates;
    caCertPem: pulumi.Input<string>;
    /** The cluster's initial-cluster-token. */
    token: pulumi.Input<string>;
    /**
     * The previous member's step of the roll (its service, promotion included). This member's binaries, files and
     * restart all wait for it: a change reaches this host only once the member before is healthy. None for the
     * members of a new cluster, which start together (known once the stack's removal check ran: an Output).
     */
    after?: pulumi.Resource[] | pulumi.Output<pulumi.Resource[]>;
    /**
     * True in the stack's first run (and no member adopts a running etcd): only then may this
     * member's join bootstrap a new cluster, and only on a host without etcd data.
     */
    newStack: pulumi.Input<boolean>;
    /** Cluster-wide checks that must pass before anything connects to this host (the removal check). */
    checkedBy?: pulumi.Resource[];
    /**
     * Every member's preflight step: this member's prepare, the first step that changes its host (every
     * later one follows it), waits for all of them, so a problem on any host stops the run before any
     * host changes. Known once the cluster has declared every member (an Output).
     */
    preflights?: pulumi.Input<pulumi.Resource[]>;
    /**
     * The provider of this member's dynamic resources (host files, staged release, host key check
     * through a bastion). Given to them, not to this component: a component with `providers` is
     * registered only once they exist, and its commands (host key check, preflight) would wait for
     * that Node.js provider to start.
     */
    hostFilesProvider: pulumi.ProviderResource;
}

/** Parses the `arch=` line the preflight script prints. */
export function parseArch(stdout: string): ReleaseArch {
    const m = /^arch=(amd64|arm64)$/m.exec(stdout);
    if (!m) throw new Error(`preflight printed no supported arch: ${JSON.stringify(stdout)}`);
    return m[1] as ReleaseArch;
}

/** The warnings the preflight printed (`warning: …` lines, e.g. a slow disk), without their prefix. */
export function preflightWarnings(stdout: string): string[] {
    return stdout.split("\n").filter((l) => l.startsWith(preflightWarningPrefix)).map((l) => l.slice(preflightWarningPrefix.length).trim()).filter((l) => l !== "");
}

export class EtcdMember extends pulumi.ComponentResource {
    /** The read-only checks on this member's host (renderPreflightScript): the cluster's gate before any host changes. */
    public readonly preflight: command.remote.Command;
    /** The step that prepares this member's host (user, directories, the staging dir a restore's snapshot is copied to). */
    public readonly prepared: command.remote.Command;
    /** The member's service. */
    public readonly service: command.remote.Command;
    /** What the next member of the roll waits for: this member started (or restarted) and voting. */
    public readonly rollDone: pulumi.Resource[];
    /** Digest of everything the running etcd reads; a change restarts the member. */
    public readonly inputsDigest: pulumi.Output<string>;

    constructor(name: string, args: EtcdMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:EtcdMember", name, {}, opts);
        const { spec, member, connection, certificates } = args;
        // This member's steps that wait for its turn of the roll: after the given steps of its own.
        const after = args.after ?? [];
        const inTurn = (...own: pulumi.Resource[]): pulumi.Input<pulumi.Resource[]> =>
            pulumi.Output.isInstance(after) ? after.apply((a) => [...own, ...a]) : [...own, ...after];
        const step = (suffix: string, a: Omit<Parameters<typeof remoteStep>[1], "connection" | "label">, dependsOn: pulumi.Input<pulumi.Resource[]>) =>
            remoteStep(`${name}-${suffix}`, { connection, label: `${member.name} ${suffix}`, ...a }, { parent: this, dependsOn });

        // Phase 0: the host presents the pinned key, or the run stops with both fingerprints before
        // anything connects to it: from the operator's machine (ssh-keyscan), or through the
        // bastion, which ssh-keyscan cannot cross.
        const hostKeyCheck: pulumi.Resource[] = !member.hostKey ? []
            : spec.bastion ? [new HostKeyCheck(`${name}-host-key`, { label: member.name, connection }, { parent: this, provider: args.hostFilesProvider })]
            : [new command.local.Command(`${name}-host-key`, {
                create: `# etcd-stack: ${member.name} host key\nsh -s`,
                stdin: renderHostKeyCheckScript(member, member.hostKey),
                addPreviousOutputInEnv: false,
                triggers: [member.sshHost, member.sshPort, member.hostKey],
            }, { parent: this })];

        // Phase 1: read-only checks on the host (its own step, which every member's prepare waits
        // for: the cluster's gate), with the other members' peer ports and the disk's fsync speed;
        // then, in the prepare step, the host's own checks again and the user and directories. The
        // destroy policy for the data dir lives there, not in the service, so changing it restarts nothing.
        const preflightScript = certificates.server.validityStartTime.apply((nb) => renderPreflightScript(spec, member, nb));
        const checked = [...hostKeyCheck, ...(args.checkedBy ?? [])];
        this.preflight = step("preflight", { create: preflightScript, update: preflightScript }, checked);
        // What the preflight warns about (a slow disk) stops nothing: a warning on this member, from
        // its last run's output (in every run while it stands, until the preflight runs again).
        this.preflight.stdout.apply((out) => {
            for (const w of preflightWarnings(out ?? "")) pulumi.log.warn(`${member.name} (${member.sshHost}): ${w}`, this);
        });
        const gate = [...checked, this.preflight];
        const hostChecks = certificates.server.validityStartTime.apply((nb) => renderPreflightScript(spec, member, nb, { gate: false }));
        const checkAndPrepare = hostChecks.apply((checks) => renderSequence(checks, renderPrepareHostScript(spec)));
        const prepare = step("prepare", {
            create: checkAndPrepare,
            update: checkAndPrepare,
            delete: renderRemoveDirsScript(spec, member),
        }, args.preflights === undefined ? gate : pulumi.output(args.preflights).apply((all) => [...gate, ...all.filter((r) => r !== this.preflight)]));

        this.prepared = prepare;

        // Phase 2: binaries, from a URL or a local tarball, staged on the host outside the roll
        // (checksum checked there), then installed in this member's turn (versions checked).
        const binaries = this.installBinaries(name, spec, member, connection, prepare, inTurn, args.hostFilesProvider);

        // Phase 3: what the join reads — certificates, keys, the member list — in one write, in this
        // member's turn of the roll. Keys are secrets and go only to this host.
        const config = pulumi.output(args.token).apply((token) => renderEtcdConfig(spec, member, { token, ...joinPlaceholders }));
        const unit = renderUnit(spec, member);
        // Certificates (not keys: a new key means a new certificate), config, unit and version feed
        // the digest; the restart compares it with the one the running etcd started with, so only
        // a change etcd reads restarts it.
        this.inputsDigest = pulumi.all([config, unit, args.caCertPem, certificates.server.certPem, certificates.peer.certPem])
            .apply(([...parts]) => crypto.createHash("sha256").update([spec.version, ...parts].join("\0")).digest("hex"));
        // A hand change etcd has started with is repaired and then read again, by the same restart.
        const repairRestart = renderRepairRestartScript(spec, member);
        // A removal leaves alone a host whose config names another member (a rename at the same address).
        const ownerGuard = renderOwnerGuard(spec, member);
        const owner = `${paths.etcdUser}:${paths.etcdGroup}`;
        const pem = (path: string, content: pulumi.Input<string>, mode: string) => ({ path, content, mode, owner, readByEtcd: true });
        const joinFiles = new HostFiles(`${member.name}-files`, {
            connection, label: `${member.name} files`, restartScript: repairRestart, removeGuard: ownerGuard,
            files: [
                pem(pkiPath(spec, "ca"), args.caCertPem, paths.modes.certificate),
                pem(pkiPath(spec, "serverCert"), certificates.server.certPem, paths.modes.certificate),
                pem(pkiPath(spec, "serverKey"), certificates.server.privateKeyPem, paths.modes.privateKey),
                pem(pkiPath(spec, "peerCert"), certificates.peer.certPem, paths.modes.certificate),
                pem(pkiPath(spec, "peerKey"), certificates.peer.privateKeyPem, paths.modes.privateKey),
                { path: membersFilePath(spec), content: renderMembersFile(spec), mode: paths.modes.config, owner: "root:root", readByEtcd: false },
            ],
        }, { parent: this, providers: [args.hostFilesProvider], dependsOn: inTurn(prepare) });

        // Phase 3b: how this member enters the cluster — bootstrap with the others, or `member add`
        // as a learner — decided on its first run with its own certificate and recorded on the
        // host; later runs print the record, so the member list growing never rewrites this config.
        // Whether it may bootstrap when no leader answers depends on the run (JoinRun): created in
        // the stack's first run, or later; an update (host rebuilt or moved) never bootstraps.
        const join = step("join", {
            create: renderJoinScript(spec, member, "added"),
            createAlternative: { step: "create_in_new_stack", script: renderJoinScript(spec, member, "new"), use: args.newStack },
            update: renderJoinScript(spec, member, "existing"),
            delete: renderForgetJoinScript(spec, member),
        }, inTurn(binaries.install, joinFiles.write));

        // Phase 3c: the config (completed on the host with the join's decision, see
        // renderFillJoinDecision) and the unit — a unit taken over may have the same name, so it is
        // written once the join stopped that one. Its refresh also checks the unit is enabled and
        // running and the binaries are those of the staged release.
        const configFiles = new HostFiles(`${member.name}-config`, {
            connection, label: `${member.name} config`, restartScript: repairRestart, removeGuard: ownerGuard, checks: binaries.checks,
            files: [
                { path: configPath(spec), content: config, mode: paths.modes.config, owner: "root:root", fill: renderFillJoinDecision(spec), unfill: renderUnfillJoinDecision(), readByEtcd: true },
                { path: paths.unitPath, content: unit, mode: paths.modes.unit, owner: "root:root", readByEtcd: true, systemdUnit: true },
            ],
        }, { parent: this, providers: [args.hostFilesProvider], dependsOn: inTurn(binaries.install, join) });

        // Phase 4: the service, started (a new member) or restarted when the digest changed; then, in
        // the same session, a member added as a learner becomes a voting member once it has caught up.
        const promote = renderPromoteScript(spec, member);
        this.service = step("service", {
            create: this.inputsDigest.apply((d) => renderSequence(renderStartScript(spec, d), promote)),
            update: this.inputsDigest.apply((d) => renderSequence(renderRestartScript(spec, member, d), promote)),
            delete: renderStopScript(spec, member),
        }, inTurn(binaries.install, join, joinFiles.write, configFiles.write));
        this.rollDone = [this.service];

        this.registerOutputs({ inputsDigest: this.inputsDigest });
    }

    private installBinaries(name: string, spec: ClusterSpec, member: MemberSpec, connection: pulumi.Input<Connection>,
        prepare: command.remote.Command, inTurn: (...own: pulumi.Resource[]) => pulumi.Input<pulumi.Resource[]>,
        provider: pulumi.ProviderResource): { install: command.remote.Command; checks: pulumi.Input<HostChecks> } {
        const install = (script: pulumi.Input<string>, dependsOn: pulumi.Resource[]) => remoteStep(`${name}-binaries`, {
            connection, label: `${member.name} binaries`, create: script, update: script, delete: renderRemoveBinariesScript(spec, member),
        }, { parent: this, dependsOn: inTurn(...dependsOn) });
        // Staging the release changes nothing etcd uses, so it is not part of the roll: every host
        // stages at once, and only the install waits for the member's turn. A member moved to
        // another machine (address or host key) stages it there again.
        const staged = (tarball: string, sha256: pulumi.Input<string>, source: pulumi.Input<{ file: string } | { url: string }>) =>
            new StagedRelease(`${name}-tarball`, { label: `${member.name} tarball`, connection, tarball, sha256, source }, { parent: this, provider, dependsOn: [prepare] });
        if (spec.binary.kind === "local") {
            const sha256 = sha256File(spec.binary.tarballPath);
            const tarball = `${paths.releaseDir}/etcd-v${spec.version}-${sha256.slice(0, 12)}.tar.gz`;
            const release = staged(tarball, sha256, { file: path.resolve(spec.binary.tarballPath) });
            return {
                install: install(renderInstallBinariesScript(spec, tarball, sha256), [release]),
                checks: { unit: paths.unitName, binaries: { tarball, sha256 } },
            };
        }
        const source = spec.binary;
        const arch = prepare.stdout.apply((out) => {
            const arch = parseArch(out);
            const sum = source.sha256[arch];
            if (!sum) {
                throw new pulumi.ResourceError(`no sha256 configured for arch ${arch} (etcd:binary.sha256.${arch}, ` +
                    `or etcd:binary.sha256["${spec.version}"].${arch} where the sums are given per version)`, this);
            }
            return { arch, sum };
        });
        const tarball = stagedReleasePath(spec);
        const release = staged(tarball, arch.apply(({ sum }) => sum), arch.apply(({ arch }) => ({ url: releaseUrl(source.urlTemplate, spec.version, arch) })));
        return {
            install: install(arch.apply(({ sum }) => renderInstallBinariesScript(spec, tarball, sum)), [release]),
            checks: arch.apply(({ sum }) => ({ unit: paths.unitName, binaries: { tarball, sha256: sum } })),
        };
    }
}

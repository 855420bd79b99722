/**
 * One etcd member on one host, in explicit phases:
 * host key check (from the operator's machine) → preflight → host prep (user, dirs) → binaries, certificates and keys → join (how this member
 * enters the cluster, decided once) → config, unit → service → promote (a learner, once caught up).
 *
 * The service is *started* without waiting (members of a new cluster must start together,
 * see cluster.ts); a later change to any file it reads *restarts* it and waits until it is
 * healthy, and the cluster chains members so that happens one member at a time.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as paths from "./paths";
import { sha256File } from "./config";
import { HostFile } from "./hostFile";
import { MemberCertificates } from "./pki";
import {
    joinPlaceholders, renderFillJoinDecision, renderForgetJoinScript, renderJoinScript, renderMembersFile, renderPromoteScript,
} from "./renderMembership";
import { Connection, remoteStep } from "./remoteStep";
import {
    configPath, membersFilePath, pkiPath, renderEtcdConfig, renderHostKeyCheckScript, renderInstallBinariesScript, renderPreflightScript,
    renderPrepareHostScript, renderRemoveBinariesScript, renderRemoveDirsScript, renderRestartScript,
    renderStartScript, renderStopScript, renderUnit,
} from "./render";
import { ClusterSpec, MemberSpec, ReleaseArch, releaseUrl } from "./spec";

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
     * The previous member's step of the roll (its service and promotion). This member's binaries, files and
     * restart all wait for it: a change reaches this host only once the member before is healthy.
     */
    after?: pulumi.Resource[];
}

/** Parses the `arch=` line the preflight script prints. */
export function parseArch(stdout: string): ReleaseArch {
    const m = /^arch=(amd64|arm64)$/m.exec(stdout);
    if (!m) throw new Error(`preflight printed no supported arch: ${JSON.stringify(stdout)}`);
    return m[1] as ReleaseArch;
}

export class EtcdMember extends pulumi.ComponentResource {
    /** The member's service. */
    public readonly service: command.remote.Command;
    /** What the next member of the roll waits for: this member started (or restarted) and voting. */
    public readonly rollDone: pulumi.Resource[];
    /** Digest of everything the running etcd reads; a change restarts the member. */
    public readonly inputsDigest: pulumi.Output<string>;

    constructor(name: string, args: EtcdMemberArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:EtcdMember", name, {}, opts);
        const { spec, member, connection, certificates } = args;
        const after = args.after ?? [];
        const step = (suffix: string, a: Omit<Parameters<typeof remoteStep>[1], "connection" | "label">, dependsOn: pulumi.Resource[]) =>
            remoteStep(`${name}-${suffix}`, { connection, label: `${member.name} ${suffix}`, ...a }, { parent: this, dependsOn });

        // Phase 0, on the operator's machine: the host presents the pinned key, or the run stops
        // with both fingerprints before any connection. (Through a bastion the connection's pin
        // alone refuses an impostor: ssh-keyscan cannot hop.)
        const hostKeyCheck = member.hostKey && !spec.bastion ? [new command.local.Command(`${name}-host-key`, {
            create: `# etcd-stack: ${member.name} host key\nsh -s`,
            stdin: renderHostKeyCheckScript(member, member.hostKey),
            addPreviousOutputInEnv: false,
            triggers: [member.sshHost, member.sshPort, member.hostKey],
        }, { parent: this })] : [];

        // Phase 1: read-only checks. Fails before anything changes on the host.
        const preflight = step("preflight", {
            create: certificates.server.validityStartTime.apply((nb) => renderPreflightScript(spec, member, nb)),
        }, hostKeyCheck);

        // Phase 2: user and directories. The destroy policy for the data dir lives here, not in
        // the service, so changing it restarts nothing.
        const prepare = step("prepare", {
            create: renderPrepareHostScript(spec),
            update: renderPrepareHostScript(spec),
            delete: renderRemoveDirsScript(spec),
        }, [preflight]);

        // Phase 3: binaries, from a URL or a local tarball; checksum and versions checked on the host.
        const binaries = this.installBinaries(name, spec, member, connection, preflight, prepare, after);

        // Phase 4: files, in this member's turn of the roll. Keys are secrets and go only to this host.
        const owner = `${paths.etcdUser}:${paths.etcdGroup}`;
        const file = (path: string, content: pulumi.Input<string>, mode: string, fileOwner = owner, extra: pulumi.Resource[] = [], fill?: string[]) =>
            new HostFile(`${member.name}:${path}`, { connection, path, content, mode, owner: fileOwner, fill },
                { parent: this, dependsOn: [prepare, ...extra, ...after] });
        const pki = [
            file(pkiPath(spec, "ca"), args.caCertPem, paths.modes.certificate),
            file(pkiPath(spec, "serverCert"), certificates.server.certPem, paths.modes.certificate),
            file(pkiPath(spec, "serverKey"), certificates.server.privateKeyPem, paths.modes.privateKey),
            file(pkiPath(spec, "peerCert"), certificates.peer.certPem, paths.modes.certificate),
            file(pkiPath(spec, "peerKey"), certificates.peer.privateKeyPem, paths.modes.privateKey),
        ];

        // Phase 4b: how this member enters the cluster — bootstrap with the others, or `member add`
        // as a learner — decided on its first run with its own certificate and recorded on the
        // host; later runs print the record, so the member list growing never rewrites this config.
        const membersFile = file(membersFilePath(spec), renderMembersFile(spec), paths.modes.config, "root:root");
        const join = step("join", {
            create: renderJoinScript(spec, member),
            update: renderJoinScript(spec, member),
            delete: renderForgetJoinScript(spec),
        }, [binaries, membersFile.write, ...pki.map((f) => f.write), ...after]);
        // The join's decision reaches the config on the host (see renderFillJoinDecision).
        const config = pulumi.output(args.token).apply((token) => renderEtcdConfig(spec, member, { token, ...joinPlaceholders }));
        const unit = renderUnit(spec, member);
        const files = [
            ...pki,
            membersFile,
            file(configPath(spec), config, paths.modes.config, "root:root", [join], renderFillJoinDecision(spec)),
            // A unit taken over may have the same name: ours replaces it once the join stopped it.
            file(paths.unitPath, unit, paths.modes.unit, "root:root", member.adopt ? [binaries, join] : [binaries]),
        ];

        // Phase 5: the service. Certificates (not keys: a new key means a new certificate),
        // config, unit and version feed the digest; the restart script compares it with the
        // one the running etcd started with, so only a change etcd reads restarts it.
        this.inputsDigest = pulumi.all([config, unit, args.caCertPem, certificates.server.certPem, certificates.peer.certPem])
            .apply(([...parts]) => crypto.createHash("sha256").update([spec.version, ...parts].join("\0")).digest("hex"));
        this.service = step("service", {
            create: this.inputsDigest.apply((d) => renderStartScript(spec, d)),
            update: this.inputsDigest.apply((d) => renderRestartScript(spec, member, d)),
            delete: renderStopScript(spec),
        }, [binaries, join, ...files.map((f) => f.write), ...after]);

        // Phase 6: a member added as a learner becomes a voting member once it has caught up.
        const promote = step("promote", {
            create: renderPromoteScript(spec, member),
            update: renderPromoteScript(spec, member),
        }, [this.service]);
        this.rollDone = [this.service, promote];

        this.registerOutputs({ inputsDigest: this.inputsDigest });
    }

    private installBinaries(name: string, spec: ClusterSpec, member: MemberSpec, connection: pulumi.Input<Connection>,
        preflight: command.remote.Command, prepare: command.remote.Command, after: pulumi.Resource[]): command.remote.Command {
        const install = (script: pulumi.Input<string>, dependsOn: pulumi.Resource[]) => remoteStep(`${name}-binaries`, {
            connection, label: `${member.name} binaries`, create: script, update: script, delete: renderRemoveBinariesScript(),
        }, { parent: this, dependsOn: [...dependsOn, ...after] });
        if (spec.binary.kind === "local") {
            const sha256 = sha256File(spec.binary.tarballPath);
            const stagedTarball = `${paths.stagingDir}/etcd-v${spec.version}-${sha256.slice(0, 12)}.tar.gz`;
            // Staging the tarball changes nothing etcd uses, so it is not part of the roll. The
            // provider copies again only when the file or path changes, not the connection: a
            // member moved to another machine (address or host key) needs a new copy.
            const copy = new command.remote.CopyToRemote(`${name}-tarball`, {
                connection,
                source: new pulumi.asset.FileAsset(spec.binary.tarballPath),
                remotePath: stagedTarball,
                triggers: [member.sshHost, member.sshPort, member.hostKey ?? ""],
            }, { parent: this, dependsOn: [prepare] });
            return install(renderInstallBinariesScript(spec, { stagedTarball, sha256 }), [copy]);
        }
        const source = spec.binary;
        const script = preflight.stdout.apply((out) => {
            const arch = parseArch(out);
            const sha256 = source.sha256[arch];
            if (!sha256) throw new pulumi.ResourceError(`no sha256 configured for arch ${arch} (etcd:binary.sha256.${arch})`, this);
            return renderInstallBinariesScript(spec, { url: releaseUrl(source.urlTemplate, spec.version, arch), sha256 });
        });
        return install(script, [prepare]);
    }
}

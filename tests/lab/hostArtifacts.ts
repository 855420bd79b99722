/**
 * Applies what EtcdMember declares — the same rendered scripts, files and order —
 * to real lab hosts, with the test harness's ssh as the transport.
 *
 * This exists because the command provider plugin cannot be built here (see the
 * README): it proves every script, the config and the unit the product renders on
 * real systemd hosts and a real etcd, while the engine-driven `pulumi up` test
 * stays skipped with its reason. It is scaffolding, not a second deploy path.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as paths from "../../components/paths";
import {
    configPath, pkiPath, renderEtcdConfig, renderHealthGateScript, renderInstallBinariesScript,
    renderPreflightScript, renderPrepareHostScript, renderRemoveBinariesScript, renderRemoveDirsScript,
    renderRemoveFileScript, renderStartScript, renderStopScript, renderUnit,
    renderWriteFileScript, shq,
} from "../../components/render";
import { parseArch } from "../../components/member";
import { ClusterSpec, MemberSpec } from "../../components/spec";
import { TestPki } from "./testPki";

export interface RunResult { code: number; stdout: string; stderr: string }

/** Runs a shell script on a host (as the product's remote commands do), content on stdin. */
export type Transport = (host: string, script: string, stdin?: string | Buffer) => RunResult;

/** The files a member's host holds, path → content, mode and owner, as EtcdMember writes them. */
export function memberFiles(spec: ClusterSpec, member: MemberSpec, pki: TestPki, token: string) {
    const etcdOwner = `${paths.etcdUser}:${paths.etcdGroup}`;
    const own = pki.members[member.name];
    return [
        { path: pkiPath(spec, "ca"), content: pki.ca.certPem, mode: paths.modes.certificate, owner: etcdOwner },
        { path: pkiPath(spec, "serverCert"), content: own.server.certPem, mode: paths.modes.certificate, owner: etcdOwner },
        { path: pkiPath(spec, "serverKey"), content: own.server.privateKeyPem, mode: paths.modes.privateKey, owner: etcdOwner },
        { path: pkiPath(spec, "peerCert"), content: own.peer.certPem, mode: paths.modes.certificate, owner: etcdOwner },
        { path: pkiPath(spec, "peerKey"), content: own.peer.privateKeyPem, mode: paths.modes.privateKey, owner: etcdOwner },
        { path: configPath(spec), content: renderEtcdConfig(spec, member, { token, initialClusterState: "new" }), mode: paths.modes.config, owner: "root:root" },
        { path: paths.unitPath, content: renderUnit(spec, member), mode: paths.modes.unit, owner: "root:root" },
    ];
}

/** Deploys with the harness transport, in EtcdMember's and EtcdCluster's order. */
export class HostArtifacts {
    constructor(
        private readonly spec: ClusterSpec,
        private readonly pki: TestPki,
        private readonly token: string,
        private readonly tarballPath: string,
        private readonly run: Transport,
        /** Lab host name for a member. */
        private readonly hostOf: (member: MemberSpec) => string,
    ) { }

    private must(member: MemberSpec, step: string, script: string, stdin?: string | Buffer): string {
        const r = this.run(this.hostOf(member), script, stdin);
        // Never echo stdin: it may be a private key.
        if (r.code !== 0) throw new Error(`${member.name}: ${step} failed (exit ${r.code}): ${r.stderr.trim()}`);
        return r.stdout;
    }

    /** Phases 1–4 of EtcdMember: preflight, host prep, binaries, files. */
    installMember(member: MemberSpec): void {
        const spec = this.spec;
        parseArch(this.must(member, "preflight", renderPreflightScript(spec, member, this.pki.notBefore)));
        this.must(member, "prepare", renderPrepareHostScript(spec));
        const tarball = fs.readFileSync(this.tarballPath);
        const sha256 = crypto.createHash("sha256").update(tarball).digest("hex");
        const staged = `${paths.stagingDir}/etcd-v${spec.version}-${sha256.slice(0, 12)}.tar.gz`;
        this.must(member, "copy tarball", `cat > ${shq(staged)}`, tarball);
        this.must(member, "install binaries", renderInstallBinariesScript(spec, { stagedTarball: staged, sha256 }));
        for (const f of memberFiles(spec, member, this.pki, this.token)) {
            this.must(member, `write ${f.path}`, renderWriteFileScript(f.path, f.mode, f.owner), f.content);
        }
    }

    /** Phase 5 for a brand-new cluster: every member started without blocking. */
    startMember(member: MemberSpec): void {
        this.must(member, "start", renderStartScript());
    }

    /** The cluster's health gate, run on one member; returns its report line. */
    healthGate(member: MemberSpec): string {
        return this.must(member, "health gate", renderHealthGateScript(this.spec, this.spec.members.map((m) => m.name))).trim();
    }

    /** Rewrites a running member's config file as `spec` renders it (the restart is separate). */
    rewriteConfig(member: MemberSpec, spec: ClusterSpec): void {
        for (const f of memberFiles(spec, member, this.pki, this.token).filter((x) => x.path === configPath(spec))) {
            this.must(member, `write ${f.path}`, renderWriteFileScript(f.path, f.mode, f.owner), f.content);
        }
    }

    /** What `pulumi destroy` runs on a member, in reverse dependency order. */
    destroyMember(member: MemberSpec): void {
        const spec = this.spec;
        this.must(member, "stop", renderStopScript(spec));
        for (const f of memberFiles(spec, member, this.pki, this.token)) this.must(member, `remove ${f.path}`, renderRemoveFileScript(f.path));
        this.must(member, "remove binaries", renderRemoveBinariesScript());
        this.must(member, "remove dirs", renderRemoveDirsScript(spec));
    }
}

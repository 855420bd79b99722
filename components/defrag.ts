/**
 * Scheduled defragmentation on one member, for the whole cluster: a client certificate of its
 * own (its key only on this host), the script, a oneshot unit and a timer, enabled once the
 * cluster's membership is the stack's. Nothing here restarts etcd; turning it off disables the timer.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostFiles } from "./hostFiles";
import * as paths from "./paths";
import { CertificateAuthority, KeyAlgorithm, certificateLifetime, clientCertificate } from "./pki";
import { Connection, remoteStep } from "./remoteStep";
import {
    defragCertPath, renderDefragScript, renderDefragTimer, renderDefragUnit, renderDisableDefragScript, renderEnableDefragScript,
} from "./renderDefrag";
import { ClusterSpec, DefragSpec, MemberSpec } from "./spec";

export interface ScheduledDefragArgs {
    spec: ClusterSpec;
    defrag: DefragSpec;
    /** The member whose host runs the timer. */
    member: MemberSpec;
    /** SSH connection to that member's host (secret). */
    connection: pulumi.Input<Connection>;
    ca: CertificateAuthority;
    algorithm: KeyAlgorithm;
    /** The membership step: the timer starts once the whole cluster runs with the stack's members. */
    after: pulumi.Resource[];
}

export class ScheduledDefrag extends pulumi.ComponentResource {
    constructor(name: string, args: ScheduledDefragArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:ScheduledDefrag", name, {}, opts);
        const { spec, defrag, member, connection } = args;
        const cert = clientCertificate(`${name}-client`, { name: "defrag", commonName: "etcd-defrag", organization: "etcd-stack" },
            args.ca, args.algorithm, certificateLifetime(spec), { parent: this });
        const file = (path: string, content: pulumi.Input<string>, mode: string) => ({ path, content, mode, owner: "root:root", readByEtcd: false });
        const files = new HostFiles(`${member.name}-defrag-files`, {
            connection, label: `${member.name} defrag files`,
            files: [
                file(defragCertPath(spec, "cert"), cert.certPem, paths.modes.certificate),
                file(defragCertPath(spec, "key"), cert.privateKeyPem, paths.modes.privateKey),
                file(paths.defragScriptPath, renderDefragScript(spec), paths.modes.binary),
                file(paths.defragUnitPath, renderDefragUnit(), paths.modes.unit),
                file(paths.defragTimerPath, renderDefragTimer(defrag), paths.modes.unit),
            ],
        }, { parent: this, dependsOn: args.after });
        remoteStep(`${name}-timer`, {
            connection,
            label: `${member.name} defragmentation`,
            create: renderEnableDefragScript(defrag),
            update: renderEnableDefragScript(defrag),
            delete: renderDisableDefragScript(),
        }, { parent: this, dependsOn: [files.write] });
        this.registerOutputs({});
    }
}

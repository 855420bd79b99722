/**
 * A job a systemd timer runs on one member's host (scheduled snapshots, scheduled
 * defragmentation): a client certificate of its own (its key only on that host), the script, its
 * oneshot unit and the timer in one HostFiles write, then a step that enables the timer (and
 * disables it on delete). Nothing here restarts etcd.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostFiles } from "../host/hostFiles";
import * as paths from "../base/paths";
import { CertificateAuthority, KeyAlgorithm, LeafCertificate, certificateLifetime, clientCertificate } from "../pki/pki";
import { Connection, remoteStep } from "../host/remoteStep";
import { ClusterSpec, MemberSpec } from "../spec/types";

/** A file of the job: where it goes and what it holds. */
export interface JobFile {
    path: string;
    content: string;
}

/** Where a timer job runs and what it takes from the cluster: shared by every job's Args (snapshots, defrag). */
export interface TimerJobPlace {
    spec: ClusterSpec;
    /** The member whose host runs the timer. */
    member: MemberSpec;
    /** SSH connection to that member's host (secret). */
    connection: pulumi.Input<Connection>;
    /** The CA that signs the job's client certificate. */
    ca: CertificateAuthority;
    algorithm: KeyAlgorithm;
    /** What the job's files wait for: the member's service (snapshots), the membership step (defrag). */
    after: pulumi.Resource[];
}

export interface HostTimerArgs extends TimerJobPlace {
    /** The job's client certificate: its name among the stack's certificates, its CN, where its files go. */
    client: { name: string; commonName: string; certPath: string; keyPath: string };
    script: JobFile;
    unit: JobFile;
    timer: JobFile;
    /** Names the job in resource names and labels: `<member>-<job>-files`, "<member> <job> files". */
    job: string;
    /** The label of the enable step. */
    timerLabel: string;
    enable: string;
    disable: string;
    /** More files of the job on the same host, written with the others (root's; a secret content stays secret). */
    extraFiles?: { path: string; content: pulumi.Input<string>; mode: string }[];
}

/**
 * Declares the job under `parent`: `${name}-client` (certificate), `<member>-<job>-files`, `${name}-timer`.
 * Returns the job's client certificate (its expiry is in the `certificates` output).
 */
export function hostTimer(name: string, args: HostTimerArgs, parent: pulumi.Resource): LeafCertificate {
    const { spec, member, connection, client } = args;
    const cert = clientCertificate(`${name}-client`, { name: client.name, commonName: client.commonName, organization: "etcd-stack" },
        args.ca, args.algorithm, certificateLifetime(spec), { parent });
    const file = (path: string, content: pulumi.Input<string>, mode: string, systemdUnit = false) => ({ path, content, mode, owner: "root:root", readByEtcd: false, systemdUnit });
    const files = new HostFiles(`${member.name}-${args.job}-files`, {
        connection, label: `${member.name} ${args.job} files`,
        files: [
            file(client.certPath, cert.certPem, paths.modes.certificate),
            file(client.keyPath, cert.privateKeyPem, paths.modes.privateKey),
            file(args.script.path, args.script.content, paths.modes.binary),
            file(args.unit.path, args.unit.content, paths.modes.unit, true),
            file(args.timer.path, args.timer.content, paths.modes.unit, true),
            ...(args.extraFiles ?? []).map((f) => file(f.path, f.content, f.mode)),
        ],
    }, { parent, dependsOn: args.after });
    remoteStep(`${name}-timer`, {
        connection,
        label: args.timerLabel,
        create: args.enable,
        update: args.enable,
        delete: args.disable,
    }, { parent, dependsOn: [files.write] });
    return cert;
}

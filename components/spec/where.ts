/**
 * Where a member is, derived from the spec: its URLs (peer, client, metrics), the initial-cluster
 * value, and the paths of the files the stack keeps on its host. Pure.
 */
import * as paths from "../base/paths";
import { ClusterSpec, MemberSpec } from "./types";
import { urlHost } from "./values";

export function peerUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `https://${urlHost(member.address)}:${spec.ports.peer}`;
}

export function clientUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `https://${urlHost(member.address)}:${spec.ports.client}`;
}

/** The metrics listener on the member's address (`etcd:metrics`), where a Prometheus server scrapes. */
export function metricsUrl(spec: ClusterSpec, member: MemberSpec): string {
    return `${spec.metrics?.listen ?? "https"}://${urlHost(member.address)}:${spec.ports.metrics}`;
}

/** The `initial-cluster` value: every member's name and peer URL. */
export function initialCluster(spec: ClusterSpec, members: MemberSpec[] = spec.members): string {
    return members.map((m) => `${m.name}=${peerUrl(spec, m)}`).join(",");
}

export function pkiPath(spec: ClusterSpec, file: keyof typeof paths.pkiFiles): string {
    return `${spec.dirs.pki}/${paths.pkiFiles[file]}`;
}

export function configPath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.configFileName}`;
}

/** The stack's members as every host knows them (name, peer URL, client URL per line); see renderMembership.ts. */
export function membersFilePath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.membersFile}`;
}

/** Where a member records the digest of what its running etcd read (see renderRestartScript). */
export function appliedInputsPath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.appliedInputsFile}`;
}

/** Where each host records the restores it has carried out (one id per line; renderRestore.ts). */
export function restoreMarkerPath(spec: ClusterSpec): string {
    return `${spec.dirs.config}/${paths.restoredFile}`;
}

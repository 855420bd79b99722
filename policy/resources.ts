/**
 * What the policies know about the resources etcd-stack registers (components/*.ts): their type
 * tokens, and how to read a resource's place in the tree and its values as a policy sees them.
 */
import { UnknownValueError } from "@pulumi/policy";

/** Type tokens, as the engine reports them. */
export const types = {
    cluster: "etcd:index:Cluster",
    member: "etcd:index:EtcdMember",
    hostFiles: "etcd:index:HostFiles",
    /** What a HostFiles component writes with: a dynamic resource (components/host/hostFilesProvider.ts). */
    dynamic: "pulumi-nodejs:dynamic/etcd:HostFilesWrite",
    /** A release tarball staged on a host (components/host/stagedRelease.ts): a dynamic resource too. */
    stagedRelease: "pulumi-nodejs:dynamic/etcd:StagedRelease",
    /** The plan's record (components/plan/planResource.ts): what the plan a reviewer reads is made from. */
    planRecord: "pulumi-nodejs:dynamic/etcd:Plan",
    snapshots: "etcd:index:ScheduledSnapshots",
    remoteCommand: "command:remote:Command",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

/** Resources that run on (or copy to) a remote host: the command provider's, HostFiles' writes and staged releases. */
export function runsOnHost(type: string): boolean {
    return type.startsWith("command:remote:") || type === types.dynamic || type === types.stagedRelease;
}

/** The part of a resource a stack policy needs: @pulumi/policy's PolicyResource has all of it. */
export interface StackResource {
    type: string;
    urn: string;
    name: string;
    props: Record<string, unknown>;
    parent?: StackResource;
    propertyDependencies: Record<string, Array<{ urn: string }>>;
}

/** Whether `resource` sits anywhere below `ancestor` in the component tree. */
export function isWithin(resource: StackResource, ancestor: StackResource): boolean {
    for (let p = resource.parent; p !== undefined; p = p.parent) {
        if (p.urn === ancestor.urn) return true;
    }
    return false;
}

/**
 * A property's value, or undefined while it is unknown (a preview, before the resource it comes
 * from exists). Reading an unknown value directly throws, which would end the whole policy.
 */
export function known(props: Record<string, unknown>, key: string): unknown {
    try {
        return props[key];
    } catch (e) {
        if (e instanceof UnknownValueError) return undefined;
        throw e;
    }
}

/** The type and name of a URN (`urn:pulumi:<stack>::<project>::<parent types$type>::<name>`). */
export function parseUrn(urn: string): { type: string; name: string } {
    const [, , typeChain = "", ...name] = urn.split("::");
    return { type: typeChain.split("$").pop() ?? "", name: name.join("::") };
}

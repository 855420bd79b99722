/**
 * A member's host key checked through the bastion, before anything else connects to it: the
 * operator's machine cannot `ssh-keyscan` a host behind a bastion (renderHostKeyCheckScript does
 * it for direct hosts), so this opens the SSH connection itself — through the bastion, the pinned
 * key the only one accepted — which the member's later dynamic steps then share (ssh.ts). Another
 * key fails the run naming the member, its address and both fingerprints; nothing is sent to that machine.
 */
import * as pulumi from "@pulumi/pulumi";
import { Connection } from "./remoteStep";
import { fingerprint } from "../base/hostKeys";
import { SshConnection, sameConnection, sameMachine, withClient } from "./ssh";
import { sshEndpoint } from "../base/sshEndpoint";

interface HostKeyCheckInputs {
    /** The member's name, for messages. */
    label: string;
    connection: SshConnection;
}

export const hostKeyCheckProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HostKeyCheckInputs) {
        await withClient(inputs.label, inputs.connection, async () => undefined);
        const pinned = Buffer.from(String(inputs.connection.hostKey).split(" ")[1] ?? "", "base64");
        return { id: sshEndpoint({ host: inputs.connection.host, port: inputs.connection.port }), outs: { ...inputs, fingerprint: fingerprint(pinned) } };
    },
    async diff(_id: string, olds: HostKeyCheckInputs, news: HostKeyCheckInputs) {
        // Another address, port, pinned key or bastion: check again (a new check replaces the old).
        // Another login key only: an update, recording the new connection (sameConnection).
        const moved = !sameMachine(olds.connection, news.connection);
        return { changes: moved || olds.label !== news.label || !sameConnection(olds.connection, news.connection), replaces: moved ? ["connection"] : [] };
    },
    async update(_id: string, _olds: HostKeyCheckInputs, news: HostKeyCheckInputs) {
        return { outs: news };
    },
};

export interface HostKeyCheckArgs {
    /** The member's name. */
    label: string;
    /** Its connection, bastion included (secret: it carries the private key). */
    connection: pulumi.Input<Connection>;
}

/** The check itself: a dynamic resource (type pulumi-nodejs:dynamic/etcd:HostKeyCheck). */
export class HostKeyCheck extends pulumi.dynamic.Resource {
    constructor(name: string, args: HostKeyCheckArgs, opts: pulumi.CustomResourceOptions) {
        super(hostKeyCheckProvider, name, { label: args.label, connection: args.connection, fingerprint: undefined },
            { ...opts, additionalSecretOutputs: ["connection"] }, "etcd", "HostKeyCheck");
    }
}

/**
 * One file on one host, written over SSH from content held in Pulumi state.
 *
 * The content travels on the command's stdin, never in its script or output, so a private
 * key stays a secret end to end. The resource is named after the host and the path, so a
 * preview says exactly which file on which host changes; an unchanged content is not rewritten.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { asRoot, renderRemoveFileScript, renderWriteFileScript } from "./render";

export interface HostFileArgs {
    /** SSH connection to the host (secret: it carries the private key). */
    connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
    /** Absolute path on the host. */
    path: string;
    /** The file's content. Pass a secret for private keys. */
    content: pulumi.Input<string>;
    /** Octal mode, e.g. "0600". */
    mode: string;
    /** "user:group" owning the file. */
    owner: string;
    /** Shell lines that complete the content on the host (in "$tmp") from what only the host knows. */
    fill?: string[];
}

export class HostFile extends pulumi.ComponentResource {
    /** Present once the file is written; depend on this to order later steps. */
    public readonly write: command.remote.Command;

    constructor(name: string, args: HostFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:HostFile", name, {}, opts);
        // The content is stdin, so the command is the (short) write script, labelled with the file.
        const script = `# etcd-stack: write ${name}\n` + asRoot(renderWriteFileScript(args.path, args.mode, args.owner, args.fill));
        this.write = new command.remote.Command(`${name}-write`, {
            connection: args.connection,
            create: script,
            update: script,
            delete: `# etcd-stack: remove ${name}\n` + asRoot(renderRemoveFileScript(args.path)),
            stdin: args.content,
            addPreviousOutputInEnv: false,
            logging: "stderr",
            // A new path is a different file: write it, then remove the old one.
            triggers: [args.path],
        }, {
            parent: this,
            // A component's dependsOn does not hold back its children: the write itself must wait.
            dependsOn: opts?.dependsOn,
        });
        this.registerOutputs({});
    }
}

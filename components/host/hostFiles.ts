/**
 * A host's managed files as one resource: written together in one SSH session, read back on
 * `pulumi refresh`. A preview names each file on the host that changes — in the stack, or by
 * hand on the host (content, mode, owner, missing) — and `up` puts it back; contents are secrets
 * and never shown. Optional checks keep the unit enabled and running and the binaries those of
 * the staged release; a repair that etcd has to read again restarts the member with the
 * member's own quorum-checked restart.
 */
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Connection } from "./remoteStep";
import { HostFilesInputs, SshConnection, hostFilesProvider } from "./hostFilesProvider";
import { HostChecks, ManagedFile, renderApplyScript, renderHostFilesRemoveScript, renderInspectScript } from "./renderHostFiles";

export interface HostFileArgs extends ManagedFile {
    /** The file's content. Pass a secret for private keys. */
    content: pulumi.Input<string>;
}

export interface HostFilesArgs {
    /** SSH connection to the host (secret: it carries the private key). */
    connection: pulumi.Input<Connection>;
    /** Who and what, for messages: e.g. "lab-1 config". */
    label: string;
    files: HostFileArgs[];
    checks?: pulumi.Input<HostChecks>;
    /** The member's restart, run when a repair changed what the running etcd read (see renderApplyScript). */
    restartScript?: pulumi.Input<string>;
    /** First lines of the remove script, which may end it early (the member's owner guard: shell/guards.ts renderOwnerGuard). */
    removeGuard?: string;
}

/** The type token of a HostFiles write in the state and in previews. */
export const hostFilesWriteType = "pulumi-nodejs:dynamic/etcd:HostFilesWrite";

/** The write itself: a dynamic resource (hostFilesProvider.ts). */
class HostFilesResource extends pulumi.dynamic.Resource {
    constructor(name: string, inputs: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(hostFilesProvider, name, { ...inputs, written: undefined }, opts, "etcd", "HostFilesWrite");
    }
}

/**
 * The provider instance HostFiles writes use (given to each dynamic resource, or in a component's
 * `providers`, which holds back the component's registration until it has started). Without it
 * they would use the engine's default Node.js dynamic provider, whose inputs are the whole stack
 * config: every config edit would preview as a change of that provider.
 */
export class HostFilesProvider extends pulumi.ProviderResource {
    constructor(name: string, opts?: pulumi.ResourceOptions) {
        super("pulumi-nodejs", name, {}, opts);
    }
}

const sha256 = (text: string) => crypto.createHash("sha256").update(text, "utf8").digest("hex");

export class HostFiles extends pulumi.ComponentResource {
    /** Present once every file is on the host; depend on this to order later steps. */
    public readonly write: pulumi.CustomResource;

    constructor(name: string, args: HostFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("etcd:index:HostFiles", name, {}, opts);
        const order = args.files.map((f) => f.path);
        const contents = pulumi.all(args.files.map((f) => f.content));
        // Digests, modes and owners are what a preview shows: not secret, though keys are among the contents.
        const files = pulumi.unsecret(contents.apply((cs) => Object.fromEntries(args.files.map((f, i) =>
            [f.path, { sha256: sha256(cs[i]), mode: f.mode, owner: f.owner }]))));
        const checks = pulumi.output(args.checks ?? {}) as pulumi.Output<HostChecks>;
        const scripts = pulumi.all([args.restartScript, checks]).apply(([restartScript, checks]) => ({
            create: renderApplyScript(args.files, checks, { repair: false }),
            update: renderApplyScript(args.files, checks, { repair: true, restartScript }),
            inspect: renderInspectScript(args.files, checks),
            remove: renderHostFilesRemoveScript(order, args.removeGuard),
        }));
        const inputs: { [K in keyof HostFilesInputs]: pulumi.Input<HostFilesInputs[K]> } = {
            label: args.label,
            // As given (not wrapped in one Output): only its private key is secret, the rest shows in a preview.
            connection: args.connection as pulumi.Input<SshConnection>,
            files,
            // Secret as a whole: private keys among them.
            contents: pulumi.secret(contents.apply((cs) => Object.fromEntries(order.map((p, i) => [p, cs[i]])))),
            order,
            checks: checks.apply((c) => ({
                ...(c.unit ? { unit: "enabled active" } : {}),
                ...(c.binaries ? { binaries: `same as ${path.posix.basename(c.binaries.tarball)}` } : {}),
            })),
            scripts,
        };
        this.write = new HostFilesResource(`${name}-write`, inputs, {
            parent: this,
            // A component's dependsOn does not hold back its children: the write itself must wait.
            dependsOn: opts?.dependsOn,
            additionalSecretOutputs: ["contents", "connection"],
        });
        this.registerOutputs({});
    }
}

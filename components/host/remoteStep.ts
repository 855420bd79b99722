/**
 * One step run on a host over SSH (@pulumi/command), with its scripts on stdin.
 *
 * The command the engine records and prints is a short runner naming the step; the create,
 * update and delete scripts travel together on stdin (renderScriptBundle). So a failure reads as
 * "<step>: <reason>" instead of the whole script, a preview's diff shows the script lines that
 * changed, and the command provider's previous-output environment (which sshd refuses by
 * default, with a warning on every update) is off.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { renderScriptBundle, renderStdinRunner } from "../shell/script";

export type Connection = command.types.input.remote.ConnectionArgs;

export interface RemoteStepArgs {
    /** SSH connection to the host (secret: it carries the private key). */
    connection: pulumi.Input<Connection>;
    /** What the step does, shown in its command, e.g. "lab-2 service". */
    label: string;
    /** Runs on create. */
    create: pulumi.Input<string>;
    /** Runs when any input changes (the command provider then skips `create`); none: the step is create-only. */
    update?: pulumi.Input<string>;
    /** Runs on destroy or replacement, with the scripts of the last successful run. */
    delete?: pulumi.Input<string>;
    /**
     * A script the step's creation runs instead of `create` when `use` is true (e.g. the join's in
     * the stack's first run). Both travel on stdin, which so stays the same from run to run; the
     * choice is the command's `create` line, whose later changes are ignored: it runs only once,
     * and a choice that differs in a later run is no diff.
     */
    createAlternative?: { step: string; script: pulumi.Input<string>; use: pulumi.Input<boolean> };
    /** Which of stdout/stderr the engine streams; both are kept in state either way, so never print a secret. */
    logging?: "stdout" | "stderr" | "stdoutAndStderr" | "none";
}

export function remoteStep(name: string, args: RemoteStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const steps: Record<string, pulumi.Input<string>> = { create: args.create };
    const alternative = args.createAlternative;
    if (alternative) steps[alternative.step] = alternative.script;
    if (args.update !== undefined) steps.update = args.update;
    if (args.delete !== undefined) steps.delete = args.delete;
    const names = Object.keys(steps);
    const stdin = pulumi.all(names.map((n) => steps[n]))
        .apply((scripts) => renderScriptBundle(Object.fromEntries(names.map((n, i) => [n, scripts[i]]))));
    return new command.remote.Command(name, {
        connection: args.connection,
        create: alternative ? pulumi.output(alternative.use).apply((use) => renderStdinRunner(args.label, use ? alternative.step : "create"))
            : renderStdinRunner(args.label, "create"),
        ...(args.update !== undefined ? { update: renderStdinRunner(args.label, "update") } : {}),
        ...(args.delete !== undefined ? { delete: renderStdinRunner(args.label, "delete") } : {}),
        stdin,
        addPreviousOutputInEnv: false,
        logging: args.logging ?? "stdoutAndStderr",
    }, alternative ? { ...opts, ignoreChanges: [...(opts.ignoreChanges ?? []), "create"] } : opts);
}

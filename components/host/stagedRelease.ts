/**
 * The etcd release on one host, staged outside the roll: the tarball (streamed from the
 * operator's machine over the SSH session, or downloaded by the host), its sha256 checked, and
 * unpacked beside itself with the sums file the binaries check reads — all in one SSH session,
 * in a directory only root can write (paths.releaseDir). The check hashes the tarball each time,
 * and the install hashes it again before unpacking its own copy: nothing staged is trusted.
 *
 * Stacks staged before under /var/tmp see `tarball` change in their next preview: that `up`
 * stages the release again under paths.releaseDir and removes the old copy; the install step
 * finds the binaries already installed, so no member restarts.
 * Staging changes nothing etcd uses, so every member stages at once; only the install, which
 * copies the unpacked binaries into place, waits for the member's turn (member.ts).
 *
 * A refresh asks the host whether the release is still staged, so one removed by hand shows in
 * the next preview and `up` stages it again.
 */
import * as pulumi from "@pulumi/pulumi";
import { Connection } from "./remoteStep";
import { renderReleaseCheckScript, renderRemoveStagedReleaseScript, renderStageReleaseScript } from "./renderRelease";
import { SshConnection, notReadMark, notReadable, readAttempts, runScript, sameMachine, withClient } from "./ssh";

/** What a refresh finds when the release is as staged; anything else is what the host reports instead. */
const staged = "staged";

interface StagedReleaseInputs {
    /** "<member> tarball", for messages. */
    label: string;
    connection: SshConnection;
    /** The tarball's path on the host. */
    tarball: string;
    sha256: string;
    /** Where the tarball comes from: a file on the operator's machine, or a URL the host downloads. */
    source: { file: string } | { url: string };
    /** "staged"; after a refresh, what the host reported (e.g. "tarball missing"). */
    state: string;
    scripts: { check: string; stage: string; remove: string };
}

/** Stages the release unless the host already has it (a run that stopped half-way sends it again). */
async function stage(inputs: StagedReleaseInputs): Promise<void> {
    await withClient(inputs.label, inputs.connection, async (client) => {
        const found = (await runScript(client, `${inputs.label} check`, inputs.scripts.check, "")).trim();
        if (found === staged) return;
        const stdin = "file" in inputs.source ? require("fs").createReadStream(inputs.source.file) : "";
        await runScript(client, inputs.label, inputs.scripts.stage, stdin);
    });
}

export const stagedReleaseProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: StagedReleaseInputs) {
        await stage(inputs);
        return { id: `${inputs.connection.host}:${inputs.tarball}`, outs: inputs };
    },

    async diff(_id: string, olds: StagedReleaseInputs, news: StagedReleaseInputs) {
        // Where the tarball comes from is not what is staged: another checkout's path to the same
        // file, or another mirror for the same sha256, stages nothing again.
        return {
            changes: olds.tarball !== news.tarball || olds.sha256 !== news.sha256 || olds.state !== news.state ||
                olds.scripts.check !== news.scripts.check || olds.scripts.remove !== news.scripts.remove ||
                // Another login or key too: the state must hold the connection a later refresh can use.
                JSON.stringify(olds.connection) !== JSON.stringify(news.connection),
        };
    },

    async update(_id: string, olds: StagedReleaseInputs, news: StagedReleaseInputs) {
        await stage(news);
        // Another release on the same machine: the one it replaces is no longer needed there.
        if (olds.tarball !== news.tarball && sameMachine(olds.connection, news.connection)) {
            await withClient(news.label, news.connection, (c) => runScript(c, `${news.label} remove ${olds.tarball}`, olds.scripts.remove, ""));
        }
        return { outs: news };
    },

    async read(id: string, props: StagedReleaseInputs) {
        // A host that does not answer reads as not read (a change the preview shows), not as an error.
        const found = await withClient(props.label, props.connection, (c) => runScript(c, `${props.label} check`, props.scripts.check, ""), readAttempts)
            .then((out) => out.trim(), (e) => { if (notReadable(e)) return notReadMark(e); throw e; });
        const read = { ...props, state: found };
        return { id, props: read, inputs: read };
    },

    async delete(_id: string, props: StagedReleaseInputs) {
        await withClient(props.label, props.connection, (c) => runScript(c, `${props.label} remove`, props.scripts.remove, ""));
    },
};

export interface StagedReleaseArgs {
    /** Who and what, for messages: e.g. "lab-1 tarball". */
    label: string;
    /** SSH connection to the host (secret: it carries the private key). */
    connection: pulumi.Input<Connection>;
    /** The tarball's path on the host. */
    tarball: string;
    /** Its sha256, checked on the host before anything is kept. */
    sha256: pulumi.Input<string>;
    /** A release tarball on the operator's machine, or a URL the host downloads it from. */
    source: pulumi.Input<{ file: string } | { url: string }>;
}

/** The type token of a staged release in the state and in previews. */
export const stagedReleaseType = "pulumi-nodejs:dynamic/etcd:StagedRelease";

/** The staged release itself: a dynamic resource. */
export class StagedRelease extends pulumi.dynamic.Resource {
    constructor(name: string, args: StagedReleaseArgs, opts: pulumi.CustomResourceOptions) {
        const scripts = pulumi.all([args.sha256, args.source]).apply(([sha256, source]) => ({
            check: renderReleaseCheckScript(args.tarball, sha256),
            stage: renderStageReleaseScript(args.tarball, sha256, "url" in source ? { url: source.url } : { stdin: true }),
            remove: renderRemoveStagedReleaseScript(args.tarball),
        }));
        const inputs: { [K in keyof StagedReleaseInputs]: pulumi.Input<StagedReleaseInputs[K]> } = {
            label: args.label,
            // As given (not wrapped in one Output): only its private key is secret, the rest shows in a preview.
            connection: args.connection as pulumi.Input<SshConnection>,
            tarball: args.tarball,
            sha256: args.sha256,
            source: args.source,
            state: staged,
            scripts,
        };
        super(stagedReleaseProvider, name, inputs, { ...opts, additionalSecretOutputs: ["connection"] }, "etcd", "StagedRelease");
    }
}

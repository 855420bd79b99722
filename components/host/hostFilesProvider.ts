/**
 * The dynamic provider behind HostFiles: writes a host's files in one SSH session and, on
 * `pulumi refresh`, reads them back, so hand changes on a host show in the next preview as
 * changes of that file on that host.
 *
 * SSH is ssh.ts (the `ssh2` library, host key pinned, bastion, sudo). The provider runs in the
 * engine's Node.js process for dynamic resources: it is serialized into the state with the
 * functions it uses, and requires its libraries itself.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Client } from "ssh2";
import { FileReport, HostReport, parseHostReport } from "./renderHostFiles";
import { SshConnection, notReadMark, notReadable, readAttempts, runScript, sameMachine, withClient } from "./ssh";

export { SshConnection };

export interface FileState { sha256: string; mode: string; owner: string }

/** The resource's inputs: everything but `contents` is shown in previews. */
export interface HostFilesInputs {
    /** "<member> <what>", for messages. */
    label: string;
    connection: SshConnection;
    /** Per path, what the host should hold; `sha256` of the stack's content (before any fill on the host). */
    files: Record<string, FileState>;
    /** Per path, the content (secret). */
    contents: Record<string, string>;
    /** The paths in the order the scripts handle them (maps do not keep an order through the engine). */
    order: string[];
    /** Host state beside the files, as it should read: unit "enabled active", binaries "same as <release tarball>". */
    checks: Record<string, string>;
    /** The scripts (renderHostFiles.ts). */
    scripts: { create: string; update: string; inspect: string; remove: string };
}

export interface HostFilesOutputs extends HostFilesInputs {
    /** Per path, what the host held right after the last write (after any fill): the baseline for drift. */
    written: Record<string, FileState>;
}

function onHost<T>(inputs: HostFilesInputs, work: (client: Client) => Promise<T>, dialAttempts?: number): Promise<T> {
    return withClient(inputs.label, inputs.connection, work, dialAttempts);
}

function stdinFor(inputs: HostFilesInputs, last: Record<string, FileState>): string {
    return inputs.order.map((p) =>
        `${last[p]?.sha256 ?? "-"}\n${Buffer.from(inputs.contents[p], "utf8").toString("base64")}\n`).join("");
}

function writtenFrom(inputs: HostFilesInputs, report: HostReport): Record<string, FileState> {
    const written: Record<string, FileState> = {};
    for (const p of inputs.order) {
        const r = report.files[p];
        if (r === undefined || r === "missing") throw new Error(`${inputs.label}: ${p} is not on the host after writing it`);
        written[p] = r;
    }
    return written;
}

/** What the preview should show for a file the host holds differently from the last write. */
function drifted(want: FileState, last: FileState | undefined, now: FileReport | undefined): FileState {
    if (now === undefined || now === "missing") return { sha256: "missing on the host", mode: "-", owner: "-" };
    if (!last) return want;
    return {
        sha256: now.sha256 === last.sha256 ? want.sha256 : `changed on the host (now ${now.sha256.slice(0, 12)}…)`,
        mode: now.mode === last.mode ? want.mode : now.mode,
        owner: now.owner === last.owner ? want.owner : now.owner,
    };
}

function observedChecks(want: Record<string, string>, report: HostReport): Record<string, string> {
    const checks = { ...want };
    if (want.unit !== undefined && report.unit !== undefined && report.unit !== "enabled active") checks.unit = report.unit;
    if (want.binaries !== undefined && report.binaries) {
        const off = Object.entries(report.binaries).filter(([, s]) => s !== "same").map(([b, s]) => `${b} ${s}`);
        if (off.length > 0) checks.binaries = off.join(", ");
    }
    return checks;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * What a refresh finds on the host. A host that does not answer (powered off, unreachable) is not
 * an error: every file and check reads as not read, naming why, so `preview --refresh` still shows
 * the plan (the host's resources as changes) and the next `up` writes there again, or fails naming it.
 */
async function readHost(props: HostFilesOutputs): Promise<Pick<HostFilesInputs, "files" | "checks">> {
    let report: HostReport;
    try {
        report = parseHostReport(await onHost(props, (c) => runScript(c, `${props.label} read`, props.scripts.inspect, ""), readAttempts));
    } catch (e) {
        if (!notReadable(e)) throw e;
        const unread = notReadMark(e);
        return {
            files: Object.fromEntries(Object.keys(props.files).map((p) => [p, { sha256: unread, mode: "-", owner: "-" }])),
            checks: Object.fromEntries(Object.keys(props.checks).map((k) => [k, unread])),
        };
    }
    const files: Record<string, FileState> = {};
    for (const [p, want] of Object.entries(props.files)) files[p] = drifted(want, props.written?.[p], report.files[p]);
    return { files, checks: observedChecks(props.checks, report) };
}

export const hostFilesProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: HostFilesInputs) {
        const out = await onHost(inputs, (c) => runScript(c, `${inputs.label} write`, inputs.scripts.create, stdinFor(inputs, {})));
        const outs: HostFilesOutputs = { ...inputs, written: writtenFrom(inputs, parseHostReport(out)) };
        return { id: `${inputs.connection.host}:${inputs.label}`, outs };
    },

    async diff(_id: string, olds: HostFilesOutputs, news: HostFilesInputs) {
        const changes = !same(olds.files, news.files) || !same(olds.contents, news.contents) || !same(olds.checks, news.checks) ||
            // Another login or key too: the state must hold the connection a later refresh can use.
            !same(olds.connection, news.connection);
        return { changes };
    },

    async update(_id: string, olds: HostFilesOutputs, news: HostFilesInputs) {
        // A member moved to another machine (or a rebuilt one, with a new host key) starts from
        // nothing there: a first write, not a repair of what the stack wrote before.
        const moved = !sameMachine(olds.connection, news.connection);
        const last = moved ? {} : olds.written ?? {};
        const out = await onHost(news, async (c) => {
            const report = await runScript(c, `${news.label} write`, moved ? news.scripts.create : news.scripts.update, stdinFor(news, last));
            const gone = Object.keys(olds.files).filter((p) => !(p in news.files));
            if (gone.length > 0) await runScript(c, `${news.label} remove`, gone.map((p) => `rm -f '${p.replace(/'/g, `'"'"'`)}'`).join("\n"), "");
            return report;
        });
        const outs: HostFilesOutputs = { ...news, written: writtenFrom(news, parseHostReport(out)) };
        return { outs };
    },

    async read(id: string, props: HostFilesOutputs) {
        const { files, checks } = await readHost(props);
        const { written, ...inputs } = props;
        return { id, props: { ...props, files, checks }, inputs: { ...inputs, files, checks } };
    },

    async delete(_id: string, props: HostFilesOutputs) {
        await onHost(props, (c) => runScript(c, `${props.label} remove`, props.scripts.remove, ""));
    },
};

/**
 * The scripts behind HostFiles (hostFiles.ts): one that writes a host's managed files in one
 * SSH session, and one that reads them back for `pulumi refresh`. Pure functions; the host's
 * answers are parsed by parseHostReport.
 *
 * Contents never appear in a script: they arrive on stdin, one line per file — the digest the
 * stack last wrote there ("-" if none), then the content in base64.
 */
import * as paths from "../base/paths";
import { unpackedReleaseDir, writeReleaseSums } from "./renderRelease";
import { scriptHeader, shq } from "../shell/script";

/** One file as the host should hold it. */
export interface ManagedFile {
    path: string;
    /** Octal mode, e.g. "0600". */
    mode: string;
    /** "user:group". */
    owner: string;
    /** Shell lines completing the content in "$tmp" from what only the host knows (see renderFillJoinDecision). */
    fill?: string[];
    /**
     * With `fill`: a sed script putting the host's part back to the stack's placeholders. The file's
     * digest is taken through it, so it compares with the stack's own content, and what only the host
     * decides (and may decide again: a member added back to the cluster) is not drift.
     */
    unfill?: string;
    /** etcd reads this file: a hand edit etcd has since started with needs a restart once repaired. */
    readByEtcd: boolean;
    /** A systemd unit file: writing it anew is followed by `systemctl daemon-reload` (no restart). */
    systemdUnit?: boolean;
}

/** Host state kept alongside the files: the unit enabled and running, the binaries those of the staged release. */
export interface HostChecks {
    /** The systemd unit that must be enabled and active. */
    unit?: string;
    /** The staged release tarball (checksum verified) the installed binaries must match. */
    binaries?: { tarball: string; sha256: string };
}

/** What a host reported about one file; `missing` when it is absent. */
export type FileReport = { sha256: string; mode: string; owner: string } | "missing";

export interface HostReport {
    files: Record<string, FileReport>;
    /** e.g. "enabled active". */
    unit?: string;
    /** Binary name → "same" | "differs" | "missing" | "no staged release". */
    binaries?: Record<string, string>;
    /** The write found hand changes etcd had started with, or a stopped unit: the member was restarted. */
    restarted?: boolean;
}

/** Shell: the digest of the file as the stack would write it (through `unfill`, when the host fills it). */
function digestOf(f: ManagedFile): string {
    const p = shq(f.path);
    return f.unfill === undefined ? `sha256sum < ${p} | cut -c1-64` : `sed -e ${shq(f.unfill)} ${p} | sha256sum | cut -c1-64`;
}

/** Lines printing the report lines for `f` (file … / file … missing). */
function reportFile(f: ManagedFile): string[] {
    const p = shq(f.path);
    return [`if [ -e ${p} ]; then echo "file ${f.path} $(${digestOf(f)}) $(stat -c '%a %U:%G' ${p})"; else echo "file ${f.path} missing"; fi`];
}

/** `started`: when the unit's current process started (epoch seconds; 0 when not running). */
function etcdStartedLines(unit: string): string[] {
    return [
        `started=0`,
        `if systemctl is-active --quiet ${shq(unit)}; then`,
        `  at=$(systemctl show -p ActiveEnterTimestamp --value ${shq(unit)})`,
        `  [ -z "$at" ] || started=$(date -d "$at" +%s)`,
        `fi`,
    ];
}

/**
 * Lines comparing the installed binaries with the staged release's sums file (written when the
 * release was unpacked; made here once for a host staged before such files existed), and with
 * `repair` putting back any that differ, from the tarball, checked against the same sums. A
 * binary byte for byte the same as its unpacked copy is not digested (the staged release's own
 * check digests that copy); only one that is not, is.
 */
function binaryLines(checks: HostChecks, repair: boolean): string[] {
    const b = checks.binaries;
    if (!b) return [];
    const t = shq(b.tarball);
    const sums = shq(b.tarball + paths.releaseSumsSuffix);
    const sumsOfThisTarball = `[ "$(head -n1 ${sums} 2>/dev/null)" = ${shq(`tarball ${b.sha256}`)} ]`;
    return [
        `if ! ${sumsOfThisTarball} && [ -f ${t} ] && echo ${shq(b.sha256)}'  '${t} | sha256sum -c --quiet - 2>/dev/null; then`,
        `  unpacked=$(mktemp -d ${paths.releaseDir}/sums.XXXXXX)`,
        `  if tar -xzf ${t} -C "$unpacked" --strip-components=1; then ${writeReleaseSums(b.tarball, b.sha256, `"$unpacked"`).join("; ")}; fi`,
        `  rm -rf "$unpacked"`,
        `fi`,
        `if ${sumsOfThisTarball}; then`,
        ...paths.releaseBinaries.flatMap((name) => {
            const installed = shq(`${paths.binDir}/${name}`);
            const unpacked = shq(`${unpackedReleaseDir(b.tarball)}/${name}`);
            return [
                `  want=$(awk '$2 == "${name}" { print $1 }' ${sums})`,
                `  if [ ! -e ${installed} ]; then state=missing; elif cmp -s ${installed} ${unpacked} || [ "$(sha256sum < ${installed} | cut -c1-64)" = "$want" ]; then state=same; else state=differs; fi`,
                ...(repair ? [
                    `  if [ "$state" != same ]; then`,
                    // The running etcd started from the changed binary: it must start again from the right one.
                    ...(name === "etcd" ? [`    [ "$state" = differs ] && [ "$(stat -c %Y ${installed})" -le "$started" ] && restart=1`] : []),
                    `    tar -xzOf ${t} --wildcards '*/${name}' > ${installed}.new`,
                    `    [ "$(sha256sum < ${installed}.new | cut -c1-64)" = "$want" ] || { rm -f ${installed}.new; echo "${b.tarball} no longer holds the ${name} its sums name; not repaired" >&2; exit 1; }`,
                    `    chmod ${paths.modes.binary} ${installed}.new && chown root:root ${installed}.new && mv -f ${installed}.new ${installed}`,
                    `    echo "repaired ${paths.binDir}/${name} ($state) from the staged release" >&2`,
                    `  fi`,
                ] : [`  echo "binary ${name} $state"`]),
            ];
        }),
        `else`,
        ...(repair ? [`  echo "no staged release at ${b.tarball} to check the binaries against" >&2`]
            : paths.releaseBinaries.map((name) => `  echo "binary ${name} no-staged-release"`)),
        `fi`,
    ];
}

/** Removes the files (on delete), after `guard` (lines that may end the script early: the member's owner guard). */
export function renderHostFilesRemoveScript(files: string[], guard = ""): string {
    return scriptHeader + guard + files.map((p) => `rm -f ${shq(p)}`).join("\n") + "\n";
}

/**
 * Reads what the host holds: each file's digest, mode and owner (or that it is missing), the
 * unit's state, and whether the installed binaries are those of the staged release. Changes
 * nothing the stack manages (at most it writes a staged release's missing sums file).
 */
export function renderInspectScript(files: ManagedFile[], checks: HostChecks): string {
    return scriptHeader + [
        ...files.flatMap((f) => reportFile(f)),
        ...(checks.unit ? [`echo "unit $(systemctl is-enabled ${shq(checks.unit)} 2>/dev/null || true) $(systemctl is-active ${shq(checks.unit)} 2>/dev/null || true)"`] : []),
        ...binaryLines(checks, false),
    ].join("\n") + "\n";
}

/**
 * Writes every file atomically (a temporary file in the same directory, then `mv`), leaving
 * unchanged ones untouched, and reports each. With `repair` (an update, not the first write):
 * a file that differs from what the stack last wrote there was changed by hand; if etcd has
 * started since, or the unit is stopped, or the etcd binary was swapped under a running etcd,
 * `restartScript` runs once the files are right (the member's quorum-checked restart).
 */
export function renderApplyScript(files: ManagedFile[], checks: HostChecks, opts: { repair: boolean; restartScript?: string }): string {
    const restart = opts.repair && opts.restartScript !== undefined;
    const body = files.flatMap((f) => {
        const p = shq(f.path);
        return [
            `IFS= read -r last; IFS= read -r content`,
            `tmp=$(mktemp "$(dirname ${p})/.etcd-stack.XXXXXX")`,
            `chmod ${f.mode} "$tmp"`,
            `printf '%s' "$content" | base64 -d > "$tmp"`,
            ...(f.fill ?? []),
            `chown ${f.owner} "$tmp"`,
            ...(restart && f.readByEtcd ? [
                `if [ "$last" != - ] && [ -e ${p} ] && [ "$(${digestOf(f)})" != "$last" ] && [ "$(stat -c %Y ${p})" -le "$started" ]; then`,
                `  echo "${f.path} was changed by hand and etcd has started with it since" >&2; restart=1`,
                `fi`,
            ] : []),
            `if cmp -s "$tmp" ${p} && [ "$(stat -c '%a %U:%G' "$tmp")" = "$(stat -c '%a %U:%G' ${p})" ]; then rm -f "$tmp"; else mv -f "$tmp" ${p}${f.systemdUnit ? "; reload=1" : ""}; fi`,
            ...reportFile(f),
        ];
    });
    return scriptHeader + [
        `restart=0; reload=0; tmp=""; rs=""`,
        // A failure leaves no temporary file behind (and the file it was for untouched).
        `trap 'rm -f "$tmp" "$rs"' EXIT`,
        ...(checks.unit ? etcdStartedLines(checks.unit) : [`started=0`]),
        ...body,
        // A unit file written anew is what systemd runs only after a reload: without it, a repaired
        // unit stays flagged NeedDaemonReload (seen on every Debian release in the lab) and a hand
        // edit systemd had loaded would stay in force until some later change reloads.
        `[ "$reload" = 0 ] || systemctl daemon-reload`,
        ...(opts.repair ? binaryLines(checks, true) : []),
        ...(opts.repair && checks.unit ? [
            `if ! systemctl is-enabled --quiet ${shq(checks.unit)}; then systemctl enable ${shq(checks.unit)} >/dev/null 2>&1; echo "enabled ${checks.unit} again" >&2; fi`,
            `systemctl is-active --quiet ${shq(checks.unit)} || { echo "${checks.unit} was not running" >&2; restart=1; }`,
        ] : []),
        ...(restart ? [
            `if [ "$restart" = 1 ]; then`,
            `  rs=$(mktemp)`,
            `  cat > "$rs" <<'ETCD_STACK_RESTART'`,
            opts.restartScript!.replace(/\n$/, ""),
            `ETCD_STACK_RESTART`,
            `  sh "$rs" >&2 </dev/null`,
            `  echo "restarted"`,
            `fi`,
        ] : []),
    ].join("\n") + "\n";
}

/** Parses what the inspect and apply scripts print. */
export function parseHostReport(stdout: string): HostReport {
    const report: HostReport = { files: {} };
    for (const line of stdout.split("\n")) {
        let m: RegExpExecArray | null;
        if ((m = /^file (\S+) missing$/.exec(line))) report.files[m[1]] = "missing";
        else if ((m = /^file (\S+) ([0-9a-f]{64}) ([0-7]+) (\S+:\S+)$/.exec(line))) report.files[m[1]] = { sha256: m[2], mode: m[3].padStart(4, "0"), owner: m[4] };
        else if ((m = /^unit (\S*) (\S*)$/.exec(line))) report.unit = `${m[1] || "missing"} ${m[2] || "unknown"}`;
        else if ((m = /^binary (\S+) (\S+)$/.exec(line))) (report.binaries ??= {})[m[1]] = m[2];
        else if (line === "restarted") report.restarted = true;
    }
    return report;
}

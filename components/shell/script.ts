/**
 * The shell every host script is made of, below every concern (host, member, membership, maintenance):
 * quoting, the script header, the root-or-sudo prefix, the runner a remote step shows and the bundle it
 * reads on stdin, scripts run in sequence, and a wait with a deadline. Pure; imports only base/.
 */
import * as paths from "../base/paths";

/** Quotes a value for POSIX sh. */
export function shq(value: string | number): string {
    return `'${String(value).replace(/'/g, `'"'"'`)}'`;
}

/** Quotes a value as a YAML (JSON-compatible) double-quoted scalar. */
export function yq(value: string): string {
    return JSON.stringify(value);
}

/** The first line of every host script: stop at the first failure and on unset variables. */
export const scriptHeader = "set -eu\n";

/** The first lines of a script installed on a host (a timer's job): the interpreter, what it is and who manages it, then the header. */
export function installedScriptHeader(what: string): string[] {
    return [`#!/bin/sh`, `# Managed by etcd-stack: ${what}`, scriptHeader.trimEnd()];
}

/**
 * `until <condition>` retried every 0.2 s (a restart or a promotion is done a moment after it
 * can be seen, and a roll pays each wait once per member); past `$deadline` it fails with
 * `failure` (shell-expanded) and the member's journal tail, which is what an operator needs to see.
 */
export function untilDeadline(condition: string, failure: string): string[] {
    return [
        `until ${condition}; do`,
        `  if [ "$(date +%s)" -ge "$deadline" ]; then`,
        `    echo "${failure}; last journal lines:" >&2`,
        `    journalctl -u ${paths.unitName} -n 40 --no-pager >&2 || true`,
        `    exit 1`,
        `  fi`,
        `  sleep 0.2`,
        `done`,
    ];
}

/**
 * The short command a remote step shows in the engine's output. The script itself travels on
 * stdin (a bundle of steps, see renderScriptBundle) and is read whole before it runs, so a
 * failure reads as the step's label and its error, not as a repeated page of shell.
 */
export function renderStdinRunner(label: string, step: string): string {
    return [
        `# etcd-stack: ${label.replace(/\n/g, " ")} (${step})`,
        // A login other than root runs the step through sudo -n, or stops here saying what to configure.
        asRootShell,
        `s=$(mktemp) || exit 1`,
        `cat > "$s"; [ -s "$s" ] || { echo "etcd-stack: no script on stdin" >&2; rm -f "$s"; exit 1; }`,
        `$as_root sh "$s" ${step} </dev/null; rc=$?; rm -f "$s"; exit $rc`,
    ].join("\n");
}

/** One script holding several steps (create, update, delete), each run in its own subshell. */
export function renderScriptBundle(steps: Record<string, string>): string {
    const names = Object.keys(steps);
    return [
        ...names.map((n) => `step_${n}() (\n${steps[n]})`),
        `case "\${1:-}" in ${names.join("|")}) "step_$1" ;; *) echo "unknown step: \${1:-}" >&2; exit 2 ;; esac`,
    ].join("\n") + "\n";
}

/**
 * Scripts run one after another on the host, each in its own subshell (an `exit 0` ends only its
 * own part), stopping at the first that fails: several concerns in one SSH session.
 */
export function renderSequence(...scripts: string[]): string {
    return scriptHeader + [
        ...scripts.map((script, i) => `part_${i + 1}() (\n${script})`),
        ...scripts.map((_, i) => `part_${i + 1}`),
    ].join("\n") + "\n";
}

/**
 * Shell that sets `$as_root` to what runs a command as root on the host: nothing for root, `sudo -n`
 * for another login (never a password prompt). A login without passwordless sudo stops here, before
 * anything runs, naming the login, the host and what to configure (sudo -n's own "a password is
 * required" names neither). Used by every step that reaches a host: runScript (host/ssh.ts), and the remote
 * commands' runner (renderStdinRunner below).
 */
export const asRootShell = 'if [ "$(id -u)" = 0 ]; then as_root=; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; ' +
    'else echo "etcd-stack: the login $(id -un) on $(uname -n) cannot run commands as root without a password (sudo -n failed): ' +
    'give it passwordless sudo (a NOPASSWD rule in /etc/sudoers.d) or log in as root" >&2; exit 1; fi';

/**
 * Pure renderers shared by the program's systemd timers (scheduled snapshots, scheduled
 * defragmentation): the oneshot unit, the timer, and the scripts that enable and disable it.
 */
import * as paths from "../base/paths";
import { scriptHeader, shq } from "../shell/script";

/** The oneshot service a timer starts: runs `execStart` once etcd's unit is up; `extra` adds [Service] lines. */
export function renderOneshotUnit(description: string, execStart: string, extra: string[] = []): string {
    return [
        `# Managed by etcd-stack.`,
        `[Unit]`,
        `Description=${description}`,
        `After=${paths.unitName}`,
        ``,
        `[Service]`,
        `Type=oneshot`,
        `ExecStart=${execStart}`,
        ...extra,
        ``,
    ].join("\n");
}

/** A timer firing on `onCalendar`, to the second; a run missed while the host was off happens at boot. */
export function renderTimerUnit(description: string, onCalendar: string): string {
    return [
        `# Managed by etcd-stack.`,
        `[Unit]`,
        `Description=${description}`,
        ``,
        `[Timer]`,
        `OnCalendar=${onCalendar}`,
        `AccuracySec=1s`,
        `Persistent=true`,
        ``,
        `[Install]`,
        `WantedBy=timers.target`,
        ``,
    ].join("\n");
}

/** Checks the calendar expression on the host (`key` names the config setting), then enables the timer. */
export function renderEnableTimerScript(key: string, timer: string, onCalendar: string): string {
    const what = key.split(".")[0];
    return scriptHeader + [
        // The whole message in single quotes: the expression is data here too, never inside "…".
        `systemd-analyze calendar ${shq(onCalendar)} >/dev/null 2>&1 || { echo ${shq(`${key} "${onCalendar}" is not a systemd calendar expression (systemd-analyze calendar)`)} >&2; exit 1; }`,
        `systemctl daemon-reload`,
        `systemctl enable --now ${timer} >/dev/null 2>&1`,
        `systemctl restart ${timer}`,
        `echo "${what} on $(hostname): $(systemctl show -p NextElapseUSecRealtime --value ${timer} | sed 's/^$/scheduled/')"`,
        ``,
    ].join("\n");
}

/** Disables the timer and forgets a failed last run; `kept` says what stays on the host. */
export function renderDisableTimerScript(what: string, timer: string, unit: string, kept: string): string {
    return scriptHeader + [
        `systemctl disable --now ${timer} >/dev/null 2>&1 || true`,
        `systemctl reset-failed ${unit} >/dev/null 2>&1 || true`,
        `echo "${what} off on $(hostname)${kept}"`,
        ``,
    ].join("\n");
}

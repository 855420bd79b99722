/**
 * The systemd timers of scheduled snapshots and scheduled defragmentation (renderTimer.ts and its
 * users renderSnapshots.ts, renderDefrag.ts): the units read back as systemd would read them, and
 * the enable/disable scripts run under sh with fake systemctl, systemd-analyze and hostname on
 * PATH, every systemctl call recorded.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../../components/base/paths";
import { renderDefragTimer, renderDefragUnit, renderDisableDefragScript, renderEnableDefragScript } from "../../../components/maintenance/renderDefrag";
import { renderDisableSnapshotsScript, renderEnableSnapshotsScript, renderSnapshotTimer, renderSnapshotUnit } from "../../../components/maintenance/renderSnapshots";
import { renderDisableTimerScript, renderEnableTimerScript, renderOneshotUnit, renderTimerUnit } from "../../../components/maintenance/renderTimer";

/**
 * A unit file read strictly: every line is blank, a `#` comment, a `[Section]` or `Key=Value`
 * (anything else fails); returns the sections in order, each with its `Key=Value` lines in order.
 */
function readUnit(text: string): Array<[string, string[]]> {
    assert.ok(text.endsWith("\n"), "ends with a newline");
    assert.equal(text.split("\n")[0], "# Managed by etcd-stack.");
    const sections: Array<[string, string[]]> = [];
    for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const section = /^\[(\w+)\]$/.exec(line);
        if (section) { sections.push([section[1], []]); continue; }
        assert.match(line, /^[A-Za-z]+=\S.*$/, `not a unit line: ${JSON.stringify(line)}`);
        assert.ok(sections.length > 0, `${line} outside a section`);
        sections[sections.length - 1][1].push(line);
    }
    // systemd needs a blank line before each section but the first.
    assert.equal(text.split("\n").filter((l, i, all) => l.startsWith("[") && i > 1 && all[i - 1] !== "").length, 0, "a blank line before each later section");
    return sections;
}

describe("timers: the units as systemd reads them", () => {
    it("the oneshot unit runs its command once etcd's unit is up; extra lines go to [Service]", () => {
        assert.deepEqual(readUnit(renderOneshotUnit("what it does", "/usr/local/sbin/x --y")), [
            ["Unit", ["Description=what it does", `After=${paths.unitName}`]],
            ["Service", ["Type=oneshot", "ExecStart=/usr/local/sbin/x --y"]],
        ]);
        assert.deepEqual(readUnit(renderOneshotUnit("d", "/bin/true", ["Nice=10", "User=etcd"]))[1],
            ["Service", ["Type=oneshot", "ExecStart=/bin/true", "Nice=10", "User=etcd"]]);
    });

    it("the timer fires on its calendar to the second, catches up a run missed while the host was off, and is enabled by timers.target", () => {
        assert.deepEqual(readUnit(renderTimerUnit("scheduled thing", "*-*-* 02:30:00")), [
            ["Unit", ["Description=scheduled thing"]],
            ["Timer", ["OnCalendar=*-*-* 02:30:00", "AccuracySec=1s", "Persistent=true"]],
            ["Install", ["WantedBy=timers.target"]],
        ]);
    });

    it("snapshots: the unit runs the snapshot script at low CPU and I/O priority; the timer on snapshots.onCalendar", () => {
        assert.deepEqual(readUnit(renderSnapshotUnit()), [
            ["Unit", ["Description=etcd snapshot", `After=${paths.unitName}`]],
            ["Service", ["Type=oneshot", `ExecStart=${paths.snapshotScriptPath}`, "Nice=10", "IOSchedulingClass=idle"]],
        ]);
        assert.deepEqual(readUnit(renderSnapshotTimer({ onCalendar: "*:0/15", keep: 3, maxAgeDays: 7, members: [] }))[1],
            ["Timer", ["OnCalendar=*:0/15", "AccuracySec=1s", "Persistent=true"]]);
    });

    it("defragmentation: the unit runs the defrag script; the timer on defrag.onCalendar", () => {
        assert.deepEqual(readUnit(renderDefragUnit()), [
            ["Unit", ["Description=etcd defragmentation, one member at a time", `After=${paths.unitName}`]],
            ["Service", ["Type=oneshot", `ExecStart=${paths.defragScriptPath}`]],
        ]);
        assert.deepEqual(readUnit(renderDefragTimer({ member: "lab-2", onCalendar: "Sun 03:00" }))[1],
            ["Timer", ["OnCalendar=Sun 03:00", "AccuracySec=1s", "Persistent=true"]]);
    });
});

describe("timers: enable and disable scripts (run by sh with fake systemctl, systemd-analyze, hostname)", function () {
    this.timeout(30_000);
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-timers-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "calls");
        // systemd-analyze accepts the calendars in $CALENDARS (one a line); systemctl records each call and
        // fails when its verb is in $FAIL; `show` prints $NEXT.
        fs.writeFileSync(path.join(bin, "systemd-analyze"), [
            "#!/bin/sh",
            `echo "systemd-analyze $*" >> '${log}'`,
            '[ "$1" = calendar ] && printf "%s\\n" "$CALENDARS" | grep -qxF -- "$2"',
        ].join("\n") + "\n", { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "systemctl"), [
            "#!/bin/sh",
            `echo "systemctl $*" >> '${log}'`,
            '[ "$1" = show ] || echo "systemctl chatter: $1"',
            'echo "systemctl noise on stderr: $1" >&2',
            'case " $FAIL " in *" $1 "*) exit 1 ;; esac',
            '[ "$1" = show ] && printf "%s\\n" "$NEXT"',
            "exit 0",
        ].join("\n") + "\n", { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "hostname"), "#!/bin/sh\necho host-a\n", { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (script: string, env: Record<string, string> = {}) => {
        const r = spawnSync("/bin/sh", ["-c", script], {
            cwd: dir, encoding: "utf8", timeout: 10_000,
            env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, CALENDARS: "", NEXT: "", FAIL: "", ...env },
        });
        const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
    };

    it("enable: a valid calendar is checked, then the timer enabled, (re)started, and its next run printed", () => {
        const r = run(renderEnableTimerScript("snapshots.onCalendar", "x.timer", "*:0/15"), { CALENDARS: "*:0/15", NEXT: "Sat 2026-12-05 05:00:00 UTC" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls, [
            "systemd-analyze calendar *:0/15",
            "systemctl daemon-reload",
            "systemctl enable --now x.timer",
            "systemctl restart x.timer",
            "systemctl show -p NextElapseUSecRealtime --value x.timer",
        ]);
        // Only the summary line: enable's chatter is silenced; daemon-reload's and restart's pass through.
        assert.equal(r.stdout, "systemctl chatter: daemon-reload\nsystemctl chatter: restart\nsnapshots on host-a: Sat 2026-12-05 05:00:00 UTC\n");
        assert.doesNotMatch(r.stderr, /noise on stderr: enable/);
    });

    it("enable: a timer with no next run known yet says `scheduled`; the setting's first word names what is on", () => {
        const r = run(renderEnableTimerScript("defrag.onCalendar", "y.timer", "Sun 03:00"), { CALENDARS: "Sun 03:00" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^defrag on host-a: scheduled$/m);
    });

    it("enable: a calendar systemd refuses fails naming the setting and the value; nothing is enabled", () => {
        const onCalendar = `every "day" at $(noon) 'o'`;
        const r = run(renderEnableTimerScript("snapshots.onCalendar", "x.timer", onCalendar), { CALENDARS: "*:0/15" });
        assert.equal(r.status, 1);
        assert.equal(r.stderr, `snapshots.onCalendar "${onCalendar}" is not a systemd calendar expression (systemd-analyze calendar)\n`);
        assert.equal(r.stdout, "");
        assert.deepEqual(r.calls, [`systemd-analyze calendar ${onCalendar}`], "the value reaches systemd-analyze as one word, verbatim; no systemctl call");
    });

    it("enable: a systemctl step that fails fails the script there (set -eu)", () => {
        for (const verb of ["daemon-reload", "enable", "restart"]) {
            fs.rmSync(path.join(dir, "calls"), { force: true });
            const r = run(renderEnableTimerScript("snapshots.onCalendar", "x.timer", "daily"), { CALENDARS: "daily", FAIL: verb });
            assert.notEqual(r.status, 0, verb);
            assert.equal(r.calls[r.calls.length - 1].split(" ")[1], verb, `nothing after the failed ${verb}`);
            assert.doesNotMatch(r.stdout, /snapshots on/, verb);
        }
    });

    it("disable: stops and disables the timer and forgets the unit's failed run, even when systemctl fails; says what stays", () => {
        for (const fail of ["", "disable reset-failed"]) {
            fs.rmSync(path.join(dir, "calls"), { force: true });
            const r = run(renderDisableTimerScript("snapshots", "x.timer", "x.service", " (files kept)"), { FAIL: fail });
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.calls, ["systemctl disable --now x.timer", "systemctl reset-failed x.service"]);
            assert.equal(r.stdout, "snapshots off on host-a (files kept)\n", "systemctl's own output is silenced");
            assert.equal(r.stderr, "");
        }
    });

    it("snapshots and defragmentation: each enables and disables its own timer and unit", () => {
        let r = run(renderEnableSnapshotsScript({ onCalendar: "hourly", keep: 3, maxAgeDays: 7, members: [] }), { CALENDARS: "hourly" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls.slice(0, 3), ["systemd-analyze calendar hourly", "systemctl daemon-reload", `systemctl enable --now ${paths.snapshotTimerName}`]);
        assert.match(r.stdout, /^snapshots on host-a: scheduled$/m);
        fs.rmSync(path.join(dir, "calls"));
        r = run(renderEnableSnapshotsScript({ onCalendar: "weekly", keep: 3, maxAgeDays: 7, members: [] }), { CALENDARS: "hourly" });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /^snapshots\.onCalendar "weekly" is not a systemd calendar expression/);
        fs.rmSync(path.join(dir, "calls"));

        r = run(renderEnableDefragScript({ member: "lab-2", onCalendar: "Sun 03:00" }), { CALENDARS: "Sun 03:00" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.calls.slice(0, 3), ["systemd-analyze calendar Sun 03:00", "systemctl daemon-reload", `systemctl enable --now ${paths.defragTimerName}`]);
        assert.match(r.stdout, /^defrag on host-a: scheduled$/m);
        fs.rmSync(path.join(dir, "calls"));
        r = run(renderEnableDefragScript({ member: "lab-2", onCalendar: "Mon" }), { CALENDARS: "" });
        assert.match(r.stderr, /^defrag\.onCalendar "Mon" is not a systemd calendar expression/);
        fs.rmSync(path.join(dir, "calls"));

        r = run(renderDisableSnapshotsScript());
        assert.deepEqual(r.calls, [`systemctl disable --now ${paths.snapshotTimerName}`, `systemctl reset-failed ${paths.snapshotUnitName}`]);
        assert.equal(r.stdout, `snapshots off on host-a (taken snapshots are kept in ${paths.snapshotDir})\n`);
        fs.rmSync(path.join(dir, "calls"));
        r = run(renderDisableDefragScript());
        assert.deepEqual(r.calls, [`systemctl disable --now ${paths.defragTimerName}`, `systemctl reset-failed ${paths.defragUnitName}`]);
        assert.equal(r.stdout, "defrag off on host-a\n");
    });
});

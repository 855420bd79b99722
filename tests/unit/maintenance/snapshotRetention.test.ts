/**
 * The scheduled snapshot's safety rules, run by sh (not compared as text): a snapshot is kept only
 * once etcdutl has checked it, retention keeps the newest `keep` and drops those older than
 * `maxAgeDays`, and a failed run deletes nothing. etcdctl, etcdutl and install are fakes; the
 * snapshot dir is a temp dir.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../../components/base/paths";
import { renderSnapshotScript } from "../../../components/maintenance/renderSnapshots";
import { spec } from "../fixtures";

describe("scheduled snapshots: check before keep, retention (run by sh with fake etcdctl/etcdutl)", () => {
    const s = spec({ snapshots: { onCalendar: "hourly", keep: 3, maxAgeDays: 7 } });
    let root = "";
    let dir = "";
    let bin = "";

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-snapshots-"));
        dir = path.join(root, "backups");
        bin = path.join(root, "bin");
        fs.mkdirSync(bin);
        // HEALTH=fail: the member does not answer; STATUS=fail: etcdutl finds the file corrupt.
        // SAVE=partial: like etcdctl, it writes its own temporary `<file>.part` and fails before the rename;
        // SAVE=hang: it writes that file and waits (a save systemd stops at its timeout).
        fs.writeFileSync(path.join(bin, "etcdctl"), '#!/bin/sh\ncase "$*" in *"endpoint health"*) [ "$HEALTH" != fail ] ;;' +
            ' *"snapshot save"*) for a; do f=$a; done; case "$SAVE" in partial) echo half > "$f.part"; exit 1 ;; hang) echo half > "$f.part"; exec sleep 30 ;; esac; echo snapshot > "$f" ;; esac\n', { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "etcdutl"), '#!/bin/sh\n[ "$STATUS" != fail ]\n', { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "install"), '#!/bin/sh\nfor a; do d=$a; done; mkdir -p "$d"\n', { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    /** Existing snapshots, `ageDays` old each (by mtime). */
    function existing(ages: Record<string, number>): void {
        fs.mkdirSync(dir, { recursive: true });
        for (const [name, ageDays] of Object.entries(ages)) {
            const f = path.join(dir, name);
            fs.writeFileSync(f, "old");
            const t = new Date(Date.now() - ageDays * 86_400_000 - 60_000);
            fs.utimesSync(f, t, t);
        }
    }

    function run(env: Record<string, string> = {}) {
        const script = renderSnapshotScript(s, s.snapshots!).split(paths.snapshotDir).join(dir).split(`${paths.binDir}/`).join(`${bin}/`);
        return spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env } });
    }

    const listed = () => fs.readdirSync(dir).sort();

    it("keeps the newest 3 scheduled snapshots (the new one among them) and leaves other files alone", () => {
        existing({ "scheduled-h-a.db": 1, "scheduled-h-b.db": 2, "scheduled-h-c.db": 3, "scheduled-h-d.db": 4, "manual.db": 30 });
        const r = run();
        assert.equal(r.status, 0, r.stderr);
        const kept = listed();
        assert.equal(kept.filter((f) => f.startsWith("scheduled-")).length, 3, kept.join(" "));
        assert.ok(kept.includes("scheduled-h-a.db") && kept.includes("scheduled-h-b.db"), kept.join(" "));
        assert.ok(!kept.includes("scheduled-h-c.db") && !kept.includes("scheduled-h-d.db"), kept.join(" "));
        assert.ok(kept.includes("manual.db"), "a file that is not a scheduled snapshot was removed");
        assert.match(r.stdout, /checked; 3 kept/);
    });

    it("drops a snapshot older than maxAgeDays even when fewer than keep remain", () => {
        existing({ "scheduled-h-old.db": 8, "scheduled-h-recent.db": 6 });
        const r = run();
        assert.equal(r.status, 0, r.stderr);
        assert.ok(!listed().includes("scheduled-h-old.db"), listed().join(" "));
        assert.ok(listed().includes("scheduled-h-recent.db"), listed().join(" "));
    });

    it("a member that does not answer: no snapshot, nothing deleted", () => {
        existing({ "scheduled-h-a.db": 1, "scheduled-h-b.db": 2, "scheduled-h-c.db": 3, "scheduled-h-old.db": 9 });
        const before = listed();
        const r = run({ HEALTH: "fail" });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /no snapshot: etcd on .* is not healthy/);
        assert.deepEqual(listed(), before);
    });

    it("a save that fails half-way leaves none of its files (etcdctl's own `.part` either), and nothing older is deleted", () => {
        existing({ "scheduled-h-a.db": 1 });
        const r = run({ SAVE: "partial" });
        assert.notEqual(r.status, 0);
        assert.deepEqual(listed(), ["scheduled-h-a.db"]);
    });

    it("a save stopped by systemd (SIGTERM to the unit's processes) leaves none of its files", async () => {
        existing({ "scheduled-h-a.db": 1 });
        const script = renderSnapshotScript(s, s.snapshots!).split(paths.snapshotDir).join(dir).split(`${paths.binDir}/`).join(`${bin}/`);
        const child = spawn("sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SAVE: "hang" }, detached: true, stdio: "ignore" });
        const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
        for (let i = 0; i < 100 && !listed().some((f) => f.endsWith(".part.part")); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(listed().some((f) => f.endsWith(".db.part.part")), `the save started: ${listed().join(" ")}`);
        process.kill(-child.pid!, "SIGTERM"); // as systemd stops a unit: every process of it
        assert.notStrictEqual(await closed, 0);
        assert.deepEqual(listed(), ["scheduled-h-a.db"]);
    });

    it("a snapshot etcdutl refuses is not kept (nor its partial file), and nothing older is deleted", () => {
        existing({ "scheduled-h-a.db": 1, "scheduled-h-b.db": 2, "scheduled-h-c.db": 3 });
        const before = listed();
        const r = run({ STATUS: "fail" });
        assert.notEqual(r.status, 0);
        assert.deepEqual(listed(), before);
    });
});

/**
 * Lab, real engine: scheduled snapshots. A short timer on two of three members: snapshot files
 * appear, each checked, and only the newest `keep` stay; a member whose etcd is down gets a failed
 * unit in `systemctl --failed`; turning snapshots off disables the timer and keeps the files.
 */
import * as assert from "assert";
import * as paths from "../../components/paths";
import { ScratchStack, engineUnavailable, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { labAvailable, labSsh, labUp } from "./lab";
import { discardStack, labStackConfig, labTarball, wipeHosts } from "./labStack";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const snapshotsOn = (host: string) => labSsh(host, `ls -1 ${paths.snapshotDir} 2>/dev/null | grep '^scheduled-' || true`).stdout.trim().split("\n").filter((l) => l !== "");

describe("lab: scheduled snapshots (real engine)", function () {
    this.timeout(10 * 60_000);
    let scratch: ScratchStack;

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(3);
        wipeHosts(3);
        for (const h of ["lab1", "lab2", "lab3"]) labSsh(h, `rm -rf ${paths.snapshotDir}`);
        scratch = await scratchStack("lab", {
            ...labStackConfig(3),
            snapshots: { onCalendar: "*:*:0/10", keep: 2, maxAgeDays: 1, members: ["lab-1", "lab-2"] },
        });
        const up = await scratch.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
    });

    after(async () => {
        for (const h of ["lab1", "lab2", "lab3"]) labSsh(h, `systemctl start ${paths.unitName}`);
        await discardStack(scratch, 3);
    });

    it("takes checked snapshots on the chosen members every 10 s and keeps the newest 2", async () => {
        await sleep(35_000);
        for (const host of ["lab1", "lab2"]) {
            const journal = labSsh(host, `journalctl -u ${paths.snapshotUnitName} --no-pager -o cat | grep -c ' checked; ' || true`).stdout.trim();
            console.log(`      ${host}: ${journal} snapshots taken, kept: ${snapshotsOn(host).join(" ")}`);
            assert.ok(Number(journal) >= 3, `${host}: ${journal} snapshots in 35 s`);
            const kept = snapshotsOn(host);
            assert.strictEqual(kept.length, 2, `${host} keeps ${kept.join(" ")}`);
            for (const f of kept) assert.match(f, new RegExp(`^scheduled-${host}-\\d{8}T\\d{6}Z\\.db$`));
            assert.strictEqual(labSsh(host, `stat -c '%a %U' ${paths.snapshotDir}`).stdout.trim(), "700 root");
        }
        assert.deepStrictEqual(snapshotsOn("lab3"), [], "lab3 takes no snapshots");
        assert.notStrictEqual(labSsh("lab3", `systemctl is-enabled ${paths.snapshotTimerName} 2>&1 || true`).stdout.trim(), "enabled");
    });

    it("a snapshot that fails is a failed unit, visible in systemctl --failed and the journal", async () => {
        labSsh("lab2", `systemctl stop ${paths.unitName}`);
        // Every 10 s the unit runs again (and is "activating", not failed, meanwhile): poll, bounded.
        let failed = "";
        for (let i = 0; i < 40 && !failed.includes(paths.snapshotUnitName); i++) {
            await sleep(1000);
            failed = labSsh("lab2", "systemctl --failed --no-legend --plain").stdout;
        }
        assert.match(failed, new RegExp(paths.snapshotUnitName.replace(".", "\\.")), failed);
        assert.match(labSsh("lab2", `journalctl -u ${paths.snapshotUnitName} --no-pager -o cat`).stdout, /no snapshot: etcd on lab2 is not healthy/);
        labSsh("lab2", `systemctl start ${paths.unitName}`);
    });

    it("turning snapshots off disables the timers and keeps the snapshots taken", async () => {
        scratch.setConfig({ snapshots: undefined });
        const up = await scratch.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        for (const host of ["lab1", "lab2"]) {
            assert.notStrictEqual(labSsh(host, `systemctl is-active ${paths.snapshotTimerName} 2>&1 || true`).stdout.trim(), "active", host);
            assert.ok(snapshotsOn(host).length > 0, `${host} lost its snapshots`);
            assert.strictEqual(labSsh(host, `ls /etc/etcd/pki/snapshot.key ${paths.snapshotScriptPath} 2>/dev/null || true`).stdout.trim(), "");
        }
    });
});

/**
 * Lab, real engine: scheduled snapshots and defragmentation. A short snapshot timer on two of
 * three members, under a writer: snapshot files appear, each checked, and only the newest `keep`
 * stay; one older than `maxAgeDays` goes even when fewer than `keep` exist; a member whose etcd is
 * down gets a failed unit in `systemctl --failed`. A short defrag timer on the third member walks
 * every member, the leader last, one at a time. Turning both off disables the timers and keeps
 * the snapshots.
 */
import * as assert from "assert";
import * as paths from "../../components/base/paths";
import { ScratchStack, engineUnavailable } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { BoundedWriter, Credentials, Etcdctl } from "./etcdClient";
import { labAvailable, labSsh } from "./lab";
import { discardStack, labMembers, labStackConfig, labTarball } from "./labStack";
import { deployLab } from "./labCluster";
import { count } from "./report";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const snapshotsOn = (host: string) => labSsh(host, `ls -1 ${paths.snapshotDir} 2>/dev/null | grep '^scheduled-' || true`).stdout.trim().split("\n").filter((l) => l !== "");
/**
 * The snapshots kept on a host: complete ones. The timer fires every 10 s, so a listing may catch a
 * save in flight (`<name>.db.part`, and etcdctl's own `<name>.db.part.part`): seen in the fresh-clone
 * CI at 2026-12-05 17:15 (`… 171540Z.db.part.part` beside the 2 kept). That one is not kept, yet.
 */
const complete = (names: string[]) => names.filter((f) => !/\.part$/.test(f));

describe("lab: scheduled snapshots and defragmentation (real engine)", function () {
    this.timeout(10 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    const endpoints = labMembers(3).map((m) => `https://${m.address}:2379`);

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        ({ scratch, etcdctl, admin } = await deployLab(3, {
            ...labStackConfig(3),
            snapshots: { onCalendar: "*:*:0/10", keep: 2, maxAgeDays: 1, members: ["lab-1", "lab-2"] },
            defrag: { onCalendar: "*:*:5/15", member: "lab-3" },
        }, { prepare: () => { for (const h of ["lab1", "lab2", "lab3"]) labSsh(h, `rm -rf ${paths.snapshotDir}`); } }));
    });

    after(async () => {
        for (const h of ["lab1", "lab2", "lab3"]) labSsh(h, `systemctl start ${paths.unitName}`);
        etcdctl?.dispose();
        await discardStack(scratch, 3);
    });

    it("takes checked snapshots on the chosen members every 10 s and keeps the newest 2, while a client writes", async () => {
        const writer = new BoundedWriter(etcdctl, endpoints.join(","), admin, "lab/snapshots").start();
        // Until each chosen member has checked 3 snapshots (the timer fires every 10 s: 20–30 s) and
        // the writer ran through them; bounded.
        const checked = (host: string) => Number(labSsh(host, `journalctl -u ${paths.snapshotUnitName} --no-pager -o cat | grep -c ' checked; ' || true`).stdout.trim());
        const started = Date.now();
        try {
            while (Date.now() - started < 90_000 && !(writer.acknowledged.length >= 20 && ["lab1", "lab2"].every((h) => checked(h) >= 3))) await sleep(2000);
        } finally {
            await writer.stop();
        }
        console.log(`      waited ${((Date.now() - started) / 1000).toFixed(1)} s for 3 checked snapshots on lab1 and lab2`);
        const lost = await writer.lost();
        console.log(`      ${writer.summary(lost)}`);
        count("writesAcknowledged", writer.acknowledged.length);
        count("writesLost", lost.length);
        assert.ok(writer.acknowledged.length >= 20, `the writer ran (${writer.acknowledged.length} writes)`);
        assert.deepStrictEqual(writer.failed, []);
        assert.deepStrictEqual(lost, []);
        for (const host of ["lab1", "lab2"]) {
            const journal = labSsh(host, `journalctl -u ${paths.snapshotUnitName} --no-pager -o cat | grep -c ' checked; ' || true`).stdout.trim();
            const all = snapshotsOn(host);
            console.log(`      ${host}: ${journal} snapshots taken, kept: ${all.join(" ")}`);
            assert.ok(Number(journal) >= 3, `${host}: ${journal} snapshots within 90 s`);
            const kept = complete(all);
            assert.strictEqual(kept.length, 2, `${host} keeps ${kept.join(" ")}`);
            // Anything else is a save in flight, named after this host and its time.
            assert.ok(all.filter((f) => /\.part$/.test(f)).every((f) => new RegExp(`^scheduled-${host}-\\d{8}T\\d{6}Z\\.db\\.part(\\.part)?$`).test(f)), all.join(" "));
            for (const f of kept) assert.match(f, new RegExp(`^scheduled-${host}-\\d{8}T\\d{6}Z\\.db$`));
            assert.strictEqual(labSsh(host, `stat -c '%a %U' ${paths.snapshotDir}`).stdout.trim(), "700 root");
        }
        assert.deepStrictEqual(snapshotsOn("lab3"), [], "lab3 takes no snapshots");
        assert.notStrictEqual(labSsh("lab3", `systemctl is-enabled ${paths.snapshotTimerName} 2>&1 || true`).stdout.trim(), "enabled");
    });

    it("defragments every member from lab-3's timer, one at a time and the leader last", async () => {
        // The journal of the last complete run: its three "defragmented" lines. Runs are told apart
        // by the unit's invocation: the timer may have started another run whose first lines are in.
        const runs = () => {
            const entries = labSsh("lab3", `journalctl -u ${paths.defragUnitName} --no-pager -o json --output-fields=MESSAGE,_SYSTEMD_INVOCATION_ID`).stdout
                .trim().split("\n").filter((l) => l).map((l) => JSON.parse(l) as { MESSAGE?: unknown; _SYSTEMD_INVOCATION_ID?: string })
                .filter((e) => typeof e.MESSAGE === "string" && e.MESSAGE.startsWith("defragmented "));
            const byRun = new Map<string, string[]>();
            for (const e of entries) byRun.set(e._SYSTEMD_INVOCATION_ID ?? "", [...(byRun.get(e._SYSTEMD_INVOCATION_ID ?? "") ?? []), e.MESSAGE as string]);
            return { entries, complete: [...byRun.values()].filter((lines) => lines.length >= endpoints.length) };
        };
        // The timer fires every 15 s: wait for a complete run, bounded.
        let { entries, complete } = runs();
        for (let i = 0; i < 25 && complete.length === 0; i++) {
            await sleep(2000);
            ({ entries, complete } = runs());
        }
        assert.ok(complete.length >= 1, `lab-3's timer completed no run so far:\n${entries.map((e) => e.MESSAGE).join("\n")}`);
        const last = complete[complete.length - 1];
        assert.strictEqual(last.length, 3, `one run defragments each member once:\n${last.join("\n")}`);
        console.log(last.map((l) => `      ${l}`).join("\n"));
        assert.deepStrictEqual(last.map((l) => l.split(" ")[1].replace(/:$/, "")).sort(), [...endpoints].sort(), "each member once per run");
        assert.match(last[2], /^defragmented https:\/\/\S+ \(leader\): \S+ -> \S+$/, "the leader last");
        assert.ok(last.slice(0, 2).every((l) => !/\(leader\)/.test(l)), "followers first");
        const leader = await etcdctl.run(last[2].split(" ")[1], ["endpoint", "status", "-w", "table"], admin);
        assert.match(leader.out, /\|\s+true\s+\|/, `the member defragmented last leads: ${leader.out}`);
        for (const host of ["lab1", "lab2"]) {
            assert.notStrictEqual(labSsh(host, `systemctl is-enabled ${paths.defragTimerName} 2>&1 || true`).stdout.trim(), "enabled", host);
        }
        assert.strictEqual(labSsh("lab3", `stat -c '%a %U' /etc/etcd/pki/defrag.key`).stdout.trim(), "600 root");
    });

    it("a snapshot older than maxAgeDays goes even when fewer than keep exist", async () => {
        // lab-2 starts over with one snapshot, made 3 days old: count alone (keep 2) would keep it.
        const old = `${paths.snapshotDir}/scheduled-lab2-20200101T000000Z.db`;
        labSsh("lab2", `rm -f ${paths.snapshotDir}/scheduled-*.db && cp /etc/hostname ${old} && touch -d '3 days ago' ${old}`);
        let kept = snapshotsOn("lab2");
        for (let i = 0; i < 25 && kept.includes("scheduled-lab2-20200101T000000Z.db"); i++) {
            await sleep(1000);
            kept = snapshotsOn("lab2");
        }
        assert.ok(!kept.includes("scheduled-lab2-20200101T000000Z.db"), `the old snapshot is still there: ${kept.join(" ")}`);
        assert.ok(kept.length >= 1 && kept.length <= 2, kept.join(" "));
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

    it("turning snapshots and defragmentation off disables the timers and keeps the snapshots taken", async () => {
        scratch.setConfig({ snapshots: undefined, defrag: undefined });
        const up = await scratch.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        for (const host of ["lab1", "lab2"]) {
            assert.notStrictEqual(labSsh(host, `systemctl is-active ${paths.snapshotTimerName} 2>&1 || true`).stdout.trim(), "active", host);
            assert.ok(snapshotsOn(host).length > 0, `${host} lost its snapshots`);
            assert.strictEqual(labSsh(host, `ls /etc/etcd/pki/snapshot.key ${paths.snapshotScriptPath} 2>/dev/null || true`).stdout.trim(), "");
        }
        assert.notStrictEqual(labSsh("lab3", `systemctl is-active ${paths.defragTimerName} 2>&1 || true`).stdout.trim(), "active");
        assert.strictEqual(labSsh("lab3", `ls /etc/etcd/pki/defrag.key ${paths.defragScriptPath} 2>/dev/null || true`).stdout.trim(), "");
    });
});

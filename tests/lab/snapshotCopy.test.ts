/**
 * Lab, real engine: scheduled snapshots copied off their members (etcd:snapshots.copyTo). Three
 * members take a snapshot every 10 s and copy it over SFTP to lab4, a host that is no member, as a
 * login whose authorized_keys holds the stack's `snapshotCopyKeys` output. The copies arrive under
 * `<path>/<member>/`, only the newest `keep` stay, one restores to a cluster holding the key written
 * before; the key cannot open a shell; and when lab4 presents another host key, the job fails
 * (journal, `systemctl --failed`) and the member keeps its snapshot.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lookupKnownHost } from "../../components/base/hostKeys";
import * as paths from "../../components/base/paths";
import { ScratchStack, engineUnavailable, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl } from "./etcdClient";
import { freeLoopbackPort, labAvailable, labIp, labKnownHostsPath, labRead, labRun, labSsh, labUp } from "./lab";
import { adminCredentials, discardStack, labMembers, labStackConfig, labTarball } from "./labStack";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const members = ["lab1", "lab2", "lab3"];
const destination = "lab4";
const user = "etcdbackup";
const dir = "/srv/etcd-snapshots/lab";
const keep = 2;
/** Where the stack puts each member's key and the destination's pin (the lab stack's default pki dir). */
const keyPath = `/etc/etcd/pki/${paths.snapshotCopyFiles.key}`;
const knownHostsPath = `/etc/etcd/pki/${paths.snapshotCopyFiles.knownHosts}`;
/** Complete copies of a member on lab4 (a listing may catch an upload in flight, `<name>.part`). */
const copiesOf = (member: string) => labRead(destination, `ls -1 ${dir}/${member} 2>/dev/null || true`).split("\n").filter((f) => /^scheduled-.*\.db$/.test(f)).sort();
const copiedCount = (host: string) => Number(labRead(host, `journalctl -u ${paths.snapshotUnitName} --no-pager -o cat | grep -c '^copied ' || true`).trim());
/** Stops a member's timer and waits out a run in progress (a oneshot unit is "activating" while it runs: `is-active` says no). */
const stopTimer = (host: string) => labRead(host, `systemctl stop ${paths.snapshotTimerName}; ` +
    `while [ "$(systemctl show -p ActiveState --value ${paths.snapshotUnitName})" = activating ]; do sleep 0.5; done`);
const localSnapshots = (host: string) => labRead(host, `ls -1 ${paths.snapshotDir} | grep -E '^scheduled-.*\\.db$' || true`).split("\n").filter((f) => f !== "").sort();

describe("lab: scheduled snapshots copied off the members (real engine)", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    let keys: Record<string, string>;
    const endpoints = labMembers(3).map((m) => `https://${m.address}:2379`).join(",");
    const marker = `written-before-${Date.now()}`;

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(4);
        for (const h of members) labSsh(h, `rm -rf ${paths.snapshotDir}`);
        // lab4: no member, a login for the copies, the directory they go to (the members make their own under it).
        labRead(destination, [
            `id ${user} >/dev/null 2>&1 || useradd -m -s /bin/sh ${user}`,
            `rm -rf ${dir} && install -d -m 0700 -o ${user} -g ${user} ${dir}`,
            `install -d -m 0700 -o ${user} -g ${user} /home/${user}/.ssh && : > /home/${user}/.ssh/authorized_keys`,
        ].join(" && "));
        const hostKey = lookupKnownHost(fs.readFileSync(labKnownHostsPath(), "utf8"), labIp(destination), 22);
        assert.ok(hostKey, `no host key of ${destination} in ${labKnownHostsPath()}`);
        scratch = await scratchStack("lab", {
            ...labStackConfig(3),
            snapshots: { onCalendar: "*:*:0/10", keep, maxAgeDays: 1, copyTo: { host: labIp(destination), user, path: dir, hostKey, keep } },
        });
        const up = await scratch.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        keys = up.outputs["snapshotCopyKeys"].value as Record<string, string>;
        etcdctl = Etcdctl.extract(labTarball);
        admin = await adminCredentials(scratch, etcdctl);
    });

    after(async () => {
        // lab4 answers with its own keys again in this lane's known_hosts (the impostor test changed them).
        labRun(["known-hosts"], 60_000);
        etcdctl?.dispose();
        await discardStack(scratch, 3);
    });

    it("the output: one restricted authorized_keys line per member, its private key only on its own host (0600 root)", () => {
        assert.deepStrictEqual(Object.keys(keys).sort(), ["lab-1", "lab-2", "lab-3"]);
        for (const [member, line] of Object.entries(keys)) {
            assert.match(line, new RegExp(`^restrict,command="internal-sftp" ssh-ed25519 [A-Za-z0-9+/=]+ etcd-snapshot-copy@${member}$`));
        }
        assert.strictEqual(new Set(Object.values(keys).map((l) => l.split(" ")[2])).size, 3, "three different keys");
        for (const h of members) {
            assert.strictEqual(labRead(h, `stat -c '%a %U:%G' ${keyPath}`).trim(), "600 root:root", h);
        }
        assert.strictEqual(labSsh(destination, `ls /etc/etcd/pki 2>&1 || true`).stdout.includes("snapshot-copy.key"), false, "no key on the destination");
    });

    it("before the destination has the keys, the job fails visibly and the snapshots stay on the members", async () => {
        let failed = "";
        for (let i = 0; i < 40 && !failed.includes(paths.snapshotUnitName); i++) {
            await sleep(1000);
            failed = labRead("lab1", "systemctl --failed --no-legend --plain");
        }
        assert.match(failed, /etcd-snapshot\.service/, failed);
        const journal = labRead("lab1", `journalctl -u ${paths.snapshotUnitName} --no-pager -o cat`);
        assert.match(journal, /Permission denied \(publickey/, journal.slice(-2000));
        assert.match(journal, /not copied to etcdbackup@10\.213\.0\.14:\/srv\/etcd-snapshots\/lab\/lab-1\/ \(sftp exit 255\); the snapshot stays on this host/);
        assert.ok(localSnapshots("lab1").length >= 1, "kept on lab1");
    });

    it("with the keys in lab4's authorized_keys, copies arrive under <path>/<member>/ and only the newest 2 stay", async () => {
        const put = await etcdctl.run(endpoints, ["put", "lab/snapshot-copy/marker", marker], admin);
        assert.strictEqual(put.code, 0, put.out);
        const before = Object.fromEntries(members.map((h) => [h, copiedCount(h)]));
        labRead(destination, `printf '%s\\n' ${Object.values(keys).map((l) => `'${l}'`).join(" ")} > /home/${user}/.ssh/authorized_keys && chown ${user}: /home/${user}/.ssh/authorized_keys && chmod 600 /home/${user}/.ssh/authorized_keys`);
        // Every 10 s a run: wait for 3 copies by each member after the keys arrived (30–40 s), bounded.
        const started = Date.now();
        while (Date.now() - started < 120_000 && !members.every((h) => copiedCount(h) - before[h] >= 3)) await sleep(2000);
        const counts = members.map((h) => `${h} ${copiedCount(h) - before[h]}`).join(", ");
        console.log(`      waited ${((Date.now() - started) / 1000).toFixed(1)} s for 3 copies by each member (${counts})`);
        assert.ok(members.every((h) => copiedCount(h) - before[h] >= 3), counts);
        // Stop the timers and let a run in progress end: between a copy's rename and its retention a listing sees keep + 1.
        for (const h of members) stopTimer(h);
        for (const [i, h] of members.entries()) {
            const copies = copiesOf(`lab-${i + 1}`);
            console.log(`      ${dir}/lab-${i + 1}: ${copies.join(" ")}`);
            assert.strictEqual(copies.length, keep, `lab-${i + 1} keeps ${copies.join(" ")}`);
            for (const c of copies) assert.match(c, new RegExp(`^scheduled-${h}-\\d{8}T\\d{6}Z\\.db$`));
            // The newest copy is the member's newest snapshot, byte for byte.
            const newest = copies[copies.length - 1];
            assert.ok(localSnapshots(h).includes(newest), `${newest} is among ${h}'s own snapshots`);
            const local = labRead(h, `sha256sum < ${paths.snapshotDir}/${newest}`).split(" ")[0];
            const remote = labRead(destination, `sha256sum < ${dir}/lab-${i + 1}/${newest}`).split(" ")[0];
            assert.strictEqual(remote, local, `${newest}: the copy is the snapshot`);
        }
        const leftovers = labRead(destination, `find ${dir} -name '*.part'`).trim();
        assert.strictEqual(leftovers, "", "no partial copy under any name");
        assert.strictEqual(labRead(destination, `stat -c '%U' ${dir}/lab-1`).trim(), user);
        for (const h of members) labRead(h, `systemctl start ${paths.snapshotTimerName}`);
    });

    it("a copy passes etcdutl snapshot status and restores to a cluster holding the key written before", async () => {
        const newest = copiesOf("lab-2").pop()!;
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-copy-restore-"));
        let etcd: ReturnType<typeof spawn> | undefined;
        try {
            const file = path.join(work, newest);
            fs.writeFileSync(file, Buffer.from(labRead(destination, `base64 -w0 < ${dir}/lab-2/${newest}`).trim(), "base64"));
            const etcdutl = path.join(etcdctl.dir, "etcdutl");
            const status = spawnSync(etcdutl, ["snapshot", "status", file, "-w", "json"], { encoding: "utf8" });
            assert.strictEqual(status.status, 0, status.stderr);
            console.log(`      ${newest} (from lab4): ${status.stdout.trim()}`);
            const [client, peer] = [await freeLoopbackPort(), await freeLoopbackPort()];
            const peerUrl = `http://127.0.0.1:${peer}`;
            const restored = spawnSync(etcdutl, ["snapshot", "restore", file, "--data-dir", path.join(work, "data"), "--name", "copy-check",
                "--initial-cluster", `copy-check=${peerUrl}`, "--initial-advertise-peer-urls", peerUrl], { encoding: "utf8" });
            assert.strictEqual(restored.status, 0, restored.stderr);
            etcd = spawn(path.join(etcdctl.dir, "etcd"), ["--name", "copy-check", "--data-dir", path.join(work, "data"),
                "--listen-client-urls", `http://127.0.0.1:${client}`, "--advertise-client-urls", `http://127.0.0.1:${client}`,
                "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `copy-check=${peerUrl}`], { stdio: "ignore" });
            let got = { code: 1, out: "" };
            for (let i = 0; i < 30 && got.code !== 0; i++) {
                await sleep(1000);
                got = await etcdctl.run(`http://127.0.0.1:${client}`, ["get", "lab/snapshot-copy/marker", "--print-value-only"], { ca: admin.ca });
            }
            assert.strictEqual(got.code, 0, got.out);
            assert.strictEqual(got.out.trim(), marker);
        } finally {
            etcd?.kill("SIGKILL");
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    it("the member's key opens no shell on the destination: SFTP only", () => {
        const r = labSsh("lab1", `ssh -F none -i ${keyPath} -o IdentitiesOnly=yes -o BatchMode=yes ` +
            `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsPath} -o HostKeyAlias=${paths.snapshotCopyHostAlias} ` +
            `${user}@${labIp(destination)} 'echo shell-opened' 2>&1; echo "exit $?"`);
        console.log(`      ${r.stdout.trim().split("\n").join(" | ")}`);
        assert.doesNotMatch(r.stdout, /^shell-opened$/m);
        assert.match(r.stdout, /This service allows sftp connections only/);
    });

    it("a destination presenting another host key: the job fails (journal, systemctl --failed), the member keeps its snapshot, nothing arrives", () => {
        // One run by hand, lab1's timer stopped: `systemctl start` of a oneshot unit waits for its end and reports its failure.
        stopTimer("lab1");
        labRead("lab1", `systemctl reset-failed ${paths.snapshotUnitName}; true`);
        const copiesBefore = copiesOf("lab-1");
        console.log(`      ${labRun(["impostor", destination], 120_000).stdout.trim()}`);
        const since = labRead("lab1", "date '+%Y-%m-%d %H:%M:%S'").trim();
        const run = labSsh("lab1", `systemctl start ${paths.snapshotUnitName}`);
        assert.notStrictEqual(run.code, 0, "the job failed");
        assert.match(labRead("lab1", "systemctl --failed --no-legend --plain"), /etcd-snapshot\.service/);
        const journal = labRead("lab1", `journalctl -u ${paths.snapshotUnitName} --since '${since}' --no-pager -o cat`);
        console.log(journal.trim().split("\n").map((l) => `        ${l}`).join("\n"));
        assert.match(journal, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/, journal);
        const named = /not copied to .*; the snapshot stays on this host: \/var\/backups\/etcd\/(scheduled-lab1-\d{8}T\d{6}Z\.db)/.exec(journal);
        assert.ok(named, journal);
        assert.ok(localSnapshots("lab1").includes(named[1]), `${named[1]} kept on lab1: ${localSnapshots("lab1").join(" ")}`);
        // labSsh pins no host key: lab4's files can still be listed. Nothing arrived.
        assert.deepStrictEqual(copiesOf("lab-1"), copiesBefore);
        assert.strictEqual(labRead(destination, `find ${dir} -name '${named[1]}*'`).trim(), "", "no part of it on the impostor");
    });
});

/**
 * The membership scripts (renderMembership.ts) run by sh against a fake cluster (fakeCluster.ts):
 * the promote of a learner, the membership reconcile (removal order, leader hand-off, the health
 * wait after each removal, the quorum of the voters that stay), the member list and data probe the
 * membership provider reads, and the rejoin of a member removed by hand. Assertions are on exit
 * codes, the calls made (etcdctl, systemctl) and what is printed.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { configPath, membersFilePath } from "../../../components/spec/where";
import {
    joinRecordPath, renderDataProbeScript, renderMemberListScript, renderPromoteScript, renderReconcileMembershipScript, renderRejoinScript,
} from "../../../components/membership/renderMembership";
import { Host, changes, client, ids, localEp, makeHost, peer, row, voters3 } from "../fakeCluster";

describe("membership scripts (run by sh against a fake cluster)", function () {
    this.timeout(60_000);
    const hosts: Host[] = [];
    const fresh = (timeout?: number) => { const h = makeHost(timeout); hosts.push(h); return h; };
    after(() => { for (const h of hosts.splice(0)) fs.rmSync(h.dir, { recursive: true, force: true }); });
    const existingRecord = (h: Host) => fs.writeFileSync(joinRecordPath(h.spec),
        `initial-cluster-state=existing\ninitial-cluster=lab-1=${peer(1)},lab-3=${peer(3)},lab-2=${peer(2)}\n`);

    describe("promote", () => {
        const promote = (h: Host) => renderPromoteScript(h.spec, h.spec.members[1]);

        it("a learner that has caught up is promoted once, through the other members, and the step ends", () => {
            const h = fresh();
            existingRecord(h);
            const r = h.run({ list: [row(1), row(2, { learner: true }), row(3)], leader: 1, local: 2 }, promote(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), [`etcdctl member promote ${ids[2]} @${client(1)},${client(3)}`]);
            assert.match(r.stdout, /^lab-2 promoted from learner to voting member$/m);
            assert.ok(r.list.includes(row(2)), r.list.join("\n"));
        });

        it("a learner etcd refuses (not caught up yet) is asked again until it is promoted", () => {
            const h = fresh(5);
            existingRecord(h);
            const r = h.run({ list: [row(1), row(2, { learner: true }), row(3)], leader: 1, local: 2, refusePromote: 1 }, promote(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.equal(changes(r.log).filter((l) => l.startsWith("etcdctl member promote")).length, 2);
            assert.match(r.stdout, /lab-2 promoted from learner to voting member/);
        });

        it("a learner that never catches up: fails at the health timeout naming the learner, its ID, etcd's refusal, the next step and its journal", () => {
            const h = fresh(1);
            existingRecord(h);
            const r = h.run({ list: [row(1), row(2, { learner: true }), row(3)], leader: 1, local: 2, refusePromote: "always" }, promote(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stderr, new RegExp(`lab-2 could not be promoted within 1s: Error: etcdserver: can only promote a learner member which is in sync with leader\\. ` +
                `lab-2 is still a learner \\(ID ${ids[2]}\\): it has not caught up with the leader\\..*take it out of etcd:members and run pulumi up`));
            assert.match(r.stderr, /journal: lab-2 is catching up/);
            assert.ok(r.list.includes(row(2, { learner: true })), "still a learner");
        });

        it("a voting member: nothing is promoted", () => {
            const h = fresh();
            existingRecord(h);
            const r = h.run({ list: voters3, leader: 1, local: 2 }, promote(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stdout, /^lab-2 is a voting member$/m);
        });

        it("a member that bootstrapped the cluster votes from the start: nobody is asked", () => {
            const h = fresh();
            fs.writeFileSync(joinRecordPath(h.spec), `initial-cluster-state=new\ninitial-cluster=lab-1=${peer(1)}\n`);
            const r = h.run({ list: voters3, down: [1, 2, 3], local: 2 }, promote(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(r.log, []);
            assert.match(r.stdout, /lab-2 bootstrapped the cluster: a voting member/);
        });

        it("no other member answers: fails at the timeout naming where it asked, promoting nothing", () => {
            const h = fresh(1);
            existingRecord(h);
            const r = h.run({ list: [row(1), row(2, { learner: true }), row(3)], down: [1, 3], local: 2 }, promote(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, new RegExp(`lab-2 could not be promoted within 1s: no other member answers \\(at ${client(1)},${client(3)}\\); last journal lines:`));
        });

        it("a member another member shares the name with, at another peer URL, is not this member: it is not promoted", () => {
            // Only the peer URL identifies this member in the list (a same-named learner elsewhere is another machine).
            const h = fresh();
            existingRecord(h);
            const r = h.run({ list: [row(1), row(3), row(4, { name: "lab-2", learner: true, peer: "https://10.213.0.22:2380" })], leader: 1, local: 2 }, promote(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stdout, /lab-2 is not in the member list \(removed by hand\?\): not promoted/);
        });
    });

    describe("promote of a member that took over an existing etcd (adopt)", () => {
        const adopted = (h: Host) => fs.writeFileSync(joinRecordPath(h.spec),
            `initial-cluster-state=existing\ninitial-cluster=lab-3=${peer(3)}\nadopted-from=/var/lib/etcd-legacy\n`);
        const promote = (h: Host) => renderPromoteScript(h.spec, h.spec.members[2]);

        it("its registered peer URL (plaintext) becomes the stack's TLS one, through this host's etcd; nothing promoted", () => {
            const h = fresh();
            adopted(h);
            const r = h.run({ list: [row(1), row(2), row(3, { peer: "http://10.213.0.13:2380" })], leader: 1, local: 3 }, promote(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), [`etcdctl member update ${ids[3]} @${localEp}`]);
            assert.match(r.stdout, /^lab-3 \(adopted\) now reached by its peers at https:\/\/10\.213\.0\.13:2380 \(was http:\/\/10\.213\.0\.13:2380\)$/m);
            assert.ok(r.list.includes(row(3)), r.list.join("\n"));
        });

        it("already at the stack's URL: nothing changes", () => {
            const h = fresh();
            adopted(h);
            const r = h.run({ list: voters3, leader: 1, local: 3 }, promote(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stdout, /^lab-3 \(adopted\) is a voting member at https:\/\/10\.213\.0\.13:2380$/m);
        });

        it("its etcd not healthy within the timeout: fails naming it, nothing changed", () => {
            const h = fresh(1);
            adopted(h);
            const r = h.run({ list: [row(1), row(2), row(3, { peer: "http://10.213.0.13:2380" })], down: [3], leader: 1, local: 3 }, promote(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, /lab-3 \(adopted\) not healthy after 1s/);
        });
    });

    describe("membership reconcile", () => {
        const reconcile = (h: Host) => renderReconcileMembershipScript(h.spec);
        const leaving = [row(4, { name: "old-4" }), row(5, { name: "old-5" })];

        it("nothing to remove: says so and removes nothing", () => {
            const h = fresh();
            const r = h.run({ list: [...voters3, row(4, { learner: true, name: "lab-4", peer: peer(4) })].slice(0, 3), leader: 1, local: 1 }, reconcile(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stdout, /^membership matches the stack \(3 voting members\)$/m);
        });

        it("members that are down leave first; a leaving leader hands leadership to this member before it is removed; the cluster's health is awaited after each", () => {
            const h = fresh();
            // old-4 is up and leads, old-5 is down.
            const r = h.run({ list: [...voters3, ...leaving], down: [5], leader: 4, local: 1 }, reconcile(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), [
                `etcdctl member remove ${ids[5]} @${localEp}`,
                `etcdctl move-leader ${ids[1]} @${client(4)}`,
                `etcdctl member remove ${ids[4]} @${localEp}`,
            ]);
            assert.match(r.stdout, new RegExp(`removed member old-5 \\(${ids[5]}\\)\\nmoved leadership from old-4 to this member\\nremoved member old-4 \\(${ids[4]}\\)\\nmembership matches the stack \\(3 voting members\\)`));
            assert.deepEqual(r.list, voters3);
            // A health check after each removal, before the next.
            const afterFirst = r.log.slice(r.log.indexOf(`etcdctl member remove ${ids[5]} @${localEp}`) + 1);
            assert.equal(afterFirst[0], `etcdctl endpoint health @${localEp}`, r.log.join("\n"));
        });

        it("leaving members of the same kind (all up) go in name order, whatever order etcd lists them in (its ID order): as the plan says", () => {
            const h = fresh();
            // etcd lists by member ID: here lab-7 before lab-6 (the lab's 7 -> 5 run, 2026-12-05), and
            // old-10 before old-9 in byte order of names is what the plan's sort gives too.
            const r = h.run({ list: [...voters3, row(5, { name: "lab-7" }), row(4, { name: "lab-6" })], leader: 1, local: 1 }, reconcile(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), [`etcdctl member remove ${ids[4]} @${localEp}`, `etcdctl member remove ${ids[5]} @${localEp}`]);
            assert.match(r.stdout, /removed member lab-6 \(\w+\)\nremoved member lab-7 /);
        });

        it("a leaving member that does not lead is removed without moving leadership", () => {
            const h = fresh();
            const r = h.run({ list: [...voters3, row(4, { name: "old-4" })], leader: 2, local: 1 }, reconcile(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), [`etcdctl member remove ${ids[4]} @${localEp}`]);
        });

        it("waits for the cluster's health after a removal, and fails naming the member when it does not come back", () => {
            const h = fresh(4);
            const ok = h.run({ list: [...voters3, ...leaving], leader: 1, local: 1, unhealthyAfterRemove: 1 }, reconcile(h));
            assert.equal(ok.status, 0, ok.stdout + ok.stderr);
            // A failed check, then a healthy one, after the first removal, before the second.
            const between = ok.log.slice(ok.log.findIndex((l) => l.startsWith("etcdctl member remove")) + 1);
            assert.deepEqual(between.slice(0, 3).map((l) => l.split(" @")[0]), ["etcdctl endpoint health", "etcdctl endpoint health", "etcdctl endpoint status"]);
            const h2 = fresh(1);
            const bad = h2.run({ list: [...voters3, ...leaving], leader: 1, local: 1, unhealthyAfterRemove: "always" as unknown as number }, reconcile(h2));
            assert.equal(bad.status, 1, bad.stdout + bad.stderr);
            assert.match(bad.stderr, /cluster not healthy after removing old-[45]/);
            assert.equal(changes(bad.log).filter((l) => l.includes("member remove")).length, 1, "stops at the first removal the cluster does not survive");
        });

        it("a leaving member never started (no name) is named (unstarted) and removed", () => {
            const h = fresh();
            const unstarted = `${ids[4]}, unstarted, , https://10.213.0.14:2380, , true`;
            const r = h.run({ list: [...voters3, unstarted], leader: 1, local: 1 }, reconcile(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), [`etcdctl member remove ${ids[4]} @${localEp}`]);
            assert.match(r.stdout, new RegExp(`removed member \\(unstarted\\) \\(${ids[4]}\\)`));
        });

        it("refuses, naming every leaving member, when the voters that stay have no quorum (3 stay, 1 up)", () => {
            const h = fresh();
            const r = h.run({ list: [...voters3, ...leaving], down: [2, 3, 5], leader: 1, local: 1 }, reconcile(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, /refusing to remove old-5 old-4: only 1 of the 3 voting members that stay are up \(quorum 2\); nothing was changed/);
        });

        it("2 of 3 staying voters up is a quorum: the removal goes on", () => {
            const h = fresh();
            const r = h.run({ list: [...voters3, row(4, { name: "old-4" })], down: [3], leader: 1, local: 1 }, reconcile(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), [`etcdctl member remove ${ids[4]} @${localEp}`]);
            assert.match(r.stdout, /membership matches the stack \(3 voting members\)/);
        });
    });

    describe("member list and data probe (what the membership provider reads)", () => {
        it("through this host's etcd when it answers: `answered-by local`, then each member", () => {
            const h = fresh();
            const r = h.run({ list: voters3, leader: 1, local: 2 }, renderMemberListScript(h.spec), "0\n");
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout, `answered-by local\n${voters3.map((l) => `member ${l}\n`).join("")}`);
            assert.deepEqual(r.log, [`etcdctl member list @${localEp}`]);
        });

        it("through the others when this host's etcd does not answer: `answered-by others`", () => {
            const h = fresh();
            const r = h.run({ list: voters3, down: [2], leader: 1, local: 2 }, renderMemberListScript(h.spec), "0\n");
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout.split("\n")[0], "answered-by others");
            assert.equal(r.log[1], `etcdctl member list @${client(1)},${client(2)},${client(3)}`);
        });

        it("nobody answers: exit 3 after waiting the seconds given on stdin, naming where it asked", () => {
            const h = fresh();
            const t0 = Date.now();
            const r = h.run({ list: voters3, down: [1, 2, 3], local: 2 }, renderMemberListScript(h.spec), "2\n");
            const took = Date.now() - t0;
            assert.equal(r.status, 3, r.stdout + r.stderr);
            // The deadline is in whole seconds: 2 s from now is at least 1 s of waiting.
            assert.ok(took >= 1000, `waited ${took} ms`);
            assert.match(r.stderr, new RegExp(`no member of the cluster answers, at ${localEp} or at ${client(1)},${client(2)},${client(3)}`));
            assert.ok(r.log.length >= 4, "asked more than once");
            const once = h.run({ list: voters3, down: [1, 2, 3], local: 2 }, renderMemberListScript(h.spec), "");
            assert.equal(once.status, 3);
            assert.equal(once.log.length, 2, "no stdin: no wait, asked once");
        });

        it("the data probe says whether member/ is in the data dir", () => {
            const h = fresh();
            assert.equal(h.run({ list: [], local: 2 }, renderDataProbeScript(h.spec)).stdout, "data missing\n");
            fs.mkdirSync(path.join(h.data, "member"));
            assert.equal(h.run({ list: [], local: 2 }, renderDataProbeScript(h.spec)).stdout, "data present\n");
        });
    });

    describe("rejoin", () => {
        const config = (state: string, cluster: string) => `name: "lab-2"\ninitial-cluster-state: "${state}"\ninitial-cluster: "${cluster}"\ndata-dir: /var/lib/etcd\n`;
        const rejoin = (h: Host) => renderRejoinScript(h.spec, h.spec.members[1]);

        it("a member removed by hand: stopped, its data moved aside, added back as a learner, the config given the new decision, started", () => {
            const h = fresh();
            existingRecord(h);
            fs.writeFileSync(configPath(h.spec), config("new", `lab-1=${peer(1)},lab-2=${peer(2)},lab-3=${peer(3)}`), { mode: 0o640 });
            fs.mkdirSync(path.join(h.data, "member", "wal"), { recursive: true });
            const r = h.run({ list: [row(1), row(3)], leader: 1, local: 2 }, rejoin(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /lab-2 is not a member of the cluster \(removed by hand\?\): adding it back as a new member/);
            assert.deepEqual(changes(r.log).map((l) => l.split(" @")[0]), ["systemctl stop etcd.service", "etcdctl member add lab-2", "systemctl start --no-block etcd.service"]);
            assert.ok(!fs.existsSync(path.join(h.data, "member")), "no data left for the new member");
            assert.equal(fs.readdirSync(h.data).filter((d) => /^member\.removed-\d+$/.test(d)).length, 1, "moved aside, not deleted");
            assert.equal(fs.readFileSync(configPath(h.spec), "utf8"), config("existing", `lab-1=${peer(1)},lab-3=${peer(3)},lab-2=${peer(2)}`));
            assert.equal(fs.statSync(configPath(h.spec)).mode & 0o777, 0o640, "mode kept");
            assert.match(r.stdout, /lab-2: etcd started as a learner/);
            assert.deepEqual(fs.readdirSync(h.spec.dirs.config).filter((f) => f.startsWith(".etcd-stack")), [], "no temp file left");
        });

        it("a member the cluster lists, with its data here and running: nothing stopped, nothing added, the config unchanged", () => {
            const h = fresh();
            existingRecord(h);
            const cfg = config("existing", `lab-1=${peer(1)},lab-3=${peer(3)},lab-2=${peer(2)}`);
            fs.writeFileSync(configPath(h.spec), cfg);
            fs.mkdirSync(path.join(h.data, "member"));
            const before = fs.statSync(configPath(h.spec)).ino;
            const r = h.run({ list: voters3, leader: 1, local: 2 }, rejoin(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.equal(fs.statSync(configPath(h.spec)).ino, before, "the config file not replaced");
            assert.equal(fs.readFileSync(configPath(h.spec), "utf8"), cfg);
            assert.ok(fs.existsSync(path.join(h.data, "member")));
        });

        it("listed, its data here, but stopped (a killed run): started again, nothing added", () => {
            const h = fresh();
            existingRecord(h);
            fs.writeFileSync(configPath(h.spec), config("existing", `lab-1=${peer(1)},lab-3=${peer(3)},lab-2=${peer(2)}`));
            fs.mkdirSync(path.join(h.data, "member"));
            const r = h.run({ list: voters3, leader: 1, local: 2, active: false }, rejoin(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), ["systemctl start --no-block etcd.service"]);
            assert.ok(r.log.includes("systemctl reset-failed etcd.service"));
        });

        it("no join decision on the host: fails naming the record (missing: sed's error; without both keys: the join step must run first), the config unchanged", () => {
            const h = fresh();
            const cfg = config("existing", `lab-1=${peer(1)},lab-3=${peer(3)},lab-2=${peer(2)}`);
            fs.writeFileSync(configPath(h.spec), cfg);
            fs.mkdirSync(path.join(h.data, "member"));
            const missing = h.run({ list: voters3, leader: 1, local: 2 }, rejoin(h));
            assert.notEqual(missing.status, 0, missing.stdout + missing.stderr);
            assert.ok(missing.stderr.includes(joinRecordPath(h.spec)), missing.stderr);
            fs.writeFileSync(joinRecordPath(h.spec), "initial-cluster-state=existing\n");
            const partial = h.run({ list: voters3, leader: 1, local: 2 }, rejoin(h));
            assert.equal(partial.status, 1, partial.stdout + partial.stderr);
            assert.ok(partial.stderr.includes(`no join decision in ${joinRecordPath(h.spec)}: the join step must run first`), partial.stderr);
            for (const r of [missing, partial]) assert.deepEqual(changes(r.log), []);
            assert.equal(fs.readFileSync(configPath(h.spec), "utf8"), cfg);
            assert.deepEqual(fs.readdirSync(h.spec.dirs.config).filter((f) => f.startsWith(".etcd-stack")), [], "no temp file left");
        });

        it("no other member answers: fails, changing nothing", () => {
            const h = fresh();
            existingRecord(h);
            fs.writeFileSync(configPath(h.spec), config("existing", "x"));
            const r = h.run({ list: [row(1), row(3)], down: [1, 3], local: 2 }, rejoin(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, new RegExp(`lab-2: no other member answers \\(at ${client(1)},${client(3)}\\): cannot add it back`));
            assert.ok(fs.existsSync(joinRecordPath(h.spec)), "the join record kept");
        });
    });
});

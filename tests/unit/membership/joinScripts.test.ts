/**
 * The join script (renderMembership.ts renderJoinScript) run by sh against a fake cluster
 * (fakeCluster.ts), beyond the bootstrap guard (bootstrapGuard.test.ts): a member moved to a new
 * host (its old registration removed first, only with a quorum of the other voters), the wait on
 * `unhealthy cluster`, the learner in the way named, a member already registered. Assertions are
 * on exit codes, the etcdctl calls made, what is printed and the join record.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { joinRecordPath, renderJoinScript } from "../../../components/membership/renderMembership";
import { RawClusterConfig } from "../../../components/spec/types";
import { Host, changes, client, ids, makeHost, peer, row } from "../fakeCluster";
import { rawConfig } from "../fixtures";

describe("join script (run by sh against a fake cluster)", function () {
    this.timeout(60_000);
    const hosts: Host[] = [];
    const fresh = (timeout?: number) => { const h = makeHost(timeout); hosts.push(h); return h; };
    after(() => { for (const h of hosts.splice(0)) fs.rmSync(h.dir, { recursive: true, force: true }); });

    describe("join of a member moved to a new host (the cluster lists its name at another peer URL)", () => {
        const moved = (o: { learner?: boolean } = {}) => row(2, { peer: "https://10.213.0.22:2380", client: "https://10.213.0.22:2379", ...o });
        const join = (h: Host) => renderJoinScript(h.spec, h.spec.members[1], "existing");

        it("the old registration is removed before the member is added again as a learner at its new URL", () => {
            const h = fresh();
            const r = h.run({ list: [row(1), moved(), row(3)], down: [], leader: 1, local: 2 }, join(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            const ch = changes(r.log);
            assert.equal(ch.length, 2, ch.join("\n"));
            assert.match(ch[0], new RegExp(`^etcdctl member remove ${ids[2]} @https://10\\.213\\.0\\.1[13]:2379$`));
            assert.match(ch[1], /^etcdctl member add lab-2 @/);
            assert.match(r.stderr, new RegExp(`lab-2 moved from https://10\\.213\\.0\\.22:2380 \\(still healthy\\) to ${peer(2)}: removed its old registration ${ids[2]}`));
            assert.match(fs.readFileSync(joinRecordPath(h.spec), "utf8"), new RegExp(`^initial-cluster-state=existing\\ninitial-cluster=lab-1=${peer(1)},lab-3=${peer(3)},lab-2=${peer(2)}\\n$`));
        });

        it("the old host being down is said so", () => {
            const h = fresh();
            // The fake's `down` lists client URLs: the old host's URL is marked down before the join runs.
            const r = h.run({ list: [row(1), moved(), row(3)], leader: 1, local: 2 }, `printf 'https://10.213.0.22:2379\\n' > "$FAKE/down"\n` + join(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stderr, /lab-2 moved from https:\/\/10\.213\.0\.22:2380 \(down\) to/);
        });

        it("refused, nothing changed, when fewer than a quorum of the other voters are healthy (learners not counted)", () => {
            const h = fresh();
            // Others: lab-1 (up), lab-3 (down), lab-4 and lab-5 (learners, up): 1 of 2 voters.
            const list = [row(1), moved(), row(3), row(4, { learner: true, name: "lab-4" }), row(5, { learner: true, name: "lab-5" })];
            const r = h.run({ list, down: [3], leader: 1, local: 2 }, join(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, /refusing to replace lab-2 \(registered at https:\/\/10\.213\.0\.22:2380, still healthy\): only 1 of the 2 other voting members are healthy \(quorum 2\); nothing was changed/);
            assert.ok(!fs.existsSync(joinRecordPath(h.spec)), "nothing decided");
        });

        it("3 other voters with 2 healthy is a quorum: replaced", () => {
            const h = fresh();
            const list = [row(1), moved(), row(3), row(4, { name: "lab-4" })];
            const r = h.run({ list, down: [4], leader: 1, local: 2 }, join(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.equal(changes(r.log).filter((l) => l.includes("member remove")).length, 1);
        });
    });

    describe("join: adding a learner", () => {
        const join = (h: Host) => renderJoinScript(h.spec, h.spec.members[1], "existing");

        it("`unhealthy cluster` (a member promoted a moment ago) is waited out, then the member is added", () => {
            const h = fresh(5);
            const r = h.run({ list: [row(1), row(3)], leader: 1, local: 2, addUnhealthy: 1 }, join(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.equal(changes(r.log).filter((l) => l.startsWith("etcdctl member add lab-2")).length, 2);
            assert.match(r.stderr, /lab-2: added as a learner through https:/);
        });

        it("`unhealthy cluster` past the timeout fails, naming the member and etcd's answer", () => {
            const h = fresh(1);
            const r = h.run({ list: [row(1), row(3)], leader: 1, local: 2, addUnhealthy: "always" as unknown as number }, join(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stderr, /member add of lab-2 \(as a learner\) failed: Error: etcdserver: unhealthy cluster/);
            assert.ok(!fs.existsSync(joinRecordPath(h.spec)), "nothing decided");
        });

        it("too many learners: names the learner in the way (ID, started or not, in this stack or not) and what to do", () => {
            const h = fresh();
            const list = [row(1), row(3), `${ids[4]}, unstarted, , https://10.213.0.14:2380, , true`, row(5, { learner: true, name: "lab-5", peer: "https://10.213.0.99:2380" })];
            const r = h.run({ list, leader: 1, local: 2, addError: "Error: etcdserver: too many learner members in cluster" }, join(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.match(r.stderr, new RegExp(`the cluster has: https://10\\.213\\.0\\.14:2380 \\(ID ${ids[4]}, never started, not in this stack\\); lab-5 \\(ID ${ids[5]}, started, not caught up yet, not in this stack\\)\\.`));
            assert.match(r.stderr, /What to do: a learner of this stack is promoted by its own promote step/);
            const h2 = fresh();
            const ours = [row(1), row(3, { learner: true })];
            const r2 = h2.run({ list: ours, leader: 1, local: 2, addError: "Error: etcdserver: too many learner members in cluster" }, join(h2));
            assert.match(r2.stderr, new RegExp(`the cluster has: lab-3 \\(ID ${ids[3]}, started, not caught up yet, member lab-3 of this stack\\)\\.`));
        });

        it("another error fails at once, without the learner advice", () => {
            const h = fresh();
            const r = h.run({ list: [row(1), row(3)], leader: 1, local: 2, addError: "Error: etcdserver: permission denied" }, join(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.equal(changes(r.log).filter((l) => l.startsWith("etcdctl member add")).length, 1);
            assert.match(r.stderr, /member add of lab-2 \(as a learner\) failed: Error: etcdserver: permission denied/);
            assert.doesNotMatch(r.stderr, /one learner at a time/);
        });

        it("already registered and started with its data here: joins as itself, the record built from the member list (names from the members file when unnamed)", () => {
            const h = fresh();
            fs.mkdirSync(path.join(h.data, "member"), { recursive: true });
            const unnamed = `${ids[3]}, unstarted, , ${peer(3)}, , false`;
            const r = h.run({ list: [row(1), row(2), unnamed, `${ids[5]}, unstarted, , https://10.213.0.99:2380, , false`], leader: 1, local: 2 }, join(h));
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, /lab-2: already registered in the running cluster/);
            assert.equal(fs.readFileSync(joinRecordPath(h.spec), "utf8"),
                `initial-cluster-state=existing\ninitial-cluster=lab-1=${peer(1)},lab-2=${peer(2)},lab-3=${peer(3)},member-${ids[5]}=https://10.213.0.99:2380\n`);
        });

        it("a restore is declared and a cluster answers: refused (the member would be left out of the restored cluster), nothing added or decided", () => {
            const h = makeHost(2, { restore: { snapshot: "/tmp/backup.db", sha256: "d".repeat(64) } });
            hosts.push(h);
            const r = h.run({ list: [row(1), row(3)], leader: 1, local: 2 }, renderJoinScript(h.spec, h.spec.members[1], "added"));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, /lab-2 cannot join the running cluster while a restore is declared \(etcd:restore\): restore first, remove etcd:restore, then add members/);
            assert.ok(!fs.existsSync(joinRecordPath(h.spec)));
        });

        it("asks only the members that answer with a leader: a member without a leader is not the cluster", () => {
            const h = fresh();
            // No leader anywhere: nobody answers with one; an existing member refuses to bootstrap.
            const r = h.run({ list: [row(1), row(3)], local: 2 }, join(h));
            assert.equal(r.status, 1, r.stdout + r.stderr);
            assert.deepEqual(changes(r.log), []);
            assert.match(r.stderr, /refusing to bootstrap a new cluster: no other member answers with a leader/);
        });
    });

});

describe("join of a member that takes over an existing etcd (adopt; run by sh against a fake cluster)", function () {
    this.timeout(60_000);
    const hosts: Host[] = [];
    /** lab-3 adopts `etcd-legacy.service`, its data in <host>/legacy (a member/ dir with a WAL file). */
    const fresh = (withData = true) => {
        const h = makeHost(2, (dir) => ({
            members: (rawConfig().members as object[]).map((m, i) => i === 2 ? { ...m, adopt: { unit: "etcd-legacy.service", dataDir: path.join(dir, "legacy") } } : m) as RawClusterConfig["members"],
        }));
        hosts.push(h);
        if (withData) {
            fs.mkdirSync(path.join(h.dir, "legacy", "member", "wal"), { recursive: true });
            fs.writeFileSync(path.join(h.dir, "legacy", "member", "wal", "0.wal"), "wal");
        }
        return h;
    };
    after(() => { for (const h of hosts.splice(0)) fs.rmSync(h.dir, { recursive: true, force: true }); });
    const join = (h: Host) => renderJoinScript(h.spec, h.spec.members[2], "new");
    /** The adopted etcd as the cluster lists it: plaintext peer URL, its client URL at this host. */
    const legacy = row(3, { peer: "http://10.213.0.13:2380" });

    it("the adopted etcd leads: leadership handed to another started voter, its unit stopped and disabled, its data copied (the original kept), the adoption recorded, nothing added", () => {
        const h = fresh();
        const r = h.run({ list: [row(1), row(2, { learner: true }), legacy, row(4, { name: "lab-4" })], leader: 3, local: 3 }, join(h));
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(changes(r.log).map((l) => l.split(" @")), [
            [`etcdctl move-leader ${ids[1]}`, client(3)],
            ["systemctl stop etcd-legacy.service"],
        ]);
        assert.ok(r.log.includes("systemctl disable etcd-legacy.service"), r.log.join("\n"));
        assert.match(r.stderr, /lab-3: taking over the etcd of etcd-legacy\.service \(data in .*legacy\)/);
        assert.match(r.stderr, /lab-3: handed leadership to lab-1 before taking over/);
        assert.equal(fs.readFileSync(path.join(h.data, "member", "wal", "0.wal"), "utf8"), "wal");
        assert.ok(fs.existsSync(path.join(h.dir, "legacy", "member", "wal", "0.wal")), "the original stays");
        assert.ok(!fs.existsSync(path.join(h.data, "member.adopting")));
        assert.ok(r.log.includes(`chown -R etcd:etcd ${h.data}`), r.log.join("\n"));
        assert.equal(fs.statSync(h.data).mode & 0o777, 0o700);
        assert.equal(fs.readFileSync(joinRecordPath(h.spec), "utf8"),
            `initial-cluster-state=existing\ninitial-cluster=lab-3=${peer(3)}\nadopted-from=${path.join(h.dir, "legacy")}\n`);
    });

    it("not leading: no hand-off; a copy already made (a killed run) is not made again", () => {
        const h = fresh();
        fs.mkdirSync(path.join(h.data, "member"));
        fs.writeFileSync(path.join(h.data, "member", "mine"), "copied before");
        const r = h.run({ list: [row(1), row(2), legacy], leader: 1, local: 3 }, join(h));
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.ok(!r.log.some((l) => l.includes("move-leader")), r.log.join("\n"));
        assert.deepEqual(fs.readdirSync(path.join(h.data, "member")), ["mine"]);
        assert.match(fs.readFileSync(joinRecordPath(h.spec), "utf8"), /^adopted-from=/m);
    });

    it("its unit does not stop: refused, nothing copied, nothing recorded", () => {
        const h = fresh();
        const r = h.run({ list: [row(1), row(2), legacy], leader: 1, local: 3, stuck: true }, join(h));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /lab-3: etcd-legacy\.service did not stop/);
        assert.ok(!fs.existsSync(path.join(h.data, "member")));
        assert.ok(!fs.existsSync(joinRecordPath(h.spec)));
    });

    it("no data to take over: refused, nothing recorded", () => {
        const h = fresh(false);
        const r = h.run({ list: [row(1), row(2), legacy], leader: 1, local: 3 }, join(h));
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /lab-3: no etcd data in .*legacy to take over/);
        assert.ok(!fs.existsSync(joinRecordPath(h.spec)));
    });
});

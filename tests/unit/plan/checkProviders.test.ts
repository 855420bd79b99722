/**
 * The two check providers, their methods called directly as the engine calls them:
 * RemovalCheck (components/plan/removalCheck.ts; its `check` is in memberIdentity.test.ts) and
 * HostKeyCheck (components/host/hostKeyCheck.ts). diff as tables; create and update against hosts on
 * loopback (loopbackShellHost.ts). The removal check's script is the host's answer: exit 0 (a
 * quorum stays), 3 (this member's etcd does not answer: ask the next) or another code (refused),
 * read from the host's `answer` file.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { hostKeyCheckProvider } from "../../../components/host/hostKeyCheck";
import { removalCheckProvider as provider } from "../../../components/plan/removalCheck";
import { SshConnection } from "../../../components/host/ssh";
import { ShellHost, hostsPerTest, shellHost } from "../loopbackShellHost";
import { parseableEd25519KeyPair } from "../sshTestKeys";

const url = (n: number) => `https://10.213.0.1${n}:2380`;

describe("RemovalCheck provider: diff (called directly)", () => {
    const members = { "lab-1": url(1), "lab-2": url(2), "lab-3": url(3) };
    const base = { members, order: ["lab-1", "lab-2", "lab-3"], connections: { "lab-1": { host: "10.213.0.11" } }, script: "check", run: "run-1" };
    const rows: Array<[string, Record<string, unknown>, boolean]> = [
        ["the same inputs", {}, false],
        ["the same members listed in another order", { members: { "lab-3": url(3), "lab-1": url(1), "lab-2": url(2) } }, false],
        ["another roll order", { order: ["lab-3", "lab-2", "lab-1"] }, false],
        ["another script (another config)", { script: "check 2" }, false],
        ["another run of the program", { run: "run-2" }, false],
        // Another login or key: recorded (an update that checks nothing), so no dropped key stays in the state.
        ["other connections", { connections: { "lab-1": { host: "10.213.0.11", user: "deploy" } } }, true],
        ["a member added", { members: { ...members, "lab-4": url(4) } }, true],
        ["a member removed", { members: { "lab-1": url(1), "lab-2": url(2) } }, true],
        ["a member's peer URL changed", { members: { ...members, "lab-3": url(9) } }, true],
        ["a member renamed", { members: { "lab-1": url(1), "lab-2": url(2), "lab-9": url(3) } }, true],
    ];
    for (const [what, change, changes] of rows) {
        it(`${what}: ${changes ? "a change" : "no change"}`, async () => {
            assert.deepEqual(await provider.diff!("removal-check", base, { ...base, ...change }), { changes });
        });
    }
});

describe("RemovalCheck provider: create and update against members on loopback", () => {
    const hosts: Record<string, ShellHost> = {};
    const names = ["lab-1", "lab-2", "lab-3", "lab-4"];
    before(async () => { for (const n of names) hosts[n] = await shellHost(n); });
    after(() => Object.values(hosts).forEach((h) => h.close()));
    beforeEach(() => Object.values(hosts).forEach((h) => { h.execs.splice(0); fs.rmSync(path.join(h.dir, "answer"), { force: true }); }));

    const script = `set -eu\necho "checked on $HOST_NAME"\nexit "$(cat "$HOST_DIR/answer" 2>/dev/null || echo 0)"\n`;
    const answer = (name: string, code: number) => fs.writeFileSync(path.join(hosts[name].dir, "answer"), `${code}\n`);
    const stack = (...ns: string[]) => ({
        members: Object.fromEntries(ns.map((n) => [n, url(Number(n.slice(4)))])),
        order: ns,
        connections: Object.fromEntries(ns.map((n) => [n, hosts[n].connection])),
        script,
        run: "run-2",
    });
    const olds = (...ns: string[]) => ({ ...stack(...ns), run: "run-1", createdInRun: "run-1" });
    /** Which hosts ran the check, in order. */
    const ranOn = () => names.flatMap((n) => hosts[n].execs.map(() => n));

    it("create remembers the run that created it and connects nowhere", async () => {
        const inputs = stack("lab-1", "lab-2", "lab-3");
        assert.deepEqual(await provider.create(inputs), { id: "removal-check", outs: { ...inputs, createdInRun: "run-2" } });
        assert.deepEqual(ranOn(), []);
    });

    it("an edit that neither drops nor adds members runs nothing and keeps createdInRun (none from before the field: empty)", async () => {
        const news = { ...stack("lab-3", "lab-1", "lab-2"), script: "another" };
        assert.deepEqual(await provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), news), { outs: { ...news, createdInRun: "run-1" } });
        const { createdInRun: _c, ...older } = olds("lab-1", "lab-2", "lab-3");
        assert.deepEqual(await provider.update!("removal-check", older, news), { outs: { ...news, createdInRun: "" } });
        assert.deepEqual(ranOn(), []);
    });

    it("a member removed: the check runs on the first member that stays, once", async () => {
        const news = stack("lab-2", "lab-3");
        const { outs } = await provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), news);
        assert.deepEqual(outs, { ...news, createdInRun: "run-1" });
        assert.deepEqual(ranOn(), ["lab-2"]);
        assert.equal(hosts["lab-2"].execs[0].code, 0);
        assert.match(hosts["lab-2"].execs[0].command, /echo "checked on \$HOST_NAME"/, "the stack's script");
    });

    it("a member that stays but does not answer (exit 3): the next one is asked", async () => {
        answer("lab-2", 3);
        await provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), stack("lab-2", "lab-3"));
        assert.deepEqual(ranOn(), ["lab-2", "lab-3"]);
    });

    it("a refusal (another exit code) fails the run at once, naming the member; no other member is asked", async () => {
        answer("lab-2", 1);
        await assert.rejects(provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), stack("lab-2", "lab-3")),
            /^Error: lab-2 removal check failed \(exit 1\)/);
        assert.deepEqual(ranOn(), ["lab-2"]);
    });

    it("no member that stays answers: removing is refused, naming who leaves", async () => {
        answer("lab-2", 3);
        answer("lab-3", 3);
        await assert.rejects(provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), stack("lab-2", "lab-3")),
            /^Error: refusing to remove lab-1: no member that stays answers, so the quorum cannot be checked; nothing was changed\nlab-2 removal check failed \(exit 3\)/);
        assert.deepEqual(ranOn(), ["lab-2", "lab-3"]);
    });

    it("a member added to a cluster none of whose members answers: refused (it would bootstrap a cluster of its own)", async () => {
        for (const n of ["lab-1", "lab-2", "lab-3"]) answer(n, 3);
        await assert.rejects(provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), stack("lab-1", "lab-2", "lab-3", "lab-4")),
            /^Error: refusing to add lab-4: no member of the running cluster \(lab-1, lab-2, lab-3\) answers with a quorum/);
        assert.deepEqual(ranOn(), ["lab-1", "lab-2", "lab-3"], "never asked on the member that joins");
    });

    it("a member added to a cluster that answers: checked on the first member of the running cluster", async () => {
        await provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), stack("lab-4", "lab-1", "lab-2", "lab-3"));
        assert.deepEqual(ranOn(), ["lab-1"]);
    });

    it("every member replaced at once: refused before connecting anywhere", async () => {
        await assert.rejects(provider.update!("removal-check", olds("lab-1", "lab-2"), stack("lab-3", "lab-4")),
            /^Error: refusing to replace every member at once \(lab-1, lab-2 leave, none stays\)/);
        assert.deepEqual(ranOn(), []);
    });

    describe("with a restore declared in the same edit (etcd:restore: the way back from a lost quorum)", () => {
        const restoring = (...ns: string[]) => ({ ...stack(...ns), restore: "abababababab" });
        /** lab-3 moved to another address (its peer URL): it leaves at its old URL and joins at the new one. */
        const lab3Moved = () => { const n = restoring("lab-1", "lab-2", "lab-3"); n.members["lab-3"] = url(9); return n; };

        it("members moved while no member that stays answers with a quorum (exit 3): let through, the restore rebuilds the cluster", async () => {
            for (const n of ["lab-1", "lab-2"]) answer(n, 3);
            const news = lab3Moved();
            assert.deepEqual(await provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), news), { outs: { ...news, createdInRun: "run-1" } });
            assert.deepEqual(ranOn(), ["lab-1", "lab-2"], "every member that stays asked, never the moved one");
        });

        it("members moved while the running cluster still serves: refused, naming them, the restore and what to do first", async () => {
            answer("lab-1", 3);
            await assert.rejects(provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), lab3Moved()),
                /^Error: refusing to move or add lab-3 beside the restore of snapshot abababababab: the running cluster still answers with a quorum \(lab-2's etcd is healthy\).*Restore first with the members as they are, remove etcd:restore, then move or add members.*nothing was changed$/s);
            assert.deepEqual(ranOn(), ["lab-1", "lab-2"]);
        });

        it("a member that stays and answers but whose removal count refuses (exit 1) still serves a quorum: refused as well", async () => {
            answer("lab-1", 1);
            await assert.rejects(provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), lab3Moved()), /still answers with a quorum \(lab-1's etcd is healthy\)/);
        });

        it("every member replaced at once (every host lost): let through without connecting anywhere", async () => {
            const news = restoring("lab-3", "lab-4");
            assert.deepEqual(await provider.update!("removal-check", olds("lab-1", "lab-2"), news), { outs: { ...news, createdInRun: "run-1" } });
            assert.deepEqual(ranOn(), []);
        });

        it("members only removed beside a restore: nothing to ask (the restored cluster does not list them)", async () => {
            const news = restoring("lab-1", "lab-2");
            await provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), news);
            assert.deepEqual(ranOn(), []);
        });

        it("the same restore as the last run's: checked as any edit (a member added to a cluster none of whose members answers is refused)", async () => {
            for (const n of ["lab-1", "lab-2", "lab-3"]) answer(n, 3);
            await assert.rejects(provider.update!("removal-check", { ...olds("lab-1", "lab-2", "lab-3"), restore: "abababababab" }, restoring("lab-1", "lab-2", "lab-3", "lab-4")),
                /^Error: refusing to add lab-4: no member of the running cluster/);
        });

        it("a host that stays and cannot be reached fails the run (not taken for a lost quorum)", async () => {
            const news = lab3Moved();
            news.connections["lab-1"] = { ...news.connections["lab-1"], port: 1 } as SshConnection;
            answer("lab-2", 3);
            await assert.rejects(provider.update!("removal-check", olds("lab-1", "lab-2", "lab-3"), news), (e: Error) => !/refusing/.test(e.message));
            assert.deepEqual(ranOn(), []);
        });
    });
});

describe("HostKeyCheck provider: diff (called directly)", () => {
    const conn: SshConnection = { host: "10.213.0.11", port: 22, user: "root", privateKey: "KEY", hostKey: "ssh-ed25519 AAAA1", proxy: { host: "10.213.0.1", port: 22, hostKey: "ssh-ed25519 BBBB1" } };
    const base = { label: "lab-1", connection: conn };
    const rows: Array<[string, Record<string, unknown>, { changes: boolean; replaces: string[] }]> = [
        ["the same inputs", {}, { changes: false, replaces: [] }],
        ["another login", { connection: { ...conn, user: "deploy" } }, { changes: true, replaces: [] }],
        ["another private key", { connection: { ...conn, privateKey: "KEY2" } }, { changes: true, replaces: [] }],
        ["another bastion login", { connection: { ...conn, proxy: { ...conn.proxy, user: "jump" } } }, { changes: true, replaces: [] }],
        ["another dial timeout", { connection: { ...conn, perDialTimeout: 30 } }, { changes: true, replaces: [] }],
        // The same machine, another way in: an update, so that the state holds no key the stack dropped.
        ["the ssh-agent instead of a key", { connection: { ...conn, privateKey: undefined } }, { changes: true, replaces: [] }],
        ["another label", { label: "lab-1b" }, { changes: true, replaces: [] }],
        ["another address", { connection: { ...conn, host: "10.213.0.21" } }, { changes: true, replaces: ["connection"] }],
        ["another port", { connection: { ...conn, port: 2222 } }, { changes: true, replaces: ["connection"] }],
        ["another pinned host key", { connection: { ...conn, hostKey: "ssh-ed25519 AAAA2" } }, { changes: true, replaces: ["connection"] }],
        ["another bastion", { connection: { ...conn, proxy: { ...conn.proxy, host: "10.213.0.2" } } }, { changes: true, replaces: ["connection"] }],
        ["another bastion host key", { connection: { ...conn, proxy: { ...conn.proxy, hostKey: "ssh-ed25519 BBBB2" } } }, { changes: true, replaces: ["connection"] }],
        ["no bastion any more", { connection: { ...conn, proxy: undefined } }, { changes: true, replaces: ["connection"] }],
    ];
    for (const [what, change, expected] of rows) {
        it(`${what}: ${expected.replaces.length > 0 ? "a replacement" : expected.changes ? "an update" : "no change"}`, async () => {
            assert.deepEqual(await hostKeyCheckProvider.diff!("10.213.0.11:22", base, { ...base, ...change }), expected);
        });
    }
});

describe("HostKeyCheck provider: create and update against a host on loopback", () => {
    const hosts = hostsPerTest();

    it("create connects with the pinned key, runs nothing, and records the key's fingerprint", async () => {
        const host = await hosts("lab-1");
        // A login of its own, so this create opens its connection (the host's own is already open).
        const inputs = { label: "lab-1", connection: { ...host.connection, user: "check" } };
        const { id, outs } = await hostKeyCheckProvider.create(inputs);
        const blob = Buffer.from(host.hostKey.split(" ")[1], "base64");
        assert.equal(id, `127.0.0.1:${host.connection.port}`);
        assert.deepEqual(outs, { ...inputs, fingerprint: `SHA256:${crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}` });
        assert.equal(host.logins(), 2, "it logged in");
        assert.deepEqual(host.execs, []);
    });

    it("create fails, naming the member, when another key answers; nothing runs there", async () => {
        const host = await hosts("lab-1");
        const pinned = parseableEd25519KeyPair().public.trim();
        await assert.rejects(hostKeyCheckProvider.create({ label: "lab-1", connection: { ...host.connection, user: "check", hostKey: pinned } }),
            /^Error: lab-1: 127\.0\.0\.1:\d+ presents host key SHA256:\S+, but the stack pins SHA256:\S+ \(ssh-ed25519\)/);
        assert.equal(host.logins(), 1, "only the host's own connection");
        assert.deepEqual(host.execs, []);
    });

    it("update takes the new inputs as they are", async () => {
        const news = { label: "lab-1b", connection: { host: "10.213.0.11", port: 22, user: "deploy" } };
        assert.deepEqual(await hostKeyCheckProvider.update!("id", { label: "lab-1", connection: { host: "10.213.0.11" } }, news), { outs: news });
    });
});

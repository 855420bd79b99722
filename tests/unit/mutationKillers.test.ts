/**
 * Tests written for mutants that survived `npm run mutation` (mutation/README.md): each asserts an
 * invariant of the safety logic that no other unit test pinned down.
 *
 * The removal check's `update` (removalCheck.ts) is the quorum gate before members leave or join:
 * it runs its script on the first member that stays and answers, and refuses when none does. Here
 * every member is an ssh2 server on loopback that exits with the code the test gives it (3: "my
 * etcd does not answer", 1: "the quorum would be lost", 0: "fine") and records what ran on it.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { Server } from "ssh2";
import { identityProblems, peerHost } from "../../components/spec/memberIdentity";
import { removalCheckProvider } from "../../components/plan/removalCheck";
import { ManagedFile, parseHostReport, renderInspectScript } from "../../components/host/renderHostFiles";
import { SshConnection } from "../../components/host/ssh";
import { parseableEd25519KeyPair } from "./sshTestKeys";

type Host = { connection: SshConnection; ran: string[]; stdin: string[]; close: () => void };

/** A member's host: every exec records its command and exits with `code`, printing `stderr`. */
async function fakeHost(code: number, stderr = ""): Promise<Host> {
    const hostKey = parseableEd25519KeyPair();
    const userKey = parseableEd25519KeyPair();
    const ran: string[] = [];
    const stdin: string[] = [];
    const clients: Array<{ end: () => void }> = [];
    const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
        client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
        client.on("ready", () => {
            clients.push(client);
            client.on("session", (accept) => {
                accept().on("exec", (acceptExec, _reject, info) => {
                    ran.push(info.command);
                    const stream = acceptExec();
                    // Answers once the step has sent all its stdin (its end of the channel closed).
                    let input = "";
                    stream.on("data", (d: Buffer) => { input += d.toString(); });
                    stream.on("end", () => {
                        stdin.push(input);
                        if (stderr) stream.stderr.write(stderr + "\n");
                        stream.exit(code);
                        stream.end();
                    });
                });
            });
        });
        client.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const connection: SshConnection = {
        host: "127.0.0.1", port: (server.address() as AddressInfo).port, user: "root",
        privateKey: userKey.private, hostKey: hostKey.public.trim(), dialErrorLimit: 1, perDialTimeout: 5,
    };
    return { connection, ran, stdin, close: () => { clients.forEach((c) => c.end()); server.close(); } };
}

const url = (n: number) => `https://10.213.0.${10 + n}:2380`;
const SCRIPT = "#!/bin/sh\n# removal check\n";

/** The check's state and inputs for members `names` (each lab-N at 10.213.0.1N), reached at `hosts`. */
function state(names: number[], hosts: Record<string, Host>, extra: { createdInRun?: string } = {}) {
    const members = Object.fromEntries(names.map((n) => [`lab-${n}`, url(n)]));
    const connections = Object.fromEntries(Object.keys(members).map((m) => [m, hosts[m]?.connection ?? { host: "192.0.2.1", port: 22, user: "root", privateKey: "", dialErrorLimit: 1, perDialTimeout: 1 }]));
    return { members, order: Object.keys(members), connections: connections as Record<string, SshConnection>, script: SCRIPT, run: "this-run", ...extra };
}

describe("removal check provider: update, the quorum gate (mutation killers)", function () {
    this.timeout(30000);
    const update = removalCheckProvider.update!;
    let hosts: Record<string, Host> = {};
    const start = async (codes: Record<string, [number, string?]>) => {
        for (const [name, [code, err]] of Object.entries(codes)) hosts[name] = await fakeHost(code, err);
    };
    const ranOn = () => Object.fromEntries(Object.entries(hosts).map(([n, h]) => [n, h.ran.length]));
    afterEach(() => {
        Object.values(hosts).forEach((h) => h.close());
        hosts = {};
    });

    it("an edit that neither removes nor adds a member contacts no host and keeps the run that created the check", async () => {
        await start({ "lab-1": [1, "would refuse"], "lab-2": [1], "lab-3": [1] });
        const olds = state([1, 2, 3], hosts, { createdInRun: "first-run" });
        const news = { ...state([3, 1, 2], hosts), script: "#!/bin/sh\n# another script\n" };
        const r = await update("removal-check", olds, news);
        assert.equal(r.outs.createdInRun, "first-run");
        assert.deepEqual(r.outs.members, news.members);
        assert.equal(r.outs.script, news.script);
        assert.deepEqual(ranOn(), { "lab-1": 0, "lab-2": 0, "lab-3": 0 });
    });

    it("a check from before createdInRun existed is never taken for this run's (no field: the empty string)", async () => {
        await start({ "lab-1": [1], "lab-2": [1], "lab-3": [1] });
        const r = await update("removal-check", state([1, 2, 3], hosts), state([1, 2, 3], hosts));
        assert.equal(r.outs.createdInRun, "");
        assert.notEqual(r.outs.createdInRun, "this-run");
    });

    it("every member replaced at once is refused before any host is contacted", async () => {
        await start({ "lab-1": [0], "lab-2": [0], "lab-3": [0], "lab-4": [0], "lab-5": [0], "lab-6": [0] });
        await assert.rejects(update("removal-check", state([1, 2, 3], hosts), state([4, 5, 6], hosts)),
            /refusing to replace every member at once \(lab-1, lab-2, lab-3 leave, none stays\).*nothing was changed/);
        assert.deepEqual(Object.values(ranOn()), [0, 0, 0, 0, 0, 0]);
    });

    it("5 → 3: the script runs on the first member that stays, only there, and the edit goes ahead", async () => {
        await start({ "lab-1": [0], "lab-2": [0], "lab-3": [0], "lab-4": [0], "lab-5": [0] });
        const news = state([1, 2, 3], hosts, {});
        const r = await update("removal-check", state([1, 2, 3, 4, 5], hosts, { createdInRun: "first-run" }), news);
        assert.equal(r.outs.createdInRun, "first-run");
        assert.equal(hosts["lab-1"].ran.length, 1);
        assert.ok(hosts["lab-1"].ran[0].includes("# removal check"), "the stack's script ran there");
        // The script is the whole check: it is sent nothing on stdin (what it counts comes from the cluster).
        assert.deepEqual(hosts["lab-1"].stdin, [""]);
        assert.deepEqual(ranOn(), { "lab-1": 1, "lab-2": 0, "lab-3": 0, "lab-4": 0, "lab-5": 0 });
    });

    it("a member that stays but whose etcd does not answer (exit 3) passes the check to the next, in the stack's order", async () => {
        await start({ "lab-1": [3, "etcd on lab-1 does not answer"], "lab-2": [0], "lab-3": [0], "lab-4": [0] });
        await update("removal-check", state([1, 2, 3, 4], hosts), state([1, 2, 3], hosts));
        assert.deepEqual(ranOn(), { "lab-1": 1, "lab-2": 1, "lab-3": 0, "lab-4": 0 });
    });

    it("a refusal (any exit but 3) fails the run with the host's message; no other member is asked", async () => {
        await start({ "lab-1": [1, "removing lab-4 leaves 2 of 3 healthy: no quorum"], "lab-2": [0], "lab-3": [0], "lab-4": [0] });
        await assert.rejects(update("removal-check", state([1, 2, 3, 4], hosts), state([1, 2, 3], hosts)),
            /lab-1 removal check failed \(exit 1\): removing lab-4 leaves 2 of 3 healthy: no quorum/);
        assert.deepEqual(ranOn(), { "lab-1": 1, "lab-2": 0, "lab-3": 0, "lab-4": 0 });
    });

    it("members leaving while no member that stays answers: refused, naming them, with every member's answer", async () => {
        await start({ "lab-1": [3, "one silent"], "lab-2": [3, "two silent"], "lab-3": [3, "three silent"], "lab-4": [0], "lab-5": [0] });
        await assert.rejects(update("removal-check", state([1, 2, 3, 4, 5], hosts), state([1, 2, 3], hosts)), (e: Error) => {
            assert.match(e.message, /^refusing to remove lab-4, lab-5: no member that stays answers, so the quorum cannot be checked; nothing was changed\n/);
            assert.match(e.message, /one silent[\s\S]*two silent[\s\S]*three silent/);
            return true;
        });
        assert.deepEqual(ranOn(), { "lab-1": 1, "lab-2": 1, "lab-3": 1, "lab-4": 0, "lab-5": 0 });
    });

    it("members joining while no member of the running cluster answers: refused (each would bootstrap a cluster of its own)", async () => {
        await start({ "lab-1": [3, "one silent"], "lab-2": [3, "two silent"], "lab-3": [3, "three silent"], "lab-4": [0], "lab-5": [0] });
        await assert.rejects(update("removal-check", state([1, 2, 3], hosts), state([1, 2, 3, 4, 5], hosts)), (e: Error) => {
            assert.match(e.message, /^refusing to add lab-4, lab-5: no member of the running cluster \(lab-1, lab-2, lab-3\) answers with a quorum/);
            assert.match(e.message, /nothing was changed\n[\s\S]*one silent[\s\S]*three silent/);
            return true;
        });
        assert.deepEqual(ranOn(), { "lab-1": 1, "lab-2": 1, "lab-3": 1, "lab-4": 0, "lab-5": 0 });
    });

    it("a scale-up is checked too (a cluster that answers lets the new members join)", async () => {
        await start({ "lab-1": [0], "lab-2": [0], "lab-3": [0], "lab-4": [0] });
        await update("removal-check", state([1, 2, 3], hosts), state([1, 2, 3, 4], hosts));
        assert.deepEqual(ranOn(), { "lab-1": 1, "lab-2": 0, "lab-3": 0, "lab-4": 0 });
    });
});

describe("removal check provider: create, diff and check (mutation killers)", () => {
    const provider = removalCheckProvider;
    const members = { "lab-1": url(1), "lab-2": url(2), "lab-3": url(3) };
    const inputs = (m: Record<string, string>) => ({ members: m, order: Object.keys(m), connections: {}, script: SCRIPT, run: "run-a" });

    it("create records the run that created it (the stack's first run with members) and keeps the inputs", async () => {
        const r = await provider.create!(inputs(members));
        assert.equal(typeof r.id, "string");
        assert.ok(r.id.length > 0, "an id the engine accepts");
        assert.equal(r.outs.createdInRun, "run-a");
        assert.deepEqual(r.outs.members, members);
        assert.equal(r.outs.script, SCRIPT);
    });

    it("diff: a change only when the members (name → peer URL) change, never for their order", async () => {
        const diff = (a: Record<string, string>, b: Record<string, string>) => provider.diff!("removal-check", inputs(a), inputs(b));
        assert.equal((await diff(members, { "lab-3": url(3), "lab-1": url(1), "lab-2": url(2) })).changes, false);
        assert.equal((await diff(members, { ...members, "lab-4": url(4) })).changes, true);
        assert.equal((await diff(members, { ...members, "lab-3": url(9) })).changes, true);
    });

    it("check refuses a new name at a leaving member's SSH endpoint (the connections reach it when known)", async () => {
        const conn = (host: string) => ({ host, port: 22 });
        const olds = { ...inputs(members), connections: { "lab-1": conn("10.213.0.11"), "lab-2": conn("10.213.0.12"), "lab-3": conn("10.213.0.13") } };
        const news = {
            ...inputs({ "lab-1": url(1), "lab-2": url(2), "lab-9": url(9) }),
            connections: { "lab-1": conn("10.213.0.11"), "lab-2": conn("10.213.0.12"), "lab-9": conn("10.213.0.13") },
        };
        const r = await provider.check!(olds, news);
        assert.equal(r.failures?.length, 1);
        assert.equal(r.failures![0].property, "members");
        assert.match(r.failures![0].reason, /lab-9 would be reached at lab-3's SSH endpoint 10\.213\.0\.13:22/);
    });

    it("check of a resource with no previous state (olds undefined) passes a new stack", async () => {
        const r = await provider.check!(undefined as never, inputs(members));
        assert.deepEqual(r.failures, []);
    });
});

describe("member identity: SSH endpoints and peer hosts (mutation killers)", () => {
    const peer = (n: number) => `https://10.213.0.${10 + n}:2380`;
    type Conn = { host?: string; port?: number; proxy?: { host?: string; port?: number } };
    const places = (conns: Record<string, Conn | undefined>) => ({
        members: Object.fromEntries(Object.keys(conns).map((name) => [name, peer(Number(name.slice(4)))])),
        connections: conns,
    });

    it("peerHost is the host in lower case, also for a peer URL that does not parse", () => {
        assert.equal(peerHost("https://LAB-2.Example.COM:2380"), "lab-2.example.com");
        assert.equal(peerHost("[2001:DB8::1]:2380"), "[2001:db8::1]:2380");
        assert.equal(peerHost("[2001:DB8::1]:2380"), peerHost("[2001:db8::1]:2380"));
    });

    it("a member whose connection or its host is not known yet (a preview) is checked by address only, never throws", () => {
        const olds = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-3": { host: "10.0.0.3" } });
        for (const unknown of [undefined, {}, { port: 22 }, { host: "10.0.0.9", proxy: { port: 22 } }]) {
            const news = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": unknown as Conn | undefined });
            assert.deepEqual(identityProblems(olds, news), []);
            // The address check still runs: lab-9 at lab-3's peer address is refused.
            const atLab3 = { ...news, members: { ...news.members, "lab-9": peer(3) } };
            assert.equal(identityProblems(olds, atLab3).length, 1);
        }
    });

    it("the same host and port behind another bastion is another machine; behind the same bastion it is the same", () => {
        const viaA = { host: "10.0.0.5", proxy: { host: "bastion-a.example", port: 22 } };
        const olds = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-3": viaA });
        const behindB = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": { host: "10.0.0.5", proxy: { host: "bastion-b.example", port: 22 } } });
        assert.deepEqual(identityProblems(olds, behindB), []);
        // Same bastion, its port left to the default (22), host name in another case: lab-3's machine.
        const behindA = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": { host: "10.0.0.5", proxy: { host: "BASTION-A.example" } } });
        assert.equal(identityProblems(olds, behindA).length, 1);
        // Reached directly, not through the bastion: another route, not lab-3's endpoint.
        const direct = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": { host: "10.0.0.5" } });
        assert.deepEqual(identityProblems(olds, direct), []);
        // A bastion on another port is another bastion.
        const otherPort = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": { host: "10.0.0.5", proxy: { host: "bastion-a.example", port: 2222 } } });
        assert.deepEqual(identityProblems(olds, otherPort), []);
    });

    it("machines behind one address with forwarded SSH ports are told apart by port; port 22 is the default", () => {
        const olds = places({ "lab-1": { host: "nat.example", port: 2201 }, "lab-2": { host: "nat.example", port: 2202 }, "lab-3": { host: "nat.example", port: 2203 } });
        const otherPort = places({ "lab-1": { host: "nat.example", port: 2201 }, "lab-2": { host: "nat.example", port: 2202 }, "lab-9": { host: "nat.example", port: 2209 } });
        assert.deepEqual(identityProblems(olds, otherPort), []);
        const samePort = places({ "lab-1": { host: "nat.example", port: 2201 }, "lab-2": { host: "nat.example", port: 2202 }, "lab-9": { host: "NAT.example", port: 2203 } });
        assert.equal(identityProblems(olds, samePort).length, 1);
        const defaulted = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-3": { host: "10.0.0.3" } });
        const explicit22 = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": { host: "10.0.0.3", port: 22 } });
        assert.equal(identityProblems(defaulted, explicit22).length, 1);
    });
});

describe("host files: what the inspect script prints is what parseHostReport reads (mutation killers)", () => {
    // The inspect script runs under sh on files in a temp dir, a fake systemctl first on PATH and a
    // staged release that is not there; its report must read back as the state set up here.
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-inspect-")); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function inspect(unitInstalled: boolean): string {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const systemctl = unitInstalled
            ? `#!/bin/sh\ncase "$1" in is-enabled) echo enabled;; is-active) echo active;; esac\n`
            : `#!/bin/sh\nexit 1\n`;
        fs.writeFileSync(path.join(bin, "systemctl"), systemctl, { mode: 0o755 });
        const present = path.join(dir, "etcd.conf.yml");
        fs.writeFileSync(present, "name: lab-1\n");
        fs.chmodSync(present, 0o640);
        const files: ManagedFile[] = [
            { path: present, mode: "0640", owner: "etcd:etcd", readByEtcd: true },
            { path: path.join(dir, "peer.key"), mode: "0600", owner: "etcd:etcd", readByEtcd: true },
        ];
        const script = renderInspectScript(files, { unit: "etcd.service", binaries: { tarball: path.join(dir, "nowhere.tar.gz"), sha256: "0".repeat(64) } });
        return execFileSync("sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
    }

    it("a present file reads with its digest, mode and owner; a missing one as missing; the unit's state; each binary's", () => {
        const report = parseHostReport(inspect(true));
        const owner = `${os.userInfo().username}:${execFileSync("id", ["-gn"], { encoding: "utf8" }).trim()}`;
        assert.deepEqual(report.files, {
            [path.join(dir, "etcd.conf.yml")]: { sha256: crypto.createHash("sha256").update("name: lab-1\n").digest("hex"), mode: "0640", owner },
            [path.join(dir, "peer.key")]: "missing",
        });
        assert.equal(report.unit, "enabled active");
        assert.deepEqual(report.binaries, { etcd: "no-staged-release", etcdctl: "no-staged-release", etcdutl: "no-staged-release" });
        assert.equal(report.restarted, undefined, "an inspection restarts nothing");
    });

    it("a unit systemd does not know reads as missing and of unknown state (drift, not an error)", () => {
        assert.equal(parseHostReport(inspect(false)).unit, "missing unknown");
    });

    it("the apply script's closing 'restarted' line, and only it, says the member was restarted", () => {
        const out = inspect(true);
        assert.equal(parseHostReport(out + "restarted\n").restarted, true);
        assert.equal(parseHostReport(out + "not restarted\nrestarted: no\n").restarted, undefined);
    });

    it("only whole report lines count: a line that merely contains one (another command's output) changes nothing", () => {
        const sha = "a".repeat(64);
        const foreign = [
            "warning: file /etc/etcd/a missing", "file /etc/etcd/b missing or unreadable",
            `copy of file /etc/etcd/c ${sha} 644 root:root`, `file /etc/etcd/d ${sha} 644 root:root (cached)`,
            "the unit enabled active", "unit enabled active since boot",
            "old binary etcd differs", "binary etcd differs from yesterday",
        ].join("\n");
        assert.deepEqual(parseHostReport(foreign + "\n"), { files: {} });
    });
});

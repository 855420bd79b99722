/**
 * The preflight's gate checks run by sh (issue 30, items 4 and 5), not compared as text: the other
 * members' peer ports tried over real loopback sockets (a listener, a closed port, a listener whose
 * backlog is full so that a SYN goes unanswered as under a DROP rule) and an ICMP reject ("No route
 * to host") through a fake `timeout`; the fsync burst with the real dd in a temp data dir and with
 * fake dd's that are slow, write nothing, or hang past the bound. The host's other checks
 * (systemd as PID 1, ss) are faked to pass, so only what is tested here can fail.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { preflightFsyncSeconds, preflightPeerTimeoutSeconds, renderPreflightScript } from "../../../components/member/render";
import { preflightWarnings } from "../../../components/member/member";
import { RawClusterConfig } from "../../../components/spec/types";
import { spec } from "../fixtures";

function tool(dir: string, name: string, body: string): void {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}`, { mode: 0o755 });
}

const realTimeout = ["/usr/bin/timeout", "/bin/timeout"].find((p) => fs.existsSync(p)) ?? "timeout";

/** A free TCP port on 127.0.0.1 (then closed: connecting to it is refused). */
async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((res) => s.listen(0, "127.0.0.1", res));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((res) => s.close(() => res()));
    return port;
}

interface Run { status: number | null; stdout: string; stderr: string; ms: number; leftovers: string[] }

/**
 * Runs lab-1's preflight for `members` (lab-1 first) on port `port`, in a fake host whose data dir
 * is a temp dir. `fakes`: extra tools (name → sh body) put first on PATH.
 */
function preflight(members: { name: string; address: string }[], port: number, fakes: Record<string, string> = {}, overrides: Partial<RawClusterConfig> = {}): Run {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-preflight-"));
    try {
        const bin = path.join(dir, "bin");
        const data = path.join(dir, "var", "lib", "etcd");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.dirname(data), { recursive: true });
        // The host's own checks, made to pass here: systemd as PID 1, no port held (ss), systemctl present.
        tool(bin, "cat", `[ "$*" = /proc/1/comm ] && { echo systemd; exit 0; }\nexec /bin/cat "$@"\n`);
        tool(bin, "ss", "exit 0\n");
        tool(bin, "systemctl", "exit 0\n");
        for (const [name, body] of Object.entries(fakes)) tool(bin, name, body);
        const s = spec({
            members, allowUnverifiedHosts: true, ports: { peer: port, client: 1, metrics: 2 }, dirs: { data }, minFreeDiskMiB: 1, ...overrides,
        });
        const t0 = Date.now();
        const r = spawnSync("sh", ["-c", renderPreflightScript(s, s.members[0], "2020-01-01T00:00:00Z")],
            { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 30_000 });
        const leftovers = fs.readdirSync(path.dirname(data));
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0, leftovers };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("preflight run by sh: every other member's peer port reachable from this host", function () {
    this.timeout(60_000);
    let port: number;
    let listener: net.Server;
    let full: ChildProcess | undefined;
    const fills: net.Socket[] = [];

    before(async () => {
        port = await freePort();
        // lab-2: something listens on its peer port (a member already running).
        listener = net.createServer((c) => c.destroy());
        await new Promise<void>((res) => listener.listen(port, "127.0.0.2", res));
        // lab-4: a listener that never accepts (its event loop asleep), its backlog filled: the
        // kernel drops further SYNs unanswered, as a DROP rule does.
        full = spawn(process.execPath, ["-e", `const s = require("net").createServer().listen({ port: ${port}, host: "127.0.0.4", backlog: 1 }, () => {
            console.log("listening"); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); });`], { stdio: ["ignore", "pipe", "inherit"] });
        await new Promise<void>((res, rej) => { full!.stdout!.once("data", () => res()); full!.once("exit", (c) => rej(new Error(`listener exited ${c}`))); });
        for (let i = 0; i < 4; i++) {
            const c = net.connect({ port, host: "127.0.0.4" });
            c.on("error", () => undefined);
            fills.push(c);
        }
        await new Promise((r) => setTimeout(r, 300));
    });

    after(async () => {
        for (const c of fills) c.destroy();
        full?.kill("SIGKILL");
        await new Promise<void>((res) => listener.close(() => res()));
    });

    const lab1 = { name: "lab-1", address: "127.0.0.1" };

    it("passes when each peer's port answers, whether something listens there (lab-2) or the port is closed (lab-3: refused, the path is open)", () => {
        const r = preflight([lab1, { name: "lab-2", address: "127.0.0.2" }, { name: "lab-3", address: "127.0.0.3" }], port);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.equal(r.stderr, "");
        assert.match(r.stdout, /^arch=(amd64|arm64)$/m);
    });

    it("fails naming this host and the peer, its address and port, when the SYN goes unanswered (a DROP rule), within the bound", () => {
        const r = preflight([lab1, { name: "lab-2", address: "127.0.0.2" }, { name: "lab-4", address: "127.0.0.4" }], port);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.equal(r.stderr, "preflight failed on lab-1:\n" +
            `  - lab-4's peer port 127.0.0.4:${port} is not reachable from lab-1 (127.0.0.1): no answer within ${preflightPeerTimeoutSeconds}s (packets dropped); ` +
            "most likely a firewall on lab-4's host or between the two; etcd's members must reach each other's peer port\n");
        assert.ok(r.ms < (preflightPeerTimeoutSeconds + preflightFsyncSeconds + 3) * 1000, `took ${r.ms} ms`);
    });

    it("fails on \"No route to host\" (an ICMP reject, firewalld's default), and names every unreachable peer; 6 peers are tried at once", () => {
        // The reject comes from a fake timeout (an ICMP answer needs a firewall); every other call is the real one.
        const fakes = {
            timeout: `case "$*" in *" 127.0.0.5 "*) echo "127.0.0.5: connect: No route to host" >&2; echo "127.0.0.5: line 1: /dev/tcp/127.0.0.5/${port}: No route to host" >&2; exit 1 ;; esac\nexec ${realTimeout} "$@"\n`,
        };
        const peers = [2, 3, 4, 5, 6, 7].map((i) => ({ name: `lab-${i}`, address: `127.0.0.${i}` }));
        const r = preflight([lab1, ...peers], port, fakes, { allowEvenMembers: true });
        assert.equal(r.status, 1, r.stdout + r.stderr);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines[0], "preflight failed on lab-1:");
        assert.deepEqual(lines.slice(1).sort(), [
            `  - lab-4's peer port 127.0.0.4:${port} is not reachable from lab-1 (127.0.0.1): no answer within ${preflightPeerTimeoutSeconds}s (packets dropped); most likely a firewall on lab-4's host or between the two; etcd's members must reach each other's peer port`,
            `  - lab-5's peer port 127.0.0.5:${port} is not reachable from lab-1 (127.0.0.1): No route to host; most likely a firewall on lab-5's host or between the two; etcd's members must reach each other's peer port`,
        ]);
        // In parallel: one timeout's worth for the peers, not one per peer.
        assert.ok(r.ms < (preflightPeerTimeoutSeconds + preflightFsyncSeconds + 3) * 1000, `took ${r.ms} ms`);
    });

    it("a single member has no peer to try; the prepare step's repeat of the checks tries none either", () => {
        const s = spec({ members: [{ name: "solo", address: "10.0.0.1" }], allowUnverifiedHosts: true, allowSingleMember: true });
        assert.doesNotMatch(renderPreflightScript(s, s.members[0], "2020-01-01T00:00:00Z"), /dev\/tcp/);
        const three = spec({});
        const hostOnly = renderPreflightScript(three, three.members[0], "2020-01-01T00:00:00Z", { gate: false });
        assert.doesNotMatch(hostOnly, /dev\/tcp|oflag=dsync/);
        assert.match(hostOnly, /preflight failed on/);
    });
});

describe("preflight run by sh: the fsync burst in the data dir's filesystem warns, never fails", function () {
    this.timeout(60_000);
    const members = [{ name: "lab-1", address: "127.0.0.1" }];
    const solo = { allowSingleMember: true };
    let port: number;
    before(async () => { port = await freePort(); });

    it("the real dd: the temp file is removed, and any warning carries its figure; the run passes either way", () => {
        const r = preflight(members, port, {}, solo);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.deepEqual(r.leftovers, [], "the temp file is gone");
        for (const w of preflightWarnings(r.stdout)) assert.match(w, /^slow disk: mean \d+\.\d ms per synchronous write/);
    });

    /** A fake dd that records its arguments, makes `writes` writes (stats on stderr, as dd prints them) after `sleep` seconds. */
    const dd = (writes: number, sleep: number) => ({
        dd: [
            // dd prints its count when interrupted (SIGINT); the sleep, a child of its own, must not hold the output pipe.
            `trap 'kill $! 2>/dev/null; echo "${writes}+0 records in" >&2; echo "${writes}+0 records out" >&2; exit 130' INT`,
            `sleep ${sleep} >/dev/null 2>&1 & wait $!`,
            `echo "${writes}+0 records in" >&2; echo "${writes}+0 records out" >&2; echo "$((${writes} * 2300)) bytes copied, ${sleep} s, 1 MB/s" >&2`,
        ].join("\n") + "\n",
    });

    it("slower than fsyncWarnMs on average: a warning line with the mean per write, the writes and the time; the run passes", () => {
        const r = preflight(members, port, dd(20, 0.6), solo);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        const warnings = preflightWarnings(r.stdout);
        assert.equal(warnings.length, 1, r.stdout);
        // 20 writes in about 600 ms: about 30 ms each.
        const m = /^slow disk: mean (\d+)\.(\d) ms per synchronous write to (\S+) \(dd oflag=dsync: each 2300-byte write waits for the disk, as an fsync; 20 in (\d+) ms\); etcd's guide asks for p99 WAL fsync under 10 ms, this stack warns above 10 ms \(fsyncWarnMs\)$/.exec(warnings[0]);
        assert.ok(m, warnings[0]);
        assert.ok(Number(m[1]) >= 29 && Number(m[1]) < 200, warnings[0]);
        assert.ok(Number(m[4]) >= 600, warnings[0]);
        assert.match(m[3], /\/var\/lib$/, "the data dir's nearest existing parent (no data dir yet)");
        assert.deepEqual(r.leftovers, [], "the temp file is gone");
        // The same figure under a threshold above it: no warning.
        assert.deepEqual(preflightWarnings(preflight(members, port, dd(20, 0.6), { ...solo, fsyncWarnMs: 1000 }).stdout), []);
        // Fast: 200 writes at once, no warning.
        assert.deepEqual(preflightWarnings(preflight(members, port, dd(200, 0), solo).stdout), []);
    });

    it("dd stopped at the bound (SIGINT, it then prints its count): the mean of the writes it made; none made: says so", () => {
        const slow = preflight(members, port, dd(3, 30), solo);
        assert.equal(slow.status, 0, slow.stdout + slow.stderr);
        assert.ok(slow.ms < (preflightFsyncSeconds + 3) * 1000, `took ${slow.ms} ms`);
        const [w] = preflightWarnings(slow.stdout);
        // 3 writes in the 3 s bound: about 1000 ms each.
        assert.match(w, /^slow disk: mean (9\d\d|1\d\d\d)\.\d ms per synchronous write .*; 3 in \d+ ms\)/);
        const none = preflight(members, port, dd(0, 30), solo);
        assert.equal(none.status, 0, none.stdout + none.stderr);
        assert.match(preflightWarnings(none.stdout)[0], new RegExp(`^slow disk: no synchronous write to \\S+/var/lib completed within ${preflightFsyncSeconds}s; etcd's guide asks for p99 WAL fsync under 10 ms$`));
        assert.deepEqual(none.leftovers, []);
    });

    it("asks dd for synchronous writes of a WAL entry's size into a temp file in the data dir itself once it exists", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-preflight-"));
        try {
            const data = path.join(dir, "data");
            fs.mkdirSync(data);
            const bin = path.join(dir, "bin");
            fs.mkdirSync(bin);
            tool(bin, "dd", `echo "$*" > ${dir}/args\nfor a; do case $a in of=*) ls "\${a#of=}" > ${dir}/existed ;; esac; done\necho "200+0 records out" >&2\n`);
            const s = spec({ members, ...solo, allowUnverifiedHosts: true, dirs: { data }, minFreeDiskMiB: 1 });
            spawnSync("sh", ["-c", renderPreflightScript(s, s.members[0], "2020-01-01T00:00:00Z")], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
            const args = fs.readFileSync(path.join(dir, "args"), "utf8").trim();
            assert.match(args, new RegExp(`^if=/dev/zero of=${data.replace(/[/.]/g, "\\$&")}/\\.etcd-stack-fsync\\.\\w{6} bs=2300 count=200 oflag=dsync$`));
            assert.ok(fs.readFileSync(path.join(dir, "existed"), "utf8").trim().startsWith(data), "the temp file existed while dd ran");
            assert.deepEqual(fs.readdirSync(data), [], "and is removed after");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("preflightWarnings reads the warning lines only, without their prefix", () => {
        assert.deepEqual(preflightWarnings("warning: slow disk: mean 12.5 ms\narch=amd64\nwarning: \nnot a warning: x\n"), ["slow disk: mean 12.5 ms"]);
        assert.deepEqual(preflightWarnings(""), []);
    });
});

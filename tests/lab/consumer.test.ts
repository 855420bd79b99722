/**
 * Lab, real engine: a real application keeps its state in the cluster through the stack's day-2
 * changes (issue 29, item 8). Patroni (Debian's package) runs a PostgreSQL 15 on this machine and
 * holds its leader lock in etcd v3 (its `etcd3` store: etcd's JSON gateway over mutual TLS),
 * configured only from the stack's outputs: the client endpoints, the CA and a client certificate
 * the stack declares for it. Then a rolling change and a scale-up 3 → 5 through the engine, Patroni's
 * REST API asked every second meanwhile: it stays the leader of its cluster the whole time (no
 * failover, the PostgreSQL timeline unchanged, the leader key never gone), and its log shows no
 * demotion. Patroni and PostgreSQL run for the test only, on this process's loopback (the lab's
 * hosts are the only other addresses it reaches).
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { ScratchStack, engineUnavailable, programStack, repoRoot } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl } from "./etcdClient";
import { freeLoopbackPort, labAvailable } from "./lab";
import { discardStack, indent, labMembers, labStackConfig, labTarball } from "./labStack";
import { deployLab } from "./labCluster";

const pgBin = "/usr/lib/postgresql/15/bin";
const scope = "consumer";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Patroni's REST API: GET `what`, its JSON (or the error), bounded. */
function patroniGet(port: number, what: string): Promise<{ status?: number; json?: Record<string, unknown>; error?: string }> {
    return new Promise((resolve) => {
        const req = http.get(`http://127.0.0.1:${port}/${what}`, { timeout: 3000 }, (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => { try { resolve({ status: res.statusCode, json: JSON.parse(body) }); } catch { resolve({ status: res.statusCode, error: body.slice(0, 200) }); } });
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", (e) => resolve({ error: e.message }));
    });
}

/** Samples Patroni every second until stopped: its role, state and timeline at each sample. */
class PatroniWatch {
    samples: Array<{ at: number; role?: string; state?: string; timeline?: number; error?: string }> = [];
    private stopped = false;
    private loop?: Promise<void>;
    constructor(private readonly port: number) { }
    start(): this {
        this.loop = (async () => {
            while (!this.stopped) {
                const r = await patroniGet(this.port, "patroni");
                this.samples.push({ at: Date.now(), role: r.json?.role as string, state: r.json?.state as string, timeline: r.json?.timeline as number, error: r.error });
                await sleep(1000);
            }
        })();
        return this;
    }
    async stop(): Promise<void> { this.stopped = true; await this.loop; }
    /** The samples where Patroni was not a running leader. */
    notLeading(): string[] {
        return this.samples.filter((s) => !(s.role === "master" || s.role === "primary") || s.state !== "running")
            .map((s) => `${new Date(s.at).toISOString().slice(11, 19)} ${s.role ?? "-"} ${s.state ?? "-"} ${s.error ?? ""}`);
    }
}

describe("lab: a real application (Patroni and PostgreSQL) keeps its leader lock in etcd through a roll and a scale-up (real engine)", function () {
    this.timeout(20 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    let dir = "";
    let patroni: ChildProcess | undefined;
    let log = "";
    let port = 0;
    let timeline = 0;
    let leaderKey = "";
    /** Where Patroni's log stood once it led: the changes are judged by what it logs after. */
    let logAtLead = 0;

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball) ??
            (spawnSync("patroni", ["--version"], { encoding: "utf8" }).status === 0 && fs.existsSync(`${pgBin}/initdb`) ? undefined : "patroni or PostgreSQL 15 missing (apt-get install patroni postgresql)"));
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-patroni-"));
        fs.chmodSync(dir, 0o755);
        ({ scratch, etcdctl, admin } = await deployLab(5, { ...labStackConfig(3), clientCertificates: [
            { name: "patroni", commonName: "patroni", dir: path.join(dir, "etcd") },
            { name: "kube-apiserver", commonName: "kube-apiserver", dir: path.join(dir, "kubeadm") },
            { name: "flannel", commonName: "flannel", dir: path.join(dir, "flannel") },
        ] }));
    });

    after(async () => {
        if (patroni && patroni.exitCode === null) {
            patroni.kill("SIGTERM");
            for (let i = 0; i < 30 && patroni.exitCode === null; i++) await sleep(1000);
            patroni.kill("SIGKILL");
        }
        // PostgreSQL outlives a killed Patroni: stop it by its data dir.
        if (dir && fs.existsSync(path.join(dir, "pgdata", "postmaster.pid"))) spawnSync("runuser", ["-u", "postgres", "--", `${pgBin}/pg_ctl`, "-D", path.join(dir, "pgdata"), "-m", "immediate", "stop"], { timeout: 60_000 });
        etcdctl?.dispose();
        await discardStack(scratch, 5);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("Patroni, configured from the stack's outputs only, bootstraps PostgreSQL and takes the leader lock in etcd v3", async () => {
        const outputs = await scratch.stack.outputs();
        const endpoints = String(outputs["clientEndpoints"].value);
        const cert = (outputs["clientCertificates"].value as Record<string, { certPem: string; keyPem: string; files: { ca: string; cert: string; key: string } }>)["patroni"];
        fs.mkdirSync(path.dirname(cert.files.ca), { recursive: true });
        fs.writeFileSync(cert.files.ca, String(outputs["caCertPem"].value));
        fs.writeFileSync(cert.files.cert, cert.certPem);
        fs.writeFileSync(cert.files.key, cert.keyPem, { mode: 0o600 });
        port = await freeLoopbackPort();
        const pgPort = await freeLoopbackPort();
        const hosts = endpoints.split(",").map((u) => new URL(u).host);
        fs.writeFileSync(path.join(dir, "patroni.yml"), [
            `scope: ${scope}`,
            "name: pg1",
            `restapi: { listen: "127.0.0.1:${port}", connect_address: "127.0.0.1:${port}" }`,
            "etcd3:",
            `  hosts: ${JSON.stringify(hosts)}`,
            "  protocol: https",
            `  cacert: ${JSON.stringify(cert.files.ca)}`,
            `  cert: ${JSON.stringify(cert.files.cert)}`,
            `  key: ${JSON.stringify(cert.files.key)}`,
            "bootstrap:",
            "  dcs: { ttl: 30, loop_wait: 5, retry_timeout: 10 }",
            "  initdb: [ { encoding: UTF8 } ]",
            "postgresql:",
            `  listen: "127.0.0.1:${pgPort}"`,
            `  connect_address: "127.0.0.1:${pgPort}"`,
            `  data_dir: ${JSON.stringify(path.join(dir, "pgdata"))}`,
            `  bin_dir: ${pgBin}`,
            `  pgpass: ${JSON.stringify(path.join(dir, "pgpass"))}`,
            "  authentication: { superuser: { username: postgres, password: lab-only }, replication: { username: replicator, password: lab-only } }",
            "",
        ].join("\n"));
        spawnSync("chown", ["-R", "postgres:postgres", dir]);
        patroni = spawn("runuser", ["-u", "postgres", "--", "patroni", path.join(dir, "patroni.yml")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        const keep = (c: Buffer) => { log = (log + c).slice(-200_000); };
        patroni.stdout!.on("data", keep);
        patroni.stderr!.on("data", keep);
        let state: Record<string, unknown> | undefined;
        for (let i = 0; i < 120; i++) {
            await sleep(1000);
            if (patroni.exitCode !== null) assert.fail(`patroni exited ${patroni.exitCode}:\n${log.slice(-3000)}`);
            state = (await patroniGet(port, "patroni")).json;
            if ((state?.role === "master" || state?.role === "primary") && state?.state === "running") break;
        }
        assert.ok(state && (state.role === "master" || state.role === "primary") && state.state === "running", `not leading: ${JSON.stringify(state)}\n${log.slice(-3000)}`);
        timeline = Number(state.timeline);
        // Patroni may report itself primary a loop before its leader key is readable: asked for 20 s.
        for (let i = 0; i < 20 && leaderKey !== "pg1"; i++) {
            if (i > 0) await sleep(1000);
            const key = await etcdctl.run(endpoints, ["get", `/service/${scope}/leader`, "--print-value-only"], admin);
            assert.strictEqual(key.code, 0, key.out);
            leaderKey = key.out.trim();
        }
        assert.strictEqual(leaderKey, "pg1", "the leader key in etcd names Patroni's member");
        logAtLead = log.length;
        console.log(indent(`Patroni leads (timeline ${timeline}); etcd's /service/${scope}/leader = ${leaderKey}; etcd3 hosts ${hosts.join(", ")}`));
    });

    it("examples/kubeadm reads the stack through a StackReference: kubeadm's etcd.external block and flannel's flags, whose files reach the cluster", async () => {
        // The example as another team runs it: its own project, in the etcd stack's backend.
        const program = path.join(dir, "kubeadm-program");
        fs.mkdirSync(program);
        for (const f of ["Pulumi.yaml", "index.ts", "tsconfig.json", "package.json"]) fs.copyFileSync(path.join(repoRoot, "examples/kubeadm", f), path.join(program, f));
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(program, "node_modules"));
        const { stack } = await programStack(program, "dev", { "kubeadm-etcd:etcdStack": "organization/etcd-stack/lab" }, path.join(scratch.dir, "state"));
        assert.strictEqual((await stack.up()).summary.result, "succeeded");
        const out = await stack.outputs();
        const mine = await scratch.stack.outputs();
        const endpoints = String(mine["clientEndpoints"].value);
        const kubeadm = String(out["clusterConfiguration"].value);
        console.log(indent(kubeadm.trimEnd()));
        const kubeDir = path.join(dir, "kubeadm");
        assert.strictEqual(kubeadm, ["apiVersion: kubeadm.k8s.io/v1beta4", "kind: ClusterConfiguration", "etcd:", "  external:", "    endpoints:",
            ...endpoints.split(",").map((u) => `      - ${u}`), `    caFile: ${kubeDir}/ca.crt`, `    certFile: ${kubeDir}/kube-apiserver.crt`, `    keyFile: ${kubeDir}/kube-apiserver.key`, ""].join("\n"));
        const flannel = (mine["clientCertificates"].value as Record<string, { flannelFlags: string }>)["flannel"].flannelFlags;
        assert.strictEqual(out["flannelFlags"].value, flannel);
        assert.ok(out["files"].secret, "the files (keys among them) are a secret output");
        // The files where the example says, then etcd reached with exactly what kubeadm's block names.
        for (const [file, content] of Object.entries(out["files"].value as Record<string, string>)) {
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, content, { mode: file.endsWith(".key") ? 0o600 : 0o644 });
        }
        const block = (k: string) => new RegExp(`^ {4}${k}: (.*)$`, "m").exec(kubeadm)![1];
        const health = await etcdctl.run(endpoints, ["endpoint", "health"], { ca: block("caFile"), cert: block("certFile"), key: block("keyFile") });
        assert.strictEqual(health.code, 0, health.out);
        assert.strictEqual((health.out.match(/is healthy/g) ?? []).length, 3, health.out);
        const flags = Object.fromEntries([...flannel.matchAll(/-etcd-(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
        const viaFlannel = await etcdctl.run(flags.endpoints, ["put", "/coreos.com/network/config", '{"Network":"10.244.0.0/16"}'], { ca: flags.cafile, cert: flags.certfile, key: flags.keyfile });
        assert.strictEqual(viaFlannel.code, 0, viaFlannel.out);
    });

    async function throughChange(label: string, config: Record<string, unknown>): Promise<void> {
        scratch.setConfig(config);
        const watch = new PatroniWatch(port).start();
        const started = Date.now();
        try {
            const up = await scratch.stack.up();
            assert.strictEqual(up.summary.result, "succeeded");
        } finally {
            await sleep(12_000); // two of Patroni's loops after the change: a late demotion would show
            await watch.stop();
        }
        const notLeading = watch.notLeading();
        console.log(indent(`${label}: ${watch.samples.length} samples of Patroni over ${Math.round((Date.now() - started) / 1000)} s, not leading at ${notLeading.length}`));
        assert.deepStrictEqual(notLeading, [], `${label}: Patroni did not lead throughout`);
        assert.deepStrictEqual([...new Set(watch.samples.map((s) => s.timeline))], [timeline], `${label}: the timeline changed (a failover)`);
        const endpoints = String((await scratch.stack.outputs())["clientEndpoints"].value);
        const key = await etcdctl.run(endpoints, ["get", `/service/${scope}/leader`, "--print-value-only"], admin);
        assert.strictEqual(key.out.trim(), leaderKey, `${label}: the leader key in etcd`);
    }

    it("a rolling change (each member restarted in turn): Patroni leads throughout, the timeline unchanged", async () => {
        await throughChange("roll", { tuning: { snapshotCount: 12345 } });
    });

    it("a scale-up 3 -> 5: Patroni leads throughout; its log shows no demotion", async () => {
        await throughChange("scale-up", { members: labMembers(5) });
        // Since it led: no demotion, no lock lost or held by another, no PostgreSQL failure.
        const since = log.slice(logAtLead).split("\n");
        const bad = since.filter((l) => /demot|failover|failed to update leader lock|released leader key|Lock owner: (?!pg1;)|FATAL|PANIC/i.test(l));
        assert.deepStrictEqual(bad, [], "Patroni's log since it led");
        assert.ok(since.some((l) => /no action\. I am \(pg1\), the leader with the lock/.test(l)), "Patroni's loop kept reporting its lock");
        const retried = since.filter((l) => /WARNING|ERROR/.test(l));
        console.log(indent(`Patroni's warnings and errors over the run: ${retried.length}${retried.length ? `\n${retried.slice(-5).join("\n")}` : ""}`));
    });
});

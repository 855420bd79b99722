/**
 * What the lab tests' own client traffic costs the run it watches (issue 26): one rolling change
 * (a tuning edit, every member restarted one at a time, 3 members) timed with no client traffic,
 * under a writer and a health monitor that spawn one etcdctl process per request (how the tests
 * did it before tests/lab/labClient.ts), and under the same writer and monitor through the one
 * long-running client. The three alternate, `--runs` rounds; ratios to "quiet" are what to read
 * (this machine is noisy). Never a test; asserts nothing.
 *
 *   flock -o /tmp/etcd-stack-lab.lock npx ts-node bench/clientLoad.ts [--runs 3]
 *
 * Needs what the lab tests need. Starts 3 lab hosts (leaves them up), wipes them, deploys, and
 * discards the stack at the end. Bounded: a fixed number of rolls, each engine run and each
 * writer bounded by the tests' own limits.
 */
import * as fs from "fs";
import * as path from "path";
import { scratchStack } from "../tests/engine/engine";
import { BoundedWriter, Credentials, Etcdctl, HealthMonitor, commandTimeoutMs } from "../tests/lab/etcdClient";
import { labUp } from "../tests/lab/lab";
import { adminCredentials, discardStack, labMembers, labStackConfig, labTarball, wipeHosts } from "../tests/lab/labStack";

type Mode = "quiet" | "etcdctl processes" | "one client";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tests' traffic before labClient.ts: a put or a health check is one etcdctl process. */
function spawnedTraffic(etcdctl: Etcdctl, endpoints: string, urls: string[], creds: Credentials): () => Promise<number> {
    let stopped = false;
    let requests = 0;
    const writer = (async () => {
        for (let n = 0; !stopped && n < 5000; n++) {
            await etcdctl.run(endpoints, ["put", `bench/spawned/${n}`, String(n)], creds);
            requests++;
            await sleep(50);
        }
    })();
    const monitor = (async () => {
        while (!stopped) {
            await Promise.all(urls.map((u) => etcdctl.run(u, ["endpoint", "health", "--command-timeout=2s"], creds, 10_000)));
            requests += urls.length;
            await sleep(250);
        }
    })();
    return async () => { stopped = true; await Promise.all([writer, monitor]); return requests; };
}

/** The same traffic through the long-running client (BoundedWriter and HealthMonitor as the tests use them). */
function clientTraffic(etcdctl: Etcdctl, endpoints: string, urls: string[], creds: Credentials): () => Promise<number> {
    const writer = new BoundedWriter(etcdctl, endpoints, creds, "bench/client").start();
    const monitor = new HealthMonitor(etcdctl, Object.fromEntries(urls.map((u, i) => [`m${i}`, u])), creds).start();
    return async () => { await writer.stop(); await monitor.stop(); return writer.acknowledged.length + writer.failed.length + monitor.samples * urls.length; };
}

async function main(): Promise<void> {
    const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 3) || 3;
    labUp(3);
    wipeHosts(3);
    const scratch = await scratchStack("lab", labStackConfig(3));
    const etcdctl = Etcdctl.extract(labTarball);
    const rows: Array<{ round: number; mode: Mode; seconds: number; requests: number }> = [];
    try {
        const cold = await scratch.stack.up();
        if (cold.summary.result !== "succeeded") throw new Error("cold up failed");
        const admin = await adminCredentials(scratch, etcdctl);
        const urls = labMembers(3).map((m) => `https://${m.address}:2379`);
        const endpoints = urls.join(",");
        let heartbeat = 100;
        for (let round = 1; round <= runs; round++) {
            for (const mode of ["quiet", "etcdctl processes", "one client"] as Mode[]) {
                heartbeat += 10; // a new value every roll: every member restarts
                scratch.setConfig({ tuning: { heartbeatIntervalMs: heartbeat, electionTimeoutMs: heartbeat * 10 } });
                const stop = mode === "quiet" ? async () => 0 : (mode === "one client" ? clientTraffic : spawnedTraffic)(etcdctl, endpoints, urls, admin);
                await sleep(2000); // the traffic running before the roll starts
                const started = Date.now();
                const up = await scratch.stack.up();
                const seconds = (Date.now() - started) / 1000;
                const requests = await stop();
                if (up.summary.result !== "succeeded") throw new Error(`roll failed (${mode})`);
                rows.push({ round, mode, seconds, requests });
                console.log(`round ${round}: ${mode.padEnd(17)} roll ${seconds.toFixed(1)} s, ${requests} client requests`);
            }
        }
    } finally {
        etcdctl.dispose();
        await discardStack(scratch, 3);
    }
    const mean = (m: Mode) => rows.filter((r) => r.mode === m).reduce((s, r) => s + r.seconds, 0) / runs;
    const quiet = mean("quiet");
    const summary = (["quiet", "etcdctl processes", "one client"] as Mode[]).map((m) => ({ mode: m, meanSeconds: Number(mean(m).toFixed(1)), ratioToQuiet: Number((mean(m) / quiet).toFixed(2)) }));
    console.table(summary);
    const out = path.join(__dirname, "results", `clientLoad-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify({ commandTimeoutMs, runs, rows, summary }, null, 2));
    console.log(`results: ${out}`);
}

main().catch((e) => { console.error(e); process.exitCode = 1; });

/**
 * Lab, real engine: monitoring (issue 29, item 12). A stack with `etcd:metrics` (https: mutual TLS
 * with the cluster's client CA) and a client certificate for the scraper; a real Prometheus from
 * Debian's packages, run here for the test only (on this process's loopback, reaching only the lab's
 * hosts), configured from the stack's `monitoring` output alone (the scrape job and the alert rules)
 * and the scraper's certificate from the `clientCertificates` output. It scrapes every member; a
 * request without a client certificate is refused; with one member's etcd stopped, Prometheus
 * evaluates the quorum rule and the alert goes pending.
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as paths from "../../components/base/paths";
import { ScratchStack, engineUnavailable, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { freeLoopbackPort, labAvailable, labSsh, labUp } from "./lab";
import { discardStack, indent, labMembers, labStackConfig, labTarball, wipeHosts } from "./labStack";

const members = labMembers(3);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One GET of `url` (an https one with `tls` options), bounded: the status, or the error's message. */
function get(url: string, tls: https.RequestOptions = {}): Promise<{ status?: number; body: string; error?: string }> {
    return new Promise((resolve) => {
        const mod = url.startsWith("https:") ? https : require("http");
        const req = mod.get(url, { ...tls, timeout: 5000 }, (res: import("http").IncomingMessage) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode, body }));
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", (e: Error) => resolve({ body: "", error: e.message }));
    });
}

describe("lab: a real Prometheus scrapes every member over mutual TLS and evaluates the quorum rule (real engine)", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let dir = "";
    let prometheus: ChildProcess | undefined;
    let api = "";
    let ca = "";
    const certDir = () => path.join(dir, "prometheus-etcd");

    /** Prometheus's HTTP API: GET `query` under /api/v1/, its `data`. */
    async function promApi<T>(query: string): Promise<T> {
        const r = await get(`${api}/api/v1/${query}`);
        assert.strictEqual(r.status, 200, `${query}: ${r.error ?? r.body.slice(0, 300)}`);
        return (JSON.parse(r.body) as { data: T }).data;
    }

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball) ??
            (spawnSync("prometheus", ["--version"], { encoding: "utf8" }).status === 0 ? undefined : "prometheus missing (apt-get install prometheus)"));
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-prometheus-"));
        labUp(3);
        wipeHosts(3);
        scratch = await scratchStack("lab", {
            ...labStackConfig(3),
            clientCertificates: [{ name: "prometheus", commonName: "prometheus", dir: certDir() }],
            metrics: { clientCertificate: "prometheus" },
        });
        assert.strictEqual((await scratch.stack.up()).summary.result, "succeeded");
    });

    after(async () => {
        prometheus?.kill("SIGKILL");
        await discardStack(scratch, 3);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("Prometheus, configured from the stack's outputs alone, scrapes every member's metrics listener over mutual TLS", async () => {
        const outputs = await scratch.stack.outputs();
        const monitoring = outputs["monitoring"].value as { job: string; scrapeConfig: string; alertRules: string };
        const cert = (outputs["clientCertificates"].value as Record<string, { certPem: string; keyPem: string; files: { ca: string; cert: string; key: string } }>)["prometheus"];
        ca = String(outputs["caCertPem"].value);
        // The scraper's files where its `dir` says, as an operator writes them on the Prometheus host.
        fs.mkdirSync(certDir(), { recursive: true });
        fs.writeFileSync(cert.files.ca, ca);
        fs.writeFileSync(cert.files.cert, cert.certPem);
        fs.writeFileSync(cert.files.key, cert.keyPem, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "etcd-alerts.yml"), monitoring.alertRules);
        const job = monitoring.scrapeConfig.split("\n").map((l) => (l === "" || l.startsWith("#") ? l : `  ${l}`)).join("\n");
        fs.writeFileSync(path.join(dir, "prometheus.yml"),
            `global: { scrape_interval: 2s, evaluation_interval: 2s }\nrule_files: [etcd-alerts.yml]\nscrape_configs:\n${job}`);
        console.log(indent(monitoring.scrapeConfig.trimEnd()));

        const port = await freeLoopbackPort();
        api = `http://127.0.0.1:${port}`;
        prometheus = spawn("prometheus", [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "data")}`,
            `--web.listen-address=127.0.0.1:${port}`, "--storage.tsdb.retention.time=1h"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
        let log = "";
        prometheus.stderr!.on("data", (c) => { log = (log + c).slice(-4000); });

        type Target = { labels: { member: string }; health: string; lastError: string; scrapeUrl: string };
        let targets: Target[] = [];
        for (let i = 0; i < 60; i++) {
            await sleep(1000);
            if (prometheus.exitCode !== null) assert.fail(`prometheus exited ${prometheus.exitCode}: ${log}`);
            const r = await get(`${api}/api/v1/targets`);
            if (r.status !== 200) continue;
            targets = (JSON.parse(r.body) as { data: { activeTargets: Target[] } }).data.activeTargets;
            if (targets.length === 3 && targets.every((t) => t.health === "up")) break;
        }
        console.log(indent(targets.map((t) => `${t.labels.member} ${t.scrapeUrl} ${t.health}${t.lastError ? ` (${t.lastError})` : ""}`).join("\n")));
        assert.deepStrictEqual(targets.map((t) => [t.labels.member, t.scrapeUrl, t.health]).sort(),
            members.map((m) => [m.name, `https://${m.address}:2381/metrics`, "up"]));
        // etcd's own metrics, from every member: each has a leader.
        const leader = await promApi<{ result: Array<{ metric: { member: string }; value: [number, string] }> }>(
            `query?query=${encodeURIComponent(`etcd_server_has_leader{job="${monitoring.job}"}`)}`);
        assert.deepStrictEqual(leader.result.map((r) => [r.metric.member, r.value[1]]).sort(), members.map((m) => [m.name, "1"]));
        const rules = await promApi<{ groups: Array<{ rules: Array<{ name: string; health: string; lastEvaluation: string }> }> }>("rules");
        const evaluated = rules.groups.flatMap((g) => g.rules);
        assert.ok(evaluated.length >= 8 && evaluated.every((r) => r.health === "ok"), JSON.stringify(evaluated.map((r) => [r.name, r.health])));
    });

    it("the listener refuses a request without a client certificate, and has no plain http on the member's address", async () => {
        const url = `https://${members[0].address}:2381/metrics`;
        const bare = await get(url, { ca });
        assert.ok(bare.error !== undefined || (bare.status !== undefined && bare.status >= 400), `answered without a client certificate: ${bare.status}`);
        console.log(indent(`without a client certificate: ${bare.error ?? bare.status}`));
        const files = { key: fs.readFileSync(path.join(certDir(), "prometheus.key")), cert: fs.readFileSync(path.join(certDir(), "prometheus.crt")) };
        const withCert = await get(url, { ca, ...files });
        assert.strictEqual(withCert.status, 200, withCert.error);
        assert.match(withCert.body, /^etcd_server_has_leader 1$/m);
        const plain = await get(`http://${members[0].address}:2381/metrics`);
        assert.ok(plain.status === undefined || plain.status >= 400, "plain http answered on the member's address");
        // Loopback's plain listener is still there for the health gate: on the host only.
        assert.match(labSsh("lab1", "curl -fsS http://127.0.0.1:2381/health").stdout, /"health":"true"/);
    });

    it("one member's etcd stopped: Prometheus evaluates the quorum rule and EtcdQuorumAtRisk goes pending; EtcdQuorumLost does not", async () => {
        assert.strictEqual(labSsh("lab3", `systemctl stop ${paths.unitName}`).code, 0);
        try {
            type Alert = { labels: { alertname: string }; state: string };
            let alerts: Alert[] = [];
            for (let i = 0; i < 40 && !alerts.some((a) => a.labels.alertname === "EtcdQuorumAtRisk"); i++) {
                await sleep(1000);
                alerts = (await promApi<{ alerts: Alert[] }>("alerts")).alerts;
            }
            console.log(indent(`alerts: ${alerts.map((a) => `${a.labels.alertname} ${a.state}`).join(", ")}`));
            assert.ok(alerts.some((a) => a.labels.alertname === "EtcdQuorumAtRisk" && ["pending", "firing"].includes(a.state)), JSON.stringify(alerts));
            assert.ok(!alerts.some((a) => a.labels.alertname === "EtcdQuorumLost"), JSON.stringify(alerts));
        } finally {
            labSsh("lab3", `systemctl start ${paths.unitName}`);
        }
    });
});

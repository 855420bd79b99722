/**
 * `etcd:metrics` (issue 29, monitoring): the listener on each member's address, the config's
 * validation, and what the `monitoring` output gives a Prometheus server: a scrape job and alert
 * rules (golden files), both checked by Prometheus's own promtool, and one rule evaluated by it
 * (`promtool test rules`: a member of three stops answering, and the quorum alert fires).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderEtcdConfig } from "../../components/member/render";
import { metricsJob, monitoringOutputs, renderAlertRules, renderScrapeConfig } from "../../components/renderMonitoring";
import { skipIf } from "../skip";
import { problemsOf, spec } from "./fixtures";
import { golden } from "./golden";

const scraper = { clientCertificates: [{ name: "prometheus", dir: "/etc/prometheus/etcd" }], metrics: { clientCertificate: "prometheus" } };
const metricsLine = (config: string) => /^listen-metrics-urls: (.*)$/m.exec(config)?.[1];

describe("monitoring: etcd:metrics and the monitoring output", () => {
    it("off by default: metrics on loopback only, and no monitoring output", () => {
        const s = spec();
        assert.equal(metricsLine(renderEtcdConfig(s, s.members[0], { token: "t", initialClusterState: "new" })), `"http://127.0.0.1:2381"`);
        assert.equal(monitoringOutputs(s), null);
    });

    it("https: a listener on the member's address beside loopback's, with etcd's client TLS (the config's client-transport-security)", () => {
        const s = spec(scraper);
        const config = renderEtcdConfig(s, s.members[1], { token: "t", initialClusterState: "new" });
        assert.equal(metricsLine(config), `"http://127.0.0.1:2381,https://${s.members[1].address}:2381"`);
        assert.match(config, /^client-transport-security:\n {2}cert-file: .*\n {2}key-file: .*\n {2}trusted-ca-file: .*\n {2}client-cert-auth: true$/m);
    });

    it("http: a plain listener on the member's address; an IPv6 address in brackets", () => {
        const s = spec({ metrics: { listen: "http" } });
        assert.equal(metricsLine(renderEtcdConfig(s, s.members[0], { token: "t", initialClusterState: "new" })), `"http://127.0.0.1:2381,http://${s.members[0].address}:2381"`);
        const v6 = spec({ metrics: { listen: "http" }, members: [{ name: "a", address: "fd00::1" }, { name: "b", address: "fd00::2" }, { name: "c", address: "fd00::3" }], allowUnverifiedHosts: true });
        assert.match(renderEtcdConfig(v6, v6.members[0], { token: "t", initialClusterState: "new" }), /,http:\/\/\[fd00::1\]:2381"$/m);
        assert.match(renderScrapeConfig(v6), /targets: \["\[fd00::1\]:2381"\]/);
    });

    it("the config is refused with a reason: an unknown scheme, https without a scraper certificate, admin, a name not declared, a certificate with http", () => {
        assert.ok(problemsOf({ metrics: { listen: "ftp" } }).some((p) => /metrics\.listen: "ftp" must be "https"/.test(p)));
        assert.ok(problemsOf({ metrics: {} }).some((p) => /metrics\.clientCertificate: with metrics\.listen https, name the clientCertificates entry/.test(p)));
        assert.ok(problemsOf({ metrics: { clientCertificate: "admin" } }).some((p) => /"admin" is not one of the stack's clientCertificates \(admin is the operator's/.test(p)));
        assert.ok(problemsOf({ metrics: { clientCertificate: "grafana" } }).some((p) => /"grafana" is not one of the stack's clientCertificates$/.test(p)));
        assert.ok(problemsOf({ ...scraper, metrics: { listen: "http", clientCertificate: "prometheus" } }).some((p) => /only with metrics\.listen https/.test(p)));
        assert.deepEqual(problemsOf(scraper), []);
        assert.deepEqual(problemsOf({ metrics: { enabled: false } }), []);
    });

    it("golden: the scrape job (https, the scraper's files) and the alert rules", () => {
        const s = spec(scraper);
        golden("prometheus-scrape.yml", renderScrapeConfig(s));
        golden("etcd-alerts.yml", renderAlertRules(s));
        assert.deepEqual(Object.keys(monitoringOutputs(s)!), ["job", "scrapeConfig", "alertRules"]);
    });

    it("quorum is counted against the declared members: 3 → at risk with 2 up, lost below 2; 5 → 3; 1 member has no at-risk rule", () => {
        assert.match(renderAlertRules(spec(scraper)), /expr: "sum\(up\{job=\\"etcd-lab\\"\}\) == 2"/);
        const five = spec({ ...scraper, members: [1, 2, 3, 4, 5].map((k) => ({ name: `lab-${k}`, address: `10.213.0.${10 + k}` })), allowUnverifiedHosts: true });
        assert.match(renderAlertRules(five), /< 3"/);
        const one = spec({ ...scraper, members: [{ name: "lab-1", address: "10.213.0.11" }], allowSingleMember: true, allowUnverifiedHosts: true });
        assert.doesNotMatch(renderAlertRules(one), /EtcdQuorumAtRisk/);
    });

    describe("checked by Prometheus's promtool (Debian's prometheus package)", function () {
        this.timeout(60_000);
        let dir = "";
        const promtool = (...args: string[]) => spawnSync("promtool", args, { cwd: dir, encoding: "utf8", timeout: 30_000 });

        before(function () {
            skipIf(this, spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0 ? undefined : "promtool missing (apt-get install prometheus)");
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-promtool-"));
        });
        after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

        it("the rules pass `promtool check rules`; the scrape job in a prometheus.yml passes `promtool check config`", () => {
            const s = spec(scraper);
            fs.writeFileSync(path.join(dir, "etcd-alerts.yml"), renderAlertRules(s));
            const rules = promtool("check", "rules", "etcd-alerts.yml");
            assert.equal(rules.status, 0, rules.stdout + rules.stderr);
            assert.match(rules.stdout, /SUCCESS: \d+ rules found/);
            const job = renderScrapeConfig(s).split("\n").map((l) => (l.startsWith("#") || l === "" ? l : `  ${l}`)).join("\n");
            fs.writeFileSync(path.join(dir, "prometheus.yml"), `rule_files: [etcd-alerts.yml]\nscrape_configs:\n${job}`);
            // check config reads the TLS files the job names: they exist on a Prometheus host, not here.
            const config = promtool("check", "config", "--syntax-only", "prometheus.yml");
            assert.equal(config.status, 0, config.stdout + config.stderr);
        });

        it("a broken rule is refused by the same check (the check can fail)", () => {
            fs.writeFileSync(path.join(dir, "broken.yml"), renderAlertRules(spec(scraper)).replace("== 0", "== == 0"));
            const r = promtool("check", "rules", "broken.yml");
            assert.notEqual(r.status, 0);
            assert.match(r.stdout + r.stderr, /parse error|unexpected/);
        });

        it("evaluated by promtool: one member of three stops answering; EtcdQuorumAtRisk fires after its minute, EtcdQuorumLost does not", () => {
            const s = spec(scraper);
            fs.writeFileSync(path.join(dir, "etcd-alerts.yml"), renderAlertRules(s));
            const job = metricsJob(s);
            const series = (member: string, values: string) => `      - series: 'up{job="${job}", member="${member}", cluster="lab"}'\n        values: '${values}'`;
            fs.writeFileSync(path.join(dir, "test.yml"), [
                "rule_files: [etcd-alerts.yml]",
                "evaluation_interval: 30s",
                "tests:",
                "  - interval: 30s",
                "    input_series:",
                series("lab-1", "1x10"),
                series("lab-2", "1x10"),
                series("lab-3", "1 1 0x8"),
                "    alert_rule_test:",
                "      - eval_time: 30s",
                "        alertname: EtcdQuorumAtRisk",
                "        exp_alerts: []",
                "      - eval_time: 3m",
                "        alertname: EtcdQuorumAtRisk",
                "        exp_alerts:",
                "          - exp_labels: { severity: warning, cluster: lab }",
                "            exp_annotations:",
                `              summary: "One more member down and the etcd cluster loses quorum."`,
                `              description: "Exactly 2 of the 3 members of etcd cluster lab answer: one more failure stops every write."`,
                "      - eval_time: 3m",
                "        alertname: EtcdQuorumLost",
                "        exp_alerts: []",
                "",
            ].join("\n"));
            const r = promtool("test", "rules", "test.yml");
            assert.equal(r.status, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /SUCCESS/);
            // The same test expecting nothing at 3m fails: promtool really evaluated the rule.
            fs.writeFileSync(path.join(dir, "test.yml"), fs.readFileSync(path.join(dir, "test.yml"), "utf8").replace(/(eval_time: 3m\n {8}alertname: EtcdQuorumAtRisk\n {8}exp_alerts:)[\s\S]*?(\n {6}- eval_time)/, "$1 []$2"));
            const wrong = promtool("test", "rules", "test.yml");
            assert.notEqual(wrong.status, 0, "expecting no alert must fail");
        });
    });
});

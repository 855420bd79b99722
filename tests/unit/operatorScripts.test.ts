/**
 * The operator commands (`npm run snapshot`, `npm run maintenance`, through scripts/lib/stackClient.sh)
 * run the operator's own `pulumi` with the operator's own environment and login: a fake `pulumi` on
 * PATH records the PULUMI_* variables it was started with. The lab's environment
 * (scripts/pulumi-env.sh) only when the caller asks for it: ETCD_STACK_LAB=1 or `--lab`.
 * Fake etcdctl/etcdutl ($ETCD_BIN_DIR) let the snapshot go through; no host is reached.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

const repoRoot = path.join(__dirname, "..", "..");
const recorded = ["PULUMI_BACKEND_URL", "PULUMI_HOME", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] as const;
type Call = { args: string } & Record<(typeof recorded)[number], string | undefined>;

const fakePulumi = `#!/usr/bin/env bash
{
  printf 'args=%s' "$*"
  for v in ${recorded.join(" ")}; do
    if [[ -v $v ]]; then printf '\\t%s=%s' "$v" "\${!v}"; fi
  done
  printf '\\n'
} >>"$FAKE_PULUMI_LOG"
case "$*" in
  "stack --show-name") echo prod ;;
  "stack output --stack "*" clientEndpoints") echo "https://10.0.0.1:2379,https://10.0.0.2:2379" ;;
  "stack output --stack "*" caCertPem" | "stack output --stack "*" adminCertPem") echo "-----BEGIN CERTIFICATE-----" ;;
  "stack output --stack "*" --show-secrets adminKeyPem") echo "fake key" ;;
  "config get etcd:version --stack "*) echo 3.6.16 ;;
  *) echo "fake pulumi: unexpected: $*" >&2; exit 2 ;;
esac
`;

/** etcdctl: every member healthy, a snapshot saved, and no alarm list (maintenance stops there). */
const fakeEtcdctl = `#!/usr/bin/env bash
words=()
while [[ $# -gt 0 ]]; do
  case $1 in --endpoints) shift 2 ;; --*) shift ;; *) words+=("$1"); shift ;; esac
done
case "\${words[*]}" in
  "endpoint health") echo "healthy" ;;
  "snapshot save "*) echo "snapshot data" >"\${words[2]}" ;;
  *) echo "fake etcdctl: \${words[*]}" >&2; exit 1 ;;
esac
`;
const fakeEtcdutl = `#!/usr/bin/env bash
echo "| HASH | REVISION | TOTAL KEYS | TOTAL SIZE |"
`;

interface Run { code: number | null; stdout: string; stderr: string; calls: Call[] }

describe("operator scripts use the operator's Pulumi, the lab's only when asked", function () {
    this.timeout(60_000);
    let tmp: string;
    let fakeBin: string;
    let etcdBin: string;
    let cache: string;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-operator-scripts-"));
        fakeBin = path.join(tmp, "bin");
        etcdBin = path.join(tmp, "etcd-bin");
        fs.mkdirSync(fakeBin);
        fs.mkdirSync(etcdBin);
        fs.writeFileSync(path.join(fakeBin, "pulumi"), fakePulumi, { mode: 0o755 });
        fs.writeFileSync(path.join(etcdBin, "etcdctl"), fakeEtcdctl, { mode: 0o755 });
        fs.writeFileSync(path.join(etcdBin, "etcdutl"), fakeEtcdutl, { mode: 0o755 });
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    beforeEach(() => {
        // A cache of its own: the lab's environment would create its PULUMI_HOME in it.
        cache = fs.mkdtempSync(path.join(tmp, "cache-"));
    });

    /** Runs `command` in the project with only `env` and the fakes, as an operator's shell would. */
    function run(command: string[], env: Record<string, string>): Run {
        const log = path.join(tmp, `calls-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
        const base: Record<string, string> = {
            PATH: `${fakeBin}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
            HOME: tmp,
            ETCD_STACK_CACHE: cache,
            ETCD_BIN_DIR: etcdBin,
            FAKE_PULUMI_LOG: log,
        };
        const r = spawnSync(command[0], command.slice(1), { cwd: repoRoot, env: { ...base, ...env }, encoding: "utf8", timeout: 50_000 });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").map((line) => {
            const [args, ...vars] = line.split("\t");
            const call = { args: args.replace(/^args=/, "") } as Call;
            for (const v of vars) {
                const i = v.indexOf("=");
                (call as Record<string, string>)[v.slice(0, i)] = v.slice(i + 1);
            }
            return call;
        }) : [];
        return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
    }

    const team = {
        PULUMI_BACKEND_URL: "postgres://pulumi@db.example:5432/pulumi_state?sslmode=verify-full",
        PULUMI_HOME: "/home/alice/.pulumi-team",
        PULUMI_CONFIG_PASSPHRASE: "the team's passphrase",
    };

    /** Every pulumi call saw exactly `expected` (a variable missing there: unset). */
    function assertEnv(calls: Call[], expected: Partial<Record<(typeof recorded)[number], string>>): void {
        assert.ok(calls.length >= 4, `pulumi was called (${calls.length} calls)`);
        for (const c of calls) {
            for (const v of recorded) assert.equal(c[v], expected[v], `${v} of \`pulumi ${c.args}\``);
        }
    }

    it("npm run snapshot: the operator's PULUMI_BACKEND_URL, PULUMI_HOME and passphrase, nothing added", () => {
        const out = path.join(tmp, "prod.db");
        const r = run(["npm", "run", "--silent", "snapshot", "--", "prod", out], team);
        assert.equal(r.code, 0, r.stderr);
        assertEnv(r.calls, team);
        assert.ok(r.calls.every((c) => / --stack prod\b/.test(c.args)), r.calls.map((c) => c.args).join("\n"));
        assert.match(r.stdout, new RegExp(`snapshot of stack 'prod' from https://10.0.0.1:2379: ${out}`));
        assert.ok(r.stdout.includes("restore it with: pulumi config set --path etcd:restore.snapshot '~/prod.db' && pulumi up"), r.stdout);
        assert.equal(fs.readdirSync(cache).length, 0, "nothing of the lab's created");
    });

    it("snapshot with nothing set (an operator who ran `pulumi login`): every PULUMI_* stays unset, the selected stack is used", () => {
        const r = run(["bash", "scripts/snapshot.sh"], {});
        assert.equal(r.code, 0, r.stderr);
        assertEnv(r.calls.filter((c) => c.args !== "stack --show-name"), {});
        assert.equal(r.calls[0].args, "stack --show-name");
        assert.match(r.stdout, /snapshot of stack 'prod' from .*etcd-snapshots\/prod-\d{8}T\d{6}Z\.db/);
        // The default file is under the home directory: the restore hint names it as '~/…', quoted.
        assert.match(r.stdout, /restore it with: pulumi config set --path etcd:restore\.snapshot '~\/etcd-snapshots\/prod-\d{8}T\d{6}Z\.db' && pulumi up/);
        assert.equal(fs.readdirSync(cache).length, 0, "nothing of the lab's created");
    });

    it("npm run maintenance: the operator's environment too", () => {
        const r = run(["npm", "run", "--silent", "maintenance", "--", "prod"], team);
        // The fake etcdctl lists no alarms: the maintenance stops there, after every pulumi call.
        assert.match(r.stderr, /maintenance: cannot list alarms of 'prod'/);
        assertEnv(r.calls, team);
        assert.equal(fs.readdirSync(cache).length, 0);
    });

    it("maintenance with nothing set: nothing set for pulumi either", () => {
        const r = run(["bash", "scripts/maintenance.sh", "staging"], {});
        assert.match(r.stderr, /cannot list alarms of 'staging'/);
        assertEnv(r.calls, {});
    });

    const lab = () => ({
        PULUMI_BACKEND_URL: `file://${repoRoot}/.lab/state?metadata=skip`,
        PULUMI_HOME: path.join(cache, "pulumi/home"),
        PULUMI_CONFIG_PASSPHRASE: "etcd-stack-lab",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    });

    it("ETCD_STACK_LAB=1: the lab's environment and the lab stack", () => {
        const r = run(["bash", "scripts/snapshot.sh"], { ETCD_STACK_LAB: "1" });
        assert.equal(r.code, 0, r.stderr);
        assertEnv(r.calls, lab());
        assert.ok(r.calls.every((c) => / --stack lab\b/.test(c.args)));
        assert.match(r.stdout, /snapshot of stack 'lab'/);
    });

    it("--lab: the same, for both commands", () => {
        const s = run(["bash", "scripts/snapshot.sh", "--lab", "lab", path.join(tmp, "lab.db")], {});
        assert.equal(s.code, 0, s.stderr);
        assertEnv(s.calls, lab());
        const m = run(["bash", "scripts/maintenance.sh", "--lab"], {});
        assert.match(m.stderr, /cannot list alarms of 'lab'/);
        assertEnv(m.calls, lab());
    });

    it("the lab's opt-in keeps what the caller set (the lab tests pass their own backend and passphrase)", () => {
        const r = run(["bash", "scripts/snapshot.sh", "lab", path.join(tmp, "lab2.db")], {
            ETCD_STACK_LAB: "1", PULUMI_BACKEND_URL: "file:///scratch/state?metadata=skip", PULUMI_CONFIG_PASSPHRASE: "etcd-stack-test",
        });
        assert.equal(r.code, 0, r.stderr);
        assertEnv(r.calls, { ...lab(), PULUMI_BACKEND_URL: "file:///scratch/state?metadata=skip", PULUMI_CONFIG_PASSPHRASE: "etcd-stack-test" });
    });

    it("no pulumi on PATH: says how to get one, and names the lab's opt-in", () => {
        const r = run(["/bin/bash", "scripts/snapshot.sh", "prod"], { PATH: "/usr/bin:/bin" });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /no pulumi on PATH: install the Pulumi CLI and `pulumi login`.*ETCD_STACK_LAB=1 or --lab/);
    });

    it("docs/policy.md's policy-pack recipe and the operator commands do not source the lab's environment", () => {
        const page = fs.readFileSync(path.join(repoRoot, "docs", "policy.md"), "utf8");
        assert.match(page, /^# Policy pack/m);
        const policy = page.slice(page.indexOf("# Policy pack"));
        const recipe = policy.slice(policy.indexOf("```bash"), policy.indexOf("```", policy.indexOf("```bash") + 7));
        assert.match(recipe, /pulumi preview --policy-pack policy/);
        assert.doesNotMatch(recipe, /pulumi-env\.sh/);
        const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> };
        for (const s of ["snapshot", "maintenance"]) assert.doesNotMatch(pkg.scripts[s], /pulumi-env|ETCD_STACK_LAB|--lab/, s);
    });
});

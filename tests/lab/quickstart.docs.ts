/**
 * The production quickstart (docs/production.md) on the lab, its commands run as the page writes
 * them (issue 29, "Done means"): five members reached only through a bastion, a sudo login `ops`,
 * state in the team's PostgreSQL, the policy pack. The page's example names map to the lab's
 * (`bastion.prod.example.com` → lab6, the five `10.30.x.y` → lab1…lab5, `db.example:5432` → a
 * throwaway PostgreSQL on loopback, the `…` secrets → this run's); the release URL maps to an
 * https mirror on the lab's bridge (its CA added to the members' trust store, as a company mirror's
 * is) serving the release the hosts download and check against its sha256 (no internet here);
 * `pulumi up` gets `--yes`, the operator's answer at its prompt. Everything else is
 * the page's text: its `bash` blocks, extracted by heading, so an edit of the page is what runs.
 *
 * Not part of `npm test` (six hosts and about five minutes, over CI's budget):
 * `npm run test:quickstart`.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { cacheDir, engineUnavailable, repoRoot } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { freeLoopbackPort, labAvailable, labKeyPath, labSsh, labUp, runAsync } from "./lab";
import { indent, labTarball, wipeHosts } from "./labStack";
import { pageBlocks } from "./productionPage";
import { issue, makeCa } from "./handMadePki";

const page = fs.readFileSync(path.join(repoRoot, "docs/production.md"), "utf8");
const binDir = path.join(cacheDir, "pulumi/bin");
const pgScript = path.join(repoRoot, "tests/lab/postgres.sh");
const hosts = ["lab1", "lab2", "lab3", "lab4", "lab5"];
const bastion = "lab6";


describe("docs/production.md on the lab: five members behind a bastion, a sudo login, PostgreSQL state, as the page writes it", function () {
    this.timeout(40 * 60_000);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-quickstart-"));
    const home = path.join(work, "home");
    const checkout = path.join(work, "checkout");
    // Beside the work dir, not in it: the postgres user must reach it, and mkdtemp's dirs are 0700.
    const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-quickstart-pg-"));
    const secret = (n: number) => crypto.randomBytes(n).toString("hex");
    const dbPassword = secret(12);
    const passphrase = secret(12);
    let release: https.Server | undefined;
    const mirrorCa = "/usr/local/share/ca-certificates/etcd-stack-quickstart-mirror.crt";
    let mapping: Array<[RegExp, string]> = [];
    const map = (text: string) => mapping.reduce((t, [from, to]) => t.replace(from, to), text);

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(6);
        wipeHosts(6);
        // The login `ops` on every host with the operator's key (what the VMs come with).
        for (const h of [...hosts, bastion]) {
            const r = labSsh(h, "id ops >/dev/null 2>&1 || useradd -m -s /bin/bash ops; install -d -m 700 -o ops -g ops /home/ops/.ssh && install -m 600 -o ops -g ops /root/.ssh/authorized_keys /home/ops/.ssh/authorized_keys");
            assert.strictEqual(r.code, 0, r.stderr);
        }
        // The team's PostgreSQL, on loopback.
        const port = await freeLoopbackPort();
        const pg = spawnSync("bash", [pgScript, "start", pgDir, String(port), String(process.pid)], { input: `${dbPassword}\n`, encoding: "utf8", timeout: 90_000 });
        assert.strictEqual(pg.status, 0, pg.stderr);
        // The release, served on the lab's bridge where the hosts download it.
        const version = "3.6.16";
        const ca = await makeCa("etcd-stack quickstart mirror CA");
        const tls = await issue(ca, "release mirror", ["10.213.0.1"]);
        for (const h of hosts) {
            const r = labSsh(h, `cat > ${mirrorCa} <<'EOF'\n${ca.certPem.trimEnd()}\nEOF\nupdate-ca-certificates >/dev/null`);
            assert.strictEqual(r.code, 0, `${h}: ${r.stderr}`);
            assert.strictEqual(labSsh(h, `grep -c 'BEGIN CERTIFICATE' ${mirrorCa} && test -e /etc/ssl/certs/etcd-stack-quickstart-mirror.pem`).code, 0, `${h}: the mirror's CA is not in the trust store`);
        }
        release = https.createServer({ cert: tls.certPem, key: tls.privateKeyPem }, (req, res) => {
            if (req.url === `/v${version}/etcd-v${version}-linux-amd64.tar.gz`) fs.createReadStream(labTarball).pipe(res);
            else { res.statusCode = 404; res.end(); }
        });
        await new Promise<void>((r) => release!.listen(0, "10.213.0.1", r));
        const releaseBase = `https://10.213.0.1:${(release.address() as { port: number }).port}`;
        mapping = [
            [/bastion\.prod\.example\.com/g, "10.213.0.16"],
            [/10\.30\.1\.11/g, "10.213.0.11"], [/10\.30\.1\.12/g, "10.213.0.12"], [/10\.30\.2\.11/g, "10.213.0.13"],
            [/10\.30\.2\.12/g, "10.213.0.14"], [/10\.30\.3\.11/g, "10.213.0.15"],
            [/db\.example:5432/g, `127.0.0.1:${port}`], [/\/etc\/ssl\/certs\/team-db-ca\.pem/g, `${pgDir}/ca.crt`],
            [/export PGPASSWORD=…/g, `export PGPASSWORD=${dbPassword}`], [/export PULUMI_CONFIG_PASSPHRASE=…/g, `export PULUMI_CONFIG_PASSPHRASE=${passphrase}`],
            [/https:\/\/github\.com\/etcd-io\/etcd\/releases\/download/g, releaseBase],
            [/^pulumi up /gm, "pulumi up --yes "],
        ];
        // The operator's machine: the key, an ssh that reaches the bastion, the project's checkout.
        fs.mkdirSync(path.join(home, ".ssh"), { recursive: true, mode: 0o700 });
        fs.copyFileSync(labKeyPath(), path.join(home, ".ssh/etcd-prod"));
        fs.chmodSync(path.join(home, ".ssh/etcd-prod"), 0o600);
        // OpenSSH reads the passwd entry's home, not $HOME: this operator's ssh is a wrapper naming its
        // config, whose paths are absolute for the same reason.
        const sshDir = path.join(home, ".ssh");
        fs.writeFileSync(path.join(sshDir, "config"), `Host 10.213.0.16\n  IdentityFile ${sshDir}/etcd-prod\n  IdentitiesOnly yes\n` +
            `  UserKnownHostsFile ${sshDir}/etcd-prod.known_hosts\n  StrictHostKeyChecking yes\n  BatchMode yes\n`);
        fs.mkdirSync(path.join(work, "bin"));
        fs.writeFileSync(path.join(work, "bin/ssh"), `#!/bin/sh\nexec /usr/bin/ssh -F ${sshDir}/config "$@"\n`, { mode: 0o755 });
        for (const entry of ["Pulumi.yaml", "index.ts", "components", "policy", "tsconfig.json", "tsconfig.pulumi.json", "package.json"]) {
            fs.cpSync(path.join(repoRoot, entry), path.join(checkout, entry), { recursive: true });
        }
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(checkout, "node_modules"));
        // Step 2, the page's prose: the example copied to stacks/Pulumi.prod.yaml, its hosts set and the
        // release's sha256 in place of the placeholder.
        const sum = crypto.createHash("sha256").update(fs.readFileSync(labTarball)).digest("hex");
        const stackFile = map(fs.readFileSync(path.join(repoRoot, "examples/stacks/Pulumi.prod.yaml"), "utf8"))
            .replace(/REPLACE-WITH-SHA256-OF-etcd-v3\.6\.16-linux-amd64\.tar\.gz/, sum);
        fs.mkdirSync(path.join(checkout, "stacks"));
        fs.writeFileSync(path.join(checkout, "stacks/Pulumi.prod.yaml"), stackFile);
    });

    after(function () {
        this.timeout(5 * 60_000);
        release?.close();
        spawnSync("bash", [pgScript, "stop", pgDir], { encoding: "utf8", timeout: 60_000 });
        // postgres.sh removes only a directory it started a server in: a skipped or failed start leaves it empty.
        fs.rmSync(pgDir, { recursive: true, force: true });
        wipeHosts(6);
        for (const h of [...hosts, bastion]) labSsh(h, `rm -f /etc/sudoers.d/ops ${mirrorCa}; update-ca-certificates --fresh >/dev/null 2>&1; userdel -r ops 2>/dev/null; true`);
        fs.rmSync(work, { recursive: true, force: true });
    });

    it("step 3's sudo rule, run as root on each member as the page writes it, passes visudo", () => {
        const [rule] = pageBlocks(page, 3);
        for (const h of hosts) {
            const r = labSsh(h, map(rule));
            assert.strictEqual(r.code, 0, `${h}: ${r.stderr}`);
            assert.match(labSsh(h, "sudo -l -U ops").stdout, /\(root\) NOPASSWD: ALL/);
        }
    });

    it("steps 1, 4, 5 and 6 in one operator's shell: login, host keys through the bastion, preview with the policy pack, up, then an empty preview", async () => {
        const script = [
            "set -euo pipefail",
            ...pageBlocks(page, 1).map(map),
            // Step 2's last words: "then `pulumi stack init prod`".
            "pulumi stack init prod",
            ...pageBlocks(page, 4).map(map),
            ...pageBlocks(page, 5).map(map),
            ...pageBlocks(page, 6).map(map),
        ].join("\n");
        // The tools of step 0 (install.md): the pinned CLI on PATH, its plugins; nothing of the lab's environment.
        fs.mkdirSync(path.join(home, ".pulumi"), { recursive: true });
        fs.symlinkSync(path.join(cacheDir, "pulumi/home/plugins"), path.join(home, ".pulumi/plugins"));
        // Asynchronously: this process serves the release the hosts download meanwhile. The script in a
        // 0600 file: not in argv, where a process listing shows its secrets, and not on stdin, which
        // the page's `ssh … ssh-keyscan` would read to its end.
        const scriptFile = path.join(work, "quickstart.sh");
        fs.writeFileSync(scriptFile, script, { mode: 0o600 });
        const r = await runAsync("bash", [scriptFile], {
            cwd: checkout, timeoutMs: 30 * 60_000, label: "the quickstart's shell",
            // PULUMI_HOME: where an install puts it (~/.pulumi); the CLI takes ~ from the passwd entry, not HOME.
            env: { PATH: `${path.join(work, "bin")}:${binDir}:${process.env.PATH}`, HOME: home, USER: "operator", PULUMI_HOME: path.join(home, ".pulumi"),
                PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", LANG: "C.UTF-8" },
        });
        const out = `${r.stdout}\n${r.stderr}`;
        console.log(indent(out.split("\n").filter((l) => /^(Logged in|Created stack|256 SHA256|[+~-]? *\d+ (created|unchanged|to create)|Duration)/.test(l.trim())).join("\n")));
        assert.strictEqual(r.code, 0, out.slice(-6000));
        for (const s of [dbPassword, passphrase]) assert.ok(!out.includes(s), "a secret in the output");
        assert.match(out, /Logged in to .* \(postgres:\/\/pulumi@127\.0\.0\.1:\d+\/pulumi_state\?/);
        // The known_hosts the page built: the bastion and the five members, as ssh-keygen -lf lists them.
        const known = fs.readFileSync(path.join(home, ".ssh/etcd-prod.known_hosts"), "utf8").trim().split("\n").map((l) => l.split(" ")[0]);
        // ssh-keyscan answers in whatever order the hosts do: the bastion first (its own command), then the members.
        assert.deepStrictEqual([known[0], ...known.slice(1).sort()], ["10.213.0.16", ...hosts.map((_, i) => `10.213.0.1${i + 1}`)]);
        // The up created the cluster; the last preview (the page's "nothing to change") plans nothing.
        const summaries = [...out.matchAll(/^Resources:\n((?: {4}.+\n)+)/gm)].map((m) => m[1]);
        // Step 5's preview, the up's own preview and its result, step 6's last preview.
        assert.ok(summaries.length >= 4, `expected four summaries (preview, the up's preview and result, preview): ${summaries.length}`);
        assert.ok(summaries.some((x) => /\d+ created/.test(x)), summaries.join("\n"));
        assert.doesNotMatch(summaries[summaries.length - 1], /to create|to update|to delete|to replace/);
        // Every member reached its etcd through the stack's own route: the page's key, the bastion, the sudo login.
        for (const h of hosts) assert.strictEqual(labSsh(h, "systemctl is-active etcd").stdout.trim(), "active", h);
    });
});

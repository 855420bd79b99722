/**
 * Lab, real engine, real PostgreSQL: a team on one stack. A throwaway PostgreSQL server
 * (Debian's `postgresql`, tests/lab/postgres.sh: 127.0.0.1 only, TLS, a password role) holds the
 * state of the lab stack for two operators, each with an own checkout of the project and an own
 * PULUMI_HOME: alice as CI does (PULUMI_BACKEND_URL), bob as a person does (`pulumi login`).
 * While alice's `pulumi up` deploys 3 members, a second `up` — bob's, and alice's own from a
 * second terminal — is refused with the backend's lock message; afterwards the state is intact
 * and bob sees alice's outputs. The database password comes from PGPASSWORD (never in the URL)
 * and, like the passphrase, must appear in no output and no file the operators keep.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace, OutputMap, PulumiCommand, Stack, UpResult } from "@pulumi/pulumi/automation";
import { cacheDir, engineUnavailable, repoRoot } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl } from "./etcdClient";
import { freeLoopbackPort, labAvailable, labUp } from "./lab";
import { hostOf, indent, labMembers, labStackConfig, labTarball, leftovers, wipeHosts } from "./labStack";

const binDir = path.join(cacheDir, "pulumi/bin");
const pulumiBin = path.join(binDir, "pulumi");
const pgScript = path.join(repoRoot, "tests/lab/postgres.sh");
const stackName = "lab";
const size = 3;

interface RunResult { code: number; stdout: string; stderr: string }

/** Why no PostgreSQL server can be started here, or undefined. */
function postgresUnavailable(): string | undefined {
    const versions = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql") : [];
    if (!versions.some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))) {
        return "Debian's postgresql is not installed: apt-get install postgresql";
    }
    return undefined;
}


/** One team member: a checkout of the project, a PULUMI_HOME of their own, the team's secrets. */
interface Operator {
    name: string;
    dir: string;
    home: string;
    env: Record<string, string>;
    workspace: LocalWorkspace;
    /** The pulumi CLI in this checkout, non-interactive, bounded. */
    cli(args: string[], extraEnv?: Record<string, string>, timeoutMs?: number): RunResult;
}

describe("lab: a team on one stack, state in PostgreSQL with locking", function () {
    this.timeout(20 * 60_000);
    // The team's secrets, as a secret store would hand them out: never printed, never in a file here.
    const dbPassword = crypto.randomBytes(18).toString("hex");
    const passphrase = crypto.randomBytes(18).toString("base64");
    const scratch: string[] = [];
    const seen: string[] = [];                   // every output the operators saw, checked at the end
    let pgDir = "";
    let port = 0;
    let url = "";
    let alice: Operator;
    let bob: Operator;
    let stackA: Stack;
    let upA: Promise<UpResult> | undefined;
    let outputsA: OutputMap;
    let etcdctl: Etcdctl | undefined;

    const redact = (text: string) => text.split(dbPassword).join("<db password>").split(passphrase).join("<passphrase>");
    const show = (text: string) => console.log(indent(redact(text)));

    function sql(query: string): string[] {
        const r = spawnSync("bash", [pgScript, "sql", pgDir, String(port), query], { encoding: "utf8", timeout: 30_000 });
        assert.strictEqual(r.status, 0, `psql: ${r.stderr}`);
        return r.stdout.split("\n").filter((l) => l !== "");
    }

    /** Keys of the backend's table under `prefix` (the diy backend's layout, under the URL's path: pulumi_state/.pulumi/…). */
    const keys = (prefix: string) => sql(`SELECT key FROM pulumi_state WHERE key LIKE 'pulumi_state/${prefix}%' ORDER BY key`);

    /** The table's rows counted by the diy layout's top directory (stacks, history, backups, locks…). */
    function rowsByKind(): Record<string, number> {
        const counts: Record<string, number> = {};
        for (const k of keys("")) {
            const kind = k.split("/")[2] ?? k;
            counts[kind] = (counts[kind] ?? 0) + 1;
        }
        return counts;
    }

    async function operator(name: string, viaEnv: boolean): Promise<Operator> {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), `etcd-stack-team-${name}-`));
        scratch.push(root);
        const dir = path.join(root, "checkout");
        const home = path.join(root, "pulumi-home");
        for (const entry of ["Pulumi.yaml", "index.ts", "components", "tsconfig.json", "tsconfig.pulumi.json", "package.json"]) {
            fs.cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
        }
        fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
        fs.mkdirSync(path.join(dir, "stacks"));
        // A fresh PULUMI_HOME (its own login record); the plugins built by scripts/toolchain.sh are shared.
        fs.mkdirSync(home);
        fs.symlinkSync(path.join(cacheDir, "pulumi/home/plugins"), path.join(home, "plugins"));
        const env: Record<string, string> = {
            PATH: `${binDir}:${process.env.PATH ?? ""}`,
            PULUMI_HOME: home,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_CONFIG_PASSPHRASE: passphrase,
            PGPASSWORD: dbPassword,
            // alice (CI) names the backend in the environment; bob's comes from his `pulumi login`.
            PULUMI_BACKEND_URL: viaEnv ? url : "",
        };
        const pulumiCommand = await PulumiCommand.get({ root: path.dirname(binDir) });
        const workspace = await LocalWorkspace.create({ workDir: dir, envVars: env, pulumiCommand });
        return {
            name, dir, home, env, workspace,
            cli(args, extraEnv = {}, timeoutMs = 5 * 60_000) {
                const r = spawnSync(pulumiBin, [...args, "--non-interactive"], {
                    cwd: dir, env: { ...process.env, ...env, ...extraEnv }, encoding: "utf8", timeout: timeoutMs,
                    maxBuffer: 256 * 1024 * 1024,
                });
                const out = { code: r.status ?? 124, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
                seen.push(out.stdout, out.stderr);
                return out;
            },
        };
    }

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball) ?? postgresUnavailable());
        pgDir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-pg-"));
        port = await freeLoopbackPort();
        const started = spawnSync("bash", [pgScript, "start", pgDir, String(port), String(process.pid)],
            { input: `${dbPassword}\n`, encoding: "utf8", timeout: 90_000 });
        assert.strictEqual(started.status, 0, `postgres.sh start: ${started.stderr}`);
        show(started.stdout);
        // The password is not in the URL: it comes from PGPASSWORD. TLS verified against the server's certificate.
        url = `postgres://pulumi@127.0.0.1:${port}/pulumi_state?sslmode=verify-full&sslrootcert=${pgDir}/ca.crt`;
        labUp(size);
        wipeHosts(size);
        alice = await operator("alice", true);
        bob = await operator("bob", false);
    });

    after(async function () {
        this.timeout(10 * 60_000);
        await upA?.catch(() => undefined);           // never pull the database from under a running engine
        etcdctl?.dispose();
        for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
        if (pgDir !== "") {
            const stopped = spawnSync("bash", [pgScript, "stop", pgDir], { encoding: "utf8", timeout: 60_000 });
            if (stopped.status !== 0) console.log(indent(`postgres.sh stop: ${stopped.stderr}`));
        }
    });

    it("both operators reach the backend: alice through PULUMI_BACKEND_URL, bob with `pulumi login`; a wrong password is refused", () => {
        const login = bob.cli(["login", url]);
        show(login.stdout + login.stderr);
        assert.strictEqual(login.code, 0, redact(login.stderr));
        assert.match(login.stdout, new RegExp(`^Logged in to .* \\(postgres://pulumi@127\\.0\\.0\\.1:${port}/pulumi_state\\?`, "m"));
        for (const op of [alice, bob]) {
            const who = op.cli(["whoami", "--verbose"]);
            assert.strictEqual(who.code, 0, redact(who.stderr));
            const backend = /^Backend URL: (.*)$/m.exec(who.stdout)?.[1];
            assert.strictEqual(backend, url, `${op.name}'s backend`);
        }
        const wrong = bob.cli(["stack", "ls"], { PGPASSWORD: "not-the-password" });
        assert.notStrictEqual(wrong.code, 0);
        assert.match(wrong.stderr, /password authentication failed for user "pulumi"/);
        show(wrong.stderr.trim().split("\n")[0]);
    });

    it("while alice's `up` runs, a second `up` on the stack (bob's, and alice's own second one) is refused with the lock message; alice's `up` deploys 3 healthy members", async () => {
        // alice creates the stack; its file (config, encryption salt) goes to bob as a commit would.
        const stackFile = path.join("stacks", `Pulumi.${stackName}.yaml`);
        const config = Object.fromEntries(Object.entries(labStackConfig(size)).map(([k, v]) => [`etcd:${k}`, v]));
        fs.writeFileSync(path.join(alice.dir, stackFile), yaml.dump({ config }));
        stackA = await Stack.create(stackName, alice.workspace);
        fs.copyFileSync(path.join(alice.dir, stackFile), path.join(bob.dir, stackFile));
        assert.ok(keys(".pulumi/stacks/").includes(`pulumi_state/.pulumi/stacks/etcd-stack/${stackName}.json`), "the stack is a row of the table");

        const lines: string[] = [];
        let running = true;
        const t0 = Date.now();
        upA = stackA.up({ onOutput: (l) => { lines.push(l); } });
        upA.then(() => { running = false; }, () => { running = false; });

        // The lock is a row of the table, naming alice's engine process.
        let lockRows: string[] = [];
        while (lockRows.length === 0) {
            assert.ok(running && Date.now() - t0 < 60_000, "alice's up took no lock within 60 s");
            await new Promise((r) => setTimeout(r, 200));
            lockRows = sql(`SELECT key || ' ' || data::text FROM pulumi_state WHERE key LIKE 'pulumi_state/.pulumi/locks/%'`);
        }
        assert.strictEqual(lockRows.length, 1, lockRows.join("\n"));
        const [lockKey, lockData] = [lockRows[0].split(" ")[0], lockRows[0].slice(lockRows[0].indexOf(" ") + 1)];
        const lock = JSON.parse(Buffer.from(JSON.parse(lockData).data, "base64").toString()) as { pid: number; username: string };
        const lockHolder = fs.readFileSync(`/proc/${lock.pid}/comm`, "utf8").trim();
        assert.strictEqual(lockHolder, "pulumi", `pid ${lock.pid} in the lock is alice's pulumi CLI`);
        show(`lock row after ${Date.now() - t0} ms: ${lockKey} (pid ${lock.pid}: ${lockHolder}, user ${lock.username})`);

        for (const [who, op] of [["bob's checkout", bob], ["alice's second terminal", alice]] as const) {
            const t1 = Date.now();
            const second = op.cli(["up", "--yes", "--skip-preview", "--stack", stackName], {}, 2 * 60_000);
            const took = Date.now() - t1;
            const message = second.stderr.trim();
            show(`${who}: \`pulumi up\` exit ${second.code} after ${took} ms, alice's up still running: ${running}\n${message}`);
            assert.notStrictEqual(second.code, 0);
            assert.ok(running, "the refusal must come while alice's up runs");
            assert.match(message, /error: the stack is currently locked by 1 lock\(s\)\. Either wait for the other process\(es\) to end or delete the lock file with `pulumi cancel`\./);
            // The lock's address, with the URL's user and password masked, then who holds it.
            const named = new RegExp(`^  postgres://\\*{4}:\\*{4}@127\\.0\\.0\\.1:${port}/${lockKey.replace(/[.]/g, "\\.")}\\?.*: created by ${lock.username}@\\S+ \\(pid ${lock.pid}\\) at `, "m");
            assert.match(message, named, "the message names alice's lock and process");
        }

        const up = await upA;
        const upSeconds = Math.round((Date.now() - t0) / 1000);
        seen.push(lines.join(""));
        show(lines.join("").split("\n").filter((l) => /^\s+\+ \d+ created|^Duration:/.test(l)).join("\n") + `\nalice's up: ${upSeconds} s`);
        assert.strictEqual(up.summary.result, "succeeded");
        assert.deepStrictEqual(keys(".pulumi/locks/"), [], "the lock is gone with alice's up");
        assert.doesNotMatch(lines.join(""), /PRIVATE KEY/);

        outputsA = await stackA.outputs();
        etcdctl = Etcdctl.extract(labTarball);
        const admin: Credentials = etcdctl.credentials("admin", String(outputsA["caCertPem"].value),
            { certPem: String(outputsA["adminCertPem"].value), privateKeyPem: String(outputsA["adminKeyPem"].value) });
        const health = await etcdctl.run(String(outputsA["clientEndpoints"].value), ["endpoint", "health", "--cluster"], admin);
        assert.strictEqual(health.code, 0, health.out);
        assert.strictEqual((health.out.match(/is healthy/g) ?? []).length, size, health.out);
        show(health.out.trim().split("\n").map((l) => l.replace(/: took = .*$/, "")).join("\n"));
    });

    it("the state is intact: one successful update in the history, `stack export` works, a further preview changes nothing", async () => {
        const history = alice.cli(["stack", "history", "--json", "--stack", stackName]);
        assert.strictEqual(history.code, 0, redact(history.stderr));
        const updates = JSON.parse(history.stdout) as Array<{ kind: string; result: string }>;
        assert.deepStrictEqual(updates.map((u) => `${u.kind} ${u.result}`), ["update succeeded"], "the refused ups left no update");

        const exported = alice.cli(["stack", "export", "--stack", stackName]);
        assert.strictEqual(exported.code, 0, redact(exported.stderr));
        const deployment = JSON.parse(exported.stdout).deployment as { resources: Array<{ urn: string }>; pending_operations?: unknown[] };
        assert.deepStrictEqual(deployment.pending_operations ?? [], [], "no operation left pending");
        assert.doesNotMatch(exported.stdout, /PRIVATE KEY/);
        for (const m of labMembers(size)) {
            assert.ok(deployment.resources.some((r) => r.urn.split("::").pop()!.startsWith(`${m.name}-`)), `${m.name}'s steps in the state`);
        }
        const preview = await stackA.preview();
        const changed = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
        show(`stack export: ${deployment.resources.length} resources; history: ${updates.length} update; preview: ${JSON.stringify(preview.changeSummary)}`);
        show(`rows of pulumi_state: ${JSON.stringify(rowsByKind())}`);
        assert.deepStrictEqual(changed, []);
    });

    it("bob's checkout sees the same stack: the same outputs, the same exported state, and his preview changes nothing", async () => {
        const stackB = await Stack.select(stackName, bob.workspace);
        const outputsB = await stackB.outputs();
        assert.deepStrictEqual(Object.keys(outputsB).sort(), Object.keys(outputsA).sort());
        for (const [k, v] of Object.entries(outputsA)) {
            assert.deepStrictEqual(outputsB[k], v, `output ${k}`);   // secrets decrypted with the team passphrase
        }
        const listed = bob.cli(["stack", "output", "--stack", stackName]);
        assert.strictEqual(listed.code, 0, redact(listed.stderr));
        assert.ok(listed.stdout.includes(String(outputsA["clientEndpoints"].value)));
        show(`bob's \`pulumi stack output\` (excerpt):\n${listed.stdout.split("\n").filter((l) => /^\s+(adminKeyPem|clientEndpoints|members)\s/.test(l)).join("\n")}`);

        const exportA = JSON.parse(alice.cli(["stack", "export", "--stack", stackName]).stdout);
        const exportB = JSON.parse(bob.cli(["stack", "export", "--stack", stackName]).stdout);
        assert.deepStrictEqual(exportB.deployment.resources, exportA.deployment.resources);

        const preview = await stackB.preview();
        const changed = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
        show(`bob's preview: ${JSON.stringify(preview.changeSummary)}`);
        assert.deepStrictEqual(changed, []);
    });

    it("bob destroys through the shared backend: nothing left on the hosts, and `stack rm` empties the table", async () => {
        const destroy = bob.cli(["destroy", "--yes", "--skip-preview", "--stack", stackName], {}, 10 * 60_000);
        show(destroy.stdout.split("\n").filter((l) => /^\s+- \d+ deleted|^Duration:/.test(l)).join("\n"));
        assert.strictEqual(destroy.code, 0, redact(destroy.stderr));
        for (const m of labMembers(size)) assert.strictEqual(leftovers(hostOf(m.name)), "", `${m.name}'s host`);
        const rm = bob.cli(["stack", "rm", "--yes", "--remove-backups", "--preserve-config", "--stack", stackName]);
        assert.strictEqual(rm.code, 0, redact(rm.stderr));
        assert.deepStrictEqual(keys(".pulumi/stacks/"), []);
        assert.deepStrictEqual(keys(".pulumi/locks/"), []);
        show(`after \`stack rm --remove-backups\`: ${JSON.stringify(rowsByKind())}`);
    });

    it("neither the database password nor the passphrase appears in any output, login record or stack file", () => {
        const files = [alice, bob].flatMap((op) => [
            path.join(op.home, "credentials.json"),
            path.join(op.dir, "stacks", `Pulumi.${stackName}.yaml`),
        ]).filter((f) => fs.existsSync(f));
        assert.ok(files.some((f) => f.endsWith("credentials.json")), "bob's login record exists");
        const texts = [...seen, ...files.map((f) => fs.readFileSync(f, "utf8"))];
        const leaks = texts.filter((t) => t.includes(dbPassword) || t.includes(passphrase)).length;
        show(`${texts.length} outputs and files checked, ${leaks} with a secret`);
        assert.strictEqual(leaks, 0);
    });
});

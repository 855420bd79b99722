/**
 * Every stack in stacks/ goes through the program's own validation (components/spec/config.ts), whatever
 * stacks a team has there: nothing here names a member count, a snapshot setting or a placeholder of
 * a particular stack, so filling in a stack or adding `stacks/Pulumi.<env>.yaml` keeps CI green (and
 * CI's unit tests run before every preview and deploy). What a real stack may show here and still be
 * right: files named by path that are not on this machine (the operator's SSH key and known_hosts,
 * a developer's local tarball), and a release checksum still carrying the `REPLACE-WITH-…` marker,
 * which the program itself refuses at preview until it is filled in. The example a new environment
 * is copied from keeps its placeholder outside stacks/ (examples/stacks/), checked on its own.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readStackInputs } from "../../../components/spec/config";
import { SpecError } from "../../../components/spec/problems";
import { defaultStacksDir, previewStacks, readStackConfig, stackNames } from "../../../scripts/stackFiles";

const repoRoot = path.join(__dirname, "..", "..", "..");
const examplesDir = path.join(repoRoot, "examples", "stacks");

/** Every problem readStackInputs reports for `<dir>/Pulumi.<env>.yaml`, as `pulumi preview` would. */
function validationProblems(env: string, dir: string): string[] {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(readStackConfig(env, dir))) {
        all[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(all);
    try {
        readStackInputs(new pulumi.Config("etcd"));
        return [];
    } catch (e) {
        assert.ok(e instanceof SpecError, String(e));
        return e.problems;
    }
}

/** A file named by path that is not on this machine: the operator's, the runner's, a developer's. */
const absentHere = (p: string) => /: file ".*" does not exist$/.test(p);

/**
 * `binary.sha256.<arch>`'s problem (or, keyed by version, `binary.sha256["<version>"].<arch>`'s)
 * while its value is still the marked placeholder.
 */
function unfilledChecksum(env: string, dir: string): (p: string) => boolean {
    const sha256 = ((readStackConfig(env, dir)["etcd:binary"] as { sha256?: Record<string, unknown> } | undefined)?.sha256) ?? {};
    return (p) => {
        const m = /^binary\.sha256(?:\["([0-9.]+)"\])?\.([A-Za-z0-9_]+): /.exec(p);
        if (!m) return false;
        const sums = m[1] === undefined ? sha256 : (sha256[m[1]] ?? {}) as Record<string, unknown>;
        return /^REPLACE-WITH-/.test(String(sums[m[2]]));
    };
}

/** The problems a real stack must not have: every one but absent local files and a marked unfilled checksum. */
function realStackProblems(env: string, dir: string = defaultStacksDir): string[] {
    const unfilled = unfilledChecksum(env, dir);
    return validationProblems(env, dir).filter((p) => !absentHere(p) && !unfilled(p));
}

/** Each stack in `dir` with its problems, only those that have some. */
function stacksWithProblems(dir: string): Record<string, string[]> {
    return Object.fromEntries(stackNames(dir).map((env) => [env, realStackProblems(env, dir)] as const).filter(([, p]) => p.length > 0));
}

describe("stacks/", () => {
    it("every Pulumi.<env>.yaml passes the program's validation (absent local files and a marked unfilled checksum aside)", () => {
        assert.ok(stackNames().length > 0, "no stack file in stacks/");
        assert.deepEqual(stacksWithProblems(defaultStacksDir), {});
    });

    it("no stack connects to a host without a pinned key", () => {
        for (const env of stackNames()) assert.equal(readStackConfig(env)["etcd:allowUnverifiedHosts"], undefined, env);
    });

    describe("a team's edits keep the checks green", () => {
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stacks-"));
            for (const env of stackNames()) fs.copyFileSync(path.join(defaultStacksDir, `Pulumi.${env}.yaml`), path.join(dir, `Pulumi.${env}.yaml`));
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("prod's checksum filled in with a real sha256 and a new Pulumi.qa.yaml: every stack still passes, and both are previewed", () => {
            const prod = path.join(dir, "Pulumi.prod.yaml");
            assert.ok(fs.existsSync(prod), "the repository's stacks include prod");
            // A real-looking release checksum: 64 lowercase hex characters, as SHA256SUMS lists them.
            const sha256 = crypto.createHash("sha256").update("etcd-v3.6.16-linux-amd64.tar.gz").digest("hex");
            const filled = fs.readFileSync(prod, "utf8").replace(/REPLACE-WITH-SHA256-[^\s]*/g, sha256);
            assert.doesNotMatch(filled, /REPLACE-WITH/);
            fs.writeFileSync(prod, filled);
            fs.writeFileSync(path.join(dir, "Pulumi.qa.yaml"), [
                "config:",
                "  etcd:clusterName: qa",
                "  etcd:version: 3.6.16",
                "  etcd:members:",
                ...[1, 2, 3].flatMap((i) => [`    - name: etcd-qa-${i}`, `      address: 10.40.1.1${i}`, "      sshUser: ops"]),
                "  etcd:sshPrivateKeyPath: ~/.ssh/etcd-qa",
                "  etcd:knownHostsPath: ~/.ssh/etcd-qa.known_hosts",
                "  etcd:binary:",
                "    url: https://github.com/etcd-io/etcd/releases/download/v{version}/etcd-v{version}-linux-{arch}.tar.gz",
                "    sha256:",
                "      amd64: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "",
            ].join("\n"));
            assert.deepEqual(validationProblems("prod", dir).filter((p) => /sha256/.test(p)), [], "the filled checksum is accepted");
            assert.deepEqual(stacksWithProblems(dir), {});
            assert.ok(stackNames(dir).includes("qa"));
            for (const env of ["prod", "qa"]) assert.ok(previewStacks(dir).includes(env), `${env} is previewed`);
        });

        it("checksums keyed by version: the next release's sums added ahead, then version edited alone, still pass; a version without sums is caught", () => {
            const file = path.join(dir, "Pulumi.up.yaml");
            const stack = (version: string, sums: Record<string, string>) => [
                "config:",
                "  etcd:clusterName: up",
                `  etcd:version: ${version}`,
                "  etcd:members:",
                ...[1, 2, 3].flatMap((i) => [`    - name: etcd-up-${i}`, `      address: 10.40.2.1${i}`]),
                "  etcd:sshPrivateKeyPath: ~/.ssh/etcd-up",
                "  etcd:knownHostsPath: ~/.ssh/etcd-up.known_hosts",
                "  etcd:binary:",
                "    url: https://github.com/etcd-io/etcd/releases/download/v{version}/etcd-v{version}-linux-{arch}.tar.gz",
                "    sha256:",
                ...Object.entries(sums).flatMap(([v, sum]) => [`      "${v}":`, `        amd64: ${sum}`]),
                "",
            ].join("\n");
            const real = (v: string) => crypto.createHash("sha256").update(`etcd-v${v}-linux-amd64.tar.gz`).digest("hex");
            try {
                // The next release's placeholder is marked, like an unfilled arch-keyed one: tolerated until filled.
                fs.writeFileSync(file, stack("3.6.15", { "3.6.15": real("3.6.15"), "3.6.16": "REPLACE-WITH-SHA256-OF-etcd-v3.6.16-linux-amd64.tar.gz" }));
                assert.deepEqual(realStackProblems("up", dir), []);
                assert.deepEqual(validationProblems("up", dir).filter((p) => !absentHere(p)), ['binary.sha256["3.6.16"].amd64: must be 64 lowercase hex characters']);
                fs.writeFileSync(file, stack("3.6.15", { "3.6.15": real("3.6.15"), "3.6.16": real("3.6.16") }));
                assert.deepEqual(realStackProblems("up", dir), []);
                fs.writeFileSync(file, stack("3.6.16", { "3.6.15": real("3.6.15"), "3.6.16": real("3.6.16") }));
                assert.deepEqual(realStackProblems("up", dir), [], "the upgrade: version edited alone");
                fs.writeFileSync(file, stack("3.6.16", { "3.6.15": real("3.6.15") }));
                assert.deepEqual(realStackProblems("up", dir), [
                    'binary.sha256: no checksums for version "3.6.16" (given for 3.6.15); add "3.6.16": { amd64: <sha256> } from the v3.6.16 release\'s SHA256SUMS',
                ]);
            } finally {
                fs.rmSync(file, { force: true });
            }
        });

        it("a real problem in a stack is still caught: a member count the program refuses, a malformed checksum", () => {
            const qa = path.join(dir, "Pulumi.qa.yaml");
            const text = fs.readFileSync(qa, "utf8");
            fs.writeFileSync(qa, text.replace(/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/, "not-a-checksum")
                .replace(/    - name: etcd-qa-3\n.*\n.*\n/, ""));
            try {
                const problems = realStackProblems("qa", dir);
                assert.ok(problems.some((p) => /binary\.sha256\.amd64/.test(p)), problems.join("\n"));
                assert.ok(problems.some((p) => /2 members/.test(p)), problems.join("\n"));
            } finally {
                fs.writeFileSync(qa, text);
            }
        });
    });
});

describe("examples/stacks/", () => {
    it("Pulumi.prod.yaml is the example docs/production.md tells a new environment to copy, and its only problem is the checksum to fill in", () => {
        const page = fs.readFileSync(path.join(repoRoot, "docs", "production.md"), "utf8");
        assert.match(page, /copy `examples\/stacks\/Pulumi\.prod\.yaml` to `stacks\/Pulumi\.<env>\.yaml`/);
        assert.deepEqual(validationProblems("prod", examplesDir).filter((p) => !absentHere(p)), ["binary.sha256.amd64: must be 64 lowercase hex characters"]);
        assert.deepEqual(realStackProblems("prod", examplesDir), [], "the placeholder carries the REPLACE-WITH marker");
    });
});

describe("the program's validation, as the stack checks use it", () => {
    it("reports a bad stack with every problem in one error", () => {
        pulumi.runtime.setAllConfig({
            "etcd:members": JSON.stringify([{ name: "a", address: "10.0.0.1" }, { name: "a", address: "10.0.0.1" }]),
            "etcd:version": "3.6.16",
            "etcd:binary": JSON.stringify({ localTarball: "/nonexistent/etcd.tar.gz" }),
        });
        assert.throws(() => readStackInputs(new pulumi.Config("etcd")), (e: unknown) => {
            assert.ok(e instanceof SpecError);
            const joined = e.problems.join("\n");
            for (const expected of [/2 members/, /duplicate member name "a"/, /duplicate address "10.0.0.1"/, /missing SSH private key/, /localTarball: file .* does not exist/]) {
                assert.match(joined, expected);
            }
            return true;
        });
    });
});

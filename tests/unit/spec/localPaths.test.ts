/**
 * Paths to files on the operator's machine (`sshPrivateKeyPath`, `knownHostsPath`,
 * `binary.localTarball`, `restore.snapshot`) are written in the shared stack file as `~/…` and
 * expanded by the program on each machine that runs it; the docs quote them so that the shell
 * does not expand the tilde into one operator's home directory before `pulumi config set` stores it.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readStackInputs, resolveLocalPath } from "../../../components/spec/config";
import { SpecError } from "../../../components/spec/problems";

const repoRoot = path.join(__dirname, "..", "..", "..");

describe("paths on the operator's machine", () => {
    describe("resolveLocalPath", () => {
        it("expands a leading ~/ to this machine's home directory", () => {
            assert.equal(resolveLocalPath("~/.ssh/etcd-prod", "/project"), path.join(os.homedir(), ".ssh/etcd-prod"));
        });

        it("resolves a relative path against the project directory and keeps an absolute one", () => {
            assert.equal(resolveLocalPath(".lab/ssh/id_ed25519", "/project"), "/project/.lab/ssh/id_ed25519");
            assert.equal(resolveLocalPath("/etc/ssh/known", "/project"), "/etc/ssh/known");
            assert.equal(resolveLocalPath("dir/~/x", "/project"), "/project/dir/~/x", "only a leading ~/ is the home directory");
        });
    });

    describe("a stack whose paths start with ~/, read on two operators' machines", () => {
        let homes: string[] = [];
        const savedHome = process.env.HOME;
        before(() => {
            homes = ["alice", "bob"].map((who) => {
                const home = fs.mkdtempSync(path.join(os.tmpdir(), `etcd-home-${who}-`));
                fs.mkdirSync(path.join(home, ".ssh"));
                fs.writeFileSync(path.join(home, ".ssh", "etcd-prod"), `${who}'s key\n`, { mode: 0o600 });
                fs.writeFileSync(path.join(home, ".ssh", "etcd-prod.known_hosts"),
                    [1, 2, 3].map((n) => `10.30.1.1${n} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFnk2pIvN4eyqOJ5K0HbpjbjJyvRsy8QxbnO/WJQCRzJ\n`).join(""));
                return home;
            });
        });
        after(() => {
            if (savedHome === undefined) delete process.env.HOME;
            else process.env.HOME = savedHome;
            for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
        });

        it("each reads the files from its own home directory", async () => {
            for (const [i, home] of homes.entries()) {
                process.env.HOME = home; // os.homedir() reads $HOME
                pulumi.runtime.setAllConfig({
                    "etcd:version": "3.6.16",
                    "etcd:members": JSON.stringify([1, 2, 3].map((n) => ({ name: `m${n}`, address: `10.30.1.1${n}` }))),
                    "etcd:binary": JSON.stringify({ url: "https://example.com/etcd-v{version}-linux-{arch}.tar.gz", sha256: { amd64: "a".repeat(64) } }),
                    "etcd:sshPrivateKeyPath": "~/.ssh/etcd-prod",
                    "etcd:knownHostsPath": "~/.ssh/etcd-prod.known_hosts",
                });
                let inputs: ReturnType<typeof readStackInputs>;
                try {
                    inputs = readStackInputs(new pulumi.Config("etcd"));
                } catch (e) {
                    assert.fail(`${home}: ${e instanceof SpecError ? e.problems.join("\n") : e}`);
                }
                const key = await new Promise<string>((resolve) => inputs.sshPrivateKey!.apply((k) => { resolve(k); return k; }));
                assert.equal(key, `${["alice", "bob"][i]}'s key\n`, "the key from this operator's home");
                assert.equal(inputs.spec.members.length, 3, "every member's host key found in this operator's known_hosts");
            }
        });
    });

    describe("the docs", () => {
        const docs = () => [path.join(repoRoot, "README.md"), ...["docs", "examples"].flatMap((d) => listMarkdown(path.join(repoRoot, d)))];

        it("quote every ~ path given to `pulumi config set`, so the shell leaves it to the program", () => {
            for (const file of docs()) {
                const text = fs.readFileSync(file, "utf8");
                // The command may wrap inside a sentence: `pulumi config set\n   etcd:sshPrivateKeyPath ~/…`.
                const unquoted = text.match(/pulumi config set\s+(?:--\S+\s+)*'?etcd:[\w.]+'?\s+~[^\s`]*/g) ?? [];
                assert.deepEqual(unquoted, [], `${path.relative(repoRoot, file)}: an unquoted ~ is expanded by the shell into the operator's home path`);
            }
        });

        it("say why, where the production quickstart first sets a key path", () => {
            const page = fs.readFileSync(path.join(repoRoot, "docs", "production.md"), "utf8");
            assert.match(page, /pulumi config set\s+etcd:sshPrivateKeyPath '~\/\.ssh\/etcd-<env>'/);
            assert.match(page, /Quote a path with `~`:\s+unquoted, the shell expands it to the operator's own home directory/);
        });
    });
});

function listMarkdown(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? listMarkdown(p) : e.name.endsWith(".md") ? [p] : [];
    });
}

/**
 * etcd-stack as a library (issue 29, item 8): another team's Pulumi program (examples/library)
 * installs the package as npm packs it (`npm run build:lib`: the JavaScript, the declarations and a
 * package.json of their own), is type-checked against its declarations, and the real engine previews
 * it: one `etcd:index:Cluster` of three members with their certificates, scripts and checks, and
 * the outputs the program exports. No host is reached (a preview runs no remote command).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineUnavailable, programStack, repoRoot } from "./engine";
import { skipIf } from "../skip";
import { fixtureHostKeys } from "../unit/fixtures";

const tsc = path.join(repoRoot, "node_modules/typescript/bin/tsc");
const run = (cmd: string, args: string[], cwd: string) => spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 5 * 60_000 });

describe("engine: etcd-stack used as a library by another Pulumi program (examples/library)", function () {
    this.timeout(10 * 60_000);
    let work = "";
    let program = "";

    before(function () {
        skipIf(this, engineUnavailable());
        work = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-library-"));
        // The package as npm packs it: the library built (scripts/build-lib.sh), then `npm pack` of it.
        const pkg = path.join(work, "pkg");
        const built = run("bash", [path.join(repoRoot, "scripts/build-lib.sh"), pkg], repoRoot);
        assert.strictEqual(built.status, 0, built.stdout + built.stderr);
        const packed = run("npm", ["pack", "--ignore-scripts", "--offline", "--silent", "--pack-destination", work], pkg);
        assert.strictEqual(packed.status, 0, packed.stderr);
        const tgz = path.join(work, packed.stdout.trim().split("\n").pop()!);
        // The other program: its files, node_modules holding this project's dependencies and the package.
        program = path.join(work, "program");
        fs.mkdirSync(path.join(program, "node_modules/etcd-stack"), { recursive: true });
        for (const f of ["Pulumi.yaml", "index.ts", "tsconfig.json", "package.json"]) fs.copyFileSync(path.join(repoRoot, "examples/library", f), path.join(program, f));
        for (const entry of fs.readdirSync(path.join(repoRoot, "node_modules"))) {
            fs.symlinkSync(path.join(repoRoot, "node_modules", entry), path.join(program, "node_modules", entry));
        }
        const untar = run("tar", ["-xzf", tgz, "-C", path.join(program, "node_modules/etcd-stack"), "--strip-components=1"], work);
        assert.strictEqual(untar.status, 0, untar.stderr);
    });

    after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

    it("the package holds the built library and its declarations, and nothing of the project's tests or stacks", () => {
        const files = run("find", [".", "-type", "f"], path.join(program, "node_modules/etcd-stack")).stdout.split("\n").filter(Boolean).sort();
        assert.ok(files.includes("./library.js") && files.includes("./library.d.ts") && files.includes("./cluster.d.ts"), files.join(" "));
        // Built JavaScript and declarations, at the top or in one of components/' folders (their layout kept), and the manifest and README.
        const folders = fs.readdirSync(path.join(repoRoot, "components"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
        const built = new RegExp(`^\\./((${folders.join("|")})/)?[A-Za-z]+\\.(js|d\\.ts)$|^\\./(package\\.json|README\\.md)$`);
        assert.deepStrictEqual(files.filter((f) => !built.test(f)), []);
        assert.ok(files.includes("./host/ssh.js") && files.includes("./spec/types.d.ts"), files.join(" "));
        const manifest = JSON.parse(fs.readFileSync(path.join(program, "node_modules/etcd-stack/package.json"), "utf8"));
        assert.deepStrictEqual([manifest.name, manifest.main, manifest.types], ["etcd-stack", "library.js", "library.d.ts"]);
    });

    it("the program type-checks against the package's declarations; a wrong use does not", () => {
        const ok = run(process.execPath, [tsc, "-p", "tsconfig.json", "--noEmit"], program);
        assert.strictEqual(ok.status, 0, ok.stdout + ok.stderr);
        // The types are real: EtcdCluster without its spec, or with a key that is not a string, is
        // refused by the compiler (no key at all is allowed: the ssh-agent then logs in).
        const wrong = path.join(program, "wrong.ts");
        fs.writeFileSync(wrong, `import { EtcdCluster, parseClusterSpec } from "etcd-stack";\nnew EtcdCluster("x", { sshPrivateKey: "k" });\n` +
            `new EtcdCluster("y", { spec: parseClusterSpec({ hasSshKey: true }), sshPrivateKey: 42 });\n`);
        const bad = run(process.execPath, [tsc, "--noEmit", "--strict", "--esModuleInterop", "--skipLibCheck", "--types", "node", wrong], program);
        fs.rmSync(wrong);
        assert.notStrictEqual(bad.status, 0);
        assert.match(bad.stdout, /Property 'spec' is missing/);
        assert.match(bad.stdout, /wrong\.ts\(3,[0-9]+\).*Type 'number' is not assignable/);
    });

    it("the real engine previews the program: one etcd:index:Cluster with three members, its certificates and outputs", async () => {
        // A preview reads the local tarball's digest only; it is not unpacked or copied anywhere.
        const tarball = path.join(work, "etcd-v3.6.16-linux-amd64.tar.gz");
        fs.writeFileSync(tarball, "not a release: a preview only hashes it\n");
        const { stack } = await programStack(program, "dev", {
            "orders-etcd:members": [1, 2, 3].map((k) => ({ name: `orders-${k}`, address: `10.213.0.${10 + k}`, hostKey: fixtureHostKeys[k - 1] })),
            "orders-etcd:etcdVersion": "3.6.16",
            "orders-etcd:binary": { localTarball: tarball },
        });
        await stack.setConfig("orders-etcd:sshPrivateKey", { value: "not used by a preview", secret: true });
        const types = new Map<string, number>();
        const preview = await stack.preview({ onEvent: (e) => {
            const t = e.resourcePreEvent?.metadata.type;
            if (t) types.set(t, (types.get(t) ?? 0) + 1);
        } });
        assert.strictEqual(types.get("etcd:index:Cluster"), 1, JSON.stringify([...types]));
        assert.strictEqual(types.get("etcd:index:EtcdMember"), 3);
        assert.ok((types.get("etcd:index:LeafCertificate") ?? 0) >= 4, "the members' and clients' certificates");
        assert.ok((types.get("command:remote:Command") ?? 0) > 0 && types.has("etcd:index:ScheduledSnapshots"), JSON.stringify([...types]));
        assert.ok((preview.changeSummary.create ?? 0) > 20, JSON.stringify(preview.changeSummary));
        assert.match(preview.stdout, /\+ +etcd:index:Cluster +orders +create/);
        assert.match(preview.stdout, /ordersApi\s*:/);
    });
});

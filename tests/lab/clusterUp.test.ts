/**
 * Lab: the real engine runs `pulumi up` of the lab stack on three lab hosts, a second
 * preview shows no changes, and `pulumi destroy` removes the units.
 *
 * Needs the command, tls and random provider plugins. When scripts/toolchain.sh could
 * not build them, this skips and prints the reason it recorded; it never passes falsely.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../components/paths";
import { ScratchStack, cacheDir, engineUnavailable, missingPlugins, scratchStack } from "../engine/engine";
import { readStackFile } from "../stackFile";
import { labAvailable, labSsh, labUp, labKeyPath } from "./lab";
import { skipIf, tarballMissing } from "../skip";

describe("lab: pulumi up of the lab stack with the real engine", function () {
    this.timeout(20 * 60_000);
    const tarball = path.join(cacheDir, "etcd/3.6.16/etcd-v3.6.16-linux-amd64.tar.gz");
    let scratch: ScratchStack | undefined;

    before(async function () {
        const missing = missingPlugins();
        skipIf(this, engineUnavailable() ?? labAvailable()
            ?? (missing.length > 0 ? `provider plugins not built: ${missing.join("; ")}` : undefined)
            ?? tarballMissing(tarball));
        labUp(3);
        scratch = await scratchStack("lab", { ...readStackFile("lab"), sshPrivateKeyPath: labKeyPath(), binary: { localTarball: tarball } });
    });

    after(async () => {
        await scratch?.dispose();
    });

    it("up brings every member to healthy over mTLS", async () => {
        const stack = scratch!.stack;
        const up = await stack.up({ onOutput: (line) => process.stdout.write(line.replace(/^/gm, "      ")) });
        assert.strictEqual(up.summary.result, "succeeded");
        const outputs = await stack.outputs();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-up-"));
        try {
            fs.writeFileSync(path.join(dir, "ca.crt"), String(outputs["caCertPem"].value));
            fs.writeFileSync(path.join(dir, "admin.crt"), String(outputs["adminCertPem"].value));
            fs.writeFileSync(path.join(dir, "admin.key"), String(outputs["adminKeyPem"].value), { mode: 0o600 });
            assert.ok(outputs["adminKeyPem"].secret, "the admin key output is a secret");
            const untar = spawnSync("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1"], { encoding: "utf8" });
            assert.strictEqual(untar.status, 0, untar.stderr);
            const health = spawnSync(path.join(dir, "etcdctl"), [
                `--endpoints=${outputs["clientEndpoints"].value}`, `--cacert=${dir}/ca.crt`,
                `--cert=${dir}/admin.crt`, `--key=${dir}/admin.key`, "endpoint", "health", "--cluster",
            ], { encoding: "utf8", timeout: 30_000 });
            assert.strictEqual(health.status, 0, `${health.stdout}${health.stderr}`);
            assert.strictEqual((health.stdout.match(/is healthy/g) ?? []).length, 3, health.stdout);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a second preview shows no changes", async () => {
        const preview = await scratch!.stack.preview();
        const changed = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepStrictEqual(changed, []);
    });

    it("destroy removes the units from every host", async () => {
        const destroy = await scratch!.stack.destroy();
        assert.strictEqual(destroy.summary.result, "succeeded");
        for (const host of ["lab1", "lab2", "lab3"]) {
            const r = labSsh(host, `test -e ${paths.unitPath} && echo unit-left; systemctl is-active ${paths.unitName} || true`);
            assert.doesNotMatch(r.stdout, /unit-left|^active/m, `${host}: ${r.stdout}`);
        }
    });
});

import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { readStackInputs } from "../../components/config";
import { SpecError } from "../../components/spec";

const stacksDir = path.join(__dirname, "..", "..", "stacks");

/** Loads stacks/Pulumi.<env>.yaml into the engine's config the way `pulumi` passes it to the program. */
function loadStack(env: string): Record<string, unknown> {
    const doc = yaml.load(fs.readFileSync(path.join(stacksDir, `Pulumi.${env}.yaml`), "utf8")) as { config: Record<string, unknown> };
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.config)) {
        all[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(all);
    return doc.config;
}

/** Problems readStackInputs reports, minus those about files absent on this machine. */
function problemsFor(env: string): string[] {
    loadStack(env);
    try {
        readStackInputs(new pulumi.Config("etcd"));
        return [];
    } catch (e) {
        assert.ok(e instanceof SpecError, String(e));
        return e.problems.filter((p) => !/does not exist/.test(p));
    }
}

describe("stacks/", () => {
    it("has lab, dev, staging and prod", () => {
        for (const env of ["lab", "dev", "staging", "prod"]) {
            assert.ok(fs.existsSync(path.join(stacksDir, `Pulumi.${env}.yaml`)), env);
        }
    });

    it("lab and dev validate", () => {
        assert.deepEqual(problemsFor("lab"), []);
        assert.deepEqual(problemsFor("dev"), []);
    });

    it("staging and prod refuse to preview until the release checksum is filled in", () => {
        for (const env of ["staging", "prod"]) {
            assert.deepEqual(problemsFor(env), ["binary.sha256.amd64: must be 64 lowercase hex characters"], env);
        }
    });

    it("prod declares 5 members with a release URL and keeps data on destroy", () => {
        const cfg = loadStack("prod");
        assert.equal((cfg["etcd:members"] as unknown[]).length, 5);
        assert.match((cfg["etcd:binary"] as { url: string }).url, /^https:\/\/.*\{version\}.*\{arch\}/);
        assert.equal(cfg["etcd:purgeDataOnDestroy"], false);
        assert.deepEqual(cfg["etcd:snapshots"], { onCalendar: "hourly", keep: 48, maxAgeDays: 7 }, "prod takes scheduled snapshots");
    });

    it("no shared stack connects to a host without a pinned key; prod pins through a known_hosts file", () => {
        for (const env of ["dev", "staging", "prod"]) {
            assert.equal(loadStack(env)["etcd:allowUnverifiedHosts"], undefined, env);
        }
        assert.match(String(loadStack("prod")["etcd:knownHostsPath"]), /known_hosts$/);
    });

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

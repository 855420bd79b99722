/**
 * What a config change touches: the program is run twice under mocks, and the
 * resources whose inputs differ are exactly what `pulumi preview` would show as
 * updates. A tuning change must reach each member's config file, its service
 * (restart, one member after the other) and the health gates — nothing else, and
 * no replacement of certificates or keys.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "../../components/cluster";
import { RawClusterConfig } from "../../components/spec/types";
import { fixtureHostKeys, rawConfig, spec } from "./fixtures";
import { Recorded, installMocks, resolve } from "./mocks";

/** Registers a whole cluster for `overrides` and returns every resource's inputs by name. */
async function declare(overrides: Partial<RawClusterConfig>): Promise<Map<string, string>> {
    const recorded: Recorded[] = installMocks();
    const cluster = new EtcdCluster("etcd", { spec: spec(overrides), sshPrivateKey: pulumi.secret("SSH-KEY") });
    await resolve(cluster.clientEndpoints);
    await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
    // Let the last registrations reach the mock monitor.
    await new Promise((r) => setTimeout(r, 100));
    return new Map(recorded.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
}

/** Like changedBetween, but compares only what runs on a host (scripts, stdin, files), not the connection. */
function scriptsChangedBetween(a: Map<string, string>, b: Map<string, string>): string[] {
    // The cluster's membership holds every member's connection, as `connections`.
    const strip = (v: string | undefined) => { const o = JSON.parse(v ?? "{}"); delete o.connection; delete o.connections; return JSON.stringify(o); };
    return [...a.keys()].filter((k) => strip(a.get(k)) !== strip(b.get(k))).map((k) => k.split("::")[1]).sort();
}

function changedBetween(a: Map<string, string>, b: Map<string, string>): string[] {
    assert.deepStrictEqual([...b.keys()].sort(), [...a.keys()].sort(), "the same resources exist before and after");
    return [...a.keys()].filter((k) => a.get(k) !== b.get(k)).map((k) => k.split("::")[1]).sort();
}

describe("change scope (mocked engine)", function () {
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let tmp: string;
    let binary: { localTarball: string };
    let base: Map<string, string>;

    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-scope-"));
        const tarball = path.join(tmp, "etcd.tar.gz");
        binary = { localTarball: tarball };
        fs.writeFileSync(tarball, "not really a tarball");
        base = await declare({ binary });
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("declaring the same config twice changes nothing", async () => {
        assert.deepStrictEqual(changedBetween(base, await declare({ binary })), []);
    });

    it("a tuning change updates each member's config file, its service and the gate only", async () => {
        const changed = changedBetween(base, await declare({ binary, tuning: { snapshotCount: 12345 } }));
        const expected = ["etcd-health", ...["lab-1", "lab-2", "lab-3"].flatMap((m) => [`${m}-config-write`, `${m}-service`])].sort();
        assert.deepStrictEqual(changed, expected);
    });

    it("an extra SAN on one member reissues only that member's server certificate and restarts only it", async () => {
        const members = [
            { name: "lab-1", address: "10.213.0.11", hostKey: fixtureHostKeys[0] },
            { name: "lab-2", address: "10.213.0.12", extraSans: ["lab-2.example.internal"], hostKey: fixtureHostKeys[1] },
            { name: "lab-3", address: "10.213.0.13", extraSans: ["etcd.example.internal", "10.213.0.100"], hostKey: fixtureHostKeys[2] },
        ];
        const changed = changedBetween(base, await declare({ binary, members }));
        // (The real provider also gives the new certificate a new start time, which re-runs
        // lab-2's prepare step, whose read-only preflight checks the host's clock against it; the mock keeps start times fixed.)
        assert.deepStrictEqual(changed, [
            "etcd-health", "lab-2-certs-server-cert", "lab-2-certs-server-csr", "lab-2-files-write", "lab-2-service",
        ]);
    });

    it("a new SSH user or key reaches the connections only: no script, file or restart changes", async () => {
        const members = (rawConfig().members as Array<Record<string, unknown>>).map((m) => ({ ...m, sshUser: "ops" }));
        const other = await declare({ binary, members });
        assert.ok(changedBetween(base, other).length > 0, "the connections changed");
        assert.deepEqual(scriptsChangedBetween(base, other), []);
    });

    it("a new destroy policy changes only each member's prepare step (which owns the data dir)", async () => {
        const changed = changedBetween(base, await declare({ binary, purgeDataOnDestroy: true }));
        assert.deepEqual(changed, ["lab-1-prepare", "lab-2-prepare", "lab-3-prepare"]);
    });
});

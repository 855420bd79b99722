/**
 * Where a step goes shows in a preview; only the SSH private key is secret (issue 25, item 10).
 * The inputs are read as the SDK sends them to the engine (the mock monitor's request, before the
 * mock deserializes it: that step hoists a nested secret up to its top-level property). There a
 * secret is { <signature>: …, value } at whatever depth it was marked, so a leaf marked secret and
 * a whole object marked secret differ.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Recorded, installMocks, resolve } from "./mocks";
import { EtcdCluster } from "../../components/cluster";
import { fixtureHostKeys, spec } from "./fixtures";

const secretSig = "4dabf18193072939515e22adb298388d";
const isWireSecret = (v: unknown) => typeof v === "object" && v !== null && (v as Record<string, unknown>)[secretSig] !== undefined;

/** Paths (a.b.c) of every string holding `needle` that no secret encloses. */
function plainOccurrences(v: unknown, needle: string, at = "", found: string[] = []): string[] {
    if (isWireSecret(v)) return found;
    if (typeof v === "string") { if (v.includes(needle)) found.push(at || "."); return found; }
    if (Array.isArray(v)) v.forEach((x, i) => plainOccurrences(x, needle, `${at}[${i}]`, found));
    else if (typeof v === "object" && v !== null) Object.entries(v).forEach(([k, x]) => plainOccurrences(x, needle, `${at}.${k}`, found));
    return found;
}

describe("SSH connections: the private key secret, where a step goes shown", function () {
    const recorded: Recorded[] = [];
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let tmp: string;
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    before(async () => {
        recorded.splice(0);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-"));
        const tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
        installMocks();
        // The wire form of each registration, as the engine would receive it.
        const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: unknown) => unknown };
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, cb: unknown) => {
            recorded.push({ type: req.getType(), name: req.getName(), inputs: req.getObject().toJavaScript() });
            return register(req, cb);
        };
        const s = spec({ binary: { localTarball: tarball }, bastion: { host: "10.213.0.2", user: "ops", hostKey: fixtureHostKeys[0] } });
        const cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
        await resolve(cluster.clientEndpoints);
        await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
    });

    /** Every resource that takes a connection, with each connection it takes. */
    const withConnections = () => recorded.flatMap((r) => [
        ...(r.inputs.connection !== undefined ? [{ r, key: "connection", c: r.inputs.connection }] : []),
        ...(r.inputs.connections !== undefined
            ? (isWireSecret(r.inputs.connections) ? [{ r, key: "connections", c: r.inputs.connections }]
                : Object.entries(r.inputs.connections as Record<string, unknown>).map(([n, c]) => ({ r, key: `connections.${n}`, c })))
            : []),
    ]);

    it("no resource holds the private key outside a secret", () => {
        const leaks = recorded.flatMap((r) => plainOccurrences(r.inputs, "SSH-KEY").map((p) => `${r.type} ${r.name}${p}`));
        assert.deepEqual(leaks, []);
        assert.ok(withConnections().length > 0);
    });

    it("the project's own resources (host files, staged release, host key check, removal check, membership) show host, port, user, host key and bastion; only the keys are secret", () => {
        const own = withConnections().filter(({ r }) => r.type.startsWith("pulumi-nodejs:dynamic/etcd:"));
        const types = new Set(own.map(({ r }) => r.type.replace("pulumi-nodejs:dynamic/etcd:", "")));
        for (const t of ["HostFilesWrite", "StagedRelease", "HostKeyCheck", "RemovalCheck", "Membership"]) assert.ok(types.has(t), `no ${t} with a connection; have ${[...types]}`);
        for (const { r, key, c } of own) {
            const where = `${r.name} ${key}`;
            assert.ok(!isWireSecret(c), `${where}: the whole connection is secret`);
            assert.match(c.host, /^10\.213\.0\.1[123]$/, where);
            assert.equal(c.port, 22, where);
            assert.equal(c.user, "root", where);
            assert.ok(fixtureHostKeys.includes(c.hostKey), `${where}: host key ${JSON.stringify(c.hostKey)}`);
            assert.ok(isWireSecret(c.privateKey) && c.privateKey.value === "SSH-KEY", `${where}: the private key is not secret`);
            assert.ok(!isWireSecret(c.proxy), `${where}: the whole bastion is secret`);
            assert.deepEqual({ host: c.proxy.host, port: c.proxy.port, user: c.proxy.user, hostKey: c.proxy.hostKey },
                { host: "10.213.0.2", port: 22, user: "ops", hostKey: fixtureHostKeys[0] }, where);
            assert.ok(isWireSecret(c.proxy.privateKey) && c.proxy.privateKey.value === "SSH-KEY", `${where}: the bastion's private key is not secret`);
        }
    });

    it("remote.Command and CopyToRemote keep the whole connection secret: @pulumi/command's SDK marks it so (schema: connection secret)", () => {
        const cmds = withConnections().filter(({ r }) => r.type.startsWith("command:remote:"));
        assert.ok(cmds.length > 0);
        for (const { r, c } of cmds) assert.ok(isWireSecret(c), `${r.name}: connection not secret`);
    });
});

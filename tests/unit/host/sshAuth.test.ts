/**
 * How the stack logs in (issue 29, item 3): a separate bastion key, and an ssh-agent instead of a
 * key. The bastion's key reaches only the hop to the bastion, secret; with the agent, no resource's
 * inputs carry a private key or the agent's socket (its path changes with every login session:
 * in an input, every step would show as changed in every preview); the config's problems are
 * listed with the others. Inputs are read as the SDK sends them to the engine (as in
 * connectionSecrets.test.ts), secrets as { <signature>: …, value }.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Recorded, installMocks, resolve } from "../mocks";
import { EtcdCluster, EtcdClusterArgs } from "../../../components/cluster";
import { agentSocketProblem, readStackInputs } from "../../../components/spec/config";
import { hostKeyCheckProvider } from "../../../components/host/hostKeyCheck";
import { planProvider } from "../../../components/plan/planResource";
import { removalCheckProvider } from "../../../components/plan/removalCheck";
import { SshConnection, openClient } from "../../../components/host/ssh";
import { SpecError } from "../../../components/spec/problems";
import { fixtureHostKeys, spec } from "../fixtures";

const secretSig = "4dabf18193072939515e22adb298388d";
const isWireSecret = (v: unknown) => typeof v === "object" && v !== null && (v as Record<string, unknown>)[secretSig] !== undefined;

/** Paths of every string holding `needle`, inside secrets too (a secret's path ends `…!`), and whether a secret encloses it. */
function occurrences(v: unknown, needle: string, at = "", secret = false, found: Array<{ at: string; secret: boolean }> = []) {
    if (isWireSecret(v)) return occurrences((v as { value: unknown }).value, needle, `${at}!`, true, found);
    if (typeof v === "string") { if (v.includes(needle)) found.push({ at, secret }); return found; }
    if (Array.isArray(v)) v.forEach((x, i) => occurrences(x, needle, `${at}[${i}]`, secret, found));
    else if (typeof v === "object" && v !== null) Object.entries(v).forEach(([k, x]) => occurrences(x, needle, `${at}.${k}`, secret, found));
    return found;
}

/** Paths of every object key named `name`, inside secrets too. */
function keysNamed(v: unknown, name: string, at = "", found: string[] = []): string[] {
    if (isWireSecret(v)) return keysNamed((v as { value: unknown }).value, name, `${at}!`, found);
    if (Array.isArray(v)) v.forEach((x, i) => keysNamed(x, name, `${at}[${i}]`, found));
    else if (typeof v === "object" && v !== null) {
        for (const [k, x] of Object.entries(v)) {
            if (k === name) found.push(`${at}.${k}`);
            keysNamed(x, name, `${at}.${k}`, found);
        }
    }
    return found;
}

/** Declares the cluster with `args` under the mocks; every registration in its wire form. */
async function declare(tarball: string, args: Omit<EtcdClusterArgs, "spec">, bastion = true): Promise<Recorded[]> {
    const recorded: Recorded[] = [];
    installMocks();
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, cb: unknown) => unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, cb: unknown) => {
        recorded.push({ type: req.getType(), name: req.getName(), inputs: req.getObject().toJavaScript() });
        return register(req, cb);
    };
    const s = spec({ binary: { localTarball: tarball }, ...(bastion ? { bastion: { host: "10.213.0.2", user: "ops", hostKey: fixtureHostKeys[0] } } : {}) });
    const cluster = new EtcdCluster("etcd", { spec: s, ...args });
    await resolve(cluster.clientEndpoints);
    await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
    return recorded;
}

const connected = (recorded: Recorded[]) => recorded.filter((r) => r.inputs.connection !== undefined || r.inputs.connections !== undefined);

describe("SSH logins: a bastion key of its own, an ssh-agent instead of a key", function () {
    this.timeout(120_000); // each declares a whole cluster under the mocks (7 s on the busy 2-core VM)
    let tmp: string;
    let tarball: string;
    const savedSock = process.env.SSH_AUTH_SOCK;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-ssh-auth-"));
        tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
    });
    after(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
        if (savedSock === undefined) delete process.env.SSH_AUTH_SOCK;
        else process.env.SSH_AUTH_SOCK = savedSock;
        pulumi.runtime.setAllConfig({});
    });

    it("the bastion key lands only in each connection's proxy.privateKey, secret; the members' key in the member's privateKey", async () => {
        const recorded = await declare(tarball, { sshPrivateKey: pulumi.secret("MEMBER-KEY"), bastionPrivateKey: pulumi.secret("BASTION-KEY") });
        assert.ok(connected(recorded).length > 10);
        const bastionAt = recorded.flatMap((r) => occurrences(r.inputs, "BASTION-KEY").map((o) => ({ ...o, where: `${r.type} ${r.name}` })));
        assert.ok(bastionAt.length > 0);
        for (const o of bastionAt) {
            assert.match(o.at, /\.proxy\.privateKey!?$/, `${o.where}: the bastion key at ${o.at}`);
            assert.ok(o.secret, `${o.where}: the bastion key at ${o.at} is not secret`);
        }
        const memberAt = recorded.flatMap((r) => occurrences(r.inputs, "MEMBER-KEY").map((o) => ({ ...o, where: `${r.type} ${r.name}` })));
        assert.ok(memberAt.length > 0);
        for (const o of memberAt) {
            assert.doesNotMatch(o.at, /proxy/, `${o.where}: the members' key reaches the bastion at ${o.at}`);
            assert.match(o.at, /\.privateKey!?$/, `${o.where}: the members' key at ${o.at}`);
            assert.ok(o.secret, `${o.where}: the members' key at ${o.at} is not secret`);
        }
        // Every connection through the bastion carries the bastion key there.
        const proxies = recorded.flatMap((r) => keysNamed(r.inputs, "proxy").map((p) => `${r.name}${p}`));
        assert.equal(proxies.length, bastionAt.length, `proxies ${proxies.length}, bastion keys ${bastionAt.length}`);
    });

    it("without a bastion key, the bastion takes the members' key (as before)", async () => {
        const recorded = await declare(tarball, { sshPrivateKey: pulumi.secret("MEMBER-KEY") });
        const viaProxy = recorded.flatMap((r) => occurrences(r.inputs, "MEMBER-KEY")).filter((o) => /proxy\.privateKey/.test(o.at));
        const proxies = recorded.flatMap((r) => keysNamed(r.inputs, "proxy"));
        assert.ok(proxies.length > 0);
        assert.equal(viaProxy.length, proxies.length);
        assert.ok(viaProxy.every((o) => o.secret));
    });

    it("with the ssh-agent (no key): no resource's inputs hold a private key, the agent's socket or agentSocketPath", async () => {
        process.env.SSH_AUTH_SOCK = path.join(tmp, "agent.sock-SESSION-1");
        try {
            const recorded = await declare(tarball, {});
            assert.ok(connected(recorded).length > 10);
            for (const r of recorded) {
                assert.deepEqual(keysNamed(r.inputs, "privateKey"), [], `${r.type} ${r.name} carries a private key`);
                assert.deepEqual(keysNamed(r.inputs, "agentSocketPath"), [], `${r.type} ${r.name} names the agent's socket`);
                assert.deepEqual(occurrences(r.inputs, "SESSION-1"), [], `${r.type} ${r.name} holds the socket's path`);
            }
            // The bastion hop too: through the agent when no key is given at all.
            assert.ok(recorded.some((r) => keysNamed(r.inputs, "proxy").length > 0));
        } finally {
            delete process.env.SSH_AUTH_SOCK;
        }
    });

    it("with the agent for the members and a bastion key: the key only at the bastion hop", async () => {
        const recorded = await declare(tarball, { bastionPrivateKey: pulumi.secret("BASTION-KEY") });
        for (const r of recorded) {
            for (const p of keysNamed(r.inputs, "privateKey")) assert.match(p, /\.proxy\.privateKey$/, `${r.name}${p}`);
        }
        assert.ok(recorded.some((r) => keysNamed(r.inputs, "privateKey").length > 0));
    });

    describe("the stack's config (readStackInputs)", () => {
        const base = {
            "etcd:version": "3.6.16",
            "etcd:members": JSON.stringify([1, 2, 3].map((n) => ({ name: `m${n}`, address: `10.30.1.1${n}`, hostKey: fixtureHostKeys[n - 1] }))),
            "etcd:binary": JSON.stringify({ url: "https://example.com/etcd-v{version}-linux-{arch}.tar.gz", sha256: { amd64: "a".repeat(64) } }),
        };
        const bastion = { "etcd:bastion": JSON.stringify({ host: "bastion.example", hostKey: fixtureHostKeys[0] }) };
        const problems = (config: Record<string, string>, env: NodeJS.ProcessEnv = {}): string[] => {
            pulumi.runtime.setAllConfig(config);
            try {
                readStackInputs(new pulumi.Config("etcd"), env);
                return [];
            } catch (e) {
                assert.ok(e instanceof SpecError, String(e));
                return e.problems;
            }
        };
        const noKey = "missing SSH private key: set the secret `etcd:sshPrivateKey` (pulumi config set --secret) or `etcd:sshPrivateKeyPath`, or run an ssh-agent holding the key";

        it("neither a key nor an agent: one problem saying what to set, listed with the others", () => {
            const found = problems({ ...base, "etcd:clusterName": "Bad_Name" });
            assert.equal(found.length, 2, found.join("\n"));
            assert.match(found[0], /^clusterName "Bad_Name"/);
            assert.equal(found[1], `${noKey} (SSH_AUTH_SOCK is not set)`);
        });

        it("an SSH_AUTH_SOCK where no socket is (an ended session's agent): the problem names it", () => {
            const gone = path.join(tmp, "gone.sock");
            assert.deepEqual(problems(base, { SSH_AUTH_SOCK: gone }), [`${noKey} (SSH_AUTH_SOCK=${gone}: no such socket (the agent of an ended session?))`]);
            assert.deepEqual(problems(base, { SSH_AUTH_SOCK: tarball }), [`${noKey} (SSH_AUTH_SOCK=${tarball} is not a socket)`]);
            assert.equal(agentSocketProblem(""), "SSH_AUTH_SOCK is not set");
        });

        it("an agent's socket and no key: valid, and no key handed to the cluster", async () => {
            const sock = path.join(tmp, "agent.sock");
            const server = net.createServer().listen(sock);
            await new Promise((r) => server.once("listening", r));
            try {
                pulumi.runtime.setAllConfig({ ...base, ...bastion });
                const inputs = readStackInputs(new pulumi.Config("etcd"), { SSH_AUTH_SOCK: sock });
                assert.equal(inputs.sshPrivateKey, undefined);
                assert.equal(inputs.bastionPrivateKey, undefined);
                assert.equal(JSON.stringify(inputs.spec).includes(sock), false, "the socket's path is in the spec");
            } finally {
                server.close();
            }
        });

        it("a bastion key without etcd:bastion is refused; from a path, it is read and kept secret", async () => {
            const keyFile = path.join(tmp, "bastion-key");
            fs.writeFileSync(keyFile, "BASTION KEY FILE\n");
            assert.deepEqual(problems({ ...base, "etcd:sshPrivateKey": "k", "etcd:bastionPrivateKeyPath": keyFile }),
                ["bastionPrivateKey: set (or bastionPrivateKeyPath), but there is no `etcd:bastion` to use it for: set `etcd:bastion` or remove the key"]);
            assert.deepEqual(problems({ ...base, "etcd:sshPrivateKey": "k", "etcd:bastionPrivateKey": "b" }),
                ["bastionPrivateKey: set (or bastionPrivateKeyPath), but there is no `etcd:bastion` to use it for: set `etcd:bastion` or remove the key"]);
            assert.deepEqual(problems({ ...base, ...bastion, "etcd:sshPrivateKey": "k", "etcd:bastionPrivateKeyPath": path.join(tmp, "missing") }),
                [`bastionPrivateKeyPath: file "${path.join(tmp, "missing")}" does not exist`]);
            pulumi.runtime.setAllConfig({ ...base, ...bastion, "etcd:sshPrivateKey": "k", "etcd:bastionPrivateKeyPath": keyFile });
            const inputs = readStackInputs(new pulumi.Config("etcd"), {});
            assert.equal(await resolve(inputs.bastionPrivateKey!), "BASTION KEY FILE\n");
            assert.equal(await pulumi.isSecret(inputs.bastionPrivateKey!), true);
            // A bastion key alone (members through the agent) still needs the agent for the members.
            assert.deepEqual(problems({ ...base, ...bastion, "etcd:bastionPrivateKeyPath": keyFile }), [`${noKey} (SSH_AUTH_SOCK is not set)`]);
        });
    });

    describe("our own SSH clients (components/host/ssh.ts openClient)", () => {
        /** The config openClient hands ssh2's connect (the connection then refused, as no host is there). */
        async function connectConfig(c: { privateKey?: string }): Promise<Record<string, unknown>> {
            const { Client } = require("ssh2");
            const original = Client.prototype.connect;
            let seen: Record<string, unknown> | undefined;
            Client.prototype.connect = function (this: any, config: Record<string, unknown>) {
                seen = config;
                process.nextTick(() => this.emit("error", new Error("not connecting in a unit test")));
                return this;
            };
            try {
                await assert.rejects(openClient("m1", { host: "10.30.1.11", ...c }, 1000), /not connecting in a unit test/);
            } finally {
                Client.prototype.connect = original;
            }
            return seen!;
        }

        it("with a key: the key, no agent; without: the agent at SSH_AUTH_SOCK as it is when connecting", async () => {
            process.env.SSH_AUTH_SOCK = "/run/agent-A.sock";
            try {
                const withKey = await connectConfig({ privateKey: "KEY" });
                assert.equal(withKey.privateKey, "KEY");
                assert.equal(withKey.agent, undefined);
                assert.equal((await connectConfig({})).agent, "/run/agent-A.sock");
                process.env.SSH_AUTH_SOCK = "/run/agent-B.sock"; // another login session, the same connection
                const later = await connectConfig({});
                assert.equal(later.agent, "/run/agent-B.sock");
                assert.equal(later.privateKey, undefined);
            } finally {
                delete process.env.SSH_AUTH_SOCK;
            }
        });
    });

    describe("a key replaced by the agent (or by another key) leaves no old key in the state", () => {
        const withKey: SshConnection = { host: "10.213.0.11", port: 22, user: "root", privateKey: "OLD-KEY", hostKey: "ssh-ed25519 AAAA1" };
        const { privateKey: _dropped, ...viaAgent } = withKey;

        it("the host key check, the removal check and the plan's record update (none is replaced); the same connection: no change", async () => {
            const check = { label: "lab-1", connection: withKey };
            assert.deepEqual(await hostKeyCheckProvider.diff!("10.213.0.11:22", check, { ...check, connection: viaAgent }), { changes: true, replaces: [] });
            assert.deepEqual(await hostKeyCheckProvider.diff!("10.213.0.11:22", check, { ...check }), { changes: false, replaces: [] });
            const removal = { members: { "lab-1": "10.213.0.11" }, connections: { "lab-1": withKey }, script: "s", run: "r" };
            assert.equal((await removalCheckProvider.diff!("removal-check", removal, { ...removal, connections: { "lab-1": viaAgent } })).changes, true);
            assert.equal((await removalCheckProvider.diff!("removal-check", removal, { ...removal })).changes, false);
            const plan = { recorded: { members: [] }, order: ["lab-1"], connections: { "lab-1": withKey }, liveScript: "s" };
            assert.equal((await planProvider.diff!("plan", plan, { ...plan, connections: { "lab-1": viaAgent } })).changes, true);
            assert.equal((await planProvider.diff!("plan", plan, { ...plan })).changes, false);
        });
    });
});

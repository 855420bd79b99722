/**
 * HostFilesWrite's dynamic provider (components/host/hostFilesProvider.ts), its methods called
 * directly as the engine calls them: diff as a table of input changes, and create, update, read
 * and delete against a host on loopback (loopbackShellHost.ts) that runs the real scripts
 * (renderHostFiles.ts) on files in its temp dir.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { FileState, HostFilesInputs, HostFilesOutputs, hostFilesProvider } from "../../../components/host/hostFilesProvider";
import * as paths from "../../../components/base/paths";
import { HostChecks, ManagedFile, renderApplyScript, renderHostFilesRemoveScript, renderInspectScript } from "../../../components/host/renderHostFiles";
import { ShellHost, closedPort, hostsPerDescribe, localOwner, openFast, scriptOf } from "../loopbackShellHost";
import { readAttempts } from "../../../components/host/ssh";

const sha256 = (text: string) => crypto.createHash("sha256").update(text, "utf8").digest("hex");
const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

interface Spec { name: string; content: string; mode: string; owner?: string }

/**
 * The inputs HostFiles (hostFiles.ts) would give for `specs` on `host`, with the real scripts. The
 * paths are relative: the host's scripts run in its own dir, so every host has the same paths, as
 * every member has in a stack.
 */
function inputsFor(host: ShellHost, specs: Spec[], label = "lab-1 config"): HostFilesInputs {
    const managed: ManagedFile[] = specs.map((s) => ({ path: s.name, mode: s.mode, owner: s.owner ?? localOwner, readByEtcd: true }));
    const order = managed.map((f) => f.path);
    return {
        label,
        connection: host.connection,
        files: Object.fromEntries(specs.map((s, i) => [order[i], { sha256: sha256(s.content), mode: s.mode, owner: s.owner ?? localOwner }])),
        contents: Object.fromEntries(specs.map((s, i) => [order[i], s.content])),
        order,
        checks: {},
        scripts: {
            create: renderApplyScript(managed, {}, { repair: false }) + "# first write\n",
            update: renderApplyScript(managed, {}, { repair: true }) + "# repair\n",
            inspect: renderInspectScript(managed, {}),
            remove: renderHostFilesRemoveScript(order),
        },
    };
}

const config: Spec = { name: "etcd.conf.yml", content: "name: lab-1\ndata-dir: /var/lib/etcd\n", mode: "0640" };
const key: Spec = { name: "peer.key", content: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIsecretsecret\n-----END PRIVATE KEY-----\n", mode: "0600" };
const ca: Spec = { name: "ca.crt", content: "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n", mode: "0644" };

describe("HostFilesWrite provider: diff (called directly)", () => {
    const conn = { host: "10.213.0.11", port: 22, user: "root", privateKey: "KEY", hostKey: "ssh-ed25519 AAAA1" };
    const base: HostFilesOutputs = {
        label: "lab-1 config",
        connection: conn,
        files: { "/etc/etcd/a": { sha256: "a".repeat(64), mode: "0640", owner: "etcd:etcd" }, "/etc/etcd/b": { sha256: "b".repeat(64), mode: "0600", owner: "etcd:etcd" } },
        contents: { "/etc/etcd/a": "A", "/etc/etcd/b": "B" },
        order: ["/etc/etcd/a", "/etc/etcd/b"],
        checks: { unit: "enabled active" },
        scripts: { create: "create", update: "update", inspect: "inspect", remove: "remove" },
        written: { "/etc/etcd/a": { sha256: "a".repeat(64), mode: "0640", owner: "etcd:etcd" }, "/etc/etcd/b": { sha256: "b".repeat(64), mode: "0600", owner: "etcd:etcd" } },
    };
    const file = (over: Partial<FileState>) => ({ ...base.files, "/etc/etcd/a": { ...base.files["/etc/etcd/a"], ...over } });
    const { written: _w, ...inputs } = base;
    const rows: Array<[string, Partial<HostFilesInputs>, boolean]> = [
        ["the same inputs", {}, false],
        ["only the scripts changed (another render of the same files)", { scripts: { create: "c2", update: "u2", inspect: "i2", remove: "r2" } }, false],
        ["a file's digest changed", { files: file({ sha256: "c".repeat(64) }) }, true],
        ["a file's mode changed", { files: file({ mode: "0600" }) }, true],
        ["a file's owner changed", { files: file({ owner: "root:root" }) }, true],
        ["a file's content changed (secret; its digest with it)", { contents: { ...base.contents, "/etc/etcd/a": "A2" } }, true],
        ["a file added", { files: { ...base.files, "/etc/etcd/c": { sha256: "d".repeat(64), mode: "0644", owner: "root:root" } } }, true],
        ["a file dropped", { files: { "/etc/etcd/a": base.files["/etc/etcd/a"] } }, true],
        ["a check changed (binaries to check)", { checks: { unit: "enabled active", binaries: "same as etcd.tar.gz" } }, true],
        ["the same machine, another login", { connection: { ...conn, user: "deploy" } }, true],
        ["the same machine, another private key", { connection: { ...conn, privateKey: "KEY2" } }, true],
        ["another machine: another address", { connection: { ...conn, host: "10.213.0.21" } }, true],
        ["another machine: a rebuilt host with a new host key", { connection: { ...conn, hostKey: "ssh-ed25519 AAAA2" } }, true],
        ["another machine: behind a bastion", { connection: { ...conn, proxy: { host: "10.213.0.1" } } }, true],
    ];
    for (const [what, change, changes] of rows) {
        it(`${what}: ${changes ? "a change" : "no change"}, never a replacement`, async () => {
            assert.deepEqual(await hostFilesProvider.diff!("10.213.0.11:lab-1 config", base, { ...inputs, ...change }), { changes });
        });
    }
});

describe("HostFilesWrite provider: create, update, read, delete against a host on loopback", () => {
    const hosts = hostsPerDescribe();
    let on: ShellHost;
    const newHost = async () => (on = await hosts());
    /** A file on the host made last (its disk is its dir). */
    const read = (p: string, h = on) => fs.readFileSync(path.join(h.dir, p), "utf8");
    const exists = (p: string, h = on) => fs.existsSync(path.join(h.dir, p));
    const stateOf = (p: string) => ({ sha256: sha256(read(p)), mode: (fs.statSync(path.join(on.dir, p)).mode & 0o7777).toString(8).padStart(4, "0"), owner: localOwner });

    it("create writes every file in one session, the contents on stdin only, and maps the host's report to `written`", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config, key, ca]);
        const { id, outs } = await hostFilesProvider.create(inputs);
        assert.equal(id, "127.0.0.1:lab-1 config");
        assert.equal(host.execs.length, 1, "one script");
        assert.equal(host.logins(), 1);
        const [exec] = host.execs;
        assert.equal(exec.code, 0);
        assert.equal(scriptOf(exec.command), inputs.scripts.create, "the create script, as rendered");
        for (const s of [config, key, ca]) {
            for (const part of [s.content, b64(s.content), ...s.content.split("\n").filter((l) => l.length > 8)]) {
                assert.ok(!exec.command.includes(part), `the command line holds no part of ${s.name}`);
            }
        }
        // Per file in order: the digest last written ("-": none), then the content in base64.
        assert.equal(exec.stdin.toString(), [config, key, ca].map((s) => `-\n${b64(s.content)}\n`).join(""));
        for (const s of [config, key, ca]) assert.equal(read(s.name), s.content);
        const written = Object.fromEntries(inputs.order.map((p) => [p, stateOf(p)]));
        assert.deepEqual(outs, { ...inputs, written });
        assert.equal(outs.written[key.name].mode, "0600");
        assert.deepEqual(outs.written, inputs.files, "what the host holds is what the stack wrote");
    });

    it("`written` is what the host reports, after the host's own fill: the baseline a later read compares with", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config]);
        // The host completes the file from what only it knows (as the join decision does), with no unfill.
        const filled: ManagedFile = { path: config.name, mode: config.mode, owner: localOwner, readByEtcd: true, fill: [`echo "host: $HOST_NAME" >> "$tmp"`] };
        inputs.scripts = { ...inputs.scripts, create: renderApplyScript([filled], {}, { repair: false }), inspect: renderInspectScript([filled], {}) };
        const { id, outs } = await hostFilesProvider.create(inputs);
        const onHost = config.content + "host: host\n";
        assert.equal(read(config.name), onHost);
        assert.deepEqual(outs.written, { [config.name]: { sha256: sha256(onHost), mode: config.mode, owner: localOwner } });
        assert.notEqual(outs.written[config.name].sha256, inputs.files[config.name].sha256);
        // The fill is no drift; a hand edit after it is.
        assert.deepEqual((await hostFilesProvider.read!(id, outs)).props!.files, inputs.files);
        fs.appendFileSync(path.join(host.dir, config.name), "# by hand\n");
        assert.match(((await hostFilesProvider.read!(id, outs)).props!.files as Record<string, FileState>)[config.name].sha256, /^changed on the host/);
    });

    it("create fails naming the file when the host's report lacks one", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config, key]);
        // A write script that loses the key's report line (the host skipped it).
        inputs.scripts.create = inputs.scripts.create.replace(/^if \[ -e 'peer\.key' \].*$/m, "true");
        await assert.rejects(hostFilesProvider.create(inputs), /^Error: lab-1 config: peer\.key is not on the host after writing it$/);
    });

    it("update on the same machine repairs from the last write: its digests on stdin, a changed file rewritten, a dropped one removed", async () => {
        const host = await newHost();
        const first = inputsFor(host, [config, key, ca]);
        const { outs: olds } = await hostFilesProvider.create(first);
        const changed = { ...config, content: config.content + "snapshot-count: 5000\n" };
        // Another login to the same machine: still a repair of what the stack wrote there.
        const news = { ...inputsFor(host, [changed, key]), connection: { ...host.connection, user: "deploy" } };
        await openFast(news.connection);
        const { outs } = await hostFilesProvider.update!("id", olds, news);
        assert.equal(host.execs.length, 3, "create, then the update's write and its removal");
        const [, write, remove] = host.execs;
        assert.equal(scriptOf(write.command), news.scripts.update);
        assert.equal(write.stdin.toString(), `${sha256(config.content)}\n${b64(changed.content)}\n${sha256(key.content)}\n${b64(key.content)}\n`);
        assert.ok(!write.command.includes(b64(changed.content)) && !write.command.includes("snapshot-count"));
        assert.equal(scriptOf(remove.command), `rm -f '${ca.name}'`);
        assert.equal(read(config.name), changed.content);
        assert.ok(!exists(ca.name), "the file no longer in the stack is gone");
        assert.deepEqual(outs, { ...news, written: news.files });
    });

    it("update to another machine is a first write there: the create script, no last digests, nothing removed on either", async () => {
        const before = await newHost();
        const after = await newHost();
        const { outs: olds } = await hostFilesProvider.create(inputsFor(before, [config, key]));
        const news = inputsFor(after, [config, key]);
        const { outs } = await hostFilesProvider.update!("id", olds, news);
        assert.equal(after.execs.length, 1);
        assert.equal(scriptOf(after.execs[0].command), news.scripts.create);
        assert.equal(after.execs[0].stdin.toString(), `-\n${b64(config.content)}\n-\n${b64(key.content)}\n`);
        assert.equal(before.execs.length, 1, "nothing more on the old machine");
        assert.equal(read(config.name, after), config.content);
        assert.deepEqual(outs, { ...news, written: news.files });
    });

    it("read reports a hand-changed, a chmod-ed and a deleted file as differences, and an untouched host as none", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config, key, ca]);
        const { id, outs } = await hostFilesProvider.create(inputs);

        const untouched = await hostFilesProvider.read!(id, outs);
        assert.equal(scriptOf(host.execs[1].command), inputs.scripts.inspect);
        assert.equal(host.execs[1].stdin.length, 0, "read sends nothing on stdin");
        assert.deepEqual(untouched.props, outs);
        const { written: _w, ...asInputs } = outs;
        assert.deepEqual(untouched.inputs, asInputs, "read's inputs hold no `written`");
        assert.deepEqual(await hostFilesProvider.diff!(id, untouched.props as HostFilesOutputs, inputs), { changes: false });

        const [pConfig, pKey, pCa] = inputs.order;
        fs.writeFileSync(path.join(host.dir, pConfig), config.content + "# edited by hand\n");
        fs.chmodSync(path.join(host.dir, pKey), 0o644);
        fs.rmSync(path.join(host.dir, pCa));
        const drifted = await hostFilesProvider.read!(id, outs);
        const files = drifted.props!.files as Record<string, FileState>;
        assert.deepEqual(files[pConfig], { sha256: `changed on the host (now ${sha256(config.content + "# edited by hand\n").slice(0, 12)}…)`, mode: "0640", owner: localOwner });
        assert.deepEqual(files[pKey], { ...inputs.files[pKey], mode: "0644" });
        assert.deepEqual(files[pCa], { sha256: "missing on the host", mode: "-", owner: "-" });
        assert.deepEqual(drifted.inputs!.files, files);
        assert.deepEqual(drifted.props!.written, outs.written, "the baseline stays the last write");
        assert.deepEqual(await hostFilesProvider.diff!(id, drifted.props as HostFilesOutputs, inputs), { changes: true });

        // up puts it back: the repair rewrites all three.
        await hostFilesProvider.update!(id, drifted.props as HostFilesOutputs, inputs);
        assert.equal(read(pConfig), config.content);
        assert.equal(stateOf(pKey).mode, "0600");
        assert.equal(read(pCa), ca.content);
        assert.deepEqual((await hostFilesProvider.read!(id, outs)).props!.files, inputs.files);
    });

    it("read of a host where another machine answers (rebuilt, or an impostor: a host key not the pinned one) resolves as not read naming both keys, never as a host that is down; nothing runs there; a write there still fails", async () => {
        const host = await newHost();
        const other = await newHost();
        const inputs = { ...inputsFor(host, [config, key]), checks: { unit: "enabled active" } };
        const { id, outs } = await hostFilesProvider.create(inputs);
        // The state's connection (the old pinned key), and another machine answering at the address.
        const rebuilt = { ...outs, connection: { ...outs.connection, port: other.connection.port } };
        const execsBefore = other.execs.length;
        const r = await hostFilesProvider.read!(id, rebuilt);
        const notRead = /^not read: another machine answers there \(lab-1 config: 127\.0\.0\.1:\d+ presents host key SHA256:\S+, but the stack pins SHA256:\S+ \(ssh-ed25519\): another machine answers there; nothing was sent to it\)$/;
        for (const f of Object.values(r.props!.files as Record<string, FileState>)) assert.match(f.sha256, notRead);
        assert.match(r.props!.checks.unit, notRead);
        assert.equal(other.execs.length, execsBefore, "nothing ran on the other machine");
        await assert.rejects(hostFilesProvider.update!(id, r.props as HostFilesOutputs, { ...inputs, connection: rebuilt.connection }), /another machine answers there; nothing was sent to it/);
    });

    it("read of a host that does not answer (a host powered off) resolves: every file and check shows as not read, naming the host, so `preview --refresh` goes on and `up` writes there again", async () => {
        const host = await newHost();
        const inputs = { ...inputsFor(host, [config, key]), checks: { unit: "enabled active" } };
        const { id, outs } = await hostFilesProvider.create(inputs);
        const down = { ...outs, connection: { ...outs.connection, port: await closedPort(), dialErrorLimit: 10, perDialTimeout: 2 } };
        const started = Date.now();
        const r = await hostFilesProvider.read!(id, down);
        const notRead = new RegExp(`^not read: the host did not answer the refresh \\(lab-1 config: 127\\.0\\.0\\.1:${down.connection.port}: .*ECONNREFUSED.*\\(${readAttempts} failed attempts\\)\\)$`);
        const files = r.props!.files as Record<string, FileState>;
        assert.deepEqual(Object.keys(files), inputs.order);
        for (const f of Object.values(files)) {
            assert.match(f.sha256, notRead);
            assert.deepEqual([f.mode, f.owner], ["-", "-"]);
        }
        assert.match(r.props!.checks.unit, notRead);
        assert.deepEqual(r.inputs!.files, files);
        assert.deepEqual(r.props!.written, outs.written, "the baseline stays the last write");
        assert.ok(Date.now() - started < 3000 + readAttempts * 1000, `a refresh dials ${readAttempts} times, not dialErrorLimit's 10: ${Date.now() - started} ms`);
        assert.deepEqual(await hostFilesProvider.diff!(id, r.props as HostFilesOutputs, { ...inputs, connection: down.connection }), { changes: true }, "the preview shows the host");
    });

    it("read shows a unit the host reports stopped in `checks`", async () => {
        const host = await newHost();
        const inputs = { ...inputsFor(host, [config]), checks: { unit: "enabled active" } };
        const { id, outs } = await hostFilesProvider.create(inputs);
        outs.scripts = { ...outs.scripts, inspect: outs.scripts.inspect + `echo "unit enabled inactive"\n` };
        const { props } = await hostFilesProvider.read!(id, outs);
        assert.deepEqual(props!.checks, { unit: "enabled inactive" });
    });

    it("delete runs the remove script: the files are gone", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config, key]);
        const { id, outs } = await hostFilesProvider.create(inputs);
        await hostFilesProvider.delete!(id, outs);
        assert.equal(scriptOf(host.execs[1].command), inputs.scripts.remove);
        assert.equal(host.execs[1].stdin.length, 0, "delete sends nothing on stdin");
        for (const p of inputs.order) assert.ok(!exists(p), `${p} removed`);
    });

    it("create and update fail naming the file when the host's report says it is missing after the write", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config, key]);
        // A host that loses the key's file instead of moving it into place: its report line says `missing`.
        const lose = (script: string) => {
            const lost = script.replace(/^if cmp -s "\$tmp" 'peer\.key' .*$/m, `rm -f "$tmp"`);
            assert.notEqual(lost, script);
            return lost;
        };
        await assert.rejects(hostFilesProvider.create({ ...inputs, scripts: { ...inputs.scripts, create: lose(inputs.scripts.create) } }),
            /^Error: lab-1 config: peer\.key is not on the host after writing it$/);
        assert.ok(!exists(key.name) && exists(config.name));
        assert.equal(host.execs[0].code, 0, "the script itself succeeded: only its report tells");
        const { outs } = await hostFilesProvider.create(inputs);
        fs.rmSync(path.join(host.dir, key.name));
        await assert.rejects(hostFilesProvider.update!("id", outs, { ...inputs, scripts: { ...inputs.scripts, update: lose(inputs.scripts.update) } }),
            /^Error: lab-1 config: peer\.key is not on the host after writing it$/);
    });

    it("read compares mode and owner with the last write: as written they show as the stack's spelling (640, uid:gid), a hand chmod or chown shows the host's", async () => {
        const host = await newHost();
        // The stack's mode and owner spelled otherwise than the host's `stat` reports them (0640, user:group names).
        const ids = `${process.getuid!()}:${process.getgid!()}`;
        const inputs = inputsFor(host, [{ ...config, mode: "640", owner: ids }, key]);
        const { id, outs } = await hostFilesProvider.create(inputs);
        const [pConfig, pKey] = inputs.order;
        assert.deepEqual(outs.written[pConfig], { sha256: sha256(config.content), mode: "0640", owner: localOwner });
        assert.notEqual(ids, localOwner);
        const untouched = await hostFilesProvider.read!(id, outs);
        assert.deepEqual(untouched.props!.files, inputs.files, "as written: the stack's own values, no drift");
        assert.deepEqual(await hostFilesProvider.diff!(id, untouched.props as HostFilesOutputs, inputs), { changes: false });

        fs.chmodSync(path.join(host.dir, pConfig), 0o600);
        // A chown to another user needs root (the unit tests run as root here; elsewhere only the chmod is checked).
        const root = process.getuid!() === 0;
        if (root) fs.chownSync(path.join(host.dir, pKey), 65534, 65534);
        const files = (await hostFilesProvider.read!(id, outs)).props!.files as Record<string, FileState>;
        assert.deepEqual(files[pConfig], { sha256: inputs.files[pConfig].sha256, mode: "0600", owner: ids }, "chmod-ed: the host's mode, the rest as the stack's");
        if (root) {
            const nobody = execFileSync("stat", ["-c", "%U:%G", path.join(host.dir, pKey)]).toString().trim();
            assert.notEqual(nobody, localOwner);
            assert.deepEqual(files[pKey], { ...inputs.files[pKey], owner: nobody }, "chown-ed: the host's owner, the rest as the stack's");
        }
    });

    it("read without a last write to compare with (state from before `written`) shows the stack's values, and a file the report does not name as missing", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config, key]);
        const { id, outs } = await hostFilesProvider.create(inputs);
        const [pConfig, pKey] = inputs.order;
        fs.appendFileSync(path.join(host.dir, pConfig), "# by hand\n");
        fs.chmodSync(path.join(host.dir, pKey), 0o644);
        const { written: _w, ...older } = outs;
        const { props } = await hostFilesProvider.read!(id, older as HostFilesOutputs);
        assert.deepEqual(props!.files, inputs.files, "no baseline: nothing claimed as drift");
        // The report leaves the key out (an inspect script of an older render): missing, baseline or not.
        const keyless = { ...outs, scripts: { ...outs.scripts, inspect: inputsFor(host, [config]).scripts.inspect } };
        const files = (await hostFilesProvider.read!(id, keyless)).props!.files as Record<string, FileState>;
        assert.deepEqual(files[pKey], { sha256: "missing on the host", mode: "-", owner: "-" });
    });

    it("read keeps the unit check as the stack's when the host reports none, and adds none the stack did not ask for", async () => {
        const host = await newHost();
        const withUnit = { ...inputsFor(host, [config]), checks: { unit: "enabled active" } };
        const { id, outs } = await hostFilesProvider.create(withUnit);
        assert.deepEqual((await hostFilesProvider.read!(id, outs)).props!.checks, { unit: "enabled active" }, "no unit line: no drift");
        const noUnit = { ...outs, checks: {}, scripts: { ...outs.scripts, inspect: outs.scripts.inspect + `echo "unit disabled inactive"\n` } };
        assert.deepEqual((await hostFilesProvider.read!(id, noUnit)).props!.checks, {});
    });

    describe("read's binaries check (the real inspect lines against a staged release's sums, binDir under the host's dir)", () => {
        const tarball = "releases/etcd.tar.gz";
        const bins: Record<string, string> = { etcd: "etcd binary\n", etcdctl: "etcdctl binary\n", etcdutl: "etcdutl binary\n" };
        /** HostFiles inputs with the binaries check, its scripts' binDir moved to `bin/` in the host's dir. */
        const withBinaries = (host: ShellHost): HostFilesInputs => {
            const inputs = inputsFor(host, [config]);
            const checks: HostChecks = { binaries: { tarball, sha256: "f".repeat(64) } };
            const managed: ManagedFile[] = [{ path: config.name, mode: config.mode, owner: localOwner, readByEtcd: true }];
            const inspect = renderInspectScript(managed, checks);
            assert.ok(inspect.includes(`'${paths.binDir}/etcd'`));
            return { ...inputs, checks: { binaries: "same as etcd.tar.gz" }, scripts: { ...inputs.scripts, inspect: inspect.split(`'${paths.binDir}/`).join("'bin/") } };
        };
        /** The staged release's sums file and the installed binaries. */
        const stage = (host: ShellHost, installed: Record<string, string>) => {
            fs.mkdirSync(path.join(host.dir, "releases"));
            fs.writeFileSync(path.join(host.dir, tarball + paths.releaseSumsSuffix),
                `tarball ${"f".repeat(64)}\n` + Object.entries(bins).map(([b, c]) => `${sha256(c)}  ${b}\n`).join(""));
            fs.mkdirSync(path.join(host.dir, "bin"));
            for (const [b, c] of Object.entries(installed)) fs.writeFileSync(path.join(host.dir, "bin", b), c);
        };
        const checksRead = async (inputs: HostFilesInputs, over: Partial<HostFilesOutputs> = {}) => {
            const { id, outs } = await hostFilesProvider.create(inputs);
            return (await hostFilesProvider.read!(id, { ...outs, ...over })).props!.checks;
        };

        it("binaries as staged: the check as the stack's", async () => {
            const host = await newHost();
            stage(host, bins);
            assert.deepEqual(await checksRead(withBinaries(host)), { binaries: "same as etcd.tar.gz" });
        });

        it("a binary changed and one removed: each named with its state, in order", async () => {
            const host = await newHost();
            stage(host, { etcd: bins.etcd, etcdctl: "patched by hand\n" });
            assert.deepEqual(await checksRead(withBinaries(host)), { binaries: "etcdctl differs, etcdutl missing" });
        });

        it("no staged release on the host: every binary says so", async () => {
            const host = await newHost();
            assert.deepEqual(await checksRead(withBinaries(host)),
                { binaries: "etcd no-staged-release, etcdctl no-staged-release, etcdutl no-staged-release" });
        });

        it("the host's binary lines are ignored when the stack does not check the binaries; no lines leave the check as it is", async () => {
            const host = await newHost();
            const inputs = withBinaries(host);
            assert.deepEqual(await checksRead(inputs, { checks: {} }), {}, "binary lines, no check asked");
            host.reset();
            assert.deepEqual(await checksRead(inputsFor(host, [config]), { checks: { binaries: "same as etcd.tar.gz" } }),
                { binaries: "same as etcd.tar.gz" }, "a check asked, no binary lines");
        });
    });

    it("update removes every dropped file, a name with quotes too, sending nothing on stdin", async () => {
        const host = await newHost();
        const quoted: Spec = { name: "o'clock'.conf", content: "x\n", mode: "0644" };
        const { outs: olds } = await hostFilesProvider.create(inputsFor(host, [config, key, quoted]));
        assert.ok(exists(quoted.name));
        const news = inputsFor(host, [config]);
        await hostFilesProvider.update!("id", olds, news);
        const remove = host.execs[2];
        assert.equal(scriptOf(remove.command), `rm -f '${key.name}'\nrm -f 'o'"'"'clock'"'"'.conf'`);
        assert.equal(remove.stdin.length, 0);
        assert.ok(!exists(key.name) && !exists(quoted.name) && exists(config.name));
    });

    it("a step failing on the host fails naming the resource and the step: write, remove, read, delete", async () => {
        const host = await newHost();
        const inputs = inputsFor(host, [config, key]);
        const fail = `echo "no space left" >&2; exit 3\n`;
        await assert.rejects(hostFilesProvider.create({ ...inputs, scripts: { ...inputs.scripts, create: fail } }),
            /^Error: lab-1 config write failed \(exit 3\): no space left$/);
        const { id, outs } = await hostFilesProvider.create(inputs);
        await assert.rejects(hostFilesProvider.update!(id, outs, { ...inputs, scripts: { ...inputs.scripts, update: fail } }),
            /^Error: lab-1 config write failed \(exit 3\): no space left$/);
        // The dropped key replaced by a directory with something in it: `rm -f` cannot remove it.
        fs.rmSync(path.join(host.dir, key.name));
        fs.mkdirSync(path.join(host.dir, key.name));
        fs.writeFileSync(path.join(host.dir, key.name, "x"), "");
        await assert.rejects(hostFilesProvider.update!(id, outs, inputsFor(host, [config])), /^Error: lab-1 config remove failed \(exit 1\): .*peer\.key/);
        await assert.rejects(hostFilesProvider.read!(id, { ...outs, scripts: { ...outs.scripts, inspect: fail } }),
            /^Error: lab-1 config read failed \(exit 3\): no space left$/);
        await assert.rejects(hostFilesProvider.delete!(id, { ...outs, scripts: { ...outs.scripts, remove: fail } }),
            /^Error: lab-1 config remove failed \(exit 3\): no space left$/);
    });
});

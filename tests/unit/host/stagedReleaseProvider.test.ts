/**
 * StagedRelease's dynamic provider (components/host/stagedRelease.ts), its methods called directly as
 * the engine calls them: diff as a table, and create, update, read and delete against a host on
 * loopback (loopbackShellHost.ts). The real scripts stage under the system's release dir, so the
 * host runs small ones of the same contract instead: `check` prints "staged" or what is wrong,
 * `stage` takes the tarball on stdin (or "downloads" it) and keeps it only if its sha256 matches,
 * `remove` removes it.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stagedReleaseProvider as provider } from "../../../components/host/stagedRelease";
import { SshConnection, readAttempts } from "../../../components/host/ssh";
import { ShellHost, closedPort, hostsPerDescribe, openFast, scriptOf } from "../loopbackShellHost";

interface Inputs {
    label: string;
    connection: SshConnection;
    tarball: string;
    sha256: string;
    source: { file: string } | { url: string };
    state: string;
    scripts: { check: string; stage: string; remove: string };
}

const shq = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

function scriptsFor(tarball: string, sha256: string, source: Inputs["source"]): Inputs["scripts"] {
    const t = shq(tarball);
    return {
        check: `set -eu\nif [ ! -f ${t} ]; then echo "tarball missing"\nelif [ "$(sha256sum < ${t} | cut -c1-64)" != ${shq(sha256)} ]; then echo "tarball differs"\nelse echo staged; fi\n`,
        stage: [
            `set -eu`, `tmp=$(mktemp .release.XXXXXX)`,
            "url" in source ? `cp ${shq(source.url.replace(/^file:\/\//, ""))} "$tmp"` : `cat > "$tmp"`,
            `[ "$(sha256sum < "$tmp" | cut -c1-64)" = ${shq(sha256)} ] || { rm -f "$tmp"; echo "checksum mismatch: want ${sha256}" >&2; exit 1; }`,
            `mv -f "$tmp" ${t}`, `echo "staged ${tarball}"`,
        ].join("\n") + "\n",
        remove: `set -eu\nrm -f ${t}\n`,
    };
}

/** The operator's temp dirs (removed after each test of the describe that makes them). */
const operatorDirs: string[] = [];

/** A release tarball on the operator's machine: random bytes, big enough to take several SSH packets. */
function release(name: string): { file: string; bytes: Buffer; sha256: string } {
    const bytes = crypto.randomBytes(300 * 1024);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "operator-"));
    operatorDirs.push(dir);
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return { file, bytes, sha256: crypto.createHash("sha256").update(bytes).digest("hex") };
}

function inputsFor(host: ShellHost, tarball: string, rel: { file: string; sha256: string }, source: Inputs["source"] = { file: rel.file }): Inputs {
    return { label: "lab-1 tarball", connection: host.connection, tarball, sha256: rel.sha256, source, state: "staged", scripts: scriptsFor(tarball, rel.sha256, source) };
}

describe("StagedRelease provider: diff (called directly)", () => {
    const conn = { host: "10.213.0.11", port: 22, user: "root", privateKey: "KEY", hostKey: "ssh-ed25519 AAAA1" };
    const base: Inputs = {
        label: "lab-1 tarball", connection: conn, tarball: "/var/lib/etcd-stack/releases/etcd-v3.6.16-linux-amd64.tar.gz", sha256: "a".repeat(64),
        source: { file: "/home/op/etcd-v3.6.16-linux-amd64.tar.gz" }, state: "staged",
        scripts: { check: "check a", stage: "stage a", remove: "remove a" },
    };
    const rows: Array<[string, Partial<Inputs>, boolean]> = [
        ["the same inputs", {}, false],
        ["the same file from another checkout's path", { source: { file: "/tmp/ci/etcd-v3.6.16-linux-amd64.tar.gz" } }, false],
        ["the same sha256 from a mirror instead of a local file", { source: { url: "https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz" } }, false],
        ["only the stage script (it follows the source)", { scripts: { ...base.scripts, stage: "stage from url" } }, false],
        ["another tarball path (another version)", { tarball: "/var/lib/etcd-stack/releases/etcd-v3.6.17-linux-amd64.tar.gz" }, true],
        ["another sha256", { sha256: "b".repeat(64) }, true],
        ["a refresh found it missing on the host", { state: "tarball missing" }, true],
        ["another check script", { scripts: { ...base.scripts, check: "check b" } }, true],
        ["another remove script", { scripts: { ...base.scripts, remove: "remove b" } }, true],
        ["the same machine, another login", { connection: { ...conn, user: "deploy" } }, true],
        ["the same machine, another key", { connection: { ...conn, privateKey: "KEY2" } }, true],
        ["another machine", { connection: { ...conn, host: "10.213.0.21" } }, true],
        ["a rebuilt host (new host key)", { connection: { ...conn, hostKey: "ssh-ed25519 AAAA2" } }, true],
    ];
    for (const [what, change, changes] of rows) {
        it(`${what}: ${changes ? "a change" : "no change"}, never a replacement`, async () => {
            assert.deepEqual(await provider.diff!("10.213.0.11:x", base, { ...base, ...change }), { changes });
        });
    }
});

describe("StagedRelease provider: create, update, read, delete against a host on loopback", () => {
    const hosts = hostsPerDescribe();
    afterEach(() => operatorDirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const v16 = "etcd-v3.6.16.tar.gz";
    const v17 = "etcd-v3.6.17.tar.gz";
    const onHost = (h: ShellHost, name: string) => path.join(h.dir, name);
    const scripts = (h: ShellHost) => h.execs.map((e) => scriptOf(e.command));

    it("create checks, then streams the operator's tarball on stdin; the host keeps it byte for byte", async () => {
        const host = await hosts();
        const rel = release(v16);
        const inputs = inputsFor(host, v16, rel);
        const { id, outs } = await provider.create(inputs);
        assert.equal(id, `127.0.0.1:${v16}`);
        assert.deepEqual(outs, inputs);
        assert.deepEqual(scripts(host), [inputs.scripts.check, inputs.scripts.stage]);
        assert.equal(host.execs[0].stdin.length, 0, "the check gets nothing on stdin");
        assert.ok(host.execs[1].stdin.equals(rel.bytes), "the tarball travels on the stage script's stdin");
        assert.ok(fs.readFileSync(onHost(host, v16)).equals(rel.bytes));
    });

    it("create stages nothing when the host already has the release (a run that stopped half-way)", async () => {
        const host = await hosts();
        const rel = release(v16);
        fs.copyFileSync(rel.file, onHost(host, v16));
        const inputs = inputsFor(host, v16, rel);
        await provider.create(inputs);
        assert.deepEqual(scripts(host), [inputs.scripts.check]);
    });

    it("create from a URL sends nothing on stdin: the host fetches it", async () => {
        const host = await hosts();
        const rel = release(v16);
        const inputs = inputsFor(host, v16, rel, { url: `file://${rel.file}` });
        await provider.create(inputs);
        assert.equal(host.execs.length, 2);
        assert.equal(host.execs[1].stdin.length, 0);
        assert.ok(fs.readFileSync(onHost(host, v16)).equals(rel.bytes));
    });

    it("create fails naming the step when the host refuses the checksum, and nothing is kept", async () => {
        const host = await hosts();
        const rel = release(v16);
        const inputs = inputsFor(host, v16, { ...rel, sha256: "0".repeat(64) });
        await assert.rejects(provider.create(inputs), /^Error: lab-1 tarball failed \(exit 1\): checksum mismatch: want 0{64}$/);
        assert.ok(!fs.existsSync(onHost(host, v16)));
    });

    it("update to another release on the same machine stages it, then removes the one it replaces", async () => {
        const host = await hosts();
        const r16 = release(v16);
        const r17 = release(v17);
        const { outs: olds } = await provider.create(inputsFor(host, v16, r16));
        const news = inputsFor(host, v17, r17);
        const { outs } = await provider.update!("id", olds, news);
        assert.deepEqual(outs, news);
        assert.deepEqual(scripts(host).slice(2), [news.scripts.check, news.scripts.stage, olds.scripts.remove]);
        assert.ok(fs.readFileSync(onHost(host, v17)).equals(r17.bytes));
        assert.ok(!fs.existsSync(onHost(host, v16)), "the replaced release is gone");
    });

    it("update to another release on another machine stages it there and removes nothing on either", async () => {
        const before = await hosts();
        const after = await hosts();
        const r16 = release(v16);
        const r17 = release(v17);
        const { outs: olds } = await provider.create(inputsFor(before, v16, r16));
        const news = inputsFor(after, v17, r17);
        await provider.update!("id", olds, news);
        assert.deepEqual(scripts(after), [news.scripts.check, news.scripts.stage]);
        assert.equal(before.execs.length, 2, "nothing more on the old machine");
        assert.ok(fs.existsSync(onHost(before, v16)));
    });

    it("update for another login to the same machine only checks: the release is staged there", async () => {
        const host = await hosts();
        const rel = release(v16);
        const { outs: olds } = await provider.create(inputsFor(host, v16, rel));
        const news = { ...olds, connection: { ...host.connection, user: "deploy" } };
        await openFast(news.connection);
        const { outs } = await provider.update!("id", olds, news);
        assert.deepEqual(outs, news);
        assert.deepEqual(scripts(host).slice(2), [olds.scripts.check]);
        assert.ok(fs.existsSync(onHost(host, v16)));
    });

    it("read reports what the host's check says: staged is no change; removed by hand is, and up stages it again", async () => {
        const host = await hosts();
        const rel = release(v16);
        const inputs = inputsFor(host, v16, rel);
        const { id, outs } = await provider.create(inputs);
        const fresh = await provider.read!(id, outs);
        assert.deepEqual(fresh, { id, props: inputs, inputs });
        assert.deepEqual(await provider.diff!(id, fresh.props, inputs), { changes: false });

        fs.rmSync(onHost(host, v16));
        const gone = await provider.read!(id, outs);
        assert.deepEqual(gone, { id, props: { ...inputs, state: "tarball missing" }, inputs: { ...inputs, state: "tarball missing" } });
        assert.deepEqual(await provider.diff!(id, gone.props, inputs), { changes: true });

        fs.writeFileSync(onHost(host, v16), "not the release");
        assert.equal((await provider.read!(id, outs)).props!.state, "tarball differs");

        await provider.update!(id, gone.props, inputs);
        assert.ok(fs.readFileSync(onHost(host, v16)).equals(rel.bytes), "staged again");
        assert.equal((await provider.read!(id, outs)).props!.state, "staged");
    });

    it("read of a host that does not answer resolves as not read, naming the host: a change the preview shows, and `up` stages there again", async () => {
        const host = await hosts();
        const rel = release(v16);
        const inputs = inputsFor(host, v16, rel);
        const { id, outs } = await provider.create(inputs);
        const down = { ...outs, connection: { ...outs.connection, port: await closedPort(), dialErrorLimit: 10, perDialTimeout: 2 } };
        const r = await provider.read!(id, down);
        assert.match(r.props!.state, new RegExp(`^not read: the host did not answer the refresh \\(lab-1 tarball: 127\\.0\\.0\\.1:${down.connection.port}: .*ECONNREFUSED.*\\(${readAttempts} failed attempts\\)\\)$`));
        assert.deepEqual(r.inputs, r.props);
        assert.deepEqual(await provider.diff!(id, r.props, { ...inputs, connection: down.connection }), { changes: true });
    });

    it("a check or a remove that fails fails the step naming it: check, remove, remove <the replaced tarball>", async () => {
        const host = await hosts();
        const rel = release(v16);
        const failing = `echo "disk gone" >&2; exit 4\n`;
        const broken = (i: Inputs, which: "check" | "remove"): Inputs => ({ ...i, scripts: { ...i.scripts, [which]: failing } });
        const inputs = inputsFor(host, v16, rel);
        await assert.rejects(provider.create(broken(inputs, "check")), /^Error: lab-1 tarball check failed \(exit 4\): disk gone$/);
        const { id, outs } = await provider.create(inputs);
        await assert.rejects(provider.read!(id, broken(outs, "check")), /^Error: lab-1 tarball check failed \(exit 4\): disk gone$/);
        await assert.rejects(provider.delete!(id, broken(outs, "remove")), /^Error: lab-1 tarball remove failed \(exit 4\): disk gone$/);
        const next = inputsFor(host, v17, release(v17));
        await assert.rejects(provider.update!(id, broken(outs, "remove"), next), /^Error: lab-1 tarball remove etcd-v3\.6\.16\.tar\.gz failed \(exit 4\): disk gone$/);
        assert.ok(fs.existsSync(onHost(host, v17)), "the new release was staged before the old one's removal failed");
    });

    it("delete runs the remove script", async () => {
        const host = await hosts();
        const inputs = inputsFor(host, v16, release(v16));
        const { id, outs } = await provider.create(inputs);
        await provider.delete!(id, outs);
        assert.equal(scripts(host)[2], inputs.scripts.remove);
        assert.ok(!fs.existsSync(onHost(host, v16)));
    });
});

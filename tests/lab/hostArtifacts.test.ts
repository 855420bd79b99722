/**
 * Lab: the product's rendered scripts, etcd config and systemd unit on three real
 * systemd hosts, with a real etcd 3.6 built from Go modules, over mTLS.
 *
 * The transport is the harness's ssh (see hostArtifacts.ts for why); every step and
 * every byte written comes from components/render.ts, in EtcdMember's order.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import * as paths from "../../components/paths";
import { clientUrl, renderPreflightScript, renderRestartScript, shq } from "../../components/render";
import { ClusterSpec, MemberSpec, RawClusterConfig, parseClusterSpec } from "../../components/spec";
import { cacheDir } from "../engine/engine";
import { readStackFile } from "../stackFile";
import { HostArtifacts, Transport } from "./hostArtifacts";
import { labAvailable, labSsh, labSshAsync, labUp } from "./lab";
import { KeyPairPem, TestPki, makeForeignClient, makeTestPki } from "./testPki";
import { skipIf, tarballMissing } from "../skip";


/** The lab stack's own config (stacks/Pulumi.lab.yaml) as a validated spec. */
function labSpec(overrides: Partial<RawClusterConfig> = {}): ClusterSpec {
    return parseClusterSpec({ ...readStackFile("lab"), ...overrides, hasSshKey: true } as RawClusterConfig);
}

/** Lab host name of a member: the host holding its address. */
function hostOf(member: MemberSpec): string {
    return `lab${Number(member.address.split(".")[3]) - 10}`;
}

const transport: Transport = (host, script, stdin) => labSsh(host, `bash -c ${shq(script)}`, stdin);

/** etcdctl from the same tarball, run on the VM side of the lab bridge. */
class Etcdctl {
    constructor(private readonly bin: string, private readonly dir: string) { }

    static extract(tarball: string): Etcdctl {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-etcdctl-"));
        const r = spawnSync("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1"]);
        assert.strictEqual(r.status, 0, String(r.stderr));
        return new Etcdctl(path.join(dir, "etcdctl"), dir);
    }

    /** Writes a client credential to files etcdctl reads (mode 0600). */
    credential(name: string, pair: KeyPairPem): { cert: string; key: string } {
        const cert = path.join(this.dir, `${name}.crt`);
        const key = path.join(this.dir, `${name}.key`);
        fs.writeFileSync(cert, pair.certPem, { mode: 0o600 });
        fs.writeFileSync(key, pair.privateKeyPem, { mode: 0o600 });
        return { cert, key };
    }

    run(endpoints: string, args: string[], tls: { ca?: string; cert?: string; key?: string }): { code: number; out: string } {
        const flags = [`--endpoints=${endpoints}`, "--dial-timeout=3s", "--command-timeout=5s"];
        if (tls.ca) flags.push(`--cacert=${tls.ca}`);
        if (tls.cert) flags.push(`--cert=${tls.cert}`, `--key=${tls.key}`);
        const r = spawnSync(this.bin, [...flags, ...args], { encoding: "utf8", timeout: 30_000 });
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** The lab stack's members, or `size` members named like them (lab-k on lab host k). */
function membersOf(size: number): Array<{ name: string; address: string }> {
    return Array.from({ length: size }, (_, i) => ({ name: `lab-${i + 1}`, address: `10.213.0.${11 + i}` }));
}

for (const size of [3, 5]) describe(`lab: rendered host artifacts bring up a ${size}-member etcd over mTLS`, function () {
    this.timeout(15 * 60_000);
    const tarball = path.join(cacheDir, "etcd/3.6.16/etcd-v3.6.16-linux-amd64.tar.gz");
    let spec: ClusterSpec;
    let pki: TestPki;
    let deploy: HostArtifacts;
    let etcdctl: Etcdctl;
    let ca = "";
    let admin: { cert: string; key: string };
    let endpoints = "";

    before(async function () {
        skipIf(this, labAvailable() ?? tarballMissing(tarball));
        spec = labSpec({ binary: { localTarball: tarball }, members: membersOf(size) });
        labUp(spec.members.length);
        pki = await makeTestPki(spec);
        const token = `${spec.clusterName}-${crypto.randomBytes(8).toString("hex")}`;
        deploy = new HostArtifacts(spec, pki, token, tarball, transport, hostOf);
        // Leftovers of an earlier run would make this a restart, not a bootstrap.
        for (const m of spec.members) deploy.destroyMember(m);
        labSshAll(spec, `rm -rf ${shq(spec.dirs.data)}`);
        etcdctl = Etcdctl.extract(tarball);
        ca = path.join(os.tmpdir(), `etcd-stack-ca-${process.pid}.crt`);
        fs.writeFileSync(ca, pki.ca.certPem);
        admin = etcdctl.credential("admin", pki.clients["admin"]);
        endpoints = spec.members.map((m) => clientUrl(spec, m)).join(",");
    });

    after(() => {
        etcdctl?.dispose();
        if (ca) fs.rmSync(ca, { force: true });
    });

    it("installs every member, starts them together and passes the health gate on each", () => {
        for (const m of spec.members) deploy.installMember(m);
        for (const m of spec.members) deploy.startMember(m);
        const names = spec.members.map((m) => m.name).sort().join(",");
        for (const m of spec.members) {
            const report = deploy.healthGate(m);
            console.log(`      ${report}`);
            assert.match(report, new RegExp(`sees members \\[${names}\\]`));
        }
    });

    it("answers `etcdctl endpoint health --cluster` with the admin certificate", () => {
        const r = etcdctl.run(endpoints, ["endpoint", "health", "--cluster"], { ca, ...admin });
        assert.strictEqual(r.code, 0, r.out);
        for (const m of spec.members) assert.match(r.out, new RegExp(`${clientUrl(spec, m).replace(/\./g, "\\.")} is healthy`));
    });

    it("refuses a client without a certificate and one from another CA", async () => {
        const noCert = etcdctl.run(endpoints, ["get", "x"], { ca });
        assert.notStrictEqual(noCert.code, 0, noCert.out);
        const foreignPair = await makeForeignClient();
        const foreign = etcdctl.credential("foreign", foreignPair);
        const other = etcdctl.run(endpoints, ["get", "x"], { ca, ...foreign });
        assert.notStrictEqual(other.code, 0, other.out);
        // etcdctl's retries may hide the reason behind a deadline: ask each member's TLS
        // listener directly. The admin certificate is the control that the member is up.
        for (const m of spec.members) {
            const at = { host: m.address, port: spec.ports.client, ca: pki.ca.certPem };
            assert.strictEqual(await tlsOutcome({ ...at, client: pki.clients["admin"] }), "accepted", m.name);
            assert.match(await tlsOutcome(at), /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/, m.name);
            assert.match(await tlsOutcome({ ...at, client: foreignPair }), /UNKNOWN_CA|BAD_CERTIFICATE|DECRYPT_ERROR/, m.name);
        }
    });

    it("has no plaintext listener: client and peer ports speak only TLS, metrics only on loopback", () => {
        for (const m of spec.members) {
            const plain = etcdctl.run(`http://${m.address}:${spec.ports.client}`, ["endpoint", "health"], {});
            assert.notStrictEqual(plain.code, 0, plain.out);
            const listeners = transport(hostOf(m), "ss -Htln", undefined).stdout;
            const open = listeners.split("\n").map((l) => l.trim().split(/\s+/)[3]).filter((a): a is string => !!a)
                .filter((a) => !a.endsWith(":22"));
            assert.deepStrictEqual(open.sort(), [
                `${m.address}:${spec.ports.client}`, `${m.address}:${spec.ports.peer}`,
                `127.0.0.1:${spec.ports.client}`, `127.0.0.1:${spec.ports.metrics}`,
            ].sort(), `${m.name}: ${listeners}`);
        }
    });

    it("replicates a put on one member to every other member", () => {
        const value = crypto.randomBytes(6).toString("hex");
        const [first, ...rest] = spec.members;
        assert.strictEqual(etcdctl.run(clientUrl(spec, first), ["put", "lab/replicated", value], { ca, ...admin }).code, 0);
        for (const m of rest) {
            const r = etcdctl.run(clientUrl(spec, m), ["get", "lab/replicated", "--print-value-only", "--consistency=s"], { ca, ...admin });
            assert.strictEqual(r.out.trim(), value, `${m.name}: ${r.out}`);
        }
    });

    it("keeps the CA key off every host and gives keys 0600 etcd:etcd", () => {
        const caKeyLine = pki.ca.privateKeyPem.split("\n")[1];
        for (const m of spec.members) {
            const host = hostOf(m);
            const leak = transport(host, `grep -rlF -- ${shq(caKeyLine)} /etc /var /root /tmp /usr/local 2>/dev/null || true`);
            assert.strictEqual(leak.stdout.trim(), "", `${m.name} holds the CA key in ${leak.stdout}`);
            // Each host holds only its own keys: another member's key material is absent.
            for (const other of spec.members.filter((o) => o !== m)) {
                const otherKey = pki.members[other.name].server.privateKeyPem.split("\n")[1];
                assert.strictEqual(transport(host, `grep -rlF -- ${shq(otherKey)} /etc /var 2>/dev/null || true`).stdout.trim(), "");
            }
            const stat = (p: string) => transport(host, `stat -c '%a %U:%G' ${shq(p)}`).stdout.trim();
            for (const key of ["serverKey", "peerKey"] as const) assert.strictEqual(stat(`${spec.dirs.pki}/${paths.pkiFiles[key]}`), "600 etcd:etcd");
            for (const cert of ["ca", "serverCert", "peerCert"] as const) assert.strictEqual(stat(`${spec.dirs.pki}/${paths.pkiFiles[cert]}`), "644 etcd:etcd");
            assert.strictEqual(stat(spec.dirs.data), "700 etcd:etcd");
            assert.strictEqual(stat(spec.dirs.pki), "700 etcd:etcd");
            assert.strictEqual(transport(host, etcdProcessOwners).stdout.trim(), "etcd");
        }
    });

    it("applies a changed tuning value one member at a time, writes succeeding throughout", async () => {
        const changed = labSpec({
            binary: { localTarball: tarball },
            members: membersOf(size),
            tuning: { ...spec.tuning, snapshotCount: spec.tuning.snapshotCount + 1 },
        });
        for (const m of spec.members) {
            deploy.rewriteConfig(m, changed);
            // While this member restarts, the others keep quorum: writes through them keep working.
            const others = spec.members.filter((o) => o !== m).map((o) => clientUrl(spec, o)).join(",");
            const restart = labSshAsync(hostOf(m), `bash -c ${shq(renderRestartScript(changed))}`);
            let done = false;
            void restart.then(() => { done = true; });
            let writes = 0;
            while (!done) {
                const put = etcdctl.run(others, ["put", "lab/during-restart", String(writes)], { ca, ...admin });
                assert.strictEqual(put.code, 0, `write ${writes} while ${m.name} restarts: ${put.out}`);
                writes++;
                await new Promise((r) => setTimeout(r, 200));
            }
            const report = await restart;
            assert.strictEqual(report.code, 0, report.stderr);
            assert.match(report.stdout, /restarted etcd\.service on .*; healthy/);
            assert.ok(writes > 0, "at least one write happened during the restart");
            console.log(`      ${m.name}: ${writes} writes succeeded during its restart`);
            // Between two restarts the whole cluster must be healthy again (quorum held).
            const health = etcdctl.run(endpoints, ["endpoint", "health"], { ca, ...admin });
            assert.strictEqual(health.code, 0, `after restarting ${m.name}: ${health.out}`);
            const conf = transport(hostOf(m), `grep snapshot-count ${shq(`${spec.dirs.config}/${paths.configFileName}`)}`).stdout;
            assert.match(conf, new RegExp(`snapshot-count: ${changed.tuning.snapshotCount}`));
        }
        const r = etcdctl.run(endpoints, ["get", "lab/replicated", "--print-value-only"], { ca, ...admin });
        assert.strictEqual(r.code, 0, r.out);
        assert.notStrictEqual(r.out.trim(), "", "data survives the rolling restart");
    });

    it("destroy leaves no etcd unit, process, binary or file on any host", () => {
        for (const m of spec.members) deploy.destroyMember(m);
        for (const m of spec.members) {
            const host = hostOf(m);
            const left = transport(host, [
                `systemctl list-unit-files ${paths.unitName} --no-legend | grep . && echo unit-left`,
                `[ -n "$(${etcdProcessOwners})" ] && echo process-left`,
                `ls ${paths.binDir}/etcd ${paths.binDir}/etcdctl ${paths.binDir}/etcdutl 2>/dev/null`,
                `ls -A ${shq(spec.dirs.config)} ${shq(spec.dirs.data)} 2>/dev/null`,
                `true`,
            ].join("; "));
            assert.strictEqual(left.stdout.trim(), "", `${m.name}: ${left.stdout}`);
        }
    });
});

/**
 * Opens a TLS connection to a member as a client would and reports how the server
 * answered: "accepted" if it kept the connection, otherwise the TLS alert's code.
 */
function tlsOutcome(opts: { host: string; port: number; ca: string; client?: KeyPairPem }): Promise<string> {
    return new Promise((resolve) => {
        const socket = tls.connect({
            host: opts.host, port: opts.port, ca: opts.ca, ALPNProtocols: ["h2"],
            cert: opts.client?.certPem, key: opts.client?.privateKeyPem,
        });
        const done = (outcome: string) => { socket.destroy(); resolve(outcome); };
        // With TLS 1.3 the server judges the client certificate after the client's handshake
        // ends, so wait a moment for its alert before calling the connection accepted.
        socket.once("secureConnect", () => setTimeout(() => done("accepted"), 1000));
        socket.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
        socket.once("close", () => done("closed"));
        socket.setTimeout(10_000, () => done("timeout"));
    });
}

/** Owners of running etcd processes, from /proc (minimal hosts have no procps). */
const etcdProcessOwners = `for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = etcd ] && stat -c %U $p; done; true`;

function labSshAll(spec: ClusterSpec, command: string): void {
    for (const m of spec.members) transport(hostOf(m), command);
}

describe("lab: failures on real hosts are named and explained", function () {
    this.timeout(5 * 60_000);

    before(function () {
        skipIf(this, labAvailable());
        labUp(3);
    });

    it("preflight reports a clock behind the certificates and too little disk together, changing nothing", () => {
        const spec = labSpec({ binary: { localTarball: "/dev/null" }, minFreeDiskMiB: 100_000_000 });
        const member = spec.members[0];
        const host = hostOf(member);
        transport(host, `rm -rf ${shq(spec.dirs.config)}`);
        const inAnHour = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, "Z");
        const r = transport(host, renderPreflightScript(spec, member, inAnHour));
        assert.notStrictEqual(r.code, 0);
        assert.match(r.stderr, new RegExp(`preflight failed on ${member.name}:`));
        assert.match(r.stderr, /clock is 3[56]\d\ds behind the operator/);
        assert.match(r.stderr, /MiB free under \/var\/lib(\/etcd)? \(need 100000000 MiB\)/);
        assert.doesNotMatch(r.stdout, /arch=/);
        assert.strictEqual(transport(host, `test -e ${shq(spec.dirs.config)} && echo present || true`).stdout.trim(), "");
    });

    it("the health gate times out with the member's journal when quorum cannot form", async () => {
        const tarball = path.join(cacheDir, "etcd/3.6.16/etcd-v3.6.16-linux-amd64.tar.gz");
        const missing = tarballMissing(tarball);
        if (missing) assert.fail(missing);
        const spec = labSpec({ binary: { localTarball: tarball }, healthTimeoutSeconds: 15 });
        const pki = await makeTestPki(spec);
        const deploy = new HostArtifacts(spec, pki, "lab-gate-timeout", tarball, transport, hostOf);
        const [alone] = spec.members;
        for (const m of spec.members) deploy.destroyMember(m);
        transport(hostOf(alone), `rm -rf ${shq(spec.dirs.data)}`);
        try {
            // Only one of three members starts: it can never be healthy.
            deploy.installMember(alone);
            deploy.startMember(alone);
            assert.throws(() => deploy.healthGate(alone), (e: Error) => {
                assert.match(e.message, /lab-1: health gate failed/);
                assert.match(e.message, /member lab1 not healthy after 15s; last journal lines:/);
                console.log(e.message.split("\n").slice(0, 6).map((l) => `      ${l.slice(0, 150)}`).join("\n"));
                assert.match(e.message, /etcd\[\d+\]: /); // the journal tail itself: lines etcd logged
                return true;
            });
        } finally {
            deploy.destroyMember(alone);
        }
    });
});

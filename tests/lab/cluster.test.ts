/**
 * Lab, real engine: the program itself (`pulumi up` through the Automation API, the plugins
 * built by scripts/toolchain.sh) deploys 3 members on lab hosts, and the hosts and the cluster
 * are checked from the outside. The one deploy path of the tests. A roll on 5 members runs in
 * membership.test.ts, on its cluster scaled to 5 (issue 26: one cold 5-member deploy fewer).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog, engineUnavailable, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Credentials, Etcdctl, clusterVersion, tlsOutcome } from "./etcdClient";
import { rollUnderWatch, tuningChanges } from "./roll";
import { KeyPairPem, caFromPem, issue, makeCa, makeForeignClient } from "./handMadePki";
import { labAvailable, labSsh, labUp } from "./lab";
import { discardStack, hostOf, indent, labMembers, labStackConfig, labTarball, leftovers, releaseTarball, mainPid, planRecord, wipeHosts } from "./labStack";
import { count } from "./report";
import { PlanWatch, checkRoll, hostFingerprint } from "./planCheck";


describe("lab: the real engine deploys 3 members", function () {
    const size = 3;
    this.timeout(20 * 60_000);
    const members = labMembers(size);
    const names = members.map((m) => m.name);
    const initialVersion = "3.5.35";
    const initialTarball = releaseTarball(initialVersion);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let admin: Credentials;
    let adminPair: KeyPairPem;
    let caPem = "";
    let endpoints = "";
    // Where the kube-apiserver certificate's files go (its `dir`): a consumer's host, played by this machine.
    const consumerDir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-consumer-"));
    // The plans the previews print (issue 28), each held against the up that follows it. The first
    // up, the downgrade and the failing roll below run without a preview: no plan to compare.
    const plans = new PlanWatch();

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball) ?? tarballMissing(initialTarball));
        labUp(size);
        wipeHosts(size);
        // The cluster starts one minor back, so that a version change is a real upgrade.
        scratch = await scratchStack("lab", {
            ...labStackConfig(size, initialTarball), version: initialVersion,
            clientCertificates: [{ name: "kube-apiserver", commonName: "kube-apiserver", dir: path.join(consumerDir, "kube-apiserver") }],
        });
        etcdctl = Etcdctl.extract(labTarball);
        plans.attach(scratch);
    });

    after(async () => {
        etcdctl?.dispose();
        await discardStack(scratch, size);
        fs.rmSync(consumerDir, { recursive: true, force: true });
    });

    it("`up` brings every member to healthy over mTLS, with no warning and no secret in the output", async () => {
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        console.log(indent(log.lines.filter((l) => /Resources:|created|Duration/.test(l)).slice(-4).join("")));
        assert.strictEqual(up.summary.result, "succeeded");
        assert.doesNotMatch(log.output, /warning/i);
        // A new cluster's members start together: every member's join began before any member's
        // service step was done (in a roll, a member's join waits for the previous member's service).
        const at = (m: Map<string, number>, n: string) => { const t = m.get(n); assert.ok(t !== undefined, `no step ${n} in the up`); return t; };
        const lastJoin = Math.max(...names.map((m) => at(log.began, `${m}-join`)));
        const firstService = Math.min(...names.map((m) => at(log.ended, `${m}-service`)));
        console.log(`      members' joins began within ${lastJoin - Math.min(...names.map((m) => at(log.began, `${m}-join`)))} ms; the first service step ended ${firstService - lastJoin} ms after the last join began`);
        assert.ok(lastJoin < firstService, "a member's join waited for another member's service: the new cluster's members did not start together");
        count("secretsFound", (log.output.match(/PRIVATE KEY/g) ?? []).length);
        assert.doesNotMatch(log.output, /PRIVATE KEY/);
        const outputs = await scratch.stack.outputs();
        assert.ok(outputs["adminKeyPem"].secret, "the admin key output is a secret");
        caPem = String(outputs["caCertPem"].value);
        adminPair = { certPem: String(outputs["adminCertPem"].value), privateKeyPem: String(outputs["adminKeyPem"].value) };
        admin = etcdctl.credentials("admin", caPem, adminPair);
        endpoints = String(outputs["clientEndpoints"].value);
        const health = await etcdctl.run(endpoints, ["endpoint", "health", "--cluster"], admin);
        assert.strictEqual(health.code, 0, health.out);
        assert.strictEqual((health.out.match(/is healthy/g) ?? []).length, size, health.out);
    });

    /** Resources of the stack's state with their secrets in plaintext (never printed). */
    function stateWithSecrets(): Array<{ urn: string; type: string; outputs?: Record<string, unknown> }> {
        const exported = scratch.cli(["stack", "export", "--show-secrets"]);
        assert.strictEqual(exported.code, 0, exported.stderr);
        return JSON.parse(exported.stdout).deployment.resources;
    }

    /** An output of a resource in the state; `export --show-secrets` shows a secret as { plaintext: <JSON> }. */
    function stateOutput(resources: ReturnType<typeof stateWithSecrets>, type: string, name: string, output: string): string {
        let v = resources.find((x) => x.type === type && x.urn.endsWith(`::${name}`))?.outputs?.[output] as unknown;
        if (typeof v === "object" && v !== null && "plaintext" in v) v = JSON.parse(String((v as { plaintext: string }).plaintext));
        assert.ok(typeof v === "string" && v !== "", `no ${output} of ${name} in the state`);
        return v;
    }

    it("refuses, at every listener, a client without a certificate and one from another CA, and a client certificate at the peer port; nothing listens in plaintext", async () => {
        const foreign = await makeForeignClient();
        const state = stateWithSecrets();
        // The cluster's own CA, but a certificate that expired yesterday.
        const ownCa = await caFromPem(caPem, stateOutput(state, "tls:index/privateKey:PrivateKey", "etcd-ca-key", "privateKeyPem"));
        const day = 24 * 3600 * 1000;
        const expired = await issue(ownCa, "root", undefined, { notBefore: new Date(Date.now() - 2 * day), notAfter: new Date(Date.now() - day) });
        // The members are probed at the same time (each probe is a TLS handshake from a new process).
        await Promise.all(members.map(async (m) => {
            // The control at each port: the admin client certificate at the client port, this
            // member's own peer certificate at the peer port (connecting from its own host).
            const peerPair = {
                certPem: stateOutput(state, "tls:index/locallySignedCert:LocallySignedCert", `${m.name}-certs-peer-cert`, "certPem"),
                privateKeyPem: stateOutput(state, "tls:index/privateKey:PrivateKey", `${m.name}-certs-peer-key`, "privateKeyPem"),
            };
            for (const [port, control] of [[paths.defaultPorts.client, adminPair], [paths.defaultPorts.peer, peerPair]] as const) {
                const at = { host: m.address, port, ca: caPem };
                // A peer certificate is accepted from the member's own address (etcd checks its IP SANs).
                const from = port === paths.defaultPorts.peer ? { fromNetns: `etcdlab-${hostOf(m.name)}` } : {};
                assert.strictEqual(await tlsOutcome({ ...at, client: control, ...from }), "accepted", `${m.name}:${port} (control)`);
                assert.match(await tlsOutcome(at), /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/, `${m.name}:${port} without a certificate`);
                assert.match(await tlsOutcome({ ...at, client: foreign }), /UNKNOWN_CA|BAD_CERTIFICATE|DECRYPT_ERROR/, `${m.name}:${port} foreign CA`);
                assert.match(await tlsOutcome({ ...at, client: expired }), /CERTIFICATE_EXPIRED|BAD_CERTIFICATE/, `${m.name}:${port} expired certificate`);
            }
            // Same CA, but a client certificate: the peer port accepts only the peer CN.
            assert.match(await tlsOutcome({ host: m.address, port: paths.defaultPorts.peer, ca: caPem, client: adminPair }),
                /BAD_CERTIFICATE|HANDSHAKE_FAILURE|CERTIFICATE_UNKNOWN/, `${m.name}: the admin client certificate at the peer port`);
            const plain = await etcdctl.run(`http://${m.address}:${paths.defaultPorts.client}`, ["endpoint", "health"], { ca: admin.ca });
            assert.notStrictEqual(plain.code, 0, plain.out);
            const listeners = labSsh(hostOf(m.name), "ss -Htln").stdout;
            const open = listeners.split("\n").map((l) => l.trim().split(/\s+/)[3]).filter((a): a is string => !!a && !a.endsWith(":22"));
            assert.deepStrictEqual(open.sort(), [
                `${m.address}:${paths.defaultPorts.client}`, `${m.address}:${paths.defaultPorts.peer}`,
                `127.0.0.1:${paths.defaultPorts.client}`, `127.0.0.1:${paths.defaultPorts.metrics}`,
            ].sort(), `${m.name}: ${listeners}`);
        }));
    });

    it("the unit's hardening: in etcd's own mount namespace, even root can write only under the data dir", () => {
        for (const m of members) {
            const probe = (dir: string) => `nsenter -t "$pid" -m -- sh -c 'touch ${dir}/.etcd-stack-probe && rm -f ${dir}/.etcd-stack-probe' 2>/dev/null && echo "writable ${dir}" || echo "read-only ${dir}"`;
            const out = labSsh(hostOf(m.name), [`pid=$(systemctl show -p MainPID --value ${paths.unitName})`,
                ...["/var/lib/etcd", "/etc/etcd", "/usr/local/bin", "/var/lib", "/root"].map(probe)].join("; ")).stdout;
            assert.strictEqual(out, ["writable /var/lib/etcd", "read-only /etc/etcd", "read-only /usr/local/bin", "read-only /var/lib", "read-only /root", ""].join("\n"), m.name);
        }
    });

    it("replicates a put on one member to every other member", async () => {
        const value = crypto.randomBytes(6).toString("hex");
        const url = (m: { address: string }) => `https://${m.address}:${paths.defaultPorts.client}`;
        assert.strictEqual((await etcdctl.run(url(members[0]), ["put", "lab/replicated", value], admin)).code, 0);
        for (const m of members.slice(1)) {
            const r = await etcdctl.run(url(m), ["get", "lab/replicated", "--print-value-only", "--consistency=s"], admin);
            assert.strictEqual(r.out.trim(), value, `${m.name}: ${r.out}`);
        }
    });

    it("a named client certificate from the outputs, in the files its flags name, works with kube-apiserver's and flannel's flags; another CA's certificate there is refused", async () => {
        const outputs = await scratch.stack.outputs();
        assert.ok(!outputs["clientCertificates"].secret, "the clientCertificates output as a whole is not a secret");
        type Entry = { commonName: string; certPem: string; keyPem: string; kubeApiserverFlags: string; flannelFlags: string };
        const all = outputs["clientCertificates"].value as Record<string, Entry>;
        assert.deepStrictEqual(Object.keys(all).sort(), ["apiserver-etcd-client", "healthcheck", "kube-apiserver"]);
        const c = all["kube-apiserver"];
        assert.strictEqual(c.commonName, "kube-apiserver");

        // Without --show-secrets the key alone is masked: the flags and the certificate are plain.
        const masked = scratch.cli(["stack", "output", "clientCertificates", "--json"]);
        assert.strictEqual(masked.code, 0, masked.stderr);
        count("secretsFound", (masked.stdout.match(/PRIVATE KEY/g) ?? []).length);
        assert.doesNotMatch(masked.stdout, /PRIVATE KEY/);
        const shown = JSON.parse(masked.stdout)["kube-apiserver"];
        assert.strictEqual(shown.keyPem, "[secret]");
        assert.deepStrictEqual([shown.certPem, shown.kubeApiserverFlags, shown.flannelFlags], [c.certPem, c.kubeApiserverFlags, c.flannelFlags]);

        // The flags, taken apart as kube-apiserver and flanneld would read them.
        const parse = (flags: string, prefix: string) => Object.fromEntries(flags.split(" ").map((f) => {
            assert.ok(f.startsWith(prefix), `${f} is not a ${prefix}* flag`);
            const eq = f.indexOf("=");
            return [f.slice(prefix.length, eq), f.slice(eq + 1)];
        }));
        const kube = parse(c.kubeApiserverFlags, "--etcd-");
        const flannel = parse(c.flannelFlags, "-etcd-");
        const dir = path.join(consumerDir, "kube-apiserver");
        assert.deepStrictEqual(kube, { servers: endpoints, cafile: path.join(dir, "ca.crt"),
            certfile: path.join(dir, "kube-apiserver.crt"), keyfile: path.join(dir, "kube-apiserver.key") });
        assert.deepStrictEqual(flannel, { endpoints: kube.servers, cafile: kube.cafile, certfile: kube.certfile, keyfile: kube.keyfile });

        // The files, written as the README's commands write them: the key 0600.
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(kube.cafile, String(outputs["caCertPem"].value));
        fs.writeFileSync(kube.certfile, c.certPem);
        fs.writeFileSync(kube.keyfile, c.keyPem, { mode: 0o600 });
        assert.strictEqual(fs.statSync(kube.keyfile).mode & 0o777, 0o600);
        // It is the certificate configured: CN kube-apiserver, signed by the cluster's CA, matching the key.
        const cert = new crypto.X509Certificate(c.certPem);
        assert.match(cert.subject, /^CN=kube-apiserver$/m);
        assert.ok(cert.verify(new crypto.X509Certificate(caPem).publicKey), "not signed by the cluster's CA");
        assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(c.keyPem)), "keyPem is not the certificate's key");

        // kube-apiserver's flags write, flannel's read it back (etcdctl with the flags' values).
        const value = crypto.randomBytes(6).toString("hex");
        const asKube = { ca: kube.cafile, cert: kube.certfile, key: kube.keyfile };
        const put = await etcdctl.run(kube.servers, ["put", "lab/consumer", value], asKube);
        assert.strictEqual(put.code, 0, put.out);
        const got = await etcdctl.run(flannel.endpoints, ["get", "lab/consumer", "--print-value-only"], { ca: flannel.cafile, cert: flannel.certfile, key: flannel.keyfile });
        assert.strictEqual(got.code, 0, got.out);
        assert.strictEqual(got.out.trim(), value);

        // The same files holding another CA's certificate for the same CN: refused, nothing written.
        const foreign = await issue(await makeCa("foreign-ca"), "kube-apiserver");
        fs.writeFileSync(kube.certfile, foreign.certPem);
        fs.writeFileSync(kube.keyfile, foreign.privateKeyPem);
        const refused = await etcdctl.run(kube.servers, ["put", "lab/consumer", "foreign"], asKube);
        assert.notStrictEqual(refused.code, 0, "a certificate not from the outputs was accepted");
        const after = await etcdctl.run(endpoints, ["get", "lab/consumer", "--print-value-only"], admin);
        assert.strictEqual(after.out.trim(), value, after.out);
    });

    it("puts each key only on its own host, the CA key on none, every managed file with its mode and owner, no key in plaintext in the state", () => {
        const plain = scratch.cli(["stack", "export"]);
        assert.strictEqual(plain.code, 0, plain.stderr);
        count("secretsFound", (plain.stdout.match(/PRIVATE KEY/g) ?? []).length);
        assert.doesNotMatch(plain.stdout, /PRIVATE KEY/, "a private key is stored in plaintext in the state");
        const resources = stateWithSecrets();
        const keyBody = (name: string) => {
            const pem = stateOutput(resources, "tls:index/privateKey:PrivateKey", name, "privateKeyPem");
            assert.match(String(pem), /^-----BEGIN [A-Z ]*PRIVATE KEY-----\n/, `no key ${name} in the state`);
            const line = String(pem).split("\n")[1]; // one base64 line identifies the key; it is never printed
            assert.ok(line.length >= 40, `${name}: key line too short to identify it`);
            return line;
        };
        // Every key by one of its lines: the CA's, and each member's server and peer keys.
        const keys = new Map<string, string>([[keyBody("etcd-ca-key"), "the CA key"]]);
        for (const other of names) for (const kind of ["server", "peer"]) keys.set(keyBody(`${other}-certs-${kind}-key`), `${other}'s ${kind} key`);
        for (const m of members) {
            const host = hostOf(m.name);
            // One search per host for every key at once (-a: binary files such as journals too): "file:line" per find.
            const finds = labSsh(host, `grep -rFoa -f /dev/stdin /etc /var /root /tmp /usr/local 2>/dev/null || true`, [...keys.keys()].join("\n") + "\n").stdout;
            const where = new Map<string, string[]>();
            for (const f of finds.split("\n").filter((l) => l.includes(":"))) {
                const at = f.lastIndexOf(":");
                const key = keys.get(f.slice(at + 1));
                if (key) where.set(key, [...(where.get(key) ?? []), f.slice(0, at)]);
            }
            const expected = new Map([`${m.name}'s server key`, `${m.name}'s peer key`].map((k, i) => [k, [`/etc/etcd/pki/${i === 0 ? "server" : "peer"}.key`]]));
            assert.deepStrictEqual([...where.entries()].sort(), [...expected.entries()].sort(), `${m.name}: the keys it holds, and where`);
            // The files the program manages on this host, from its own state, with the modes paths.ts declares.
            const files = resources.filter((r) => new RegExp(`::${m.name}-(files|config)-write$`).test(r.urn)).flatMap((r) => r.outputs?.order as string[]);
            assert.strictEqual(files.length, 8, files.join(", "));
            const want = (f: string) => f.endsWith(".key") ? `${Number(paths.modes.privateKey).toString()} etcd:etcd`
                : f.endsWith(".crt") ? `${Number(paths.modes.certificate)} etcd:etcd` : `${Number(paths.modes.config)} root:root`;
            const stats = labSsh(host, [
                `stat -c '%n %a %U:%G' ${[...files, "/var/lib/etcd", "/etc/etcd/pki"].join(" ")}`,
                `for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = etcd ] && stat -c 'etcd-process %U' $p; done; true`,
            ].join("; ")).stdout.trim().split("\n");
            assert.deepStrictEqual(stats, [...files.map((f) => `${f} ${want(f)}`), "/var/lib/etcd 700 etcd:etcd", "/etc/etcd/pki 700 etcd:etcd", "etcd-process etcd"],
                `${m.name}: modes and owners, and the user etcd runs as`);
        }
    });

    it("a second preview shows no changes, and its plan says nothing", async () => {
        const preview = await scratch.stack.preview();
        const changed = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepStrictEqual(changed, []);
        assert.deepStrictEqual(plans.take().actions.map((a) => a.kind), ["nothing"]);
    });

    /** The cluster's member IDs (a roll neither adds nor removes one). */
    async function memberIds(): Promise<string[]> {
        const r = await etcdctl.run(endpoints, ["member", "list", "-w", "simple"], admin);
        assert.strictEqual(r.code, 0, r.out);
        return r.out.trim().split("\n").map((l) => l.split(", ")[0]).sort();
    }

    /**
     * A rolling change on this cluster, checked from outside (tests/lab/roll.ts), and its preview's
     * plan held against it (planCheck.ts checkRoll): the members the journals show restarted, in order,
     * are the plan's, each once; the up's hand-offs follow the plan's; no member joined or left.
     */
    const roll = async (change: Record<string, unknown>, expectedChanges: string[], witness: string, kind: "restart" | "upgrade" = "restart") => {
        const ids = await memberIds();
        const since = Date.now() / 1000;
        const log = await rollUnderWatch({ scratch, etcdctl, admin, endpoints, members }, change, expectedChanges, witness);
        const plan = plans.take();
        checkRoll(plan, kind, members, since, log);
        assert.deepStrictEqual(await memberIds(), ids, "the roll changed the cluster's members");
        return { plan, since };
    };

    it("a tuning change previews as config files, services and gates, and rolls one member at a time under a writer", async () => {
        const { plan } = await roll({ tuning: { snapshotCount: 10001 } }, tuningChanges(names), "/etc/etcd/etcd.conf.yml");
        assert.strictEqual(plan.actions[0].summary, `restart ${names.join(" → ")}, one at a time, leader last (config changed)`);
    });

    it("new certificates (a validity change) roll the same way, one member at a time", async () => {
        await roll({ certValidityHours: 8000 }, [
            ...names.flatMap((m) => [
                `${m}-certs-server-cert`, `${m}-certs-peer-cert`, `${m}-files-write`,
                `${m}-preflight`, `${m}-prepare`, `${m}-service`]),
            "etcd-health", planRecord,
            ...["admin", "healthcheck", "apiserver-etcd-client", "kube-apiserver"].map((c) => `etcd-client-${c}-cert`),
        ], "/etc/etcd/pki/server.crt").then(({ plan }) => assert.match(plan.actions[0].summary, /^restart lab-1 → lab-2 → lab-3, .*\(certificates changed\)$/));
        // The clients' certificates were re-issued too: take the new admin one.
        const outputs = await scratch.stack.outputs();
        adminPair = { certPem: String(outputs["adminCertPem"].value), privateKeyPem: String(outputs["adminKeyPem"].value) };
        admin = etcdctl.credentials("admin", caPem, adminPair);
    });

    it(`a version change (${initialVersion} -> 3.6.16) upgrades binaries and members one at a time`, async () => {
        const before = await etcdctl.run(endpoints, ["endpoint", "status", "-w", "json"], admin);
        assert.strictEqual((before.out.match(/"version":"3\.5\.35"/g) ?? []).length, size, before.out);
        assert.strictEqual(await clusterVersion(members[0].address, caPem, adminPair), "3.5.0");
        const { plan, since } = await roll({ version: "3.6.16", binary: { localTarball: labTarball } },
            ["etcd-health", planRecord, ...names.flatMap((m) => [`${m}-tarball`, `${m}-binaries`, `${m}-config-write`, `${m}-service`])], "/usr/local/bin/etcd", "upgrade");
        assert.match(plan.actions[0].summary, new RegExp(`^upgrade etcd ${initialVersion.replace(/\./g, "\\.")} → 3\\.6\\.16 on lab-1 → lab-2 → lab-3,`));
        // The plan's "snapshot, binaries, restart" on each member in turn: each member's snapshot was
        // taken in this up, after the member before it restarted and before its own restart.
        const starts = names.map((m) => Number(labSsh(hostOf(m), `journalctl -u ${paths.unitName} -o short-unix --no-pager --since @${Math.floor(since)} | grep ' Started ' | tail -1`).stdout.split(" ")[0]));
        names.forEach((m, i) => {
            const snap = Number(labSsh(hostOf(m), `stat -c %.6Y ${paths.snapshotDir}/pre-upgrade-${initialVersion}-to-3.6.16-*.db`).stdout.trim());
            assert.ok(snap > since && snap < starts[i], `${m}: its snapshot (${snap}) was taken in this up, before its restart (${starts[i]})`);
            if (i > 0) assert.ok(snap > starts[i - 1], `${m}'s snapshot (${snap}) was taken after ${names[i - 1]} restarted (${starts[i - 1]})`);
        });
        const after = await etcdctl.run(endpoints, ["endpoint", "status", "-w", "json"], admin);
        assert.strictEqual((after.out.match(/"version":"3\.6\.16"/g) ?? []).length, size, after.out);
        // The cluster version (what /version calls etcdcluster) follows once every member runs 3.6.
        const deadline = Date.now() + 30_000;
        let reported = await clusterVersion(members[0].address, caPem, adminPair);
        while (reported !== "3.6.0" && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1000));
            reported = await clusterVersion(members[0].address, caPem, adminPair);
        }
        assert.strictEqual(reported, "3.6.0");
        // Each member snapshotted its data (checked with etcdutl) before its binaries changed.
        for (const m of names) {
            assert.match(labSsh(hostOf(m), `ls ${paths.snapshotDir}`).stdout, /^pre-upgrade-3\.5\.35-to-3\.6\.16-\d{8}T\d{6}Z\.db$/m, m);
        }
    });

    it("a downgrade (3.6.16 -> 3.5.35) is refused before any member changes", async () => {
        const pids = names.map((m) => mainPid(hostOf(m)));
        scratch.setConfig({ version: initialVersion, binary: { localTarball: initialTarball } });
        const log = new StepLog();
        await assert.rejects(scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent }));
        assert.match(log.output, /refusing to change etcd 3\.6\.16 to 3\.5\.35 on lab\d: a downgrade is not supported; nothing was changed/);
        assert.deepStrictEqual(names.map((m) => mainPid(hostOf(m))), pids, "a member restarted");
        for (const m of names) assert.match(labSsh(hostOf(m), `${paths.binDir}/etcd --version`).stdout, /etcd Version: 3\.6\.16/, m);
        scratch.setConfig({ version: "3.6.16", binary: { localTarball: labTarball } });
        assert.strictEqual((await scratch.stack.up()).summary.result, "succeeded");
    });

    it("a member that does not come back stops the roll there, naming it and why; the member after it is untouched", async () => {
        // lab-2's etcd keeps running, but its next start fails (a drop-in systemd reads at the
        // restart's daemon-reload, standing in for a disk or a binary that broke meanwhile).
        const dropIn = `/etc/systemd/system/${paths.unitName}.d/zz-lab-fault.conf`;
        labSsh("lab2", `mkdir -p ${path.dirname(dropIn)} && printf '[Service]\\nExecStartPre=/bin/sh -c "echo lab fault: the data disk is gone >&2; exit 1"\\n' > ${dropIn}`);
        const pids = names.map((m) => mainPid(hostOf(m)));
        const lab3Config = labSsh("lab3", "cat /etc/etcd/etcd.conf.yml").stdout;
        const log = new StepLog();
        try {
            scratch.setConfig({ tuning: { snapshotCount: 10002 }, healthTimeoutSeconds: 20 });
            await assert.rejects(scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent }));
        } finally {
            labSsh("lab2", `rm -f ${dropIn}; systemctl daemon-reload`);
        }
        const failure = log.output.split("\n").filter((l) => /not healthy after|did not start|lab fault/.test(l));
        console.log(indent(failure.slice(0, 3).join("\n").slice(0, 600)));
        // Failing before etcd runs, it is never seen running (systemd retries every 5 s): either wait names lab-2.
        assert.match(log.output, /member lab-2 (not healthy after 20s|did not start a new etcd process within 20s); last journal lines:/);
        assert.match(log.output, /lab fault: the data disk is gone/, "the journal says why");
        assert.notStrictEqual(mainPid("lab1"), pids[0], "lab-1 restarted, before lab-2");
        assert.strictEqual(mainPid("lab3"), pids[2], "lab-3 restarted");
        assert.strictEqual(labSsh("lab3", "cat /etc/etcd/etcd.conf.yml").stdout, lab3Config, "lab-3's config changed");
        assert.ok(!log.ops.has("lab-3-service") && !log.ops.has("lab-3-config-write"), [...log.ops.keys()].join(", "));
        // Fixed, the same up finishes the roll.
        scratch.setConfig({ healthTimeoutSeconds: labStackConfig(size).healthTimeoutSeconds });
        assert.strictEqual((await scratch.stack.up()).summary.result, "succeeded");
        assert.match(labSsh("lab3", "cat /etc/etcd/etcd.conf.yml").stdout, /^snapshot-count: 10002$/m);
        const health = await etcdctl.run(endpoints, ["endpoint", "health", "--cluster"], admin);
        assert.strictEqual((health.out.match(/is healthy/g) ?? []).length, size, health.out);
    });

    it("a new destroy policy and SSH key preview without any restart and restart nothing", async () => {
        const pids = names.map((m) => mainPid(hostOf(m)));

        // A new destroy policy (data kept: it lives in each prepare step's script), a second key and
        // another login (uid 0, a root-equivalent ops account) for the same hosts: every connection
        // changes, no other script does, and no member restarts.
        const keyDir = fs.mkdtempSync(path.join(scratch.dir, "key-"));
        const key = path.join(keyDir, "id_ed25519");
        const gen = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
        assert.strictEqual(gen.status, 0);
        for (const m of names) {
            const r = labSsh(hostOf(m), "id ops >/dev/null 2>&1 || useradd -o -u 0 -g 0 -M -d /root ops; cat >> /root/.ssh/authorized_keys",
                fs.readFileSync(`${key}.pub`));
            assert.strictEqual(r.code, 0, r.stderr);
        }
        scratch.setConfig({ sshPrivateKeyPath: key, purgeDataOnDestroy: false, members: members.map((m) => ({ ...m, sshUser: "ops" })) });
        const hostsBefore = names.map((m) => hostFingerprint(hostOf(m)));
        const preview = new StepLog();
        await scratch.stack.preview({ onEvent: preview.onEvent });
        // Its plan says nothing (the record's change is the destroy policy, which acts only on a removed member's host): then the up may change nothing on any host.
        const plan = plans.take();
        assert.deepStrictEqual(plan.actions.map((a) => a.kind), ["nothing"], plan.text);
        assert.ok(preview.changed().includes("lab-1-service"), "the new login reached the services' connections");
        // The plan records the destroy policy (what the removed members' clean-up does): its record changes too.
        assert.strictEqual(preview.ops.get(planRecord), "update");
        for (const [name, diff] of preview.diffs) {
            // A HostFiles write, a staged release, the membership, the removal check and the plan's record (dynamic resources, recording the new
            // connections) report no per-input diff to the engine; files stay as they are (below).
            const expected = name.endsWith("-prepare") ? ["connection", "stdin"]
                : name.endsWith("-write") || name.endsWith("-tarball") || name === "etcd-membership" || name === "etcd-removal-check" || name === planRecord ? [] : ["connection"];
            assert.deepStrictEqual(diff, expected, `${name} changes more than its connection`);
        }
        const fileTimes = () => names.map((m) => labSsh(hostOf(m), "stat -c %Y /etc/etcd/etcd.conf.yml /etc/etcd/pki/server.key").stdout);
        const timesBefore = fileTimes();
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        assert.strictEqual((log.output.match(/etcd already runs with these inputs; not restarted/g) ?? []).length >= size, true, log.output);
        assert.doesNotMatch(log.output, /restarted etcd\.service/);
        assert.deepStrictEqual(names.map((m) => mainPid(hostOf(m))), pids, "no member restarted");
        assert.deepStrictEqual(fileTimes(), timesBefore, "no file was rewritten");
        // The plan's "nothing", on every host: the same etcd process, every managed file as it was.
        assert.deepStrictEqual(names.map((m) => hostFingerprint(hostOf(m))), hostsBefore, "a host changed after a plan that said nothing");
    });

    it("destroy leaves no unit, process, binary or config on any host, and the data dir as purgeDataOnDestroy false says", async () => {
        const destroy = await scratch.stack.destroy();
        assert.strictEqual(destroy.summary.result, "succeeded");
        for (const m of names) assert.strictEqual(leftovers(hostOf(m), { dataKept: true }), "", m);
    });
});

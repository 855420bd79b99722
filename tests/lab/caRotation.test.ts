/**
 * Lab, real engine: rotating the cluster's CA with no downtime, in three stack edits, each rolled
 * one member at a time under bounded writers: (1) `ca.trust: [1, 2]` — a second CA, trusted by
 * every member next to the first, and new client certificates from it; (2) `ca.generation: 2` —
 * the members' certificates from the new CA; (3) `ca.trust: [2]` — the old CA no longer trusted.
 * A client with an old-CA certificate works through steps 1–2, one with a new-CA certificate
 * from step 1 on; after step 3 the old one is refused by every member.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as tls from "tls";
import { ScratchStack, StepLog, engineUnavailable } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { BoundedWriter, Credentials, Etcdctl } from "./etcdClient";
import { labAvailable, labSsh } from "./lab";
import { adminCredentials, discardStack, hostOf, labMembers, labStackConfig, labTarball, mainPid, planRecord } from "./labStack";
import { deployLab, upUnderWriter } from "./labCluster";

const names = labMembers(3).map((m) => m.name);

/** The certificate a member presents on its client port, read over TLS. */
function serverCertificate(address: string, creds: Credentials): Promise<tls.PeerCertificate> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({
            host: address, port: 2379, ca: fs.readFileSync(creds.ca), cert: fs.readFileSync(creds.cert!), key: fs.readFileSync(creds.key!),
            timeout: 10_000,
        }, () => { resolve(socket.getPeerCertificate()); socket.end(); });
        socket.on("error", reject);
        socket.on("timeout", () => { socket.destroy(); reject(new Error(`TLS to ${address} timed out`)); });
    });
}

describe("lab: CA rotation in three rolled steps, no client of the current CA refused (real engine)", function () {
    this.timeout(20 * 60_000);
    let scratch: ScratchStack;
    let etcdctl: Etcdctl;
    let endpoints = "";
    let oldClient: Credentials;
    let newClient: Credentials;

    let oldPair: { certPem: string; privateKeyPem: string };

    /** The admin client from the stack's outputs: its certificate, and the CA bundle to trust. */
    const admin = (label: string) => adminCredentials(scratch, etcdctl, label);

    /** One step: the config edit, its preview checked, then `up` with a writer per client that must keep working. */
    async function step(ca: object, expectPreview: (preview: StepLog) => void, clients: Array<[string, Credentials]>): Promise<void> {
        scratch.setConfig({ ca: { ...((labStackConfig(3).ca as object | undefined) ?? {}), ...ca } });
        const preview = new StepLog();
        await scratch.stack.preview({ onEvent: preview.onEvent });
        expectPreview(preview);
        const pids = names.map((m) => mainPid(hostOf(m)));
        const writers = clients.map(([label, creds]) => new BoundedWriter(etcdctl, endpoints, creds, `lab/ca/${label}`).start());
        try {
            const up = await scratch.stack.up();
            assert.strictEqual(up.summary.result, "succeeded");
        } finally {
            await Promise.all(writers.map((w) => w.stop()));
        }
        for (const [i, w] of writers.entries()) {
            const lost = await w.lost();
            console.log(`      ${clients[i][0]} client: ${w.summary(lost)}`);
            assert.ok(w.acknowledged.length >= 20, `the ${clients[i][0]} client wrote through the roll`);
            assert.deepStrictEqual(w.failed, [], `the ${clients[i][0]} client was refused`);
            assert.deepStrictEqual(lost, []);
        }
        names.forEach((m, i) => assert.notStrictEqual(mainPid(hostOf(m)), pids[i], `${m} restarted in its turn`));
    }

    // And the plan's record: each step changes the trust or the issuing generation it records.
    const caFileAndServices = /^(lab-[1-3]-files-write|lab-[1-3]-service|etcd-health|etcd-plan-record) update$/;

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        // Its admin client is not used: each step's clients are named (old CA, new CA).
        ({ scratch, etcdctl, endpoints } = await deployLab(3, labStackConfig(3)));
        oldClient = await admin("old-ca-admin");
        const o = await scratch.stack.outputs();
        oldPair = { certPem: String(o["adminCertPem"].value), privateKeyPem: String(o["adminKeyPem"].value) };
    });

    after(async () => {
        etcdctl?.dispose();
        await discardStack(scratch, 3);
    });

    it("0. a forced renewal of one member's certificate (up --replace) rolls that member only, no client refused", async () => {
        const before = await serverCertificate("10.213.0.12", oldClient);
        const pids = names.map((m) => mainPid(hostOf(m)));
        const { writer } = await upUnderWriter(scratch, { etcdctl, endpoints, admin: oldClient }, "lab/ca/renewal", {
            replace: ["urn:pulumi:lab::etcd-stack::etcd:index:Cluster$etcd:index:MemberCertificates$etcd:index:LeafCertificate$tls:index/locallySignedCert:LocallySignedCert::lab-2-certs-server-cert"],
        });
        assert.deepStrictEqual(writer.failed, []);
        assert.deepStrictEqual(await writer.lost(), []);
        const after = await serverCertificate("10.213.0.12", oldClient);
        assert.notStrictEqual(after.serialNumber, before.serialNumber, "lab-2 presents a new certificate");
        assert.ok(new Date(after.valid_from) >= new Date(before.valid_from));
        const now = names.map((m) => mainPid(hostOf(m)));
        assert.deepStrictEqual([now[0], now[2]], [pids[0], pids[2]], "only lab-2 restarted");
        assert.notStrictEqual(now[1], pids[1]);
    });

    it("1. trust [1, 2]: a new CA, trusted next to the old by every member; clients get certificates from it", async () => {
        await step({ trust: [1, 2] }, (preview) => {
            for (const [name, op] of preview.ops) {
                if (/^etcd-ca-g2/.test(name)) assert.strictEqual(op, "create", name);
                else if (/^etcd-client-/.test(name)) assert.match(op, /^(replace|create-replacement|delete-replaced)$/, name);
                else assert.match(`${name} ${op}`, caFileAndServices, `${name} ${op}`);
            }
            assert.ok(!preview.changed().some((n) => /-certs-/.test(n)), "no member certificate changes yet");
            assert.strictEqual(preview.ops.get(planRecord), "update");
        }, [["old-CA", oldClient]]);
        newClient = await admin("new-ca-admin");
        // Clients take the new caCertPem bundle (both CAs) before members present new-CA
        // certificates; the old client keeps its old-CA certificate.
        oldClient = etcdctl.credentials("old-ca-admin-bundle", String((await scratch.stack.outputs())["caCertPem"].value), oldPair);
        const bundle = labSsh("lab1", `grep -c 'BEGIN CERTIFICATE' /etc/etcd/pki/ca.crt`).stdout.trim();
        assert.strictEqual(bundle, "2", "each member trusts both CAs");
    });

    it("2. generation 2: the members' certificates come from the new CA; old and new clients keep writing", async () => {
        await step({ generation: 2, trust: [1, 2] }, (preview) => {
            for (const name of preview.changed()) {
                assert.match(name, /^(lab-[1-3]-certs-(server|peer)(-cert|-csr)?|lab-[1-3]-files-write|lab-[1-3]-(service|prepare|preflight)|etcd-health|etcd-plan-record)$/, name);
            }
            assert.strictEqual(preview.ops.get(planRecord), "update");
            assert.ok(!preview.changed().some((n) => /^etcd-(ca|client)/.test(n)), "the CAs and clients stay");
        }, [["old-CA", oldClient], ["new-CA", newClient]]);
        for (const m of labMembers(3)) assert.strictEqual((await serverCertificate(m.address, newClient)).issuer.CN, "lab-etcd-ca-g2", m.name);
    });

    it("3. trust [2]: the old CA is no longer trusted; the new client keeps writing, the old one is refused everywhere", async () => {
        await step({ generation: 2 }, (preview) => {
            for (const [name, op] of preview.ops) assert.match(`${name} ${op}`, caFileAndServices, `${name} ${op}`);
            assert.strictEqual(preview.ops.get(planRecord), "update");
        }, [["new-CA", newClient]]);
        for (const m of labMembers(3)) {
            const r = await etcdctl.run(`https://${m.address}:2379`, ["endpoint", "health"], oldClient);
            assert.notStrictEqual(r.code, 0, `${m.name} still accepts the old CA's client certificate`);
        }
        assert.strictEqual(labSsh("lab1", "grep -c 'BEGIN CERTIFICATE' /etc/etcd/pki/ca.crt").stdout.trim(), "1");
    });
});

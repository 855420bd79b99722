/**
 * The chaos checker can fail (issue 27): hand-written histories that are not linearizable are
 * rejected (with porcupine's visualization written next to them), ones that are pass; and the
 * recorder's history of a real single-member etcd on loopback, plain and TLS, is accepted, with
 * requests marked unknown while the member is frozen (SIGSTOP). The tools are built by
 * scripts/chaos-build.sh (cached by the hash of their sources; CI builds them in .ci/run).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { skipIf, tarballMissing } from "../../skip";
import {
    ChaosTools, HistoryRecord, LoopbackEtcd, LoopbackTls, check, chaosTools, chaosToolsMissing, freePort, goTestModel, readHistory,
    setRecorderEndpoints, startRecorder,
} from "../../chaos/chaosTools";
import { issue, makeCa } from "../../lab/handMadePki";
import { labTarball } from "../../lab/labStack";


describe("chaos checker: etcd's key-value semantics with porcupine (issue 27)", function () {
    let tools: ChaosTools;
    let dir: string;

    before(function () {
        skipIf(this, chaosToolsMissing());
        this.timeout(10 * 60_000); // a cold build (warm module cache); cached: a hash of the sources, under a second
        tools = chaosTools();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-checker-"));
    });
    after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

    let n = 0;
    /** Writes a history (one JSON line per request) and checks it. */
    function checkHistory(records: HistoryRecord[]) {
        const file = path.join(dir, `h${++n}.jsonl`);
        fs.writeFileSync(file, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
        return { file, ...check(tools, file) };
    }
    const ok = { outcome: "ok" as const };
    const put = (client: number, key: string, value: string, call: number, ret: number, rev: number): HistoryRecord =>
        ({ client, op: "put", key, value, call, return: ret, ...ok, rev });
    const get = (client: number, key: string, call: number, ret: number, rev: number, read?: string, modRev?: number): HistoryRecord =>
        ({ client, op: "get", key, call, return: ret, ...ok, rev, ...(read === undefined ? {} : { found: true, read, modRev }) });

    it("accepts a linearizable history: puts, concurrent and later reads, a cas, a delete, on two keys", () => {
        const r = checkHistory([
            put(0, "k", "a", 0, 10, 2),
            get(1, "k", 5, 15, 2, "a", 2), // concurrent with the put, sees it
            put(2, "j", "x", 12, 18, 3),
            get(1, "k", 20, 30, 3, "a", 2),
            { client: 0, op: "cas", key: "k", old: "a", value: "b", call: 40, return: 50, ...ok, rev: 4, succeeded: true },
            { client: 2, op: "cas", key: "k", old: "a", value: "c", call: 41, return: 52, ...ok, rev: 4, found: true, read: "b", modRev: 4 },
            get(1, "k", 60, 70, 4, "b", 4),
            { client: 0, op: "delete", key: "k", call: 80, return: 90, ...ok, rev: 5, deleted: 1 },
            { client: 2, op: "delete", key: "k", call: 95, return: 99, ...ok, rev: 5 },
            get(1, "k", 100, 110, 5),
            get(1, "j", 111, 120, 5, "x", 3),
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.summary?.result, "linearizable");
        assert.equal(r.summary?.porcupine, "Ok");
        assert.equal(r.summary?.revisionOrder, "ok");
        assert.deepEqual([r.summary?.ops, r.summary?.ok, r.summary?.failed, r.summary?.unknown, r.summary?.keys, r.summary?.clients], [11, 11, 0, 0, 2, 3]);
        assert.deepEqual(r.summary?.byKind, { put: { ok: 2, failed: 0, unknown: 0 }, get: { ok: 5, failed: 0, unknown: 0 },
            cas: { ok: 2, failed: 0, unknown: 0 }, delete: { ok: 2, failed: 0, unknown: 0 } });
        assert.ok(!fs.existsSync(`${r.file}.html`), "no visualization for a history that passed");
    });

    it("rejects a stale read after an acknowledged write, and writes porcupine's visualization next to the history", () => {
        const r = checkHistory([
            put(0, "k", "a", 0, 10, 2),
            put(0, "k", "b", 20, 30, 3),
            get(1, "k", 40, 50, 3, "a", 2), // the header's revision is current: only the value is stale
        ]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.summary?.result, "not linearizable");
        assert.equal(r.summary?.porcupine, "Illegal");
        assert.equal(r.summary?.revisionOrder, "ok");
        assert.match(r.stderr, /is not linearizable/);
        assert.equal(r.summary?.visualization, `${r.file}.html`);
        const html = fs.readFileSync(`${r.file}.html`, "utf8");
        assert.match(html, /<html/i);
        assert.ok(html.includes("get(k)"), "the visualization describes the requests");
    });

    it("rejects a lost acknowledged write: the final read does not see it", () => {
        const r = checkHistory([
            put(0, "k", "a", 0, 10, 2),
            get(4, "k", 20, 30, 2), // not found
        ]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.summary?.porcupine, "Illegal");
        assert.ok(fs.existsSync(`${r.file}.html`));
    });

    it("rejects a read whose revision is older than one already answered (the revision order, across keys)", () => {
        const r = checkHistory([
            put(0, "k", "a", 0, 10, 7),
            get(1, "j", 20, 30, 6), // key j is absent either way: only the revision is wrong
        ]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.summary?.porcupine, "Ok");
        assert.match(r.summary?.revisionOrder ?? "", /line 2 \(get j\) answered revision 6, but line 1 \(put k\) had returned revision 7/);
        assert.ok(fs.existsSync(`${r.file}.html`));
    });

    it("accepts a put with an unknown outcome either way: a later read sees it, or does not", () => {
        const unknownPut: HistoryRecord = { client: 0, op: "put", key: "k", value: "a", call: 0, return: 10, outcome: "unknown", error: "context deadline exceeded" };
        const seen = checkHistory([unknownPut, get(1, "k", 20, 30, 2, "a", 2), get(1, "k", 40, 50, 2, "a", 2)]);
        assert.equal(seen.code, 0, seen.stderr);
        assert.equal(seen.summary?.unknown, 1);
        assert.equal(seen.summary?.unobserved, 0);
        const notSeen = checkHistory([unknownPut, get(1, "k", 20, 30, 1)]);
        assert.equal(notSeen.code, 0, notSeen.stderr);
        assert.equal(notSeen.summary?.unobserved, 1, "left out: nothing observed it");
        // It may happen late (after the first read), but once seen it stays: seen, then gone, is rejected.
        const late = checkHistory([unknownPut, get(1, "k", 20, 30, 1), get(1, "k", 40, 50, 2, "a", 2)]);
        assert.equal(late.code, 0, late.stderr);
        const flicker = checkHistory([unknownPut, get(1, "k", 20, 30, 2, "a", 2), get(1, "k", 40, 50, 2)]);
        assert.equal(flicker.code, 1, flicker.stderr);
    });

    it("checks the previous value a put or delete answered: a put that replaced a value nobody wrote, or a delete that lost a write, is rejected", () => {
        const putPrev = (client: number, value: string, call: number, ret: number, rev: number, prev?: [string, number]): HistoryRecord =>
            ({ ...put(client, "k", value, call, ret, rev), prevFound: prev !== undefined, ...(prev ? { prev: prev[0], prevModRev: prev[1] } : {}) });
        const good = checkHistory([putPrev(0, "a", 0, 10, 2), putPrev(1, "b", 20, 30, 3, ["a", 2]),
            { client: 0, op: "delete", key: "k", call: 40, return: 50, ...ok, rev: 4, deleted: 1, prevFound: true, prev: "b", prevModRev: 3 }]);
        assert.equal(good.code, 0, good.stderr);
        const lostBeforePut = checkHistory([putPrev(0, "a", 0, 10, 2), putPrev(1, "b", 20, 30, 3)]); // "was absent": "a" was lost
        assert.equal(lostBeforePut.code, 1, lostBeforePut.stderr);
        const wrongDelete = checkHistory([putPrev(0, "a", 0, 10, 2), putPrev(1, "b", 20, 30, 3, ["a", 2]),
            { client: 0, op: "delete", key: "k", call: 40, return: 50, ...ok, rev: 4, deleted: 1, prevFound: true, prev: "a", prevModRev: 2 }]);
        assert.equal(wrongDelete.code, 1, wrongDelete.stderr);
    });

    it("leaves out a request etcd refused (failed) and reads with no answer", () => {
        const r = checkHistory([
            { client: 0, op: "put", key: "k", value: "a", call: 0, return: 10, outcome: "failed", error: "etcdserver: mvcc: database space exceeded" },
            { client: 1, op: "get", key: "k", call: 0, return: 10, outcome: "unknown", error: "context deadline exceeded" },
            get(1, "k", 20, 30, 1),
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual([r.summary?.ops, r.summary?.checked, r.summary?.failed, r.summary?.unknown], [3, 1, 1, 1]);
    });

    it("compare-and-set: two concurrent swaps from the same value cannot both succeed; a swap on a missing key cannot succeed", () => {
        const base = put(0, "k", "a", 0, 10, 2);
        const cas = (client: number, value: string, call: number, ret: number, extra: Partial<HistoryRecord>): HistoryRecord =>
            ({ client, op: "cas", key: "k", old: "a", value, call, return: ret, ...ok, ...extra });
        const both = checkHistory([base, cas(1, "b", 20, 30, { rev: 3, succeeded: true }), cas(2, "c", 21, 31, { rev: 4, succeeded: true })]);
        assert.equal(both.code, 1, both.stderr);
        assert.equal(both.summary?.porcupine, "Illegal");
        const one = checkHistory([base, cas(1, "b", 20, 30, { rev: 3, succeeded: true }), cas(2, "c", 21, 31, { rev: 3, found: true, read: "b", modRev: 3 })]);
        assert.equal(one.code, 0, one.stderr);
        const missing = checkHistory([cas(1, "b", 20, 30, { rev: 2, succeeded: true })]);
        assert.equal(missing.code, 1, missing.stderr);
        // An unknown swap takes effect only if its comparison held: here it did, and a read sees it.
        const unknownSwap = checkHistory([base, cas(1, "b", 20, 30, { outcome: "unknown" }), get(2, "k", 40, 50, 3, "b", 3)]);
        assert.equal(unknownSwap.code, 0, unknownSwap.stderr);
    });

    it("refuses a malformed history (exit 2)", () => {
        const r = checkHistory([{ client: 0, op: "put", key: "k", call: 0, return: 10, outcome: "ok" } as HistoryRecord]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /line 1: put without a value/);
    });

    it("the model's Go tests: random histories of a simulated linearizable store pass, stale reads made in them are rejected, leaving out unobserved unknown writes never changes the verdict", function () {
        this.timeout(50_000); // compiling the test binary: seconds, the packages are built by chaos-build.sh
        const r = goTestModel(45_000);
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /^ok\s+etcd-stack\/chaos\/model/m);
    });

    it("the recorder exits 1 when it cannot clear its key space (nothing listens), and writes no request", async function () {
        this.timeout(30_000);
        const out = path.join(dir, "nobody.jsonl");
        const port = await freePort();
        const run = await startRecorder(tools, ["-endpoints", `http://127.0.0.1:${port}`, "-out", out, "-timeout", "200ms", "-dial-timeout", "200ms", "-duration", "1s"], 20_000).done;
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /could not delete the key space "chaos\/" before starting/);
        assert.equal(fs.readFileSync(out, "utf8"), "");
    });

    describe("the recorder against a single-member etcd on loopback", function () {
        let etcd: LoopbackEtcd | undefined;
        let tls: LoopbackTls;

        before(async function () {
            skipIf(this, tarballMissing(labTarball));
            this.timeout(40_000);
            const pki = path.join(dir, "pki");
            fs.mkdirSync(pki);
            const ca = await makeCa("chaos-test-ca");
            const server = await issue(ca, "chaos-etcd", ["127.0.0.1"]);
            const client = await issue(ca, "chaos-client");
            tls = { ca: path.join(pki, "ca.crt"), serverCert: path.join(pki, "server.crt"), serverKey: path.join(pki, "server.key"),
                clientCert: path.join(pki, "client.crt"), clientKey: path.join(pki, "client.key") };
            fs.writeFileSync(tls.ca, ca.certPem);
            fs.writeFileSync(tls.serverCert, server.certPem);
            fs.writeFileSync(tls.serverKey, server.privateKeyPem, { mode: 0o600 });
            fs.writeFileSync(tls.clientCert, client.certPem);
            fs.writeFileSync(tls.clientKey, client.privateKeyPem, { mode: 0o600 });
            etcd = new LoopbackEtcd(labTarball);
            await etcd.start(tls);
        });
        after(async function () {
            this.timeout(15_000);
            await etcd?.dispose();
        });

        const tlsArgs = () => ["-cacert", tls.ca, "-cert", tls.clientCert, "-key", tls.clientKey];

        it("plain http: 2 s of 4 workers on 4 keys is linearizable, every outcome ok, every kind of request made", async function () {
            this.timeout(30_000);
            const out = path.join(dir, "plain.jsonl");
            const run = await startRecorder(tools, ["-endpoints", etcd!.httpUrl, "-out", out, "-duration", "2s", "-seed", "3"], 20_000).done;
            assert.equal(run.code, 0, run.stderr);
            assert.equal(run.summary?.stoppedBy, "duration");
            const r = check(tools, out);
            assert.equal(r.code, 0, `${r.stderr} ${JSON.stringify(r.summary)}`);
            assert.ok(r.summary!.ok > 50, `only ${r.summary!.ok} requests`);
            assert.equal(r.summary!.unknown, 0);
            for (const kind of ["get", "put", "cas", "delete"]) assert.ok(r.summary!.byKind[kind]?.ok > 0, `no ${kind}`);
            const h = readHistory(out);
            assert.ok(h.some((x) => x.op === "cas" && x.succeeded), "some cas succeeded");
            assert.ok(h.some((x) => x.op === "cas" && !x.succeeded), "some cas did not");
            assert.equal(h.filter((x) => x.client === 4 && x.final).length, 4, "one final read per key, as client 4");
            assert.deepEqual(r.summary!.finalReads, { ok: 4, failed: 0, unknown: 0 });
            assert.ok(h.every((x) => x.outcome !== "ok" || (x.op !== "put" && x.op !== "delete") || typeof x.prevFound === "boolean"), "puts and deletes record the previous value");
            // The same history with one read made stale is rejected: a read whose value was written (W) before it
            // was called, made to return a value written to the key before W was called.
            const writes = h.filter((w) => w.outcome === "ok" && (w.op === "put" || (w.op === "cas" && w.succeeded)));
            let stale = -1;
            let older: HistoryRecord | undefined;
            h.forEach((x, i) => {
                if (older || x.op !== "get" || !x.found) return;
                const w = writes.find((w) => w.key === x.key && w.value === x.read && w.return < x.call);
                older = w && writes.filter((o) => o.key === x.key && o.return < w.call).pop();
                stale = i;
            });
            assert.ok(older, "a read of a write that came after another write of its key");
            const tampered = path.join(dir, "plain-tampered.jsonl");
            fs.writeFileSync(tampered, h.map((x, i) => JSON.stringify(i === stale ? { ...x, read: older!.value, modRev: older!.rev } : x)).join("\n") + "\n");
            const bad = check(tools, tampered);
            assert.equal(bad.code, 1, `${bad.stderr} ${JSON.stringify(bad.summary)}`);
            assert.ok(fs.existsSync(`${tampered}.html`));
            console.log(`      ${r.summary!.ops} requests, checked in ${r.summary!.ms} ms; with read ${stale + 1} made stale: ${bad.summary!.result}`);
        });

        it("-stdin: {\"endpoints\"} lines replace the endpoints, closing stdin stops it; -prefix and -keys name the keys", async function () {
            this.timeout(20_000);
            const out = path.join(dir, "stdin.jsonl");
            const run = startRecorder(tools, ["-endpoints", etcd!.httpUrl, "-out", out, "-stdin", "-prefix", "other/", "-keys", "2", "-workers", "2",
                "-timeout", "300ms"], 15_000);
            const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
            await sleep(700);
            const nobody = `http://127.0.0.1:${await freePort()}`;
            setRecorderEndpoints(run, [nobody]);
            await sleep(700);
            setRecorderEndpoints(run, [etcd!.httpUrl]);
            await sleep(700);
            run.child.stdin!.end();
            const done = await run.done;
            assert.equal(done.code, 0, done.stderr);
            assert.equal(done.summary?.stoppedBy, "stdin closed");
            assert.equal(done.stderr.match(/recorder: endpoints now/g)?.length, 2, done.stderr);
            const h = readHistory(out);
            assert.deepEqual([...new Set(h.map((x) => x.key))].sort(), ["other/k0", "other/k1"]);
            // ok, then nothing answered (the port where nobody listens), then ok again on the member
            const firstUnknown = h.findIndex((x) => x.outcome === "unknown");
            assert.ok(firstUnknown > 0, "requests failed while the endpoints were wrong");
            assert.ok(h.slice(0, firstUnknown).some((x) => x.outcome === "ok"));
            const lastUnknown = h.map((x) => x.outcome).lastIndexOf("unknown");
            assert.ok(h.slice(lastUnknown + 1).filter((x) => x.outcome === "ok" && !x.final).length > 0, "requests answered after the endpoints were set back");
            const r = check(tools, out);
            assert.equal(r.code, 0, `${r.stderr} ${JSON.stringify(r.summary)}`);
        });

        it("TLS with a client certificate; stopped by SIGTERM; a member frozen (SIGSTOP) mid-run makes requests unknown, and the history is still linearizable", async function () {
            this.timeout(40_000);
            const out = path.join(dir, "frozen.jsonl");
            const run = startRecorder(tools, ["-endpoints", etcd!.httpsUrl, ...tlsArgs(), "-out", out, "-timeout", "500ms", "-seed", "4"], 30_000);
            const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
            await sleep(1500);
            etcd!.freeze();
            const frozenAt = Date.now();
            try {
                await sleep(2000);
            } finally {
                etcd!.thaw();
            }
            const thawedAfter = Date.now() - frozenAt;
            await sleep(1500);
            run.child.kill("SIGTERM");
            const done = await run.done;
            assert.equal(done.code, 0, done.stderr);
            assert.equal(done.summary?.stoppedBy, "terminated");
            const h = readHistory(out);
            const unknown = h.filter((x) => x.outcome === "unknown");
            assert.ok(unknown.length >= 1, "requests in flight during the freeze are unknown");
            for (const u of unknown) assert.match(u.error ?? "", /deadline|timed out|unavailable|connection/i);
            // Requests went on after the thaw: the last unknown one is followed by ok ones of the same worker.
            const last = unknown.reduce((a, b) => (a.call > b.call ? a : b));
            assert.ok(h.some((x) => x.client === last.client && x.outcome === "ok" && x.call > last.return), "the worker recovered after the thaw");
            const r = check(tools, out);
            assert.equal(r.code, 0, `${r.stderr} ${JSON.stringify(r.summary)}`);
            assert.equal(r.summary!.unknown, unknown.length);
            console.log(`      ${r.summary!.ops} requests, ${unknown.length} unknown (frozen ${thawedAfter} ms), ${r.summary!.unobserved} unobserved unknown writes left out, checked in ${r.summary!.ms} ms`);
        });
    });

    describe("the recorder against a member out of space (NOSPACE alarm)", function () {
        let etcd: LoopbackEtcd | undefined;
        before(async function () {
            skipIf(this, tarballMissing(labTarball));
            this.timeout(30_000);
            etcd = new LoopbackEtcd(labTarball);
            await etcd.start(undefined, ["--quota-backend-bytes", "1"]); // every write exceeds it
        });
        after(async function () {
            this.timeout(15_000);
            await etcd?.dispose();
        });

        it("records the writes answered NOSPACE as unknown (etcd applies the one that crosses the quota, then answers NOSPACE), and the history is linearizable", async function () {
            this.timeout(20_000);
            const out = path.join(dir, "nospace.jsonl");
            const run = await startRecorder(tools, ["-endpoints", etcd!.httpUrl, "-out", out, "-duration", "1s"], 15_000).done;
            assert.equal(run.code, 0, run.stderr);
            const h = readHistory(out);
            const writes = h.filter((x) => x.op === "put" || x.op === "cas");
            assert.ok(writes.length > 0);
            for (const w of writes) {
                assert.equal(w.outcome, "unknown", JSON.stringify(w));
                assert.match(w.error ?? "", /database space exceeded/);
            }
            assert.ok(h.some((x) => x.op === "get" && x.outcome === "ok"), "reads are still answered");
            const r = check(tools, out);
            assert.equal(r.code, 0, `${r.stderr} ${JSON.stringify(r.summary)}`);
            assert.equal(r.summary!.failed, 0);
            assert.equal(r.summary!.unknown, writes.length);
        });
    });
});

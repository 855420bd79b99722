/**
 * Membership's dynamic provider (components/membership/membershipProvider.ts), its methods called directly
 * as the engine calls them: diff as a table, and create, update and read against three members on
 * loopback (loopbackShellHost.ts) that share a fake cluster: a file of `etcdctl member list -w
 * simple` rows the scripts read and edit. A host with a `down` file does not answer; one with a
 * `local` file answers with its own etcd; one without `data` has none.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MembershipInputs, membershipProvider as provider, noDataMark } from "../../../components/membership/membershipProvider";
import { readAttempts } from "../../../components/host/ssh";
import { ShellHost, closedPort, scriptOf, shellHost } from "../loopbackShellHost";

const url = (n: number) => `https://10.213.0.1${n}:2380`;
const members = { "lab-1": url(1), "lab-2": url(2), "lab-3": url(3) };

describe("Membership provider: diff (called directly)", () => {
    const conns = { "lab-1": { host: "10.213.0.11" }, "lab-2": { host: "10.213.0.12" }, "lab-3": { host: "10.213.0.13" } };
    const base: MembershipInputs = {
        members, order: ["lab-1", "lab-2", "lab-3"], connections: conns,
        scripts: { list: "list", reconcile: "reconcile", rejoin: { "lab-1": "r1" }, promote: { "lab-1": "p1" } }, waitSeconds: 60,
    };
    const rows: Array<[string, Partial<MembershipInputs>, boolean]> = [
        ["the same inputs", {}, false],
        ["the same members listed in another order (as a refresh reads them)", { members: { "lab-3": url(3), "lab-2": url(2), "lab-1": url(1) } }, false],
        ["other scripts", { scripts: { ...base.scripts, list: "list 2", health: "health" } }, false],
        ["another wait", { waitSeconds: 120 }, false],
        ["a member added", { members: { ...members, "lab-4": url(4) } }, true],
        ["a member removed", { members: { "lab-1": url(1), "lab-2": url(2) } }, true],
        ["a member's peer URL changed", { members: { ...members, "lab-2": url(9) } }, true],
        ["a refresh found a member without data", { members: { ...members, "lab-2": `${url(2)} (${noDataMark})` } }, true],
        ["another roll order", { order: ["lab-2", "lab-1", "lab-3"] }, true],
        ["another login to a member", { connections: { ...conns, "lab-2": { host: "10.213.0.12", user: "deploy" } } as MembershipInputs["connections"] }, true],
        ["a member on another machine", { connections: { ...conns, "lab-2": { host: "10.213.0.22" } } }, true],
    ];
    for (const [what, change, changes] of rows) {
        it(`${what}: ${changes ? "a change" : "no change"}, never a replacement`, async () => {
            assert.deepEqual(await provider.diff!("membership", base, { ...base, ...change }), { changes });
        });
    }
});

describe("Membership provider: create, update, read against members on loopback", () => {
    const names = ["lab-1", "lab-2", "lab-3"];
    const hosts: Record<string, ShellHost> = {};
    // The cluster's dir: made when the tests run (not when the file is loaded), removed after them.
    let cluster = "";
    let membersFile = "";
    let f = "";
    before(async () => {
        cluster = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-"));
        membersFile = path.join(cluster, "members");
        f = JSON.stringify(membersFile);
        for (const n of names) hosts[n] = await shellHost(n, { CLUSTER: cluster });
    });
    after(() => { Object.values(hosts).forEach((h) => h.close()); fs.rmSync(cluster, { recursive: true, force: true }); });

    const row = (n: number, opts: { started?: boolean; learner?: boolean; name?: string } = {}) =>
        `${String(n).repeat(16)}, ${opts.started === false ? "unstarted" : "started"}, ${opts.name ?? `lab-${n}`}, ${url(n)}, https://10.213.0.1${n}:2379, ${opts.learner ? "true" : "false"}`;
    const setCluster = (...rows: string[]) => fs.writeFileSync(membersFile, rows.map((r) => r + "\n").join(""));
    const mark = (name: string, file: "down" | "local" | "data", on: boolean) =>
        on ? fs.writeFileSync(path.join(hosts[name].dir, file), "") : fs.rmSync(path.join(hosts[name].dir, file), { force: true });
    beforeEach(() => {
        setCluster(row(1), row(2), row(3));
        for (const n of names) { hosts[n].execs.splice(0); mark(n, "down", false); mark(n, "local", true); mark(n, "data", true); }
    });

    const urlOf = (name: string) => url(Number(name.slice(4)));
    const inputs = (over: Partial<MembershipInputs> = {}): MembershipInputs => ({
        members, order: names, connections: Object.fromEntries(names.map((n) => [n, hosts[n].connection])),
        scripts: {
            list: [
                `set -eu`, `read -r wait`,
                `[ ! -e "$HOST_DIR/down" ] || { echo "no etcd answers on $HOST_NAME" >&2; exit 1; }`,
                `if [ -e "$HOST_DIR/local" ]; then echo "answered-by local"; else echo "answered-by others"; fi`,
                `sed 's/^/member /' ${f}`,
            ].join("\n") + "\n",
            reconcile: `set -eu\ngrep -F ${Object.values(members).map((u) => `-e '${u}, '`).join(" ")} ${f} > ${f}.new || true\nmv ${f}.new ${f}\necho "removed strangers"\n`,
            data: `if [ -e "$HOST_DIR/data" ]; then echo "data present"; else echo "data missing"; fi\n`,
            rejoin: Object.fromEntries(names.map((n, i) => [n,
                // Registered but never started: its etcd starts now; not listed: added as a learner.
                `set -eu\nsed -i '\\#, unstarted, [^,]*, ${urlOf(n)}, #d' ${f}\n` +
                `grep -qF '${urlOf(n)}, ' ${f} || echo '${row(i + 1, { learner: true })}' >> ${f}\necho "${n} rejoined"\n`])),
            promote: Object.fromEntries(names.map((n) => [n,
                `set -eu\nsed -i '\\#${urlOf(n)}, #s/, true$/, false/' ${f}\necho "${n} promoted"\n`])),
            health: `echo "cluster healthy"\n`,
        },
        waitSeconds: 45,
        ...over,
    });
    /** Each script of `i` by what it is: "list", "rejoin lab-2", … */
    const kinds = (i: MembershipInputs) => new Map<string, string>([
        ...(["list", "reconcile", "data", "health"] as const).map((k) => [i.scripts[k] ?? "", k] as [string, string]),
        ...Object.entries(i.scripts.rejoin).map(([n, s]) => [s, `rejoin ${n}`] as [string, string]),
        ...Object.entries(i.scripts.promote).map(([n, s]) => [s, `promote ${n}`] as [string, string]),
    ]);
    /** What ran where, in the order it arrived: "<host> <script>". */
    const trail = (i: MembershipInputs) => names.flatMap((n) => hosts[n].execs.map((e) => ({ seq: e.seq, what: `${n} ${kinds(i).get(scriptOf(e.command)) ?? "?"}` })))
        .sort((a, b) => a.seq - b.seq).map((e) => e.what);
    const listStdins = (i: MembershipInputs) => names.flatMap((n) => hosts[n].execs.filter((e) => scriptOf(e.command) === i.scripts.list).map((e) => e.stdin.toString()));
    const clusterRows = () => fs.readFileSync(membersFile, "utf8").trim().split("\n");

    it("create on a cluster that matches: one listing, waiting up to waitSeconds, and the members as the outputs", async () => {
        const i = inputs();
        assert.deepEqual(await provider.create(i), { id: "membership", outs: { ...i, members, report: "membership matches the stack" } });
        assert.deepEqual(trail(i), ["lab-1 list"]);
        assert.deepEqual(listStdins(i), ["45\n"]);
    });

    it("a member whose host does not answer: the next one lists", async () => {
        mark("lab-1", "down", true);
        const i = inputs();
        const { outs } = await provider.create(i);
        assert.deepEqual(outs.members, members);
        assert.deepEqual(trail(i), ["lab-1 list", "lab-2 list"]);
    });

    it("no member answers: the run fails naming each", async () => {
        for (const n of names) mark(n, "down", true);
        await assert.rejects(provider.create(inputs()),
            /^Error: membership: no member of the cluster could list it:\nlab-1 member list failed \(exit 1\): no etcd answers on lab-1\nlab-2 member list failed \(exit 1\): no etcd answers on lab-2\nlab-3 member list failed \(exit 1\): no etcd answers on lab-3$/);
    });

    it("a stranger in the cluster: removed through the first member whose own etcd answers, then the health gate", async () => {
        setCluster(row(1), row(2), row(3), row(9, { name: "lab-9" }));
        mark("lab-1", "local", false);
        const i = inputs();
        const { outs } = await provider.update!("membership", inputs(), i);
        assert.deepEqual(trail(i), ["lab-1 list", "lab-2 list", "lab-2 reconcile", "lab-1 list", "lab-1 health"]);
        assert.deepEqual(clusterRows(), [row(1), row(2), row(3)]);
        assert.deepEqual(outs, { ...i, members, report: "removed strangers\ncluster healthy" });
    });

    it("a stranger, and no member's own etcd answers: refused, nothing removed", async () => {
        setCluster(row(1), row(2), row(3), row(9, { name: "lab-9" }));
        for (const n of names) mark(n, "local", false);
        const i = inputs();
        await assert.rejects(provider.update!("membership", i, i), /^Error: membership: members to remove, but no stack member's own etcd answers to remove them through$/);
        assert.deepEqual(trail(i), ["lab-1 list", "lab-2 list", "lab-3 list"]);
        assert.equal(clusterRows().length, 4);
    });

    it("a member removed by hand: added back on its own host, promoted, then the cluster listed again and gated", async () => {
        setCluster(row(1), row(3));
        const i = inputs();
        const { outs } = await provider.update!("membership", i, i);
        assert.deepEqual(trail(i), ["lab-1 list", "lab-2 rejoin lab-2", "lab-2 promote lab-2", "lab-1 list", "lab-1 health"]);
        assert.deepEqual(clusterRows(), [row(1), row(3), row(2)]);
        assert.deepEqual(outs, { ...i, members, report: "lab-2 rejoined\nlab-2 promoted\ncluster healthy" });
        assert.deepEqual(listStdins(i), ["45\n", "45\n"], "update waits as create does");
    });

    it("a learner not yet promoted, and a member never started: each rejoined and promoted, one at a time in the stack's order", async () => {
        setCluster(row(1), row(2, { started: false, name: "" }), row(3, { learner: true }));
        const i = inputs();
        await provider.update!("membership", i, i);
        assert.deepEqual(trail(i), ["lab-1 list", "lab-2 rejoin lab-2", "lab-2 promote lab-2", "lab-3 rejoin lab-3", "lab-3 promote lab-3", "lab-1 list", "lab-1 health"]);
        assert.deepEqual(clusterRows(), [row(1), row(3), row(2)], "every member started and a voter");
    });

    it("a member a refresh found without data is rejoined though the cluster lists it started", async () => {
        const i = inputs();
        const olds = { ...i, members: { ...members, "lab-3": `${url(3)} (${noDataMark})` } };
        await provider.update!("membership", olds, i);
        assert.deepEqual(trail(i), ["lab-1 list", "lab-3 rejoin lab-3", "lab-3 promote lab-3", "lab-1 list", "lab-1 health"]);
    });

    it("a repair that does not take: the run fails with what the cluster lists", async () => {
        setCluster(row(1), row(3));
        const i = inputs();
        i.scripts.rejoin["lab-2"] = `echo "lab-2 could not join"\n`;
        await assert.rejects(provider.update!("membership", i, i),
            new RegExp(`^Error: membership: the cluster lists \\{"lab-1":"${url(1)}","lab-3":"${url(3)}"\\}, not the stack's`));
    });

    it("read lists without waiting and shows the cluster as it is: learner, not started, stranger, no data", async () => {
        setCluster(row(1), row(3, { learner: true }), row(9, { started: false, name: "" }));
        mark("lab-1", "data", false);
        const i = inputs();
        const props = { ...i, report: "membership matches the stack" };
        const { id, props: read, inputs: readInputs } = await provider.read!("membership", props);
        const seen = { "lab-1": `${url(1)} (${noDataMark})`, "lab-3": `${url(3)} (learner)`, "(unnamed 9999999999999999)": `${url(9)} (not started)` };
        assert.equal(id, "membership");
        assert.deepEqual(read, { ...props, members: seen });
        assert.deepEqual(readInputs, { ...i, members: seen }, "no report among the inputs");
        assert.deepEqual(listStdins(i), ["0\n"], "a refresh does not wait");
        // Asked of the stack members the cluster lists as started, at once; lab-2 is not listed.
        assert.deepEqual(trail(i).sort(), ["lab-1 data", "lab-1 list", "lab-3 data"]);
        assert.deepEqual(await provider.diff!("membership", read, i), { changes: true });
    });

    it("read with lab-1's host down (nothing listening): lists through lab-2, dialling lab-1 only readAttempts times, and its data check does not fail the refresh", async () => {
        const port = await closedPort();
        const i = inputs();
        const down = { ...i, connections: { ...i.connections, "lab-1": { ...i.connections["lab-1"], port, dialErrorLimit: 10, perDialTimeout: 2 } } };
        const started = Date.now();
        const { props: read } = await provider.read!("membership", { ...down, report: "membership matches the stack" });
        assert.ok(Date.now() - started < 3000 + readAttempts * 1000, `a refresh dials lab-1 ${readAttempts} times, not 10: ${Date.now() - started} ms`);
        assert.deepEqual(read!.members, members, "the cluster as lab-2 lists it");
        assert.deepEqual(trail(i).sort(), ["lab-2 data", "lab-2 list", "lab-3 data"]);
    });

    it("read when no member can list the cluster (its quorum lost): the last list stands, the refresh does not fail", async () => {
        for (const n of names) mark(n, "down", true);
        const i = inputs();
        const last = { ...i, members: { ...members, "lab-3": `${members["lab-3"]} (learner)` }, report: "membership matches the stack" };
        const { props, inputs: readInputs } = await provider.read!("membership", last);
        assert.deepEqual(props, last);
        assert.deepEqual(readInputs, { ...i, members: last.members });
        assert.deepEqual(trail(i), ["lab-1 list", "lab-2 list", "lab-3 list"]);
    });

    it("read of a cluster that matches reads the stack's members: no change", async () => {
        setCluster(row(3), row(1), row(2));
        const props = { ...inputs(), report: "membership matches the stack" };
        const { props: read } = await provider.read!("membership", props);
        assert.deepEqual(Object.entries(read!.members), Object.entries(members), "in the stack's order");
        assert.deepEqual(await provider.diff!("membership", read, inputs()), { changes: false });
    });
});

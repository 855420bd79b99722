/**
 * Issue 25, item 1: "no leader answers" is not "new cluster". The join bootstraps only on a host
 * without etcd data, and never as an existing member (its step updated: the host rebuilt or
 * moved); in the stack's first run, data on the host is refused even when a cluster answers.
 * A refusal names the host, what it found and the ways forward. The join script is run by sh with
 * fake etcdctl (and a fake bash for its TCP probe) on PATH and temp dirs as the config and data dirs.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { EtcdCluster } from "../../../components/cluster";
import { membersFilePath } from "../../../components/spec/where";
import { JoinRun, joinRecordPath, renderJoinScript, renderMembersFile, renderRejoinScript } from "../../../components/membership/renderMembership";
import { ClusterSpec } from "../../../components/spec/types";
import { installMocks, resolve } from "../mocks";
import { rawConfig, spec } from "../fixtures";

/** lab-2 as the cluster lists it once it has started (it published client URLs). */
const lab2Started = "bbbbbbbbbbbbbbb2, started, lab-2, https://10.213.0.12:2380, https://10.213.0.12:2379, false";
const others = [
    "aaaaaaaaaaaaaaa1, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
    "ccccccccccccccc3, started, lab-3, https://10.213.0.13:2380, https://10.213.0.13:2379, false",
];

interface Host {
    dir: string;
    spec: ClusterSpec;
    data: string;
    /** Every etcdctl call that changes membership, one a line. */
    changes: () => string[];
    record: () => string | undefined;
}

/** A temp host: config dir with the members file, an empty data dir, fake etcdctl and bash in bin/. */
function host(options: { restore?: boolean } = {}): Host {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-guard-"));
    const data = path.join(dir, "data");
    const config = path.join(dir, "etc");
    fs.mkdirSync(data);
    fs.mkdirSync(config);
    fs.mkdirSync(path.join(dir, "bin"));
    const s = spec({
        dirs: { data, config, pki: path.join(dir, "pki") },
        ...(options.restore ? { restore: { snapshot: "/tmp/backup.db", sha256: "d".repeat(64) } } : {}),
    });
    fs.writeFileSync(membersFilePath(s), renderMembersFile(s));
    const changes = path.join(dir, "changes");
    // MODE=silent: nobody serves. MODE=leader: every member answers with a leader; the member list is $LIST.
    fs.writeFileSync(path.join(dir, "bin", "etcdctl"), [
        "#!/bin/sh",
        'if [ "$MODE" = silent ]; then echo "Error: dial tcp: connect: connection refused" >&2; exit 1; fi',
        'case "$*" in',
        `  *"endpoint status"*) echo '"Leader" : 1234' ;;`,
        `  *"endpoint health"*) echo "healthy" ;;`,
        `  *"member list"*) printf '%s\\n' "$LIST" ;;`,
        `  *"member remove"*) echo "remove \${*##* }" >> '${changes}'; echo "Member removed" ;;`,
        `  *"member add"*) echo "add" >> '${changes}'; echo 'ETCD_INITIAL_CLUSTER="lab-1=https://10.213.0.11:2380,lab-2=https://10.213.0.12:2380,lab-3=https://10.213.0.13:2380"' ;;`,
        '  *) echo "unexpected etcdctl $*" >&2; exit 1 ;;',
        "esac",
        "",
    ].join("\n"), { mode: 0o755 });
    // The probe's TCP connect (bash's /dev/tcp): the port is open, so etcdctl is asked.
    fs.writeFileSync(path.join(dir, "bin", "bash"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    // The rejoin stops and starts etcd: nothing to do here.
    fs.writeFileSync(path.join(dir, "bin", "systemctl"), "#!/bin/sh\n[ \"$1\" = is-active ] && exit 3\nexit 0\n", { mode: 0o755 });
    return {
        dir, spec: s, data,
        changes: () => fs.existsSync(changes) ? fs.readFileSync(changes, "utf8").trim().split("\n") : [],
        record: () => fs.existsSync(joinRecordPath(s)) ? fs.readFileSync(joinRecordPath(s), "utf8") : undefined,
    };
}

/** Leaves etcd data (a WAL file, and a snapshot db when `files` is 2) in the host's data dir, as a destroyed stack's kept data dir holds. */
function keepData(h: Host, files = 1): void {
    fs.mkdirSync(path.join(h.data, "member", "wal"), { recursive: true });
    fs.mkdirSync(path.join(h.data, "member", "snap"), { recursive: true });
    fs.writeFileSync(path.join(h.data, "member", "wal", "0000000000000000-0000000000000000.wal"), "wal");
    if (files > 1) fs.writeFileSync(path.join(h.data, "member", "snap", "db"), "db");
}

/** Runs `script` by sh on the host, its etcdctl the fake one. */
function run(h: Host, script: string, env: { MODE: "silent" | "leader"; LIST?: string }): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("sh", ["-c", script.split("/usr/local/bin/etcdctl").join(path.join(h.dir, "bin", "etcdctl"))], {
        encoding: "utf8", timeout: 20_000,
        env: { ...process.env, PATH: `${path.join(h.dir, "bin")}:${process.env.PATH}`, LIST: "", ...env },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The join of lab-2, as created in the stack's first run (`new`), created later (`added`), or updated (`existing`). */
function join(h: Host, kind: JoinRun, env: { MODE: "silent" | "leader"; LIST?: string }) {
    return run(h, renderJoinScript(h.spec, h.spec.members[1], kind), env);
}

describe("join: bootstrap only over no data, never as an existing member (run by sh)", function () {
    this.timeout(60_000);
    const hosts: Host[] = [];
    const fresh = (options?: { restore?: boolean }) => { const h = host(options); hosts.push(h); return h; };
    after(() => { for (const h of hosts.splice(0)) fs.rmSync(h.dir, { recursive: true, force: true }); });

    it("new stack, empty data dir, nobody answers: bootstraps a new cluster from every member", () => {
        const h = fresh();
        const r = join(h, "new", { MODE: "silent" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /lab-2: no other member answers: bootstrapping a new cluster/);
        assert.equal(h.record(), "initial-cluster-state=new\n" +
            "initial-cluster=lab-1=https://10.213.0.11:2380,lab-2=https://10.213.0.12:2380,lab-3=https://10.213.0.13:2380\n");
    });

    it("new stack, a member/ dir without WAL or snapshot files: no data, bootstraps", () => {
        const h = fresh();
        fs.mkdirSync(path.join(h.data, "member", "wal"), { recursive: true });
        const r = join(h, "new", { MODE: "silent" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(h.record() ?? "", /^initial-cluster-state=new$/m);
    });

    it("new stack, the data dir holds an earlier etcd's data, nobody answers: refused, naming the host, the files and the restore; nothing decided", () => {
        const h = fresh();
        keepData(h, 2);
        const r = join(h, "new", { MODE: "silent" });
        assert.equal(r.status, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /bootstrapping a new cluster/);
        assert.equal(h.record(), undefined, "no join decision recorded: nothing can start");
        const message = r.stderr.trim();
        assert.match(message, /^lab-2: refusing to start etcd: /);
        assert.ok(message.includes(`${h.data} holds 2 files of an earlier etcd (member/wal, member/snap)`), message);
        assert.match(message, /this stack is new/);
        assert.match(message, /nothing was started/);
        assert.match(message, /etcd:restore\.snapshot/);
        assert.match(message, /README "Restore from a snapshot"/);
        assert.match(message, /\/var\/backups\/etcd/);
        assert.ok(message.includes(`mv ${h.data}/member ${h.data}/member.old`), message);
        // The data is where it was.
        assert.ok(fs.existsSync(path.join(h.data, "member", "wal", "0000000000000000-0000000000000000.wal")));
    });

    it("new stack with data, even when a cluster answers (members without data formed one first): refused", () => {
        const h = fresh();
        keepData(h);
        const unstarted = "bbbbbbbbbbbbbbb2, unstarted, , https://10.213.0.12:2380, , false";
        const r = join(h, "new", { MODE: "leader", LIST: [others[0], unstarted, others[1]].join("\n") });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /holds 1 files of an earlier etcd/);
        assert.equal(h.record(), undefined);
        assert.deepEqual(h.changes(), []);
    });

    it("an existing member (its join step updated: the host rebuilt or moved), empty data dir, nobody answers: refused, no second cluster", () => {
        const h = fresh();
        const r = join(h, "existing", { MODE: "silent" });
        assert.equal(r.status, 1, r.stderr);
        assert.doesNotMatch(r.stderr, /bootstrapping a new cluster/);
        assert.equal(h.record(), undefined);
        const message = r.stderr.trim();
        assert.match(message, /^lab-2: refusing to bootstrap a new cluster: no other member answers with a leader, and this stack is not new/);
        assert.match(message, /a second cluster behind the same endpoints/);
        assert.match(message, /nothing was started/);
        assert.match(message, /quorum/);
        assert.match(message, /etcd:restore\.snapshot/);
    });

    it("an existing member with data on its host, nobody answers: refused, the data counted", () => {
        const h = fresh();
        keepData(h);
        const r = join(h, "existing", { MODE: "silent" });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /this stack is not new/);
        assert.ok(r.stderr.includes(`${h.data} holds 1 files`), r.stderr);
        assert.equal(h.record(), undefined);
    });

    it("a member created after the stack's first run (the re-run of a first up that stopped before it joined), no data, nobody answers: bootstraps, so that re-run converges", () => {
        const h = fresh();
        const r = join(h, "added", { MODE: "silent" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(h.record() ?? "", /^initial-cluster-state=new$/m);
    });

    it("a member created after the first run with data on its host, nobody answers: refused, nothing decided", () => {
        const h = fresh();
        keepData(h, 2);
        const r = join(h, "added", { MODE: "silent" });
        assert.equal(r.status, 1, r.stderr);
        assert.ok(r.stderr.includes(`lab-2: refusing to bootstrap a new cluster: no other member answers with a leader, and ${h.data} holds 2 files of an earlier etcd`), r.stderr);
        assert.match(r.stderr, /etcd:restore\.snapshot/);
        assert.equal(h.record(), undefined);
    });

    it("a member created after the first run with data on its host, a cluster answers: the old data moved aside, added as a learner (as before)", () => {
        const h = fresh();
        keepData(h);
        const r = join(h, "added", { MODE: "leader", LIST: others.join("\n") });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /lab-2: moved old data aside/);
        assert.deepEqual(h.changes(), ["add"]);
    });

    it("the default is a stack that is not new: a join rendered without the flag never bootstraps", () => {
        const h = fresh();
        const r = run(h, renderJoinScript(h.spec, h.spec.members[1]), { MODE: "silent" });
        assert.equal(r.status, 1, r.stderr);
        assert.equal(h.record(), undefined);
    });

    it("a recorded decision is printed, whoever answers (a member of an existing stack, its data kept)", () => {
        const h = fresh();
        keepData(h);
        const recorded = "initial-cluster-state=new\ninitial-cluster=lab-1=https://10.213.0.11:2380\n";
        fs.writeFileSync(joinRecordPath(h.spec), recorded);
        for (const kind of ["new", "added", "existing"] as const) {
            const r = join(h, kind, { MODE: "silent" });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout, recorded);
        }
    });

    it("a cluster answers and lists this member as started, its data on the host: joins as itself (a restart, no record)", () => {
        const h = fresh();
        keepData(h);
        const r = join(h, "existing", { MODE: "leader", LIST: [others[0], lab2Started, others[1]].join("\n") });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /lab-2: already registered in the running cluster/);
        assert.match(h.record() ?? "", /^initial-cluster-state=existing$/m);
        assert.deepEqual(h.changes(), []);
        assert.ok(fs.existsSync(path.join(h.data, "member", "wal")), "the data stays");
    });

    it("a cluster answers and lists this member as started, but its host has no data: the stale registration is removed and it is added as a learner", () => {
        const h = fresh();
        const r = join(h, "existing", { MODE: "leader", LIST: [others[0], lab2Started, others[1]].join("\n") });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /registered as bbbbbbbbbbbbbbb2 and once started, but this host has no data/);
        assert.deepEqual(h.changes(), ["remove bbbbbbbbbbbbbbb2", "add"]);
        assert.match(h.record() ?? "", /^initial-cluster-state=existing$/m);
    });

    it("a cluster answers and does not list this member: added as a learner, in any run", () => {
        for (const kind of ["new", "added", "existing"] as const) {
            const h = fresh();
            const r = join(h, kind, { MODE: "leader", LIST: others.join("\n") });
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /lab-2: added as a learner through https:\/\//);
            assert.deepEqual(h.changes(), ["add"]);
            assert.match(h.record() ?? "", /^initial-cluster-state=existing$/m);
        }
    });

    it("a restore is declared: kept data is moved aside (never deleted) and the cluster bootstrapped, for the restore to rebuild", () => {
        const h = fresh({ restore: true });
        keepData(h);
        const r = join(h, "new", { MODE: "silent" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(h.record() ?? "", /^initial-cluster-state=new$/m);
        assert.ok(!fs.existsSync(path.join(h.data, "member")), "no data left for etcd to start from");
        const aside = fs.readdirSync(h.data).filter((d) => d.startsWith("member.kept-"));
        assert.equal(aside.length, 1, fs.readdirSync(h.data).join(", "));
        assert.ok(fs.existsSync(path.join(h.data, aside[0], "wal", "0000000000000000-0000000000000000.wal")));
        assert.match(r.stderr, /a restore is declared \(etcd:restore\)/);
    });

    it("the rejoin (a member whose data was wiped, of an existing stack) still adds it back through the join", () => {
        const h = fresh();
        fs.writeFileSync(path.join(h.spec.dirs.config, "etcd.conf.yml"),
            'name: "lab-2"\ninitial-cluster-state: "new"\ninitial-cluster: "lab-1=https://10.213.0.11:2380"\n');
        const r = run(h, renderRejoinScript(h.spec, h.spec.members[1]), { MODE: "leader", LIST: [others[0], lab2Started, others[1]].join("\n") });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /lab-2 has no data on its host but the cluster lists it as started/);
        assert.deepEqual(h.changes(), ["remove bbbbbbbbbbbbbbb2", "add"]);
        assert.match(fs.readFileSync(path.join(h.spec.dirs.config, "etcd.conf.yml"), "utf8"), /^initial-cluster-state: "existing"$/m);
    });
});

describe("join step: the stack's newness reaches the create script without a diff in later runs (mocked engine)", function () {
    // Two mocked programs in one test: about 2 s on a quiet machine, over the default 20 s at load 26
    // (a fresh-clone CI run beside two chaos lanes, 2026-12-06).
    this.timeout(120_000);
    // Made in `before`, not in the describe body: Stryker runs the suite again in the same process.
    let tmp: string;
    let tarball: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-guard-mock-"));
        tarball = path.join(tmp, "etcd.tar.gz");
        fs.writeFileSync(tarball, "not really a tarball");
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** lab-2's join step as declared: its inputs and its ignoreChanges. */
    async function joinStep(options: { newStack: boolean; adopt?: boolean }): Promise<{ stdin: string; create: string; ignoreChanges: string[] }> {
        const recorded = installMocks({ newStack: options.newStack });
        const ignored = new Map<string, string[]>();
        const members = (rawConfig().members as object[]).map((m, i) => i === 2 && options.adopt ? { ...m, adopt: { unit: "etcd.service", dataDir: "/var/lib/etcd-old" } } : m);
        const c = new EtcdCluster("etcd", { spec: spec({ binary: { localTarball: tarball }, members }), sshPrivateKey: pulumi.secret("SSH-KEY") }, {
            transformations: [(args) => { ignored.set(args.name, args.opts.ignoreChanges ?? []); return undefined; }],
        });
        await resolve(c.clientEndpoints);
        const step = recorded.find((r) => r.name === "lab-2-join");
        assert.ok(step);
        return { stdin: step.inputs.stdin, create: step.inputs.create, ignoreChanges: ignored.get("lab-2-join") ?? [] };
    }

    it("the first run's creation runs the new-stack script, a later one the other; stdin is the same in both, and `create` changes are ignored", async () => {
        const first = await joinStep({ newStack: true });
        const later = await joinStep({ newStack: false });
        assert.match(first.create, /sh "\$s" create_in_new_stack </);
        assert.match(later.create, /sh "\$s" create </);
        assert.equal(first.stdin, later.stdin, "the scripts on stdin do not depend on the run");
        assert.match(first.stdin, /step_create\(\) \(\n[\s\S]*^run=added$[\s\S]*step_create_in_new_stack\(\) \(\n[\s\S]*^run=new$[\s\S]*step_update\(\) \(\n[\s\S]*^run=existing$/m);
        assert.deepEqual(first.ignoreChanges, ["create"]);
        assert.deepEqual(later.ignoreChanges, ["create"]);
    });

    it("a first run that adopts a running etcd is not a new stack: its joins are created as those of members added later", async () => {
        const adopting = await joinStep({ newStack: true, adopt: true });
        assert.match(adopting.create, /sh "\$s" create </);
    });
});

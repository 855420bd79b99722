/**
 * What the lab suites do alike to the cluster they deploy: the first deploy of a suite's `before`,
 * an `up` under a bounded writer and the checks on that writer, and the member list held against
 * the stack's members.
 */
import * as assert from "assert";
import { UpOptions } from "@pulumi/pulumi/automation";
import { ScratchStack, StepLog, scratchStack } from "../engine/engine";
import { BoundedWriter, Credentials, Etcdctl } from "./etcdClient";
import { labUp } from "./lab";
import { adminCredentials, labTarball, wipeHosts } from "./labStack";
import { count } from "./report";

/** A client of the cluster: etcdctl, the client URLs it asks (comma-separated) and its credentials. */
export interface ClusterClient {
    etcdctl: Etcdctl;
    endpoints: string;
    admin: Credentials;
}

/** A suite's deployed cluster: its scratch stack, and the admin client through the stack's client endpoints. */
export interface LabCluster extends ClusterClient {
    scratch: ScratchStack;
}

/**
 * A suite's start: `hosts` lab hosts up and wiped, `prepare` (what the suite does on them by hand
 * first), then a scratch stack of `config` deployed by one `up` that must succeed. If anything
 * after the scratch copy fails, its copy and etcdctl are removed here (the suite's `after` wipes the hosts).
 */
export async function deployLab(hosts: number, config: Record<string, unknown>,
    opts: { prepare?: () => void; env?: Record<string, string> } = {}): Promise<LabCluster> {
    labUp(hosts);
    wipeHosts(hosts);
    opts.prepare?.();
    const scratch = await scratchStack("lab", config, opts.env ? { env: opts.env } : {});
    const etcdctl = Etcdctl.extract(labTarball);
    try {
        const up = await scratch.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        const admin = await adminCredentials(scratch, etcdctl);
        const endpoints = String((await scratch.stack.outputs())["clientEndpoints"].value);
        return { scratch, etcdctl, admin, endpoints };
    } catch (e) {
        etcdctl.dispose();
        await scratch.dispose();
        throw e;
    }
}

/**
 * `up` (with `opts`, e.g. refresh or replace) while a bounded writer (`label`, its keys' prefix)
 * writes through `client`; the up must succeed. The writer is stopped whatever happens; its checks
 * are the caller's (`checkWriter`, or a suite's own).
 */
export async function upUnderWriter(scratch: ScratchStack, client: ClusterClient, label: string,
    opts: Omit<UpOptions, "onOutput" | "onEvent"> = {}): Promise<{ log: StepLog; writer: BoundedWriter }> {
    const writer = new BoundedWriter(client.etcdctl, client.endpoints, client.admin, label).start();
    const log = new StepLog();
    try {
        const up = await scratch.stack.up({ ...opts, onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
    } finally {
        await writer.stop();
    }
    return { log, writer };
}

/**
 * A stopped writer's checks: its summary printed, at least `atLeast` writes acknowledged (it ran
 * through `what`), none failed, every acknowledged write readable. With `counted`, its writes go
 * to the run's figures (report.ts) first.
 */
export async function checkWriter(writer: BoundedWriter, atLeast: number, what: string, opts: { counted?: boolean } = {}): Promise<void> {
    const lost = await writer.lost();
    if (opts.counted) {
        count("writesAcknowledged", writer.acknowledged.length);
        count("writesLost", lost.length);
    }
    console.log(`      ${writer.summary(lost)}`);
    assert.ok(writer.acknowledged.length >= atLeast, `the writer ran through ${what} (${writer.acknowledged.length} writes)`);
    assert.deepStrictEqual(writer.failed, []);
    assert.deepStrictEqual(lost, []);
}

/** A member as `etcdctl member list -w simple` lists it ("<id>, <status>, <name>, <peer>, <client>, <learner>"). */
export interface ListedMember {
    id: string;
    status: string;
    name: string;
    peer: string;
    client: string;
    learner: boolean;
}

/** The cluster's members, as `client` is told (the list must be answered). */
export async function listMembers(client: ClusterClient): Promise<ListedMember[]> {
    const r = await client.etcdctl.run(client.endpoints, ["member", "list", "-w", "simple"], client.admin);
    assert.strictEqual(r.code, 0, r.out);
    return r.out.trim().split("\n").map((l) => l.split(", "))
        .map(([id, status, name, peer, clientUrl, learner]) => ({ id, status, name, peer, client: clientUrl, learner: learner === "true" }));
}

/**
 * The cluster's members are exactly `members` (a stack's): each by its name at its address's peer
 * URL, started and voting, and no other.
 */
export async function assertMembersAre(client: ClusterClient, members: Array<{ name: string; address: string }>,
    message = "the cluster's members are the stack's, at the stack's addresses, all started and voting"): Promise<ListedMember[]> {
    const listed = await listMembers(client);
    assert.deepStrictEqual(listed.map((m) => `${m.name} ${m.peer} ${m.status} ${m.learner ? "learner" : "voting"}`).sort(),
        members.map((m) => `${m.name} https://${m.address}:2380 started voting`).sort(), message);
    return listed;
}

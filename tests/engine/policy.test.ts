/**
 * The policy pack (policy/) on real previews: `pulumi preview --policy-pack policy` through the real
 * engine, the Node.js language host running the pack, against the real program with a passing config
 * and with violating ones, and against a program with the regressions the real one cannot express
 * (fixtures/regressedCluster.ts). Every member address is unreachable on purpose: a preview
 * connects to no host.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PolicyEvent } from "@pulumi/pulumi/automation";
import { ScratchStack, engineUnavailable, repoRoot, scratchStack, useFixtureProgram } from "./engine";
import { fixtureHostKeys } from "../unit/fixtures";
import { skipIf } from "../skip";

const policyPack = path.join(repoRoot, "policy");
/** Policy names with a mandatory violation in any preview of this suite. */
const refused = new Set<string>();

/** What one preview with the pack reported: policy events, whether it failed, its output. */
interface PolicyPreview {
    failed: boolean;
    events: PolicyEvent[];
    output: string;
    /** Policy names with a mandatory violation, sorted and unique. */
    mandatory: string[];
    /** Messages of `policy`'s events; a violation's first line, the policy's description, is left out. */
    messages(policy: string): string[];
}

/** Previews with the pack; `config` is the pack's config (--policy-pack-config), by policy name. */
async function previewWithPolicies(scratch: ScratchStack, config?: Record<string, unknown>): Promise<PolicyPreview> {
    const events: PolicyEvent[] = [];
    const lines: string[] = [];
    let failed = false;
    try {
        let policyPackConfigs: string[] | undefined;
        if (config) {
            policyPackConfigs = [path.join(scratch.dir, "policy-config.json")];
            fs.writeFileSync(policyPackConfigs[0], JSON.stringify(config));
        }
        await scratch.stack.preview({
            policyPacks: [policyPack],
            policyPackConfigs,
            onEvent: (e) => { if (e.policyEvent) events.push(e.policyEvent); },
            onOutput: (l) => lines.push(l),
        });
    } catch (e) {
        failed = true;
        lines.push(String(e));
    }
    for (const e of events) if (e.enforcementLevel === "mandatory") refused.add(e.policyName);
    return {
        failed, events, output: lines.join(""),
        mandatory: [...new Set(events.filter((e) => e.enforcementLevel === "mandatory").map((e) => e.policyName))].sort(),
        messages: (policy) => events.filter((e) => e.policyName === policy).map((e) => {
            const lines = e.message.trim().split("\n");
            return lines.slice(lines.length > 1 ? 1 : 0).join("\n");
        }),
    };
}

describe("engine: the policy pack on real previews", function () {
    this.timeout(300_000);
    let keyDir = "";
    /** A valid 3-member production config: host keys pinned, a release URL, snapshots on. */
    let passing: Record<string, unknown> = {};

    before(function () {
        skipIf(this, engineUnavailable());
        keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-policy-"));
        fs.writeFileSync(path.join(keyDir, "id"), "not used: a preview connects to no host\n", { mode: 0o600 });
        passing = {
            clusterName: "prod",
            version: "3.6.16",
            // TEST-NET-1 (192.0.2.0/24): documentation addresses that route nowhere.
            members: [1, 2, 3].map((i) => ({ name: `prod-${i}`, address: `192.0.2.${10 + i}`, hostKey: fixtureHostKeys[i - 1] })),
            sshPrivateKeyPath: path.join(keyDir, "id"),
            binary: { url: "https://mirror.example/etcd-v{version}-linux-{arch}.tar.gz", sha256: { amd64: "a".repeat(64) } },
            snapshots: { onCalendar: "hourly", keep: 48, maxAgeDays: 7 },
        };
    });

    after(() => {
        if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
    });

    /** Runs `body` on a scratch stack of the real program, then removes it. */
    async function withStack(name: string, config: Record<string, unknown>, body: (s: ScratchStack) => Promise<void>): Promise<void> {
        const scratch = await scratchStack(name, config);
        try {
            await body(scratch);
        } finally {
            await scratch.dispose();
        }
    }

    it("passes the real program with a valid production config, and checks its etcd config once it is known", async () => {
        await withStack("prod", passing, async (scratch) => {
            // First preview: the pack runs; the config text carries the cluster token (a RandomId not
            // created yet), so the two config policies say they cannot run yet, once per member.
            const first = await previewWithPolicies(scratch);
            assert.ok(!first.failed, first.output);
            assert.match(first.output, /etcd-stack@v0\.1\.0 \(local: /, "the pack was loaded");
            assert.deepEqual(first.mandatory, []);
            for (const policy of ["etcd-tls-urls", "etcd-client-cert-auth"]) {
                const messages = first.messages(policy);
                assert.equal(messages.length, 3, `${policy}: ${messages.join("\n")}`);
                for (const m of messages) assert.match(m, /^can't run policy '.*' from policy pack 'etcd-stack@v0\.1\.0' during preview: string value at \.contents/);
            }
            assert.deepEqual(first.events.filter((e) => !["etcd-tls-urls", "etcd-client-cert-auth"].includes(e.policyName)), []);

            // Create only the token (no host is involved); the next preview knows every config text.
            const cluster = "urn:pulumi:prod::etcd-stack::etcd:index:Cluster::etcd";
            const token = "urn:pulumi:prod::etcd-stack::etcd:index:Cluster$random:index/randomId:RandomId::etcd-token";
            const up = scratch.cli(["up", "--yes", "--skip-preview", "--target", cluster, "--target", token]);
            assert.equal(up.code, 0, up.stdout + up.stderr);
            const second = await previewWithPolicies(scratch);
            assert.ok(!second.failed, second.output);
            assert.match(second.output, /etcd-stack@v0\.1\.0 \(local: /);
            assert.deepEqual(second.events, [], "the rendered configs pass every policy, nothing is left unchecked");
        });
    });

    it("refuses a single member (allowSingleMember) by the member count alone", async () => {
        const single = { ...passing, clusterName: "single", members: (passing.members as unknown[]).slice(0, 1), allowSingleMember: "true" };
        await withStack("single", single, async (scratch) => {
            const result = await previewWithPolicies(scratch);
            assert.ok(result.failed, "a mandatory violation fails the preview");
            assert.deepEqual(result.mandatory, ["etcd-member-count"]);
            assert.deepEqual(result.messages("etcd-member-count"),
                ["cluster etcd: 1 member, outside 3 to 7 (fewer cannot survive a failure, more slow every write); list 3, 5 or 7 members in etcd:members"]);
        });
    });

    it("refuses 4 members that etcd:allowEvenMembers lets the program accept, unless the pack's config allows even counts too", async () => {
        const members = [...(passing.members as unknown[]), { name: "even-4", address: "192.0.2.14", hostKey: fixtureHostKeys[0] }]
            .map((m, i) => ({ ...(m as object), name: `even-${i + 1}` }));
        const even = { ...passing, clusterName: "even", members, allowEvenMembers: "true" };
        await withStack("even", even, async (scratch) => {
            const result = await previewWithPolicies(scratch);
            assert.ok(result.failed, "a mandatory violation fails the preview");
            assert.doesNotMatch(result.output, /invalid etcd stack config/, "the program itself accepts 4 members with etcd:allowEvenMembers");
            assert.deepEqual(result.mandatory, ["etcd-member-count"]);
            assert.deepEqual(result.messages("etcd-member-count"),
                ["cluster etcd: 4 members, an even count (it tolerates no more failures than 3); list 3, 5 or 7 members in etcd:members, " +
                    "or set allowEvenMembers: true in this policy's config (etcd-member-count) and etcd:allowEvenMembers: true in the stack"]);

            const allowed = await previewWithPolicies(scratch, { "etcd-member-count": { allowEvenMembers: true } });
            assert.ok(!allowed.failed, allowed.output);
            assert.deepEqual(allowed.mandatory, []);
        });
    });

    it("refuses the prod stack without scheduled snapshots, and allows it elsewhere", async () => {
        const { snapshots: _omitted, ...noSnapshots } = passing;
        await withStack("prod", noSnapshots, async (scratch) => {
            const result = await previewWithPolicies(scratch);
            assert.ok(result.failed);
            assert.deepEqual(result.mandatory, ["etcd-prod-snapshots"]);
            assert.match(result.messages("etcd-prod-snapshots")[0], /^stack prod is a production stack and cluster etcd takes no scheduled snapshots: set etcd:snapshots/);
        });
        await withStack("staging", { ...noSnapshots, clusterName: "staging" }, async (scratch) => {
            const result = await previewWithPolicies(scratch);
            assert.ok(!result.failed, result.output);
            assert.deepEqual(result.mandatory, []);
        });
    });

    it("refuses certificates valid for less than the minimum, naming each and the key to raise", async () => {
        await withStack("prod", { ...passing, certValidityHours: 24, ca: { validityHours: 100 } }, async (scratch) => {
            const result = await previewWithPolicies(scratch);
            assert.ok(result.failed);
            assert.deepEqual(result.mandatory, ["etcd-certificate-validity"]);
            const messages = result.messages("etcd-certificate-validity").sort();
            // 3 members × (server, peer) + admin, healthcheck, apiserver-etcd-client + one snapshot client per member, and the CA.
            assert.equal(messages.length, 13, messages.join("\n"));
            assert.ok(messages.includes("CA certificate etcd-ca-cert is valid for 100 h, below the minimum of 720 h: raise etcd:ca.validityHours"), messages.join("\n"));
            assert.ok(messages.includes("certificate prod-2-certs-peer-cert is valid for 24 h, below the minimum of 720 h: raise etcd:certValidityHours"), messages.join("\n"));

            // The minimum is the pack's to set: at 24 h the same stack passes.
            const lowered = await previewWithPolicies(scratch, { "etcd-certificate-validity": { minimumValidityHours: 24 } });
            assert.ok(!lowered.failed, lowered.output);
            assert.deepEqual(lowered.mandatory, []);
        });
    });

    it("refuses a regressed program: an even member count, a plaintext URL, client-cert-auth off, the CA key on a host", async () => {
        await withStack("regressed", {}, async (scratch) => {
            useFixtureProgram(scratch, "regressedCluster.ts", ["tests/golden/member/etcd.conf.yml"]);

            const result = await previewWithPolicies(scratch);
            assert.ok(result.failed);
            assert.deepEqual(result.mandatory, ["etcd-ca-key-off-hosts", "etcd-client-cert-auth", "etcd-member-count", "etcd-tls-urls"]);
            assert.deepEqual(result.messages("etcd-member-count"),
                ["cluster etcd: 4 members, an even count (it tolerates no more failures than 3); list 3, 5 or 7 members in etcd:members, " +
                    "or set allowEvenMembers: true in this policy's config (etcd-member-count) and etcd:allowEvenMembers: true in the stack"]);
            assert.deepEqual(result.messages("etcd-tls-urls"),
                ["m-1 /etc/etcd/etcd.conf.yml: listen-client-urls: http://127.0.0.1:2379 is plaintext; use https:// (clientUrl/peerUrl in components/member/render.ts)"]);
            assert.deepEqual(result.messages("etcd-client-cert-auth"),
                ["m-1 /etc/etcd/etcd.conf.yml: peer-transport-security.client-cert-auth is false; it must be true (renderEtcdConfig in components/member/render.ts)"]);
            assert.deepEqual(result.messages("etcd-ca-key-off-hosts"), ["m-1-files-write sends the CA private key to its host (in its contents): " +
                "the CA key stays in the operator's state; give a host only certificates and its own keys"]);
            // The CA certificate and the config file are not mistaken for the key.
            assert.equal(result.events.filter((e) => e.policyName === "etcd-ca-key-off-hosts").length, 1);
        });
    });

    it("refuses the plan where the plan does, in its words: a rename at the same address (here, with no removal check, only the pack refuses it), a downgrade (the record's check too)", async () => {
        // The plan alone (fixtures/planOnly.ts): an up records the 3 members without reaching a host.
        await withStack("prod", passing, async (scratch) => {
            useFixtureProgram(scratch, "planOnly.ts");
            assert.strictEqual((await scratch.stack.up()).summary.result, "succeeded");
            const members = passing.members as Array<Record<string, unknown>>;
            scratch.setConfig({ members: members.map((m, i) => (i === 2 ? { ...m, name: "prod-9" } : m)), version: "3.5.32" });
            const result = await previewWithPolicies(scratch);
            assert.ok(result.failed);
            assert.deepEqual(result.mandatory, ["etcd-plan"]);
            // The identity refusal empties the plan's actions (nothing else is planned), as the removal check refuses it.
            const identity = result.messages("etcd-plan");
            assert.equal(identity.length, 1, identity.join("\n"));
            assert.match(identity[0], /^cluster prod: identity: prod-9 would take over prod-3's address 192\.0\.2\.13 while prod-3 is a member of the cluster \(a rename at the same address\).*; nothing was changed$/);
            scratch.setConfig({ members, version: "3.5.32" });
            const downgrade = await previewWithPolicies(scratch);
            assert.ok(downgrade.failed);
            assert.deepEqual(downgrade.mandatory, ["etcd-plan"]);
            const downgrades = downgrade.messages("etcd-plan");
            assert.deepEqual(downgrades.map((m) => /^cluster prod: version: (prod-\d): etcd 3\.6\.16 → 3\.5\.32 is a downgrade, which is not supported.*; nothing was changed$/.exec(m)?.[1]),
                ["prod-1", "prod-2", "prod-3"], downgrades.join("\n"));
            assert.match(downgrade.output, /REFUSED: /, "the record's check refused it as well");
        });
    });

    it("has refused every policy of the pack in a real preview above (run the whole suite)", () => {
        // A policy added to policy/ without a case here fails this.
        const names = fs.readdirSync(policyPack).filter((f) => f.endsWith(".ts"))
            .flatMap((f) => [...fs.readFileSync(path.join(policyPack, f), "utf8").matchAll(/^ {4}name: "([a-z-]+)",$/gm)].map((m) => m[1]));
        assert.deepEqual([...refused].sort(), names.sort());
    });
});

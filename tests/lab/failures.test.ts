/**
 * Lab, real engine: what a failed `up` says and leaves behind. Each failure must name the member
 * and the reason in a few lines (not a page of script), change nothing it should not, and leave
 * a state that `destroy` completes from.
 */
import * as assert from "assert";
import * as fs from "fs";
import { ScratchStack, StepLog, engineUnavailable, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { discardStack, hostOf, labMembers, labStackConfig, labTarball, leftovers, wipeHosts } from "./labStack";
import { labAvailable, labKnownHostsPath, labRun, labSsh, labUp } from "./lab";
import { count } from "./report";

const members = ["lab-1", "lab-2", "lab-3"];
const hasEtcdFiles = (host: string) => labSsh(host, "ls -A /etc/etcd 2>/dev/null; true").stdout.trim() !== "";

/** Runs `up` expecting it to fail; returns the engine's whole output. */
async function failingUp(scratch: ScratchStack): Promise<{ output: string; log: StepLog }> {
    const log = new StepLog();
    await assert.rejects(scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent }));
    return { output: log.output, log };
}

describe("lab: failed runs name the member and the reason, and leave a state destroy completes from", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack | undefined;

    before(function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(3);
    });

    beforeEach(async () => {
        wipeHosts(3);
        scratch = await scratchStack("lab", labStackConfig(3));
    });

    afterEach(async () => {
        labRun(["sshd-start", "lab3"]);
        labRun(["known-hosts"]);
        // Clean-up without an engine destroy (the tests that check destroy run it themselves).
        await discardStack(scratch, 3);
    });

    it("preflight on real hosts reports every reason for each member in a few lines and changes nothing", async () => {
        scratch!.setConfig({ minFreeDiskMiB: 100_000_000 });
        const { output } = await failingUp(scratch!);
        for (const m of members) {
            assert.match(output, new RegExp(`preflight failed on ${m}:`));
        }
        assert.match(output, /MiB free under \/var\/lib(\/etcd)? \(need 100000000 MiB\)/);
        // The short runner, not the script, is what the engine repeats.
        assert.doesNotMatch(output, /step_create|untilDeadline|set -eu\\n/);
        assert.ok(output.length < 20_000, `the failure output is ${output.length} bytes`);
        console.log(output.split("\n").filter((l) => /preflight failed|MiB free/.test(l)).slice(0, 3).map((l) => `      ${l.trim().slice(0, 160)}`).join("\n"));
        for (const m of members) assert.strictEqual(hasEtcdFiles(hostOf(m)), false, `${m} was changed`);
    });

    it("a wrong SSH user fails the up naming the member, and nothing reaches that host", async () => {
        scratch!.setConfig({ members: labMembers(3).map((m) => m.name === "lab-2" ? { ...m, sshUser: "nosuchuser" } : m) });
        const { output } = await failingUp(scratch!);
        assert.match(output, /lab-2-preflight/);
        assert.match(output, /unable to authenticate/);
        assert.strictEqual(hasEtcdFiles("lab2"), false, "lab2 was changed");
    });

    it("an install interrupted after etcd, before etcdctl, is completed by the next up", async () => {
        // What a killed install leaves: the new etcd in place, etcdctl and etcdutl missing.
        const unpack = labSsh("lab1", "mkdir -p /usr/local/bin && cat > /tmp/etcd.tgz && tar -xzf /tmp/etcd.tgz -C /usr/local/bin --strip-components=1 --wildcards '*/etcd' && rm /tmp/etcd.tgz",
            fs.readFileSync(labTarball));
        assert.strictEqual(unpack.code, 0, unpack.stderr);
        assert.strictEqual(labSsh("lab1", "ls /usr/local/bin/").stdout.trim(), "etcd");
        const up = await scratch!.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        assert.match(labSsh("lab1", "/usr/local/bin/etcdctl version; /usr/local/bin/etcdutl version").stdout,
            /etcdctl version: 3\.6\.16[\s\S]*etcdutl version: 3\.6\.16/);
    });

    it("an impostor on a member's address (another host key) is refused before any file reaches it", async () => {
        const before = labRun(["known-hosts"]).stdout;
        const impostor = labRun(["impostor", "lab3"]);
        assert.strictEqual(impostor.code, 0, impostor.stderr);
        console.log(`      ${impostor.stdout.trim()}`);
        // The stack still pins lab3's original key.
        fs.writeFileSync(labKnownHostsPath(), before);
        const { output } = await failingUp(scratch!);
        count("impostorsTried");
        count("runsTried");
        if (hasEtcdFiles("lab3")) count("impostorsAccepted");
        // Checked from the operator's machine first: the member, the address and both fingerprints.
        assert.match(output, /lab-3: 10\.213\.0\.13:22 presents host key SHA256:\S+, but the stack pins SHA256:\S+ \(ssh-ed25519\): another machine answers there; nothing was sent to it/);
        assert.match(impostor.stdout, new RegExp(`host key ${output.match(/presents host key (SHA256:\S+),/)?.[1].replace(/[+/]/g, "\\$&")}`), "the fingerprint named is the impostor's");
        assert.strictEqual(hasEtcdFiles("lab3"), false, "files reached the impostor");
        assert.strictEqual(labSsh("lab3", "ls /usr/local/bin/etcd /var/tmp/etcd-stack 2>/dev/null; true").stdout.trim(), "");
    });

    /** An `up` during which lab3's sshd stops once lab3 passed its preflight and was prepared: mid-way. */
    async function upWithSshdStoppingMidway(): Promise<string> {
        let stopped: ReturnType<typeof labRun> | undefined;
        const log = new StepLog();
        await assert.rejects(scratch!.stack.up({
            onEvent: log.onEvent,
            onOutput: (chunk) => {
                log.onOutput(chunk);
                if (!stopped && /lab-3-prepare created/.test(log.output)) stopped = labRun(["sshd-stop", "lab3"]);
            },
        }));
        assert.strictEqual(stopped?.code, 0, stopped?.stderr ?? "sshd was never stopped");
        assert.match(log.output, /lab-3-(tarball|binaries|files-write)/);
        assert.match(log.output, /connection refused|failed attempts/);
        return log.output;
    }

    it("a host whose sshd is down fails the up naming it before any connection; destroy then completes with the host still down", async () => {
        assert.strictEqual(labRun(["sshd-stop", "lab3"]).code, 0);
        const { output } = await failingUp(scratch!);
        assert.match(output, /lab-3: 10\.213\.0\.13:22 presents no ssh-ed25519 host key \(host down, or sshd not answering\)/);
        assert.strictEqual(hasEtcdFiles("lab3"), false);
        const destroy = await scratch!.stack.destroy();
        assert.strictEqual(destroy.summary.result, "succeeded");
        for (const host of ["lab1", "lab2"]) assert.strictEqual(leftovers(host), "", host);
    });

    it("a host that stops answering mid-way fails the up naming it; with its sshd back, the same up converges and destroy completes", async () => {
        await upWithSshdStoppingMidway();
        // lab-1 and lab-2 were set up before the failure: a partly applied stack.
        assert.ok(hasEtcdFiles("lab1") && hasEtcdFiles("lab2"), "lab1 and lab2 were not prepared");
        assert.strictEqual(labRun(["sshd-start", "lab3"]).code, 0);
        const up = await scratch!.stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        for (const host of ["lab1", "lab2", "lab3"]) {
            assert.strictEqual(labSsh(host, "systemctl is-active etcd").stdout.trim(), "active", host);
        }
        const destroy = await scratch!.stack.destroy();
        assert.strictEqual(destroy.summary.result, "succeeded");
        for (const host of ["lab1", "lab2", "lab3"]) assert.strictEqual(leftovers(host), "", host);
    });
});

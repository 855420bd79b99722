/**
 * The chaos runner's "a failed up names the host and the cause" invariant (tests/chaos/invariants.ts,
 * unnamedFailure), on Diagnostics blocks shaped as the pulumi CLI prints them.
 */
import * as assert from "assert";
import { unnamedFailure } from "../../chaos/invariants";

const members = [1, 2, 3].map((i) => ({ name: `lab-${i}`, address: `10.213.0.1${i}` }));
const diagnostics = (...blocks: string[]) => ["Updating (lab):", "", "Diagnostics:", ...blocks, "Resources:", "    47 unchanged", ""].join("\n");
const stack = "  pulumi:pulumi:Stack (etcd-stack-lab):\n    error: update failed\n";

describe("chaos: a failed up names the member or host and why", () => {
    it("passes the project's refusals and a host that did not answer, each in its resource's block", () => {
        assert.strictEqual(unnamedFailure(diagnostics(
            "  command:remote:Command (lab-1-service):\n    error: Process exited with status 3\n    refusing to restart lab-1: with lab-1 stopped, 1 of its 3 voters would be up (a quorum is 2); nothing was stopped\n",
            stack), members), undefined);
        assert.strictEqual(unnamedFailure(diagnostics(
            "  pulumi-nodejs:dynamic/etcd:HostFilesWrite (lab-3-files-write):\n    error: lab-3 files: 10.213.0.13:22: connect EHOSTUNREACH 10.213.0.13:22 (10 failed attempts)\n",
            stack), members), undefined);
        // Named by host or address alone, too.
        assert.strictEqual(unnamedFailure(diagnostics(
            "  etcd:index:Gate (etcd-health):\n    error: preflight failed on lab3:\n      - clock is 10800s behind\n", stack), members), undefined);
    });

    it("fails an up whose only error is the engine's own, or that printed no Diagnostics", () => {
        assert.match(unnamedFailure(diagnostics(stack), members) ?? "", /^no resource failed in the Diagnostics/);
        assert.match(unnamedFailure("Updating (lab):\n error: something\n", members) ?? "", /^no Diagnostics block/);
    });

    it("fails a resource error that names no member or host, or gives no cause beyond the wrappers", () => {
        assert.match(unnamedFailure(diagnostics("  command:remote:Command (etcd-health):\n    error: Process exited with status 1\n    the cluster is not healthy\n", stack), members) ?? "",
            /^command:remote:Command \(etcd-health\): failed naming no member or host: the cluster is not healthy$/);
        assert.match(unnamedFailure(diagnostics("  command:remote:Command (lab-2-service):\n    error: Process exited with status 1\n    running \"sh -c ...\"\n", stack), members) ?? "",
            /^command:remote:Command \(lab-2-service\): failed without a cause/);
        // lab-12 is not lab-1: names are matched whole.
        assert.match(unnamedFailure(diagnostics("  command:remote:Command (x):\n    error: lab-12 is down\n", stack), members) ?? "", /naming no member or host/);
    });
});

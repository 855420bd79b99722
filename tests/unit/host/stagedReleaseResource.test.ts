/**
 * The staged release as declared (stagedRelease.ts `StagedRelease`; mocked engine): the check,
 * stage and remove scripts it computes for its tarball and sha256 (the stage script reading the
 * tarball from stdin for a file on the operator's machine, downloading it for a URL), its state
 * `staged`, its connection a secret output, and its type token.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { renderReleaseCheckScript, renderRemoveStagedReleaseScript, renderStageReleaseScript } from "../../../components/host/renderRelease";
import { StagedRelease, stagedReleaseType } from "../../../components/host/stagedRelease";
import { installMocks, resolve } from "../mocks";

describe("staged release resource: inputs and options as declared (mocked engine)", () => {
    const sha = "ab".repeat(32);
    const tarball = "/var/lib/etcd-stack/releases/etcd-v3.6.16-linux-amd64.tar.gz";

    async function declare(source: { file: string } | { url: string }) {
        const recorded = installMocks();
        const seen: { opts?: pulumi.CustomResourceOptions; type?: string } = {};
        const r = new StagedRelease("lab-1-tarball", {
            label: "lab-1 tarball", connection: { host: "10.213.0.11", user: "root", privateKey: pulumi.secret("KEY") },
            tarball, sha256: sha, source,
        }, { transformations: [(a) => { seen.opts = a.opts as pulumi.CustomResourceOptions; seen.type = a.type; return undefined; }] });
        await resolve(r.urn);
        await new Promise((res) => setTimeout(res, 50));
        const rec = recorded.find((x) => x.name === "lab-1-tarball");
        assert.ok(rec);
        return { inputs: rec.inputs, type: rec.type, seen };
    }

    it("a file on the operator's machine: the stage script reads stdin; check and remove for the tarball; state staged; connection secret", async () => {
        const { inputs, type, seen } = await declare({ file: "/home/op/etcd.tar.gz" });
        assert.deepEqual(inputs.scripts, {
            check: renderReleaseCheckScript(tarball, sha),
            stage: renderStageReleaseScript(tarball, sha, { stdin: true }),
            remove: renderRemoveStagedReleaseScript(tarball),
        });
        assert.equal(inputs.state, "staged");
        assert.equal(inputs.label, "lab-1 tarball");
        assert.equal(inputs.tarball, tarball);
        assert.deepEqual(inputs.source, { file: "/home/op/etcd.tar.gz" });
        assert.equal(type, stagedReleaseType);
        assert.equal(stagedReleaseType, "pulumi-nodejs:dynamic/etcd:StagedRelease");
        assert.equal(seen.type, stagedReleaseType);
        assert.deepEqual(seen.opts?.additionalSecretOutputs, ["connection"]);
    });

    it("a URL: the stage script downloads it (and differs from the stdin one)", async () => {
        const url = "https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz";
        const { inputs } = await declare({ url });
        assert.equal(inputs.scripts.stage, renderStageReleaseScript(tarball, sha, { url }));
        assert.notEqual(inputs.scripts.stage, renderStageReleaseScript(tarball, sha, { stdin: true }));
        assert.equal(inputs.scripts.check, renderReleaseCheckScript(tarball, sha));
    });
});

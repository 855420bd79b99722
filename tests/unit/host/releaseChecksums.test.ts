/**
 * Release checksums keyed by version (`binary.sha256: { "3.6.15": { amd64: … }, "3.6.16": { … } }`):
 * the validator takes `version`'s sums and refuses a version without any, and checks every entry;
 * the arch-keyed form (the stacks' and the example's) is read as before. Where the sums are used
 * (member.ts, mocked engine): each host stages the configured version's tarball with that version's
 * sum for its arch, and an edit of `version` alone moves every host to the other version's sum.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, resolve } from "../mocks";
import { EtcdCluster } from "../../../components/cluster";
import { stagedReleasePath } from "../../../components/host/renderRelease";
import { ClusterSpec } from "../../../components/spec/types";
import { problemsOf, rawConfig, spec } from "../fixtures";

const urlTemplate = "https://mirror.example/etcd-v{version}-linux-{arch}.tar.gz";
const sums = {
    "3.6.15": { amd64: "1".repeat(64), arm64: "2".repeat(64) },
    "3.6.16": { amd64: "a".repeat(64), arm64: "b".repeat(64) },
};
const byVersion = (version: string, sha256: unknown = sums) => ({ version, binary: { url: urlTemplate, sha256 } });

describe("release checksums per version (binary.sha256 keyed by version)", () => {
    describe("the validator (spec.ts)", () => {
        it("takes the configured version's sums; an edit of version alone takes the other version's, with no problem", () => {
            for (const version of ["3.6.15", "3.6.16"] as const) {
                const s = spec(byVersion(version));
                assert.deepEqual(s.binary, { kind: "url", urlTemplate, sha256: sums[version] }, version);
            }
        });

        it("refuses a version with no sums, naming it, the versions given and what to add", () => {
            assert.deepEqual(problemsOf(byVersion("3.6.16", { "3.6.15": sums["3.6.15"] })), [
                'binary.sha256: no checksums for version "3.6.16" (given for 3.6.15); add "3.6.16": { amd64: <sha256> } from the v3.6.16 release\'s SHA256SUMS',
            ]);
        });

        it("checks every version's entry, not only the one in use", () => {
            assert.deepEqual(problemsOf(byVersion("3.6.16", {
                "3.6.16": sums["3.6.16"],
                "3.6.17": { amd64: "REPLACE-WITH-SHA256-OF-etcd-v3.6.17-linux-amd64.tar.gz", riscv64: "c".repeat(64) },
                "3.6.18": {},
                "3.6.19": "d".repeat(64),
            })), [
                'binary.sha256["3.6.17"].amd64: must be 64 lowercase hex characters',
                'binary.sha256["3.6.17"]: unknown arch "riscv64" (expected amd64 or arm64)',
                'binary.sha256["3.6.18"]: give at least one arch',
                'binary.sha256["3.6.19"]: must be an object',
            ]);
        });

        it("a map mixing arches and versions is read as arch-keyed, so each version key is named as an unknown arch", () => {
            assert.deepEqual(problemsOf(byVersion("3.6.16", { amd64: "a".repeat(64), "3.6.16": sums["3.6.16"] })), [
                'binary.sha256: unknown arch "3.6.16" (expected amd64 or arm64)',
            ]);
        });

        it("a bad version leaves the sums to the version's own problem (no second one about missing sums)", () => {
            assert.deepEqual(problemsOf(byVersion("v3.6.16")), ['version: "v3.6.16" is not a release version like "3.6.16" (no leading "v")']);
        });

        it("the arch-keyed form is read as before: the sums are the configured version's, the placeholder refused by arch", () => {
            assert.deepEqual(spec(byVersion("3.6.16", sums["3.6.16"])).binary, { kind: "url", urlTemplate, sha256: sums["3.6.16"] });
            assert.deepEqual(problemsOf(byVersion("3.6.16", { amd64: "REPLACE-WITH-SHA256-OF-etcd-v3.6.16-linux-amd64.tar.gz" })),
                ["binary.sha256.amd64: must be 64 lowercase hex characters"]);
        });
    });

    describe("where the sums are used (member.ts, mocked engine)", function () {
        this.timeout(60_000);

        /** The staged release of each member, lab-2 an arm64 host. */
        async function staged(s: ClusterSpec): Promise<Record<string, { tarball: string; sha256: string; source: unknown }>> {
            const recorded = installMocks({
                commandStdout: (name) => {
                    const m = /^(.*)-prepare$/.exec(name);
                    return m ? `preflight ok\narch=${m[1] === "lab-2" ? "arm64" : "amd64"}\n` : "ok\n";
                },
            });
            const cluster = new EtcdCluster("etcd", { spec: s, sshPrivateKey: pulumi.secret("SSH-KEY") });
            await resolve(cluster.clientEndpoints);
            await Promise.all(cluster.members.map((m) => resolve(m.inputsDigest)));
            const out: Record<string, { tarball: string; sha256: string; source: unknown }> = {};
            for (const m of ["lab-1", "lab-2", "lab-3"]) {
                const r = recorded.find((x) => x.name === `${m}-tarball`);
                assert.ok(r, `no ${m}-tarball`);
                out[m] = { tarball: r.inputs.tarball, sha256: r.inputs.sha256, source: r.inputs.source };
            }
            return out;
        }

        it("each host stages the configured version's tarball with that version's sum for its arch; editing version alone moves them all", async () => {
            for (const version of ["3.6.15", "3.6.16"] as const) {
                const s = spec({ ...byVersion(version), allowUnverifiedHosts: true, members: (rawConfig().members as object[]) });
                const got = await staged(s);
                for (const [m, arch] of [["lab-1", "amd64"], ["lab-2", "arm64"], ["lab-3", "amd64"]] as const) {
                    assert.deepEqual(got[m], {
                        tarball: stagedReleasePath(s),
                        sha256: sums[version][arch],
                        source: { url: `https://mirror.example/etcd-v${version}-linux-${arch}.tar.gz` },
                    }, `${version} ${m}`);
                }
            }
        });
    });
});

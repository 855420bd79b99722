/**
 * The config file per etcd version (issue 25, item 6). What each release reads, from etcd's source
 * (github.com/etcd-io/etcd; the evidence is in components/spec/etcdVersions.ts):
 * - peer-transport-security.allowed-cn: absent before 3.5.14 (ignored: the peer port would admit
 *   any certificate of the cluster's CA), a string in 3.5.14, a list from 3.5.15 on (3.6 too);
 * - snapshot-count: deprecated in 3.6.0-3.6.7 (a warning at every start when the file sets it),
 *   deprecation revoked in 3.6.8; the 3.6 default is 10000, 3.5's 100000.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { renderEtcdConfig } from "../../../components/member/render";
import { SpecError } from "../../../components/spec/problems";
import { parseClusterSpec } from "../../../components/spec/parse";
import { rawConfig, spec } from "../fixtures";

type Parsed = Record<string, unknown> & { "peer-transport-security": Record<string, unknown>; "client-transport-security": Record<string, unknown> };

function rendered(version: string, snapshotCount?: number): { text: string; parsed: Parsed } {
    const s = spec({ version, ...(snapshotCount === undefined ? {} : { tuning: { snapshotCount } }) });
    const text = renderEtcdConfig(s, s.members[0], { token: "lab-0123456789abcdef", initialClusterState: "new" });
    return { text, parsed: yaml.load(text) as Parsed };
}

function problemsFor(version: string): string[] {
    try {
        parseClusterSpec(rawConfig({ version }));
        return [];
    } catch (e) {
        assert.ok(e instanceof SpecError, `expected SpecError, got ${e}`);
        return e.problems;
    }
}

describe("config per etcd version: peer allowed-cn", () => {
    it("3.5.14 reads allowed-cn as one string (AllowedCN string): rendered as a YAML string", () => {
        const { parsed } = rendered("3.5.14");
        assert.equal(parsed["peer-transport-security"]["allowed-cn"], "etcd-peer");
    });

    for (const version of ["3.5.15", "3.5.32", "3.5.35", "3.6.0", "3.6.7", "3.6.8", "3.6.16"]) {
        it(`${version} reads allowed-cn as a list (AllowedCNs []string): rendered as a YAML list`, () => {
            const { parsed } = rendered(version);
            assert.deepEqual(parsed["peer-transport-security"]["allowed-cn"], ["etcd-peer"]);
        });
    }

    it("the client port never gets allowed-cn (client certificates carry their own CNs)", () => {
        for (const version of ["3.5.14", "3.5.35", "3.6.16"]) {
            assert.equal(rendered(version).parsed["client-transport-security"]["allowed-cn"], undefined, version);
        }
    });

    for (const version of ["3.5.0", "3.5.9", "3.5.13"]) {
        it(`${version} is refused: it ignores allowed-cn in the config file, so its peer port would admit client certificates`, () => {
            const problems = problemsFor(version);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], new RegExp(`^version: etcd ${version.replace(/\./g, "\\.")} `));
            assert.match(problems[0], /allowed-cn/);
            assert.match(problems[0], /use 3\.5\.14 or later/);
        });
    }

    it("3.5.14 and later 3.5 patches, and 3.6, are accepted", () => {
        for (const version of ["3.5.14", "3.5.15", "3.5.35", "3.6.0", "3.6.16"]) assert.deepEqual(problemsFor(version), [], version);
    });
});

describe("config per etcd version: snapshot-count", () => {
    it("3.5 always gets it (its default is 100000, the spec's 10000)", () => {
        for (const version of ["3.5.14", "3.5.35"]) assert.equal(rendered(version).parsed["snapshot-count"], 10000, version);
    });

    it("3.6.0-3.6.7 (deprecated, a warning at every start) leave it out at 3.6's own default, 10000", () => {
        for (const version of ["3.6.0", "3.6.7"]) {
            const { parsed, text } = rendered(version);
            assert.ok(!("snapshot-count" in parsed), `${version}: ${text}`);
        }
    });

    it("3.6.0-3.6.7 still get a value the operator chose (etcd honours it, with its warning)", () => {
        assert.equal(rendered("3.6.7", 5000).parsed["snapshot-count"], 5000);
    });

    it("3.6.8 on (deprecation revoked) get it as before", () => {
        for (const version of ["3.6.8", "3.6.16"]) assert.equal(rendered(version).parsed["snapshot-count"], 10000, version);
        assert.equal(rendered("3.6.16", 10002).parsed["snapshot-count"], 10002);
    });
});

describe("config per etcd version: existing stacks", () => {
    it("3.6.16 renders exactly the golden config (no roll for an existing 3.6.16 stack)", () => {
        const golden = fs.readFileSync(path.join(__dirname, "..", "..", "golden", "member", "etcd.conf.yml"), "utf8");
        assert.equal(rendered("3.6.16").text, golden);
    });

    it("3.5.35 -> 3.6.16 (the lab's upgrade) renders the same config on both sides", () => {
        assert.equal(rendered("3.5.35").text, rendered("3.6.16").text);
    });
});

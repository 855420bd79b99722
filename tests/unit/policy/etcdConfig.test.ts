/** The policy's reading of an etcd config: the program's own rendering passes, each regression is named. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { clientCertAuthProblems, parseEtcdConfig, plaintextUrlProblems } from "../../../policy/etcdConfig";

// The config renderEtcdConfig writes for a member (render.test.ts pins this file to it).
const rendered = fs.readFileSync(path.join(__dirname, "..", "..", "golden", "member", "etcd.conf.yml"), "utf8");

/** The rendered config with `from` replaced by `to` (which must occur). */
function edited(from: string | RegExp, to: string): string {
    const text = rendered.replace(from, to);
    assert.notEqual(text, rendered, `${from} not found in the rendered config`);
    return text;
}

describe("policy: etcd config, plaintext URLs", () => {
    it("finds none in the program's rendering", () => {
        assert.deepEqual(plaintextUrlProblems(parseEtcdConfig(rendered)), []);
    });

    it("ignores the metrics listener (plain HTTP on loopback by design)", () => {
        assert.match(rendered, /^listen-metrics-urls: "http:\/\/127\.0\.0\.1/m);
    });

    it("names each plaintext client URL, in every position of a list", () => {
        const problems = plaintextUrlProblems(parseEtcdConfig(edited(/https:\/\/127\.0\.0\.1:2379/, "http://127.0.0.1:2379")));
        assert.deepEqual(problems, ["listen-client-urls: http://127.0.0.1:2379 is plaintext; use https://"]);
    });

    it("names plaintext peer URLs, also inside initial-cluster's name=url entries", () => {
        const text = edited(/^listen-peer-urls: "https/m, "listen-peer-urls: \"http")
            .replace(/lab-2=https:/, "lab-2=http:");
        assert.deepEqual(plaintextUrlProblems(parseEtcdConfig(text)), [
            "listen-peer-urls: http://10.213.0.11:2380 is plaintext; use https://",
            "initial-cluster: http://10.213.0.12:2380 is plaintext; use https://",
        ]);
    });

    it("treats a missing URL key as etcd's plaintext default", () => {
        const problems = plaintextUrlProblems(parseEtcdConfig(edited(/^advertise-client-urls:.*\n/m, "")));
        assert.deepEqual(problems, ["advertise-client-urls is not set, so etcd uses http://localhost:2379 (plaintext)"]);
    });

    it("accepts the join placeholder the host fills in (no URL in it)", () => {
        const text = edited(/^initial-cluster: .*$/m, 'initial-cluster: "@@initial-cluster@@"');
        assert.deepEqual(plaintextUrlProblems(parseEtcdConfig(text)), []);
    });

    it("refuses every key of a text that is not a YAML mapping", () => {
        assert.equal(plaintextUrlProblems(parseEtcdConfig("just text")).length, 5);
    });
});

describe("policy: etcd config, client-cert-auth", () => {
    it("is on for both listeners in the program's rendering", () => {
        assert.deepEqual(clientCertAuthProblems(parseEtcdConfig(rendered)), []);
    });

    it("names the listener where it is off", () => {
        // The second occurrence is the peer section's.
        let seen = 0;
        const text = rendered.replace(/client-cert-auth: true/g, (m) => (++seen === 2 ? "client-cert-auth: false" : m));
        assert.deepEqual(clientCertAuthProblems(parseEtcdConfig(text)), ["peer-transport-security.client-cert-auth is false; it must be true"]);
    });

    it("refuses a missing section or a value that is not the boolean true", () => {
        const text = edited(/^client-transport-security:\n(  .*\n)+/m, "").replace(/client-cert-auth: true/, 'client-cert-auth: "true"');
        assert.deepEqual(clientCertAuthProblems(parseEtcdConfig(text)), [
            "client-transport-security.client-cert-auth is not set; it must be true",
            'peer-transport-security.client-cert-auth is "true"; it must be true',
        ]);
    });
});

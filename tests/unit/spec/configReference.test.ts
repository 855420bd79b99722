/**
 * docs/config.md and components/spec/configReference.ts against the validator (spec.ts, config.ts):
 * the page is the table's rendering; the table's keys are exactly the keys the program reads; each
 * literal default is what the validator fills in and each derived default holds in its cases; each
 * example is accepted and lands in the spec as given; each counter-example is refused naming its
 * key; a key that is not in the table is refused.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readStackInputs } from "../../../components/spec/config";
import { ConfigKey, configReference, renderConfigReference, unknownKeyProblems } from "../../../components/spec/configReference";
import { defaultClientDir } from "../../../components/outputs";
import { SpecError } from "../../../components/spec/problems";
import { parseClusterSpec } from "../../../components/spec/parse";
import { ClusterSpec, RawClusterConfig } from "../../../components/spec/types";
import { fixtureHostKeys, rawConfig } from "../fixtures";
import { configDocPath } from "../../../scripts/configReference";

/** A valid config with every optional object present, so every nested key has a parent to live in. */
function base(): RawClusterConfig {
    const raw = rawConfig({
        binary: { sha256: { amd64: "0".repeat(64) } },
        clientCertificates: [{ name: "flannel" }, { name: "prometheus" }],
        snapshots: { copyTo: { host: "backup.example", user: "backup", path: "/srv/etcd-snapshots", hostKey: fixtureHostKeys[1] } },
        metrics: { clientCertificate: "prometheus" },
        defrag: {},
        bastion: { host: "bastion.example", hostKey: fixtureHostKeys[0] },
    });
    (raw.members as Record<string, unknown>[])[0].adopt = { unit: "etcd-legacy.service", dataDir: "/var/lib/etcd-legacy" };
    return raw;
}

/** The object holding `key`'s last segment in `raw` (a list's first item for `[]`), created as needed. */
function holder(raw: Record<string, unknown>, key: string): [Record<string, unknown>, string] {
    const parts = key.split(".");
    let at: Record<string, unknown> = raw;
    for (const part of parts.slice(0, -1)) {
        const name = part.replace(/\[\]$/, "");
        if (part.endsWith("[]")) at = (at[name] as Record<string, unknown>[])[0];
        else at = (at[name] ??= {}) as Record<string, unknown>;
    }
    return [at, parts[parts.length - 1]];
}

function withValue(entry: ConfigKey, value: unknown | typeof absent): RawClusterConfig {
    const raw = { ...base(), ...(entry.context ?? {}) } as unknown as Record<string, unknown>;
    const [obj, leaf] = holder(raw, entry.key);
    if (value === absent) delete obj[leaf];
    else obj[leaf] = value;
    return raw as unknown as RawClusterConfig;
}
const absent = Symbol("absent");

function parse(raw: RawClusterConfig): { spec?: ClusterSpec; problems: string[] } {
    try {
        return { spec: parseClusterSpec(raw), problems: [] };
    } catch (e) {
        assert.ok(e instanceof SpecError, String(e));
        return { problems: e.problems };
    }
}

/** What config.ts adds to the raw config besides the stack's keys. */
const internal = new Set(["hasSshKey", "hasSshAgent", "sshAgentProblem", "hasBastionKey", "hasCaCert", "hasCaKey", "knownHostsText", "knownHostsUnreadable"]);

const topLevel = configReference.map((k) => k.key).filter((k) => !/[.[]/.test(k));
const inSpec = configReference.filter((k) => !k.readByConfig);

describe("config reference (docs/config.md, components/spec/configReference.ts)", () => {
    it("docs/config.md is the rendering of the table (regenerate: npx ts-node scripts/configReference.ts)", () => {
        assert.equal(fs.readFileSync(configDocPath, "utf8"), renderConfigReference());
    });

    it("the base config the checks below start from is valid", () => {
        assert.deepEqual(parse(base()).problems, []);
    });

    it("documents exactly the top-level keys config.ts reads", () => {
        const read = new Set<string>();
        pulumi.runtime.setAllConfig({});
        const real = new pulumi.Config("etcd");
        const recording = new Proxy(real, {
            get(target, prop, receiver) {
                const v = Reflect.get(target, prop, receiver);
                if (typeof v !== "function" || typeof prop !== "string" || !/^(get|require)/.test(prop)) return v;
                return (key: string, ...rest: unknown[]) => { read.add(key); return (v as Function).call(target, key, ...rest); };
            },
        });
        assert.throws(() => readStackInputs(recording), SpecError);
        const documented = configReference.map((k) => k.key).filter((k) => !k.includes(".") && !k.includes("["));
        assert.deepEqual([...read].sort(), documented.sort());
    });

    it("documents exactly the nested keys the validator reads (recorded at every object it is given)", () => {
        const read = new Set<string>();
        const watch = (value: unknown, at: string): unknown => {
            if (Array.isArray(value)) return value.map((v) => watch(v, `${at}[]`));
            if (typeof value !== "object" || value === null) return value;
            const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) =>
                [k, configReference.find((c) => c.key === `${at}.${k}`)?.map ? v : watch(v, `${at}.${k}`)]);
            return new Proxy(Object.fromEntries(entries), {
                get(target, prop) {
                    if (typeof prop === "string") read.add(`${at}.${prop}`);
                    return Reflect.get(target, prop);
                },
            });
        };
        // Once with each kind of binary (a URL's fields are read only when there is no local tarball).
        for (const binary of [{ url: "https://example.com/{version}/{arch}.tar.gz", sha256: { amd64: "0".repeat(64) } }, { localTarball: "/tmp/x.tar.gz" }]) {
            const raw = { ...base(), binary, dirs: {}, ports: {}, tuning: {}, ca: {}, restore: { snapshot: "/tmp/snap.db", sha256: "1".repeat(64) } } as Record<string, unknown>;
            for (const k of Object.keys(raw)) if (typeof raw[k] === "object") raw[k] = watch(raw[k], k);
            parse(raw as unknown as RawClusterConfig);
        }
        // restore.sha256 is config.ts's digest of the file, not a key an operator sets.
        const recorded = [...read].filter((k) => k !== "restore.sha256").sort();
        const documented = configReference.map((k) => k.key).filter((k) => k.includes(".")).sort();
        assert.deepEqual(recorded, documented);
    });

    for (const entry of inSpec) {
        if (entry.default !== undefined) {
            it(`${entry.key}: the validator fills in the documented default ${JSON.stringify(entry.default)}`, () => {
                assert.ok(entry.read, "a literal default needs `read` to be checked");
                const { spec, problems } = parse(withValue(entry, absent));
                assert.deepEqual(problems, []);
                assert.deepEqual(entry.read!(spec!), entry.default);
            });
        }
        for (const c of entry.defaultCases ?? []) {
            it(`${entry.key}: the default "${entry.defaultText}" with ${JSON.stringify(c.given)} is ${JSON.stringify(c.value)}`, () => {
                const { spec, problems } = parse({ ...withValue(entry, absent), ...c.given });
                assert.deepEqual(problems, []);
                assert.deepEqual(entry.read!(spec!), c.value);
            });
        }
        if (entry.example !== undefined) {
            it(`${entry.key}: ${JSON.stringify(entry.example)} is accepted and lands in the spec as given`, () => {
                const raw = withValue(entry, entry.example);
                const { spec, problems } = parse(raw);
                assert.deepEqual(problems, []);
                assert.deepEqual(unknownKeyProblems(Object.keys(raw).filter((k) => !internal.has(k)), raw as unknown as Record<string, unknown>), []);
                if (entry.read) assert.deepEqual(entry.read(spec!), entry.example);
            });
        }
        if (entry.invalid !== undefined) {
            it(`${entry.key}: ${JSON.stringify(entry.invalid)} is refused, naming the key`, () => {
                const leaf = entry.key.split(".").pop()!.replace(/\[\]$/, "");
                const { problems } = parse(withValue(entry, entry.invalid));
                assert.ok(problems.some((p) => p.includes(leaf)), `no problem names ${leaf}: ${JSON.stringify(problems)}`);
            });
        }
    }

    it("every key in the spec is checked: a default (literal or with cases), or required, or none; an example or a counter-example", () => {
        for (const entry of inSpec) {
            const hasDefault = entry.default !== undefined || (entry.defaultCases ?? []).length > 0 || entry.required !== undefined ||
                /^(none|off|each field's default)/.test(entry.defaultText ?? "") || entry.key === "clientCertificates[].dir";
            assert.ok(hasDefault, `${entry.key}: no checked default`);
            const leafObject = configReference.some((k) => k.key.startsWith(`${entry.key}.`) || k.key.startsWith(`${entry.key}[].`));
            assert.ok(leafObject || entry.example !== undefined || entry.invalid !== undefined, `${entry.key}: neither an example nor a counter-example`);
        }
    });

    it("clientCertificates[].dir: the documented default is outputs.ts's", () => {
        const entry = configReference.find((k) => k.key === "clientCertificates[].dir")!;
        assert.equal(entry.defaultText, "`" + defaultClientDir("<name>") + "`");
    });

    it("refuses an unknown key at the top level and inside objects and lists, naming it (and the near miss)", () => {
        const problems = unknownKeyProblems(["members", "tuning", "sshUSer", "bastion"], {
            members: [{ name: "a", address: "10.0.0.1", sshUSer: "deploy" }, { name: "b", address: "10.0.0.2", adopt: { unit: "x.service", datadir: "/x" } }],
            tuning: { heartbeatIntervalMS: 100, electionTimeoutMs: 1000 },
            bastion: { host: "b", proxy: "x" },
        });
        assert.deepEqual(problems, [
            "members[0].sshUSer: unknown key (did you mean `sshUser`?)",
            "members[1].adopt.datadir: unknown key (did you mean `dataDir`?)",
            "tuning.heartbeatIntervalMS: unknown key (did you mean `heartbeatIntervalMs`?)",
            // sshUser is a member's field, not a top-level key: no near miss here.
            "sshUSer: unknown key; known here: " + topLevel.join(", "),
            "bastion.proxy: unknown key; known here: host, port, user, hostKey",
        ]);
        // The map's keys are arches (checked by the validator), not config keys.
        assert.deepEqual(unknownKeyProblems(["binary"], { binary: { sha256: { amd64: "x", riscv64: "y" } } }), []);
    });

    it("the program refuses an unknown key in a stack's config (readStackInputs), and accepts the documented ones", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-config-ref-"));
        try {
            const tarball = path.join(dir, "etcd.tar.gz");
            fs.writeFileSync(tarball, "x");
            const good: Record<string, string> = {
                "etcd:clusterName": "prod",
                "etcd:members": JSON.stringify((rawConfig().members as object[])),
                "etcd:version": "3.6.16",
                "etcd:binary": JSON.stringify({ localTarball: tarball }),
                "etcd:sshPrivateKey": "key",
                "etcd:tuning": JSON.stringify({ heartbeatIntervalMs: 100 }),
            };
            pulumi.runtime.setAllConfig(good);
            assert.equal(readStackInputs(new pulumi.Config("etcd")).spec.clusterName, "prod");
            pulumi.runtime.setAllConfig({ ...good, "etcd:sshuser": "deploy", "etcd:tuning": JSON.stringify({ heartbeatIntervalMS: 50 }), "other:thing": "x" });
            assert.throws(() => readStackInputs(new pulumi.Config("etcd")), (e: unknown) => {
                assert.ok(e instanceof SpecError);
                assert.deepEqual(e.problems.filter((p) => /unknown key/.test(p)), [
                    "tuning.heartbeatIntervalMS: unknown key (did you mean `heartbeatIntervalMs`?)",
                    "sshuser: unknown key; known here: " + topLevel.join(", "),
                ]);
                return true;
            });
        } finally {
            pulumi.runtime.setAllConfig({});
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

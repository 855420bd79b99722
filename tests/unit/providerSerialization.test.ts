/**
 * Every dynamic provider can be serialized the way the engine does it at registration
 * (pulumi.runtime.serializeFunction, as `pulumi.dynamic.Resource` calls it), compiled as the
 * engine compiles the program (tsconfig.pulumi.json). The mocked engine never serializes them, so
 * without this a provider that captures what cannot be serialized (crypto imported at the top of a
 * module it calls, under swc) passes every other unit test and fails the first real `preview`.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { providers } from "./serializeProviders";

const repoRoot = path.join(__dirname, "..", "..");

function serializeAll(program: string): { code: number | null; results?: Record<string, string>; stderr: string } {
    const r = spawnSync(process.execPath, ["-r", "ts-node/register", program], {
        cwd: repoRoot, encoding: "utf8", timeout: 120_000,
        env: { ...process.env, TS_NODE_PROJECT: path.join(repoRoot, "tsconfig.pulumi.json"), TS_NODE_TRANSPILE_ONLY: "1" },
    });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    return { code: r.status, results: line.startsWith("{") ? JSON.parse(line) : undefined, stderr: r.stderr };
}

describe("dynamic providers serialize as the engine serializes them", function () {
    this.timeout(180_000);

    it("every provider, compiled with the engine's settings (swc)", () => {
        const r = serializeAll("tests/unit/serializeProviders.ts");
        assert.strictEqual(r.code, 0, r.stderr);
        assert.deepStrictEqual(Object.keys(r.results!).sort(), Object.keys(providers).sort());
        for (const [name, result] of Object.entries(r.results!)) assert.strictEqual(result, "ok", `${name}: ${result}`);
    });
});

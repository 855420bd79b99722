/**
 * The chaos runner's mutants (tests/chaos/mutants.ts) still fit the program: each one's text occurs
 * exactly once in today's sources, and applying it changes exactly that text in a copy, never the repo.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { applyMutant, mutants } from "../../chaos/mutants";

const repoRoot = path.resolve(__dirname, "../../..");

describe("chaos mutants: deliberately broken programs for the chaos runner", () => {
    let copy = "";
    beforeEach(() => {
        copy = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-mutant-"));
        fs.cpSync(path.join(repoRoot, "components"), path.join(copy, "components"), { recursive: true });
    });
    afterEach(() => fs.rmSync(copy, { recursive: true, force: true }));

    for (const [name, m] of Object.entries(mutants)) {
        it(`${name}: its text is in ${m.file} exactly once, and applying it replaces only that text in the copy`, () => {
            const original = fs.readFileSync(path.join(repoRoot, m.file), "utf8");
            assert.strictEqual(original.split(m.from).length - 1, 1);
            applyMutant(copy, name);
            const mutated = fs.readFileSync(path.join(copy, m.file), "utf8");
            assert.strictEqual(mutated, original.replace(m.from, m.to));
            assert.notStrictEqual(mutated, original);
            assert.strictEqual(fs.readFileSync(path.join(repoRoot, m.file), "utf8"), original, "the repository's file is untouched");
        });
    }

    it("refuses an unknown mutant, and a text that is no longer there, naming it", () => {
        assert.throws(() => applyMutant(copy, "no-such"), /unknown mutant 'no-such' \(known: roll-together/);
        const m = mutants["roll-together"];
        fs.writeFileSync(path.join(copy, m.file), "nothing to mutate here");
        assert.throws(() => applyMutant(copy, "roll-together"), /components\/cluster\.ts holds its text 0 times, not once/);
    });
});

/**
 * Deliberately broken programs for the chaos runner (issue 27: "the checker must be able to fail"):
 * `--mutant <name>` applies one of these to the runner's scratch copy of the program (never to the
 * repository), so a seed can show that its invariants catch a real defect of the tool's safety logic.
 * Each mutant names one exact text of components/ and fails loudly when that text has moved
 * (tests/unit/chaos/chaosMutants.test.ts applies every one to the current sources).
 */
import * as fs from "fs";
import * as path from "path";

export interface Mutant {
    /** What the broken program does wrong, in the operator's terms. */
    what: string;
    /** The file under the program's root it changes. */
    file: string;
    /** The exact text replaced; it must occur exactly once. */
    from: string;
    to: string;
}

export const mutants: Record<string, Mutant> = {
    "roll-together": {
        what: "a roll restarts every member at once: each member's restart no longer waits for the member before it to be healthy again",
        file: "components/cluster.ts",
        from: "after: together.apply((t) => t ? [] : before),",
        to: "after: together.apply(() => [] as pulumi.Resource[]), // chaos mutant roll-together",
    },
};

/** Applies mutant `name` to the program copy under `root`; throws naming what did not match. */
export function applyMutant(root: string, name: string): Mutant {
    const mutant = mutants[name];
    if (!mutant) throw new Error(`unknown mutant '${name}' (known: ${Object.keys(mutants).join(", ")})`);
    const file = path.join(root, mutant.file);
    const text = fs.readFileSync(file, "utf8");
    const count = text.split(mutant.from).length - 1;
    if (count !== 1) throw new Error(`mutant '${name}': ${mutant.file} holds its text ${count} times, not once: ${JSON.stringify(mutant.from)}`);
    fs.writeFileSync(file, text.replace(mutant.from, mutant.to));
    return mutant;
}

/** Golden files: rendered text compared with tests/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const goldenDir = path.join(__dirname, "..", "golden");

/** Asserts `actual` equals tests/golden/<name> (or writes it, with UPDATE_GOLDEN=1). */
export function golden(name: string, actual: string): void {
    const file = path.join(goldenDir, name);
    if (process.env.UPDATE_GOLDEN === "1") {
        fs.writeFileSync(file, actual);
        return;
    }
    assert.ok(fs.existsSync(file), `golden file ${file} missing; run UPDATE_GOLDEN=1 npm run test:unit`);
    assert.equal(actual, fs.readFileSync(file, "utf8"), `${name} differs from its golden file`);
}

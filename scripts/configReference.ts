/**
 * Writes docs/config.md from components/spec/configReference.ts (the stack config reference).
 *
 *   npx ts-node scripts/configReference.ts          # write it
 *   npx ts-node scripts/configReference.ts --check  # exit 1 if it is out of date
 *
 * tests/unit/spec/configReference.test.ts runs the same comparison as --check.
 */
import * as fs from "fs";
import * as path from "path";
import { renderConfigReference } from "../components/spec/configReference";

export const configDocPath = path.join(__dirname, "..", "docs", "config.md");

function main(args: string[]): number {
    const text = renderConfigReference();
    if (args.includes("--check")) {
        const current = fs.existsSync(configDocPath) ? fs.readFileSync(configDocPath, "utf8") : "";
        if (current === text) return 0;
        console.error(`${path.relative(process.cwd(), configDocPath)} is out of date: run \`npx ts-node scripts/configReference.ts\``);
        return 1;
    }
    fs.mkdirSync(path.dirname(configDocPath), { recursive: true });
    fs.writeFileSync(configDocPath, text);
    console.log(`wrote ${path.relative(process.cwd(), configDocPath)} (${text.split("\n").length} lines)`);
    return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

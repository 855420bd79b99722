/**
 * The layout by concept (issue 31): every folder of components/ says in its README what it may
 * import, and every import of its files keeps to that; imports run downwards only, with no cycle
 * between files; nothing in a folder imports the top level; tests mirror the folders.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const repoRoot = path.join(__dirname, "..", "..");
const components = path.join(repoRoot, "components");

/** Every relative module a file imports (static imports, re-exports, require), resolved to a repo path without `.ts`. */
export function relativeImports(file: string, text: string): string[] {
    const specs = [...text.matchAll(/(?:\bfrom\s*|\brequire\(\s*|\bimport\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
    return specs.map((s) => path.relative(repoRoot, path.resolve(path.dirname(file), s)).replace(/\.ts$/, ""));
}

/** The folders a README's "May import:" line names ("nothing of components/" for none). */
export function mayImport(readme: string): string[] | undefined {
    const line = readme.split("\n").find((l) => l.startsWith("May import:"));
    if (line === undefined) return undefined;
    return [...line.matchAll(/\b([a-z]+)\//g)].map((m) => m[1]).filter((f) => f !== "components");
}

/** The folder of a components path ("components/host/ssh" → "host"; a top-level file → ""). */
function folderOf(rel: string): string {
    const parts = rel.split("/");
    return parts.length > 2 ? parts[1] : "";
}

const folders = fs.readdirSync(components).filter((d) => fs.statSync(path.join(components, d)).isDirectory()).sort();
const files = folders.flatMap((d) => fs.readdirSync(path.join(components, d)).filter((f) => f.endsWith(".ts")).map((f) => path.join(components, d, f)))
    .concat(fs.readdirSync(components).filter((f) => f.endsWith(".ts")).map((f) => path.join(components, f)));
const imports = new Map(files.map((f) => [path.relative(repoRoot, f).replace(/\.ts$/, ""), relativeImports(f, fs.readFileSync(f, "utf8"))]));

describe("layout: components/ by concept, imports downwards only", () => {
    it("reads the imports it checks (the parser finds what the files import)", () => {
        assert.deepStrictEqual(relativeImports(path.join(components, "host", "x.ts"),
            `import { a } from "../shell/script";\nexport { b } from "./ssh";\nconst c = require("../base/paths");\nimport * as fs from "fs";`),
            ["components/shell/script", "components/host/ssh", "components/base/paths"]);
        assert.deepStrictEqual(mayImport("x\n\nMay import: base/, spec/, shell/.\n"), ["base", "spec", "shell"]);
        assert.deepStrictEqual(mayImport("May import: nothing of components/."), []);
        assert.ok(folders.length >= 9 && files.length >= 50, `${folders.length} folders, ${files.length} files`);
    });

    for (const folder of folders) {
        it(`${folder}/: its README says what lives there and what it may import, and its files import only that`, () => {
            const readme = path.join(components, folder, "README.md");
            assert.ok(fs.existsSync(readme), `components/${folder}/README.md is missing`);
            const allowed = mayImport(fs.readFileSync(readme, "utf8"));
            assert.ok(allowed !== undefined, `components/${folder}/README.md has no "May import:" line`);
            for (const a of allowed!) assert.ok(folders.includes(a), `components/${folder}/README.md names ${a}/, which is not a folder`);
            const wrong = [...imports].filter(([f]) => folderOf(f) === folder)
                .flatMap(([f, deps]) => deps.filter((d) => d.startsWith("components/") && folderOf(d) !== folder && !allowed!.includes(folderOf(d))).map((d) => `${f} imports ${d}`));
            assert.deepStrictEqual(wrong, [], `imports outside what components/${folder}/README.md allows (${allowed!.join(", ") || "nothing"})`);
        });
    }

    it("the folders' allowances have no cycle (a folder below never may import one above)", () => {
        const allow = new Map(folders.map((f) => [f, mayImport(fs.readFileSync(path.join(components, f, "README.md"), "utf8")) ?? []]));
        const seen = new Set<string>();
        const visit = (f: string, trail: string[]): void => {
            assert.ok(!trail.includes(f), `a cycle of allowances: ${[...trail, f].join(" → ")}`);
            if (seen.has(f)) return;
            for (const g of allow.get(f) ?? []) visit(g, [...trail, f]);
            seen.add(f);
        };
        for (const f of folders) visit(f, []);
    });

    it("no file imports one that imports it back, through any chain", () => {
        const state = new Map<string, "open" | "done">();
        const visit = (f: string, trail: string[]): void => {
            if (state.get(f) === "done") return;
            assert.notStrictEqual(state.get(f), "open", `an import cycle: ${[...trail, f].join(" → ")}`);
            state.set(f, "open");
            for (const d of imports.get(f) ?? []) if (imports.has(d)) visit(d, [...trail, f]);
            state.set(f, "done");
        };
        for (const f of imports.keys()) visit(f, []);
    });

    it("nothing in a folder imports the top level (cluster.ts, outputs.ts, …), and no component imports index.ts", () => {
        const up = [...imports].flatMap(([f, deps]) => deps.filter((d) => (folderOf(f) !== "" && d.startsWith("components/") && folderOf(d) === "") || d === "index")
            .map((d) => `${f} imports ${d}`));
        assert.deepStrictEqual(up, []);
    });

    it("tests mirror the layout: each folder's unit tests in tests/unit/<folder>/ import that folder", () => {
        const unit = path.join(repoRoot, "tests", "unit");
        for (const folder of fs.readdirSync(unit).filter((d) => folders.includes(d))) {
            for (const t of fs.readdirSync(path.join(unit, folder)).filter((f) => f.endsWith(".test.ts"))) {
                const file = path.join(unit, folder, t);
                const deps = relativeImports(file, fs.readFileSync(file, "utf8"));
                assert.ok(deps.some((d) => d.startsWith(`components/${folder}/`)), `tests/unit/${folder}/${t} imports nothing of components/${folder}/`);
            }
        }
        const missing = folders.filter((f) => !fs.existsSync(path.join(unit, f)));
        assert.deepStrictEqual(missing, [], "a components folder without its tests/unit folder");
    });
});

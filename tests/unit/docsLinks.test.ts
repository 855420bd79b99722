/**
 * The docs split by task (issue 29, item 13) must not rot: every relative link in README.md,
 * tests/README.md and docs/ resolves to a file of the repository, and a link's #anchor to a heading
 * of that file (GitHub's slugs); every page in docs/ is reachable from the README; the README stays
 * one screen with its Limitations.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..", "..");
const docsDir = path.join(root, "docs");

function markdownUnder(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? markdownUnder(p) : e.name.endsWith(".md") ? [p] : [];
    });
}

/** The text outside fenced code blocks and inline code: a link in an example is not a link. */
function prose(text: string): string {
    return text.replace(/^(```|~~~)[\s\S]*?^\1/gm, "").replace(/`[^`\n]*`/g, "``");
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to dashes; repeats get -1, -2, … */
export function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    const withoutCode = text.replace(/^(```|~~~)[\s\S]*?^\1/gm, "");
    for (const m of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
        const base = m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

/** Every Markdown link target `[text](target)` in a file's prose, but external ones. */
function relativeLinks(text: string): string[] {
    return [...prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1])
        .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

const pages = () => [path.join(root, "README.md"), path.join(root, "tests", "README.md"), ...markdownUnder(docsDir)];

describe("docs links (README.md, tests/README.md, docs/)", () => {
    it("the slugs are GitHub's", () => {
        assert.deepEqual([...anchors("# Policy pack (`policy/`)\n## The plan a reviewer reads (issue 28)\n## Outputs\n## Outputs\n")],
            ["policy-pack-policy", "the-plan-a-reviewer-reads-issue-28", "outputs", "outputs-1"]);
    });

    it("every relative link resolves to a file, and its anchor to a heading there", () => {
        const broken: string[] = [];
        let count = 0;
        for (const file of pages()) {
            const text = fs.readFileSync(file, "utf8");
            for (const link of relativeLinks(text)) {
                count++;
                const [target, anchor] = link.split("#", 2);
                const resolved = target === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(target));
                const where = `${path.relative(root, file)}: ${link}`;
                if (!resolved.startsWith(root + path.sep) || !fs.existsSync(resolved)) {
                    broken.push(`${where} (no such file)`);
                    continue;
                }
                if (anchor !== undefined) {
                    if (!resolved.endsWith(".md")) broken.push(`${where} (an anchor into a file that is not Markdown)`);
                    else if (!anchors(fs.readFileSync(resolved, "utf8")).has(anchor)) broken.push(`${where} (no heading with that anchor)`);
                }
            }
        }
        assert.deepEqual(broken, []);
        assert.ok(count > 50, `only ${count} links found: is the link pattern still right?`);
    });

    it("every page in docs/ is reachable from the README", () => {
        const reached = new Set<string>();
        const queue = [path.join(root, "README.md")];
        while (queue.length > 0) {
            const file = queue.pop()!;
            if (reached.has(file)) continue;
            reached.add(file);
            for (const link of relativeLinks(fs.readFileSync(file, "utf8"))) {
                const target = link.split("#")[0];
                if (target === "") continue;
                const resolved = path.resolve(path.dirname(file), decodeURIComponent(target));
                if (resolved.startsWith(docsDir + path.sep) && resolved.endsWith(".md") && fs.existsSync(resolved)) queue.push(resolved);
            }
        }
        const orphans = markdownUnder(docsDir).filter((p) => !reached.has(p)).map((p) => path.relative(root, p));
        assert.deepEqual(orphans, []);
    });

    it("the README is one screen, with its Limitations, and points the code's messages at their pages", () => {
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        const lines = readme.split("\n").length;
        assert.ok(lines <= 70, `README.md has ${lines} lines: the details belong in docs/`);
        assert.match(readme, /^## Limitations$/m);
        // Messages of the program (components/) name these README entries: each must be a link there.
        for (const [text, page] of [["Replacing a failed host", "docs/replace-member.md"], ["Restore from a snapshot", "docs/restore.md"],
            ["Policy pack", "docs/policy.md"]]) {
            assert.ok(readme.includes(`[${text}](${page})`), `README does not link "${text}" to ${page}`);
        }
    });
});

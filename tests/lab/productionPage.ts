/** The production quickstart page's runnable parts (docs/production.md): its `bash` blocks by section. */

/** The ```bash blocks of the section whose heading starts with `## <n>.`. */
export function pageBlocks(text: string, n: number): string[] {
    const section = text.split(/^## /m).find((s) => s.startsWith(`${n}. `));
    if (!section) throw new Error(`docs/production.md has no section "## ${n}."`);
    return [...section.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

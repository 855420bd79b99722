/**
 * The support matrix's table (issue 30): one row per cluster run by tests/lab/releases.test.ts
 * (ETCD_STACK_MATRIX_OUT's JSON), as Markdown. Pure; scripts/support-matrix.sh runs the lab and
 * calls `node … supportMatrix.ts <date> <commit> <result.json>…` (tests/unit/supportMatrix.test.ts).
 */
import * as fs from "fs";

export interface HostFacts { release: string; debianVersion: string; systemd: string; kernelCgroup: string }
export interface MatrixResult {
    cluster: string;
    releases: Record<string, string>;
    hosts: Record<string, HostFacts>;
    steps: Record<string, string>;
}

/** The steps in the table's order (releases.test.ts's). */
export const matrixSteps = ["release check", "cold up", "rolling change", "scale 3 → 5", "scale 5 → 3", "drift repair", "destroy"];

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** What a host's facts say, e.g. "Debian 11.11, systemd 247 (247.3-7+deb11u5), cgroup hybrid"; the release asked for when the step never read it. */
function hostLine(h: HostFacts | undefined, release: string): string {
    if (!h) return `${release} (not read)`;
    const major = /^(\d+)/.exec(h.systemd)?.[1] ?? "?";
    return `Debian ${h.debianVersion} (${h.release}), systemd ${major} (${h.systemd.replace(/^\d+ \((.*)\)$/, "$1")}), cgroup ${h.kernelCgroup}`;
}

/** The Markdown table: cluster, its hosts (lab1..lab3, then the scale-up's lab4, lab5), each step, date, commit; then the failures' messages. */
export function matrixTable(results: MatrixResult[], date: string, commit: string): string {
    const head = ["cluster", "hosts (lab1, lab2, lab3; scale-up: lab4, lab5)", ...matrixSteps, "date", "commit"];
    const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
    const failures: string[] = [];
    for (const r of results) {
        // Hosts alike (a cluster of one release) share a line: "lab1, lab2, …: <facts>".
        const byLine = new Map<string, string[]>();
        for (const h of Object.keys(r.releases).sort()) {
            const line = hostLine(r.hosts[h], r.releases[h]);
            byLine.set(line, [...(byLine.get(line) ?? []), h]);
        }
        const hosts = [...byLine].map(([line, names]) => `${names.join(", ")}: ${line}`);
        const steps = matrixSteps.map((s) => {
            const v = r.steps[s] ?? "not run";
            if (v.startsWith("failed")) failures.push(`- ${r.cluster}, ${s}: ${v.replace(/^failed:\s*/, "")}`);
            return v === "ok" ? "ok" : v.startsWith("failed") ? "**failed**" : v;
        });
        lines.push(`| ${[r.cluster, hosts.join("<br>"), ...steps, date, commit].map(cell).join(" | ")} |`);
    }
    return `${lines.join("\n")}\n${failures.length ? `\nFailures:\n${failures.join("\n")}\n` : ""}`;
}

if (require.main === module) {
    const [date, commit, ...files] = process.argv.slice(2);
    if (!date || !commit || files.length === 0) {
        console.error("usage: supportMatrix.ts DATE COMMIT RESULT.json…");
        process.exit(2);
    }
    process.stdout.write(matrixTable(files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as MatrixResult), date, commit));
}

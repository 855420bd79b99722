/**
 * The check behind scripts/certExpiry.sh: reads a stack's `certificates` output (JSON, on stdin),
 * prints a table (certificate, not after, renew from, days left, state) and fails naming every
 * certificate inside its renewal window or expired. Run by the shell script, which reads the output
 * with the operator's own `pulumi`:
 *   pulumi stack output --json certificates | TS_NODE_TRANSPILE_ONLY=1 npx ts-node scripts/certExpiry.ts <stack> [--now <ISO time>]
 * Exit 0: every certificate outside its window; 1: something to renew or rotate; 2: not a `certificates` output.
 */
import type { CertificateExpiry, Renewal } from "../components/pki/certificateExpiry";

export type State = "ok" | "renew" | "expired";

export interface ExpiryRow {
    name: string;
    notAfter: string;
    renewFrom: string;
    /** Days from `now` to `notAfter`, negative once expired. */
    daysLeft: number;
    state: State;
    renewal: Renewal;
}

/** The output as read, checked for the fields the check needs: a clear error for anything else. */
export function parseCertificates(json: string): Record<string, CertificateExpiry> {
    let value: unknown;
    try {
        value = JSON.parse(json);
    } catch {
        throw new Error("the `certificates` output is not JSON");
    }
    if (value === null || typeof value !== "object" || Array.isArray(value) || Object.keys(value).length === 0) {
        throw new Error("the `certificates` output holds no certificate");
    }
    for (const [name, e] of Object.entries(value as Record<string, Partial<CertificateExpiry>>)) {
        for (const field of ["notAfter", "renewFrom"] as const) {
            if (typeof e?.[field] !== "string" || Number.isNaN(Date.parse(e[field]!))) throw new Error(`certificate "${name}": no valid ${field}`);
        }
        if (e.renewal !== "up" && e.renewal !== "CA rotation") throw new Error(`certificate "${name}": renewal "${String(e.renewal)}" is neither "up" nor "CA rotation"`);
    }
    return value as Record<string, CertificateExpiry>;
}

/** Each certificate's state at `now`: expired from its not-after time on, to renew from its window's start. */
export function assess(certs: Record<string, CertificateExpiry>, now: Date): ExpiryRow[] {
    return Object.entries(certs).map(([name, c]) => {
        const end = Date.parse(c.notAfter);
        const state: State = now.getTime() >= end ? "expired" : now.getTime() >= Date.parse(c.renewFrom) ? "renew" : "ok";
        return { name, notAfter: c.notAfter, renewFrom: c.renewFrom, daysLeft: (end - now.getTime()) / 86_400_000, state, renewal: c.renewal };
    });
}

const stateText = (r: ExpiryRow) => r.state === "ok" ? "ok" : r.state === "expired" ? "EXPIRED" : r.renewal === "up" ? "RENEW (pulumi up)" : "ROTATE THE CA";

/** The table: one row per certificate, columns aligned. */
export function renderTable(rows: ExpiryRow[]): string {
    const lines = [["certificate", "not after", "renew from", "days left", "state"],
        ...rows.map((r) => [r.name, r.notAfter, r.renewFrom, r.daysLeft.toFixed(1), stateText(r)])];
    const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
    return lines.map((l) => l.map((cell, i) => i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n") + "\n";
}

/** What the operator must do, one line each; none when every certificate is outside its window. */
export function problems(rows: ExpiryRow[], stack: string): string[] {
    const names = (f: (r: ExpiryRow) => boolean) => rows.filter(f).map((r) => r.name);
    const out: string[] = [];
    const expired = names((r) => r.state === "expired");
    if (expired.length > 0) out.push(`stack '${stack}': expired: ${expired.join(", ")}`);
    const renew = names((r) => r.state !== "ok" && r.renewal === "up");
    if (renew.length > 0) out.push(`stack '${stack}': run \`pulumi up\` to renew: ${renew.join(", ")}`);
    const rotate = names((r) => r.state !== "ok" && r.renewal === "CA rotation");
    if (rotate.length > 0) out.push(`stack '${stack}': rotate the CA (docs/certificates.md; an \`up\` does not renew a CA): ${rotate.join(", ")}`);
    return out;
}

function main(argv: string[]): number {
    let now = new Date();
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--now") {
            now = new Date(argv[++i] ?? "");
            if (Number.isNaN(now.getTime())) {
                process.stderr.write(`certExpiry: --now "${argv[i] ?? ""}" is not an ISO time\n`);
                return 2;
            }
        } else {
            rest.push(argv[i]);
        }
    }
    const stack = rest[0] ?? "(selected)";
    let rows: ExpiryRow[];
    try {
        rows = assess(parseCertificates(require("fs").readFileSync(0, "utf8")), now);
    } catch (e) {
        process.stderr.write(`certExpiry: stack '${stack}': ${(e as Error).message}\n`);
        return 2;
    }
    process.stdout.write(`certificates of stack '${stack}' at ${now.toISOString()}:\n` + renderTable(rows));
    const found = problems(rows, stack);
    for (const p of found) process.stderr.write(`certExpiry: ${p}\n`);
    return found.length > 0 ? 1 : 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}

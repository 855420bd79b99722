/**
 * Prints one line per member of a live cluster, read from the cluster itself with etcdctl:
 * name, client URL, version, leader, DB size, healthy. Used by scripts/demo.sh.
 *
 *   npx ts-node scripts/clusterStatus.ts <etcdctl> <endpoints> <ca> <cert> <key>
 */
import { spawnSync } from "child_process";

const [etcdctl, endpoints, ca, cert, key] = process.argv.slice(2);

/** etcdctl's JSON, with 64-bit member IDs kept as strings (JSON numbers would round them). */
function etcdctlJson(args: string[]): any {
    const r = spawnSync(etcdctl, [`--endpoints=${endpoints}`, `--cacert=${ca}`, `--cert=${cert}`, `--key=${key}`,
        "--dial-timeout=3s", "--command-timeout=5s", ...args, "-w", "json"], { encoding: "utf8", timeout: 30_000 });
    // endpoint health exits non-zero when a member is unhealthy but still prints every result.
    const out = r.stdout.trim();
    if (out === "") throw new Error(`etcdctl ${args.join(" ")} failed: ${r.stderr}`);
    return JSON.parse(out.replace(/"(ID|member_id|cluster_id|leader)":(\d+)/g, '"$1":"$2"'));
}

const members: Array<{ ID: string; name: string; clientURLs: string[] }> = etcdctlJson(["member", "list"]).members;
const status: Array<{ Endpoint: string; Status: { header: { member_id: string }; leader: string; version: string; dbSize: number } }> =
    etcdctlJson(["endpoint", "status", "--cluster"]);
const health: Array<{ endpoint: string; health: boolean; error?: string }> = etcdctlJson(["endpoint", "health", "--cluster"]);

const rows = [...members].sort((a, b) => a.name.localeCompare(b.name)).map((m) => {
    const url = m.clientURLs[0] ?? "";
    const s = status.find((x) => x.Endpoint === url)?.Status;
    const h = health.find((x) => x.endpoint === url);
    return [m.name, url, s?.version ?? "?", s ? (s.leader === s.header.member_id ? "leader" : "") : "?",
        s ? `${(s.dbSize / 1024).toFixed(0)} KiB` : "?", h?.health ? "healthy" : `UNHEALTHY ${h?.error ?? ""}`.trim()];
});
const header = ["NAME", "CLIENT URL", "VERSION", "LEADER", "DB SIZE", "HEALTH"];
const widths = header.map((hd, i) => Math.max(hd.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
process.exit(rows.every((r) => r[5] === "healthy") ? 0 : 1);

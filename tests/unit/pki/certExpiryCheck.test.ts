/**
 * scripts/certExpiry.sh (and scripts/certExpiry.ts, its check): a stack's `certificates` output
 * against the clock. The pure check (window, expiry, the table, what to do), then the script as an
 * operator and the expiry workflow run it, with a fake `pulumi` on PATH serving the output (as
 * operatorScripts.test.ts does): a certificate inside its window fails naming it, all fine exits 0,
 * an expired one is named as expired, a CA is to be rotated, and a stack without the output (last
 * updated by an older etcd-stack) is a clear error. The operator's PULUMI_* reach pulumi untouched.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { assess, parseCertificates, problems, renderTable } from "../../../scripts/certExpiry";
import type { CertificateExpiry } from "../../../components/pki/certificateExpiry";

const repoRoot = path.join(__dirname, "..", "..", "..");

/** A stack's output: the CA, lab-1's two certificates, two clients; each window as given. */
function output(over: Record<string, Partial<CertificateExpiry>> = {}): Record<string, CertificateExpiry> {
    const fp = "AB:CD";
    const base: Record<string, CertificateExpiry> = {
        "ca": { notAfter: "2036-11-21T08:00:00Z", renewFrom: "2035-11-21T08:00:00Z", sha256Fingerprint: fp, renewal: "CA rotation" },
        "member/lab-1/server": { notAfter: "2027-11-23T08:00:00Z", renewFrom: "2027-10-24T08:00:00Z", sha256Fingerprint: fp, renewal: "up" },
        "member/lab-1/peer": { notAfter: "2027-11-23T08:00:00Z", renewFrom: "2027-10-24T08:00:00Z", sha256Fingerprint: fp, renewal: "up" },
        "client/admin": { notAfter: "2027-11-23T08:00:00Z", renewFrom: "2027-10-24T08:00:00Z", sha256Fingerprint: fp, renewal: "up" },
        "timer/defrag": { notAfter: "2027-11-23T08:00:00Z", renewFrom: "2027-10-24T08:00:00Z", sha256Fingerprint: fp, renewal: "up" },
    };
    for (const [k, v] of Object.entries(over)) base[k] = { ...base[k], ...v };
    return base;
}

describe("certificate expiry check (scripts/certExpiry.ts, pure)", () => {
    const now = new Date("2026-12-05T12:00:00Z");

    it("ok before the window, renew from its start, expired from the not-after time on; days left counted to the not-after time", () => {
        const rows = assess(output({
            "member/lab-1/peer": { renewFrom: "2026-12-05T12:00:00Z", notAfter: "2027-01-04T12:00:00Z" },
            "client/admin": { renewFrom: "2026-11-05T12:00:00Z", notAfter: "2026-12-05T12:00:00Z" },
        }), now);
        assert.deepEqual(rows.map((r) => [r.name, r.state]), [
            ["ca", "ok"], ["member/lab-1/server", "ok"], ["member/lab-1/peer", "renew"], ["client/admin", "expired"], ["timer/defrag", "ok"],
        ]);
        assert.equal(rows[2].daysLeft, 30);
        assert.equal(rows[3].daysLeft, 0);
    });

    it("names what to do: `pulumi up` for member and client certificates (expired ones too), a rotation for a CA", () => {
        const rows = assess(output({
            "ca": { renewFrom: "2026-01-01T00:00:00Z" },
            "member/lab-1/server": { renewFrom: "2026-12-01T00:00:00Z" },
            "timer/defrag": { notAfter: "2026-12-01T00:00:00Z", renewFrom: "2026-11-01T00:00:00Z" },
        }), now);
        assert.deepEqual(problems(rows, "prod"), [
            "stack 'prod': expired: timer/defrag",
            "stack 'prod': run `pulumi up` to renew: member/lab-1/server, timer/defrag",
            "stack 'prod': rotate the CA (docs/certificates.md; an `up` does not renew a CA): ca",
        ]);
        assert.deepEqual(problems(assess(output(), now), "prod"), []);
    });

    it("the table: a row per certificate with its not-after time, window start, days left and state", () => {
        const table = renderTable(assess(output({ "client/admin": { renewFrom: "2026-12-01T00:00:00Z", notAfter: "2026-12-31T12:00:00Z" } }), now)).split("\n");
        assert.match(table[0], /^certificate +not after +renew from +days left +state$/);
        assert.match(table[1], /^ca +2036-11-21T08:00:00Z +2035-11-21T08:00:00Z +3638\.8 +ok$/);
        assert.match(table[4], /^client\/admin +2026-12-31T12:00:00Z +2026-12-01T00:00:00Z +26\.0 +RENEW \(pulumi up\)$/);
        assert.equal(new Set(table.filter((l) => l !== "").map((l) => l.indexOf("20"))).size, 2, "columns aligned");
    });

    it("refuses what is not a `certificates` output, saying what is wrong", () => {
        assert.throws(() => parseCertificates("not json"), /not JSON/);
        assert.throws(() => parseCertificates("{}"), /holds no certificate/);
        assert.throws(() => parseCertificates('{"ca": {"renewFrom": "2026-01-01T00:00:00Z", "renewal": "up"}}'), /certificate "ca": no valid notAfter/);
        assert.throws(() => parseCertificates(JSON.stringify({ ca: { ...output().ca, renewal: "cron" } })), /renewal "cron"/);
        assert.deepEqual(parseCertificates(JSON.stringify(output())), output());
    });
});

describe("scripts/certExpiry.sh with a fake pulumi", function () {
    this.timeout(60_000);
    let tmp: string;
    let fakeBin: string;

    // The fake answers like pulumi v3.259: `stack output --json <name>`, or its error for a missing output.
    const fakePulumi = `#!/usr/bin/env bash
printf '%s\\tPULUMI_BACKEND_URL=%s\\tPULUMI_CONFIG_PASSPHRASE=%s\\n' "$*" "\${PULUMI_BACKEND_URL-unset}" "\${PULUMI_CONFIG_PASSPHRASE-unset}" >>"$FAKE_PULUMI_LOG"
case "$*" in
  "stack --show-name") echo prod ;;
  "stack output --stack "*" --json certificates")
    if [[ -f $FAKE_CERTIFICATES ]]; then cat "$FAKE_CERTIFICATES"
    else echo "error: current stack does not have output property 'certificates'" >&2; exit 255; fi ;;
  *) echo "fake pulumi: unexpected: $*" >&2; exit 2 ;;
esac
`;

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-cert-expiry-script-"));
        fakeBin = path.join(tmp, "bin");
        fs.mkdirSync(fakeBin);
        fs.writeFileSync(path.join(fakeBin, "pulumi"), fakePulumi, { mode: 0o755 });
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** Runs the script as `npm run cert-expiry` would, with `certs` as the stack's output (undefined: none). */
    function run(args: string[], certs: Record<string, CertificateExpiry> | undefined, env: Record<string, string> = {}) {
        const id = Math.random().toString(36).slice(2);
        const file = path.join(tmp, `certs-${id}.json`);
        if (certs) fs.writeFileSync(file, JSON.stringify(certs));
        const log = path.join(tmp, `calls-${id}.log`);
        const r = spawnSync("bash", ["scripts/certExpiry.sh", ...args], {
            cwd: repoRoot, encoding: "utf8", timeout: 50_000,
            env: { PATH: `${fakeBin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: tmp, FAKE_CERTIFICATES: file, FAKE_PULUMI_LOG: log, ...env },
        });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
    }
    const now = ["--now", "2026-12-05T12:00:00Z"];

    it("all outside their windows: exit 0, the table lists every certificate; the operator's own PULUMI_* reach pulumi", () => {
        const r = run(["prod", ...now], output(), { PULUMI_BACKEND_URL: "s3://team-state", PULUMI_CONFIG_PASSPHRASE: "team" });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        assert.match(r.stdout, /^certificates of stack 'prod' at 2026-12-05T12:00:00\.000Z:\ncertificate +not after +renew from +days left +state\n/);
        for (const name of Object.keys(output())) assert.match(r.stdout, new RegExp(`^${name} .* ok$`, "m"), name);
        assert.deepEqual(r.calls, ["stack output --stack prod --json certificates\tPULUMI_BACKEND_URL=s3://team-state\tPULUMI_CONFIG_PASSPHRASE=team"]);
    });

    it("one inside its renewal window: fails naming it (and only it), with `pulumi up` to renew it", () => {
        const r = run(["prod", ...now], output({ "member/lab-1/peer": { renewFrom: "2026-12-01T00:00:00Z" } }));
        assert.equal(r.code, 1);
        assert.equal(r.stderr, "certExpiry: stack 'prod': run `pulumi up` to renew: member/lab-1/peer\n");
        assert.match(r.stdout, /^member\/lab-1\/peer +2027-11-23T08:00:00Z +2026-12-01T00:00:00Z +352\.8 +RENEW \(pulumi up\)$/m);
    });

    it("an expired one: named as expired; a CA in its window: to be rotated; no stack named: the selected one", () => {
        const r = run(now, output({
            "client/admin": { notAfter: "2026-12-04T12:00:00Z", renewFrom: "2026-11-04T12:00:00Z" },
            "ca": { renewFrom: "2026-06-01T00:00:00Z" },
        }));
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^certExpiry: stack 'prod': expired: client\/admin$/m);
        assert.match(r.stderr, /^certExpiry: stack 'prod': run `pulumi up` to renew: client\/admin$/m);
        assert.match(r.stderr, /^certExpiry: stack 'prod': rotate the CA \(docs\/certificates\.md; .*\): ca$/m);
        assert.match(r.stdout, /^client\/admin .* -1\.0 +EXPIRED$/m);
        assert.equal(r.calls[0].split("\t")[0], "stack --show-name");
    });

    it("a stack whose last up had no `certificates` output: a clear error saying to run `pulumi up` once", () => {
        const r = run(["staging", ...now], undefined);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^certExpiry: stack 'staging' has no `certificates` output: its last `pulumi up` ran an etcd-stack from before certificate expiry was published\. Run `pulumi up` with this version once/);
        assert.equal(r.stdout, "");
    });

    it("a bad --now is refused", () => {
        const r = run(["prod", "--now", "yesterday"], output());
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--now "yesterday" is not an ISO time/);
    });
});

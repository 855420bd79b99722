/** The support matrix's Markdown (tests/lab/supportMatrix.ts, issue 30): what docs/support.md shows from a lab run. */
import * as assert from "assert";
import { MatrixResult, matrixSteps, matrixTable } from "../lab/supportMatrix";

const facts = (release: string, debianVersion: string, systemd: string, kernelCgroup = "hybrid") => ({ release, debianVersion, systemd, kernelCgroup });

describe("support matrix table", () => {
    const ok = Object.fromEntries(matrixSteps.map((s) => [s, "ok"]));
    const mixed: MatrixResult = {
        cluster: "mixed",
        releases: { lab2: "bookworm", lab1: "bullseye", lab3: "trixie" },
        hosts: { lab1: facts("bullseye", "11.11", "247 (247.3-7+deb11u5)"), lab2: facts("bookworm", "12.11", "252 (252.39-1~deb12u1)"), lab3: facts("trixie", "13.1", "257 (257.8-1~deb13u2)", "v2 only") },
        steps: ok,
    };

    it("one row per cluster: its hosts in host order with release, systemd and cgroup layout, each step, the date and commit", () => {
        const table = matrixTable([mixed], "2026-12-06", "abc1234").split("\n");
        assert.strictEqual(table[0], `| cluster | hosts (lab1, lab2, lab3; scale-up: lab4, lab5) | ${matrixSteps.join(" | ")} | date | commit |`);
        assert.strictEqual(table[1], `|${" --- |".repeat(matrixSteps.length + 4)}`);
        assert.strictEqual(table[2], "| mixed | lab1: Debian 11.11 (bullseye), systemd 247 (247.3-7+deb11u5), cgroup hybrid<br>" +
            "lab2: Debian 12.11 (bookworm), systemd 252 (252.39-1~deb12u1), cgroup hybrid<br>" +
            "lab3: Debian 13.1 (trixie), systemd 257 (257.8-1~deb13u2), cgroup v2 only | ok | ok | ok | ok | ok | ok | ok | 2026-12-06 | abc1234 |");
        assert.strictEqual(table.length, 4, "no failures section when every step passed");
    });

    it("a failed step is marked in its cell and its message listed under the table, escaped; a step never reached says so", () => {
        const failed: MatrixResult = { ...mixed, cluster: "trixie", steps: { ...ok, "drift repair": "failed: a | b", destroy: "not run" } };
        const text = matrixTable([failed], "d", "c");
        const row = text.split("\n")[2].split(" | ");
        assert.strictEqual(row[matrixSteps.indexOf("drift repair") + 2], "**failed**");
        assert.strictEqual(row[matrixSteps.indexOf("destroy") + 2], "not run");
        assert.match(text, /\nFailures:\n- trixie, drift repair: a \| b\n$/);
    });

    it("hosts with the same facts share one line, in host order", () => {
        const f = facts("trixie", "13.8", "257 (257.13-1~deb13u1)", "v2 only");
        const one: MatrixResult = { ...mixed, cluster: "trixie", releases: { lab1: "trixie", lab3: "trixie", lab2: "trixie" }, hosts: { lab1: f, lab2: f, lab3: { ...f, debianVersion: "13.7" } } };
        assert.match(matrixTable([one], "d", "c"), /\| trixie \| lab1, lab2: Debian 13\.8 \(trixie\), systemd 257 \(257\.13-1~deb13u1\), cgroup v2 only<br>lab3: Debian 13\.7 \(trixie\), systemd 257 /);
    });

    it("a host whose facts were never read shows the release it was asked for", () => {
        const text = matrixTable([{ ...mixed, hosts: {} }], "d", "c");
        assert.match(text, /\| lab1: bullseye \(not read\)<br>lab2: bookworm \(not read\)<br>lab3: trixie \(not read\) \|/);
    });
});

/**
 * The lab itself: three real hosts (systemd as PID 1, sshd, their own identity and
 * address) that reach each other, and the faults later tests rely on (reboot, freeze,
 * link down) really happen and really end.
 *
 * Leaves the lab up for the lab tests after it; scripts/test.sh's caller runs `lab.sh down`.
 */
import * as assert from "assert";
import { labAvailable, labFault, labHosts, labIp, labRun, labSsh, labUp } from "./lab";
import { skipIf } from "../skip";

const hosts = ["lab1", "lab2", "lab3"];

/** Runs a command that must succeed on a host; returns its trimmed stdout. */
function must(host: string, command: string, timeoutMs = 60_000): string {
    const r = labSsh(host, command, undefined, timeoutMs);
    assert.strictEqual(r.code, 0, `${host}: \`${command}\` exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout.trim();
}

/** Retries `check` every 500 ms until it returns true or `timeoutMs` passes. */
async function eventually(what: string, timeoutMs: number, check: () => boolean): Promise<number> {
    const start = Date.now();
    while (!check()) {
        if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 500));
    }
    return Date.now() - start;
}

const bootId = (host: string) => must(host, "cat /proc/sys/kernel/random/boot_id");
const reachesSsh = (from: string, to: string) =>
    labSsh(from, `timeout 3 bash -c 'echo > /dev/tcp/${labIp(to)}/22'`, undefined, 20_000).code === 0;

describe("lab: three systemd-nspawn hosts on 10.213.0.0/24", function () {
    this.timeout(3 * 60_000);

    before(function () {
        this.timeout(10 * 60_000); // the first run builds the base rootfs with debootstrap (~1-2 min)
        skipIf(this, labAvailable());
        labUp(3);
    });

    it("has exactly lab1..lab3", () => {
        assert.deepStrictEqual(labHosts(), hosts);
    });

    it("runs systemd as PID 1 on every host", () => {
        for (const h of hosts) assert.strictEqual(must(h, "cat /proc/1/comm"), "systemd", h);
    });

    it("boots every host to running or degraded", () => {
        for (const h of hosts) {
            const r = labSsh(h, "timeout 60 systemctl is-system-running --wait", undefined, 90_000);
            const state = r.stdout.trim();
            const failed = state === "degraded" ? ` (failed: ${must(h, "systemctl --failed --no-legend --plain | cut -d' ' -f1 | xargs")})` : "";
            console.log(`      ${h}: ${state}${failed}`);
            assert.ok(["running", "degraded"].includes(state), `${h}: ${state} ${r.stderr.trim()}`);
        }
    });

    it("gives every host its own hostname, address and machine id", () => {
        const ids = new Set<string>();
        for (const h of hosts) {
            assert.strictEqual(must(h, "hostname"), h);
            assert.match(must(h, "ip -4 -o addr show dev eth0"), new RegExp(` ${labIp(h).replace(/\./g, "\\.")}/24 `));
            ids.add(must(h, "cat /etc/machine-id"));
        }
        assert.strictEqual(ids.size, hosts.length, `machine ids: ${[...ids].join(" ")}`);
    });

    it("lets every host reach every other host's sshd", () => {
        for (const from of hosts) {
            for (const to of hosts.filter((h) => h !== from)) assert.ok(reachesSsh(from, to), `${from} -> ${to}`);
        }
    });

    describe("faults", () => {
        it("reboot: the host comes back with a new boot id", async () => {
            const before = bootId("lab3");
            const start = Date.now();
            labFault("reboot", "lab3");
            const after = bootId("lab3");
            const ms = Date.now() - start;
            console.log(`      lab3 back after ${ms} ms`);
            assert.notStrictEqual(after, before);
            assert.ok(ms < 60_000, `reboot took ${ms} ms`);
            assert.strictEqual(must("lab3", "cat /proc/1/comm"), "systemd");
            await eventually("lab3 reachable from lab1 after reboot", 30_000, () => reachesSsh("lab1", "lab3"));
        });

        it("freeze: ssh times out while frozen and works after thaw", () => {
            labFault("freeze", "lab2");
            try {
                const start = Date.now();
                const r = labSsh("lab2", "true", undefined, 20_000);
                console.log(`      frozen lab2: ssh exit ${r.code} after ${Date.now() - start} ms (${r.stderr.trim()})`);
                assert.notStrictEqual(r.code, 0, "ssh to a frozen host must fail");
            } finally {
                labFault("thaw", "lab2");
            }
            assert.strictEqual(must("lab2", "echo ok", 20_000), "ok");
        });

        it("link-down: unreachable from the VM and the peers; link-up: reachable again", async () => {
            labFault("link-down", "lab1");
            try {
                assert.notStrictEqual(labSsh("lab1", "true", undefined, 20_000).code, 0, "ssh over a downed link must fail");
                assert.ok(!reachesSsh("lab2", "lab1"), "lab2 must not reach lab1 while its link is down");
            } finally {
                labFault("link-up", "lab1");
            }
            const ms = await eventually("lab1 reachable after link-up", 30_000,
                () => labSsh("lab1", "true", undefined, 20_000).code === 0 && reachesSsh("lab2", "lab1"));
            console.log(`      lab1 reachable ${ms} ms after link-up`);
        });
    });

    // Issue 30: a host's Debian release is chosen at `up`. Last: it leaves lab3 on bookworm again.
    describe("releases", () => {
        const release = (host: string) => labRun(["release", host]).stdout.trim();
        it("up lab3=trixie makes lab3 again from Debian 13 (systemd 257, cgroup v2 only), a new machine; freeze and reboot work on it", () => {
            const machineId = must("lab3", "cat /etc/machine-id");
            const lab2Boot = bootId("lab2");
            labUp(3, { lab3: "trixie" });
            assert.strictEqual(release("lab3"), "trixie");
            assert.deepStrictEqual(must("lab3", "cut -d. -f1 /etc/debian_version; systemctl --version | sed -n 's/^systemd \\([0-9]*\\) .*/\\1/p'; stat -f -c %T /sys/fs/cgroup").split("\n"), ["13", "257", "cgroup2fs"]);
            assert.notStrictEqual(must("lab3", "cat /etc/machine-id"), machineId, "lab3 is a new machine");
            assert.strictEqual(bootId("lab2"), lab2Boot, "lab2 (bookworm, as asked) was kept running");
            labFault("freeze", "lab3");
            try {
                assert.notStrictEqual(labSsh("lab3", "true", undefined, 20_000).code, 0, "ssh to a frozen trixie host must fail");
            } finally {
                labFault("thaw", "lab3");
            }
            const before = bootId("lab3");
            labFault("reboot", "lab3");
            assert.notStrictEqual(bootId("lab3"), before);
            assert.strictEqual(must("lab3", "systemctl is-system-running --wait", 90_000), "running");
        });

        it("up without naming lab3 makes it bookworm again; a release lab.sh does not serve is refused", () => {
            labUp(3);
            assert.strictEqual(release("lab3"), "bookworm");
            assert.strictEqual(must("lab3", "cut -d. -f1 /etc/debian_version"), "12");
            const refused = labRun(["up", "3", "lab2=buster"]);
            assert.notStrictEqual(refused.code, 0);
            assert.match(refused.stderr, /unknown release 'buster' \(bullseye bookworm trixie\)/);
            assert.strictEqual(release("lab2"), "bookworm");
        });
    });
});

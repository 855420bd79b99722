/**
 * The chaos runner's exact restart check (tests/chaos/restarts.ts): etcd's restarts read from
 * systemd's journal lines, and the most of them under way at one moment.
 */
import * as assert from "assert";
import { describeRestarts, mostAtOnce, restartsFromJournal } from "../../chaos/restarts";

/** A journal line as `journalctl -o json --output-fields=MESSAGE,_PID` prints it; `s` in seconds. */
const line = (s: number, message: string, pid = "1") =>
    JSON.stringify({ __CURSOR: "c", __REALTIME_TIMESTAMP: String(Math.round(s * 1e6)), __MONOTONIC_TIMESTAMP: "1", MESSAGE: message, _PID: pid });
const unit = "etcd.service - etcd key-value store (member lab-1)";

describe("chaos: etcd restarts from the hosts' journals", () => {
    it("pairs systemd's Stopping with the next Started; etcd's own lines, Starting and a first start are not restarts", () => {
        const journal = [
            line(100, `Starting ${unit}...`),
            line(101, `Started ${unit}.`),               // the first start: no stop before it
            line(102, '{"level":"info","msg":"Stopping etcd"}', "4242"), // etcd's own log, not systemd's
            line(110, `Stopping ${unit}...`),
            line(110.5, `${unit.split(" ")[0]}: Deactivated successfully.`),
            line(111, `Starting ${unit}...`),
            line(112.25, `Started ${unit}.`),
        ].join("\n");
        assert.deepStrictEqual(restartsFromJournal("lab-1", journal), [{ member: "lab-1", stopping: 110e6, started: 112.25e6 }]);
    });

    it("a stop with no start after it (a member removed, or still down) is not a restart", () => {
        assert.deepStrictEqual(restartsFromJournal("lab-3", [line(5, `Stopping ${unit}...`), ""].join("\n")), []);
    });

    it("one member after another: at most 1 at once; two overlapping by 1 ms: 2, named", () => {
        const one = { member: "lab-1", stopping: 10e6, started: 12e6 };
        const two = { member: "lab-2", stopping: 12e6, started: 14e6 }; // stops as lab-1 is back
        const three = { member: "lab-3", stopping: 20e6, started: 22e6 };
        assert.strictEqual(mostAtOnce([one, two, three]).count, 1);
        const overlapping = { member: "lab-3", stopping: 13.999e6, started: 15e6 };
        const worst = mostAtOnce([one, two, overlapping]);
        assert.strictEqual(worst.count, 2);
        assert.deepStrictEqual(worst.restarts.map((r) => r.member), ["lab-2", "lab-3"]);
        assert.match(describeRestarts(worst.restarts), /^lab-2 stopping \d\d:\d\d:12\.000, started \d\d:\d\d:14\.000; lab-3 stopping \d\d:\d\d:13\.999/);
        assert.strictEqual(mostAtOnce([]).count, 0);
    });

    it("three restarted together count 3", () => {
        const all = ["lab-1", "lab-2", "lab-3"].map((member, i) => ({ member, stopping: 100e6 + i * 1000, started: 101e6 }));
        assert.strictEqual(mostAtOnce(all).count, 3);
    });
});

/**
 * The membership's reading of the cluster (membershipProvider.ts): what `etcdctl member list`
 * prints becomes the `members` a refresh shows beside the stack's list.
 */
import { strict as assert } from "assert";
import { noDataMark, observedMembers, parseMemberList } from "../../../components/membership/membershipProvider";
import { leavingAndStaying } from "../../../components/spec/memberIdentity";

const desired = { "lab-1": "https://10.213.0.11:2380", "lab-2": "https://10.213.0.12:2380", "lab-3": "https://10.213.0.13:2380" };

const listing = (rows: string[], from = "local") => [`answered-by ${from}`, ...rows.map((r) => `member ${r}`)].join("\n") + "\n";

describe("membership: the cluster's members as a refresh shows them", () => {
    it("parses etcdctl's simple member list, and whether the member's own etcd answered", () => {
        const out = parseMemberList(listing([
            "8e9e05c52164694d, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
            "91bc3c398fb3c146, unstarted, , https://10.213.0.99:2380, , true",
        ], "others"));
        assert.equal(out.local, false);
        assert.deepEqual(out.members, [
            { id: "8e9e05c52164694d", started: true, name: "lab-1", peerUrl: "https://10.213.0.11:2380", learner: false },
            { id: "91bc3c398fb3c146", started: false, name: "", peerUrl: "https://10.213.0.99:2380", learner: true },
        ]);
        assert.equal(parseMemberList(listing([])).local, true);
    });

    it("a converged cluster reads exactly as the stack's list, in the stack's order whatever order etcd lists them in", () => {
        const { members } = parseMemberList(listing([
            "3, started, lab-3, https://10.213.0.13:2380, https://10.213.0.13:2379, false",
            "1, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
            "2, started, lab-2, https://10.213.0.12:2380, https://10.213.0.12:2379, false",
        ]));
        const observed = observedMembers(members, desired);
        assert.deepEqual(observed, desired);
        assert.deepEqual(Object.keys(observed), ["lab-1", "lab-2", "lab-3"]);
    });

    it("a member removed by hand is missing; one added by hand shows by name, or unnamed with its id, marked as it is", () => {
        const { members } = parseMemberList(listing([
            "1, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
            "3, started, lab-3, https://10.213.0.13:2380, https://10.213.0.13:2379, false",
            "a1, unstarted, , https://10.213.0.99:2380, , false",
            "b2, started, intruder, https://10.213.0.98:2380, https://10.213.0.98:2379, true",
        ]));
        assert.deepEqual(observedMembers(members, desired), {
            "lab-1": "https://10.213.0.11:2380",
            "lab-3": "https://10.213.0.13:2380",
            "(unnamed a1)": "https://10.213.0.99:2380 (not started)",
            "intruder": "https://10.213.0.98:2380 (learner)",
        });
    });

    it("a stack member registered but not started, or still a learner, is named from its peer URL and marked", () => {
        const { members } = parseMemberList(listing([
            "1, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
            "2, unstarted, , https://10.213.0.12:2380, , true",
            "3, started, lab-3, https://10.213.0.13:2380, https://10.213.0.13:2379, true",
        ]));
        assert.deepEqual(observedMembers(members, desired), {
            "lab-1": "https://10.213.0.11:2380",
            "lab-2": "https://10.213.0.12:2380 (learner, not started)",
            "lab-3": "https://10.213.0.13:2380 (learner)",
        });
    });

    it("a started member whose host has no data (its data dir wiped) is marked; one not started is not", () => {
        const { members } = parseMemberList(listing([
            "1, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
            "2, started, lab-2, https://10.213.0.12:2380, https://10.213.0.12:2379, false",
            "3, unstarted, , https://10.213.0.13:2380, , true",
        ]));
        const observed = observedMembers(members, desired, new Set(["lab-2"]));
        assert.deepEqual(observed, {
            "lab-1": "https://10.213.0.11:2380",
            "lab-2": "https://10.213.0.12:2380 (no data on its host)",
            "lab-3": "https://10.213.0.13:2380 (learner, not started)",
        });
        assert.ok(observed["lab-2"].includes(noDataMark));
    });

    it("two registrations under one name (the member's old one and its new one) both show", () => {
        const { members } = parseMemberList(listing([
            "1, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
            "7, started, lab-1, https://10.213.0.21:2380, https://10.213.0.21:2379, false",
        ]));
        assert.deepEqual(Object.keys(observedMembers(members, desired)), ["lab-1", "lab-1 (7)"]);
    });
});

describe("removal check: which members an edit takes out, and where the quorum is counted", () => {
    const five = { ...desired, "lab-4": "https://10.213.0.14:2380", "lab-5": "https://10.213.0.15:2380" };
    const stack = (m: Record<string, string>) => ({ members: m, order: Object.keys(m) });

    it("5 → 3: lab-4 and lab-5 leave; the check runs on the three that stay, in the stack's order", () => {
        assert.deepEqual(leavingAndStaying(five, stack(desired)), { leaving: ["lab-4", "lab-5"], staying: ["lab-1", "lab-2", "lab-3"], joining: [] });
    });

    it("a scale-up or the same list removes no one; only a scale-up has members joining", () => {
        assert.deepEqual(leavingAndStaying(desired, stack(five)).leaving, []);
        assert.deepEqual(leavingAndStaying(desired, stack(desired)).leaving, []);
        assert.deepEqual(leavingAndStaying(desired, stack(five)).joining, ["lab-4", "lab-5"]);
        assert.deepEqual(leavingAndStaying(desired, stack(desired)).joining, []);
    });

    it("a member moved to a new address leaves at its old one; it is not counted as staying", () => {
        const moved = { ...desired, "lab-3": "https://10.213.0.23:2380" };
        assert.deepEqual(leavingAndStaying(desired, stack(moved)), { leaving: ["lab-3"], staying: ["lab-1", "lab-2"], joining: ["lab-3"] });
    });

    it("every member replaced at once: none stays", () => {
        const elsewhere = { "lab-1": "https://10.213.0.21:2380", "lab-2": "https://10.213.0.22:2380", "lab-3": "https://10.213.0.23:2380" };
        assert.deepEqual(leavingAndStaying(desired, stack(elsewhere)).staying, []);
    });
});

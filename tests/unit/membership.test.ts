/**
 * The membership's reading of the cluster (membershipProvider.ts): what `etcdctl member list`
 * prints becomes the `members` a refresh shows beside the stack's list.
 */
import { strict as assert } from "assert";
import { observedMembers, parseMemberList } from "../../components/membershipProvider";

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

    it("two registrations under one name (the member's old one and its new one) both show", () => {
        const { members } = parseMemberList(listing([
            "1, started, lab-1, https://10.213.0.11:2380, https://10.213.0.11:2379, false",
            "7, started, lab-1, https://10.213.0.21:2380, https://10.213.0.21:2379, false",
        ]));
        assert.deepEqual(Object.keys(observedMembers(members, desired)), ["lab-1", "lab-1 (7)"]);
    });
});

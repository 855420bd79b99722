/**
 * tests/lab/etcdClient.ts `parseEndpointStatus`: etcdctl's `endpoint status -w json`, as the lab
 * tests and the chaos runner read the leader and each member's database size from it.
 */
import * as assert from "assert";
import { parseEndpointStatus } from "../lab/etcdClient";

// Shaped as etcdctl 3.6 prints it; the IDs are above 2^53 (JSON numbers would round them).
const answer = '[{"Endpoint":"https://10.213.0.11:2379","Status":{"header":{"cluster_id":1,"member_id":17659950283125361669,"revision":9,"raft_term":2},"version":"3.6.16","dbSize":20480,"leader":9511011660125470214,"raftIndex":12,"raftTerm":2}},' +
    '{"Endpoint":"https://10.213.0.12:2379","Status":{"header":{"cluster_id":1,"member_id":9511011660125470214,"revision":9,"raft_term":2},"version":"3.6.16","dbSize":24576,"leader":9511011660125470214,"raftIndex":12,"raftTerm":2}}]';

describe("etcdctl endpoint status, parsed (tests/lab/etcdClient.ts)", () => {
    it("each member's endpoint, exact 64-bit ID, database size, and which one leads", () => {
        assert.deepStrictEqual(parseEndpointStatus(answer + "\n"), [
            { endpoint: "https://10.213.0.11:2379", memberId: "17659950283125361669", leader: false, dbSize: 20480 },
            { endpoint: "https://10.213.0.12:2379", memberId: "9511011660125470214", leader: true, dbSize: 24576 },
        ]);
    });

    it("the answers beside etcdctl's complaint about a member that did not answer", () => {
        const out = `{"level":"warn","msg":"failed to get the status of endpoint","endpoint":"https://10.213.0.13:2379"}\n${answer}\nFailed to get the status of endpoint https://10.213.0.13:2379 (context deadline exceeded)\n`;
        assert.deepStrictEqual(parseEndpointStatus(out).map((s) => [s.endpoint, s.leader]), [["https://10.213.0.11:2379", false], ["https://10.213.0.12:2379", true]]);
    });

    it("no member answered: nothing", () => {
        assert.deepStrictEqual(parseEndpointStatus("Error: context deadline exceeded\n"), []);
        assert.deepStrictEqual(parseEndpointStatus(""), []);
    });
});

/** Production snapshots: a cluster counts as covered only with a ScheduledSnapshots component below it. */
import { strict as assert } from "assert";
import { clustersWithoutSnapshots, defaultProductionStacks } from "../../../policy/prodSnapshots";
import { resource } from "./stackResources";

describe("policy: scheduled snapshots in production", () => {
    it("finds the clusters with no ScheduledSnapshots below them", () => {
        const covered = resource("etcd:index:Cluster", "covered");
        const bare = resource("etcd:index:Cluster", "bare");
        const resources = [covered, bare,
            resource("etcd:index:ScheduledSnapshots", "covered-1-snapshots", covered),
            resource("etcd:index:EtcdMember", "bare-1", bare),
            // A snapshot component outside every cluster covers none.
            resource("etcd:index:ScheduledSnapshots", "stray")];
        assert.deepEqual(clustersWithoutSnapshots(resources).map((c) => c.name), ["bare"]);
    });

    it("treats the stack named prod as production by default", () => {
        assert.deepEqual(defaultProductionStacks, ["prod"]);
    });
});

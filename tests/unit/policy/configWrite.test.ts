/** Which command writes a member's etcd config: found from its HostFile parent, nothing else matches. */
import { strict as assert } from "assert";
import { etcdConfigWrite } from "../../../policy/configWrite";

const chain = "etcd:index:Cluster$etcd:index:EtcdMember$etcd:index:HostFile";
const hostFileUrn = (name: string, types = chain) => `urn:pulumi:dev::etcd-stack::${types}::${name}`;

describe("policy: the etcd config write", () => {
    it("is the command under the HostFile of <config dir>/etcd.conf.yml, with member and path", () => {
        assert.deepEqual(etcdConfigWrite("command:remote:Command", hostFileUrn("lab-1:/etc/etcd/etcd.conf.yml")),
            { member: "lab-1", path: "/etc/etcd/etcd.conf.yml" });
        assert.deepEqual(etcdConfigWrite("command:remote:Command", hostFileUrn("lab-2:/srv/etcd/conf/etcd.conf.yml")),
            { member: "lab-2", path: "/srv/etcd/conf/etcd.conf.yml" });
    });

    it("is not another file's write, a step outside a HostFile, or another type", () => {
        assert.equal(etcdConfigWrite("command:remote:Command", hostFileUrn("lab-1:/etc/etcd/etcd-stack.members")), undefined);
        assert.equal(etcdConfigWrite("command:remote:Command", hostFileUrn("lab-1", "etcd:index:Cluster$etcd:index:EtcdMember")), undefined);
        assert.equal(etcdConfigWrite("command:remote:Command", undefined), undefined);
        assert.equal(etcdConfigWrite("etcd:index:HostFile", hostFileUrn("lab-1:/etc/etcd/etcd.conf.yml")), undefined);
    });
});

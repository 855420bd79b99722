/** Which resource writes a member's etcd config: the write of a HostFiles holding <config dir>/etcd.conf.yml, nothing else. */
import { strict as assert } from "assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import { etcdConfigWrite } from "../../../policy/configWrite";

// How @pulumi/policy marks a value that is unknown during a preview (internal to its proxy module).
const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };

const dynamic = "pulumi-nodejs:dynamic/etcd:HostFilesWrite";
const chain = "etcd:index:Cluster$etcd:index:EtcdMember$etcd:index:HostFiles";
const hostFilesUrn = (name: string, types = chain) => `urn:pulumi:dev::etcd-stack::${types}::${name}`;
const props = (label: string, contents: Record<string, string>) => ({ label, order: Object.keys(contents), contents });

describe("policy: the etcd config write", () => {
    it("is the HostFiles write holding <config dir>/etcd.conf.yml, with member, path and text", () => {
        const one = etcdConfigWrite(dynamic, hostFilesUrn("lab-1-config"), props("lab-1 config", { "/etc/etcd/etcd.conf.yml": "name: lab-1\n", "/etc/systemd/system/etcd.service": "[Unit]\n" }));
        assert.deepEqual([one?.member, one?.path, one?.content()], ["lab-1", "/etc/etcd/etcd.conf.yml", "name: lab-1\n"]);
        const two = etcdConfigWrite(dynamic, hostFilesUrn("lab-2-config"), props("lab-2 config", { "/srv/etcd/conf/etcd.conf.yml": "x: 1\n" }));
        assert.deepEqual([two?.member, two?.path, two?.content()], ["lab-2", "/srv/etcd/conf/etcd.conf.yml", "x: 1\n"]);
    });

    it("is found while the contents are unknown (a stack's first preview); reading the text then throws, as the pack expects", () => {
        const unknown = unknownCheckingProxy({ label: "lab-1 config", order: ["/etc/etcd/etcd.conf.yml"], contents: unknownStringValue });
        const write = etcdConfigWrite(dynamic, hostFilesUrn("lab-1-config"), unknown);
        assert.deepEqual([write?.member, write?.path], ["lab-1", "/etc/etcd/etcd.conf.yml"]);
        assert.throws(() => write?.content(), /can't be known during preview/);
    });

    it("is not another HostFiles' write, a resource outside a HostFiles, or another type", () => {
        assert.equal(etcdConfigWrite(dynamic, hostFilesUrn("lab-1-files"), props("lab-1 files", { "/etc/etcd/etcd-stack.members": "" })), undefined);
        assert.equal(etcdConfigWrite(dynamic, hostFilesUrn("lab-1", "etcd:index:Cluster$etcd:index:EtcdMember"), props("lab-1", { "/etc/etcd/etcd.conf.yml": "" })), undefined);
        assert.equal(etcdConfigWrite(dynamic, undefined, props("lab-1", { "/etc/etcd/etcd.conf.yml": "" })), undefined);
        assert.equal(etcdConfigWrite("command:remote:Command", hostFilesUrn("lab-1-config"), props("lab-1", { "/etc/etcd/etcd.conf.yml": "" })), undefined);
    });
});

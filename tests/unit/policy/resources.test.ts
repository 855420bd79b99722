/** How policies read resources: unknown values, the component tree, URNs. */
import { strict as assert } from "assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import { isWithin, known, parseUrn, runsOnHost } from "../../../policy/resources";
import { resource } from "./stackResources";

const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };

describe("policy: reading resources", () => {
    it("known(): the value, or undefined where a preview does not know it yet", () => {
        const props = unknownCheckingProxy({ stdin: unknownStringValue, create: "echo" });
        assert.throws(() => props.stdin, /can't be known during preview/, "the proxy throws on a direct read");
        assert.equal(known(props, "stdin"), undefined);
        assert.equal(known(props, "create"), "echo");
        assert.equal(known(props, "absent"), undefined);
    });

    it("isWithin(): any ancestor, not the resource itself or a sibling", () => {
        const cluster = resource("etcd:index:Cluster", "etcd");
        const member = resource("etcd:index:EtcdMember", "lab-1", cluster);
        const file = resource("etcd:index:HostFile", "lab-1:/etc/etcd/etcd.conf.yml", member);
        assert.ok(isWithin(file, cluster));
        assert.ok(isWithin(member, cluster));
        assert.ok(!isWithin(cluster, cluster));
        assert.ok(!isWithin(member, resource("etcd:index:Cluster", "other")));
    });

    it("parseUrn(): the last type of the chain and the whole name", () => {
        assert.deepEqual(parseUrn("urn:pulumi:dev::etcd-stack::etcd:index:Cluster$etcd:index:EtcdMember$etcd:index:HostFile::lab-1:/etc/etcd/etcd.conf.yml"),
            { type: "etcd:index:HostFile", name: "lab-1:/etc/etcd/etcd.conf.yml" });
    });

    it("runsOnHost(): remote commands and copies, host file writes and staged releases, not local commands or certificates", () => {
        const staged = "pulumi-nodejs:dynamic/etcd:StagedRelease";
        const written = "pulumi-nodejs:dynamic/etcd:HostFilesWrite";
        assert.deepEqual(["command:remote:Command", "command:remote:CopyToRemote", written, staged, "command:local:Command", "tls:index/privateKey:PrivateKey"].filter(runsOnHost),
            ["command:remote:Command", "command:remote:CopyToRemote", written, staged]);
    });
});

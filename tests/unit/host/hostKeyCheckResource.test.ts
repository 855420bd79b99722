/**
 * The host key check as declared (hostKeyCheck.ts `HostKeyCheck`; mocked engine): a dynamic
 * resource of type etcd:HostKeyCheck whose inputs are the member's name and its connection (the
 * bastion and the pinned key in it), the options it is given kept, and its `connection` a secret
 * output (it carries the private keys). The provider's create/diff/update: checkProviders.test.ts.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { HostKeyCheck } from "../../../components/host/hostKeyCheck";
import { installMocks, resolve } from "../mocks";
import { fixtureHostKeys } from "../fixtures";

const secretSig = "4dabf18193072939515e22adb298388d";

describe("host key check resource: inputs and options as declared (mocked engine)", () => {
    it("type etcd:HostKeyCheck, inputs label and connection, the given options kept, connection a secret output", async () => {
        const recorded = installMocks();
        const seen: { opts?: pulumi.CustomResourceOptions } = {};
        const connection = {
            host: "10.213.0.11", port: 22, user: "root", hostKey: fixtureHostKeys[1], privateKey: pulumi.secret("KEY"),
            proxy: { host: "10.213.0.2", port: 22, user: "ops", hostKey: fixtureHostKeys[0], privateKey: pulumi.secret("KEY") },
        };
        const check = new HostKeyCheck("etcd-lab-1-host-key", { label: "lab-1", connection }, {
            ignoreChanges: ["label"],
            transformations: [(a) => { if (a.name === "etcd-lab-1-host-key") seen.opts = a.opts as pulumi.CustomResourceOptions; return undefined; }],
        });
        await resolve(check.urn);
        const r = recorded.find((x) => x.name === "etcd-lab-1-host-key");
        assert.ok(r, `not registered; have ${recorded.map((x) => `${x.type} ${x.name}`)}`);
        assert.equal(r.type, "pulumi-nodejs:dynamic/etcd:HostKeyCheck");
        assert.equal(r.inputs.label, "lab-1");
        // The mock's deserialization hoists the nested secret (the private keys) to the whole input.
        const c = r.inputs.connection?.[secretSig] !== undefined ? r.inputs.connection.value : r.inputs.connection;
        assert.ok(c, "no connection input");
        assert.deepEqual(c, { ...connection, privateKey: "KEY", proxy: { ...connection.proxy, privateKey: "KEY" } });
        assert.ok(seen.opts, "the transformation given in the options did not run");
        assert.deepEqual(seen.opts.additionalSecretOutputs, ["connection"]);
        assert.deepEqual(seen.opts.ignoreChanges, ["label"]);
    });
});

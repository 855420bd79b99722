/**
 * What the identity refusal at an SSH endpoint tells the operator (memberIdentity.ts): the
 * endpoint as it was compared (host and bastion in lower case, the default port 22 written out,
 * nothing after it), why the edit is refused, and the safe recipe, as the address refusal does.
 * An operator reading a refusal that names another spelling of the endpoint, or no recipe, cannot
 * tell which machine is meant nor what to do instead.
 */
import { strict as assert } from "assert";
import { identityProblems } from "../../../components/spec/memberIdentity";

const peer = (n: number) => `https://10.213.0.${10 + n}:2380`;
type Conn = { host?: string; port?: number; proxy?: { host?: string; port?: number } };
const places = (conns: Record<string, Conn>) => ({
    members: Object.fromEntries(Object.keys(conns).map((name) => [name, peer(Number(name.slice(4)))])),
    connections: conns,
});

describe("member identity: the SSH-endpoint refusal's text", () => {
    it("names the endpoint as compared (lower case, port 22 written out), both members, why, and the recipe", () => {
        const olds = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-3": { host: "Lab3.Example" } });
        const news = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": { host: "LAB3.example" } });
        const problems = identityProblems(olds, news);
        assert.equal(problems.length, 1);
        const p = problems[0];
        assert.ok(p.startsWith("lab-9 would be reached at lab-3's SSH endpoint lab3.example:22, the machine lab-3 runs on: "), p);
        assert.match(p, /a member's identity is its name and its host, and lab-3's resources would remove what lab-9 runs there; /);
        assert.match(p, /to rename, remove lab-3 from etcd:members and run pulumi up, then add lab-9 and run pulumi up again; /);
        assert.match(p, /to move lab-3 to another machine, keep its name and give it the new machine's address and host key \(README: Replacing a failed host\)$/);
    });

    it("names an endpoint behind a bastion with the bastion in lower case and its default port", () => {
        const viaA = (host: string, bastion: string) => ({ host, proxy: { host: bastion } });
        const olds = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-3": viaA("10.0.0.5", "Bastion-A.example") });
        const news = places({ "lab-1": { host: "10.0.0.1" }, "lab-2": { host: "10.0.0.2" }, "lab-9": viaA("10.0.0.5", "BASTION-A.EXAMPLE") });
        const problems = identityProblems(olds, news);
        assert.equal(problems.length, 1);
        assert.ok(problems[0].startsWith("lab-9 would be reached at lab-3's SSH endpoint 10.0.0.5:22 via bastion-a.example:22, the machine lab-3 runs on: "), problems[0]);
    });
});

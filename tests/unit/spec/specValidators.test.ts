/**
 * The spec's whitelists and rules, value by value (components/spec/parse.ts): for each kind of value
 * that reaches a script, a certificate or a host, the values accepted (with what the spec then
 * holds) and the values refused, each with the exact problem list `parseClusterSpec` reports
 * (so a refusal that goes missing, one reported twice, or one that names the wrong key all fail).
 * Boundaries are tested on both sides (63/64 characters, port 65535/65536, 5 × heartbeat, …).
 */
import { strict as assert } from "assert";
import { SpecError } from "../../../components/spec/problems";
import { parseClusterSpec } from "../../../components/spec/parse";
import { isValidAddress, isValidHost, isValidMemberName, isValidSan, releaseUrl, urlHost } from "../../../components/spec/values";
import { defaultReleaseUrlTemplate } from "../../../components/base/paths";
import { fixtureHostKeys, problemsOf, rawConfig } from "../fixtures";

type Raw = Parameters<typeof rawConfig>[0];


function parsed(overrides: Raw) {
    const problems = problemsOf(overrides);
    assert.deepEqual(problems, [], `expected no problem for ${JSON.stringify(overrides)}`);
    return parseClusterSpec(rawConfig(overrides));
}

const m = (i: number, extra: object = {}) => ({ name: `m-${i}`, address: `10.213.0.${10 + i}`, hostKey: fixtureHostKeys[(i - 1) % 3], ...extra });
/** Three members, the third with `extra`. */
const three = (extra: object) => [m(1), m(2), m(3, extra)];
const hex = (c: string, n = 64) => c.repeat(n);
/** A DNS name of exactly n characters (labels of at most 63). */
function nameOfLength(n: number): string {
    const labels: string[] = [];
    let left = n;
    while (left > 0) {
        const len = Math.min(63, left);
        labels.push("a".repeat(len));
        left -= len + 1;
        if (left === 0) { labels[labels.length - 1] = labels[labels.length - 1].slice(1); labels.push("b"); left = 0; }
    }
    const s = labels.join(".");
    assert.equal(s.length, n);
    return s;
}

describe("spec validators: names, addresses, hosts and SANs", () => {
    const memberNames: Array<[string, boolean]> = [
        ["a", true], ["0", true], ["ab", true], ["a-b", true], ["9lab", true], ["a".repeat(63), true], ["a" + "-".repeat(61) + "b", true],
        ["a".repeat(64), false], ["", false], ["-a", false], ["a-", false], ["A", false], ["lab_3", false], ["a.b", false], [" a", false], ["a ", false], ["a;b", false],
        ["x-a-", false], ["-a-x", false],
    ];
    for (const [name, ok] of memberNames) {
        it(`member name ${JSON.stringify(name)}: ${ok ? "accepted" : "refused"}`, () => {
            assert.equal(isValidMemberName(name), ok);
        });
    }

    it("a refused member name is reported once, naming the member", () => {
        assert.deepEqual(problemsOf({ members: three({ name: "Lab_3" }) }),
            ["members[2] (Lab_3): name must be a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)"]);
    });

    const sans: Array<[string, boolean]> = [
        ["10.0.0.1", true], ["fd00::1", true], ["etcd", true], ["etcd.example.internal", true], ["ETCD.Example", true], ["*.example", true], ["*", true],
        ["a-b.c-d", true], [nameOfLength(253), true], [`${"a".repeat(63)}.x`, true],
        [nameOfLength(254), false], [`${"a".repeat(64)}.x`, false], ["a*.example", false], ["x.*.example", false], ["-a.example", false], ["a-.example", false],
        ["a..b", false], ["a.", false], [".a", false], ["a.b-", false], ["a.-b", false], ["a_b", false], ["", false], ["not a name", false], ["a;b", false], ["a.b;c", false],
    ];
    for (const [san, ok] of sans) {
        it(`SAN ${JSON.stringify(san.length > 40 ? `${san.length} characters` : san)}: ${ok ? "accepted" : "refused"}`, () => {
            assert.equal(isValidSan(san), ok);
        });
    }

    const hosts: Array<[string, boolean]> = [
        ["10.213.0.11", true], ["fd00::12", true], ["lab-1", true], ["lab-1.example.internal", true], ["LAB-1.Example", true], ["0a", true], ["a", true], ["x.example", true], [nameOfLength(253), true],
        [`${"a".repeat(63)}.x`, true],
        [nameOfLength(254), false], [`${"a".repeat(64)}.x`, false], ["*.example", false], ["*", false], ["h$(reboot)", false], ["-lab", false], ["lab-", false], ["a..b", false],
        ["a.", false], [".a", false], ["a.b-", false], ["a.-b", false], ["a_b", false], ["", false], ["a b", false], ["a;b", false], ["a.b;c", false], ["x\"y", false],
    ];
    for (const [host, ok] of hosts) {
        it(`SSH host ${JSON.stringify(host.length > 40 ? `${host.length} characters` : host)}: ${ok ? "accepted" : "refused"}`, () => {
            assert.equal(isValidHost(host), ok);
        });
    }

    it("addresses: IPv4 and IPv6 literals only", () => {
        for (const a of ["10.0.0.1", "::1", "fd00::1", "::ffff:10.0.0.1"]) assert.equal(isValidAddress(a), true, a);
        for (const a of ["10.0.0.256", "etcd", "", "10.0.0", "fd00::1::2"]) assert.equal(isValidAddress(a), false, a);
    });

    it("urlHost brackets IPv6 only; releaseUrl fills every {version} and {arch}", () => {
        assert.equal(urlHost("fd00::1"), "[fd00::1]");
        assert.equal(urlHost("10.0.0.1"), "10.0.0.1");
        assert.equal(urlHost("etcd.example"), "etcd.example");
        assert.equal(releaseUrl("https://x/v{version}/etcd-v{version}-{arch}-{arch}", "3.6.16", "arm64"), "https://x/v3.6.16/etcd-v3.6.16-arm64-arm64");
    });
});

describe("spec validators: members", () => {
    const cases: Array<[string, Raw, string[]]> = [
        ["no members", { members: undefined }, ["members: required (a list of { name, address })"]],
        ["members not a list", { members: "lab-1" }, ["members: must be a list of { name, address }"]],
        ["members an object", { members: { name: "a" } }, ["members: must be a list of { name, address }"]],
        ["a member not an object", { members: [m(1), m(2), "m-3", m(4)] }, ["members[2]: must be an object with name and address"]],
        ["a member null", { members: [m(1), null, m(3), m(4)] }, ["members[1]: must be an object with name and address"]],
        ["a member a list", { members: [m(1), m(2), [m(3)], m(4)] }, ["members[2]: must be an object with name and address"]],
        ["a member without a name", { members: [m(1), m(2), { address: "10.213.0.13", hostKey: fixtureHostKeys[2] }] }, ["members[2].name: required"]],
        ["a member with a blank name", { members: three({ name: "  " }) }, ["members[2].name: must be a non-empty string"]],
        ["a member with a numeric name", { members: three({ name: 3 }) }, ["members[2].name: must be a non-empty string"]],
        ["a member without an address", { members: [m(1), m(2), { name: "m-3", hostKey: fixtureHostKeys[2] }] }, ["members[2].address: required", "members[2].sshHost: required"]],
        ["an address that is a host name", { members: three({ address: "etcd3.example" }) }, ['members[2] (m-3): address "etcd3.example" is not an IPv4 or IPv6 address']],
        ["an sshHost that is no host", { members: three({ sshHost: "h$(reboot)" }) }, ['members[2] (m-3): sshHost "h$(reboot)" is neither a host name nor an IP address']],
        ["an sshUser with a semicolon", { members: three({ sshUser: "ops;reboot" }) }, ['members[2] (m-3): sshUser "ops;reboot" is not a user name (letters, digits, _ . -; not starting with - or a digit)']],
        ["an sshUser starting with a digit", { members: three({ sshUser: "1ops" }) }, ['members[2] (m-3): sshUser "1ops" is not a user name (letters, digits, _ . -; not starting with - or a digit)']],
        ["an sshUser starting with -", { members: three({ sshUser: "-ops" }) }, ['members[2] (m-3): sshUser "-ops" is not a user name (letters, digits, _ . -; not starting with - or a digit)']],
        ["an sshUser of 33 characters", { members: three({ sshUser: "u".repeat(33) }) }, [`members[2] (m-3): sshUser "${"u".repeat(33)}" is not a user name (letters, digits, _ . -; not starting with - or a digit)`]],
        ["an sshUser ending in a space", { members: three({ sshUser: "ops " }) }, ['members[2] (m-3): sshUser "ops " is not a user name (letters, digits, _ . -; not starting with - or a digit)']],
        ["an empty sshUser", { members: three({ sshUser: "" }) }, ["members[2].sshUser: must be a non-empty string"]],
        ["an sshPort of 0", { members: three({ sshPort: 0 }) }, ["members[2].sshPort: must be a positive integer"]],
        ["an sshPort of 65536", { members: three({ sshPort: 65536 }) }, ["members[2].sshPort: 65536 is not a TCP port"]],
        ["extraSans not a list", { members: three({ extraSans: "etcd.example" }) }, ["members[2].extraSans: must be a list of strings"]],
        ["extraSans holding a number", { members: three({ extraSans: ["a.example", 5] }) }, ["members[2].extraSans: must be a list of strings"]],
        ["an extra SAN that is no name", { members: three({ extraSans: ["ok.example", "not a name"] }) }, ['members[2] (m-3): extraSans entry "not a name" is neither an IP address nor a DNS name']],
        ["a malformed host key", { members: three({ hostKey: "SHA256:abc" }), allowUnverifiedHosts: true }, ['members[2] (m-3): hostKey is not an SSH public key line ("ssh-ed25519 AAAA…", as ssh-keyscan prints it)']],
        ["a host key not a string", { members: three({ hostKey: 5 }) }, ["members[2].hostKey: must be a non-empty string", "members[2] (m-3): no SSH host key for 10.213.0.13:22; collect it with `ssh-keyscan -t ed25519 <host>`, check its fingerprint out of band, then set it (or point `etcd:knownHostsPath` at a verified known_hosts file); `etcd:allowUnverifiedHosts: true` skips the check (labs only)"]],
        ["a duplicate name", { members: [m(1), m(2), m(3, { name: "m-1" })] }, ['members[2] (m-1): duplicate member name "m-1" (also members[0])']],
        ["a duplicate address", { members: [m(1), m(2), m(3, { address: "10.213.0.12", sshHost: "lab-3.example" })] }, ['members[2] (m-3): duplicate address "10.213.0.12" (also members[1])']],
        ["a duplicate SSH endpoint", { members: [m(1, { sshHost: "jump", sshPort: 2201 }), m(2, { sshHost: "JUMP", sshPort: 2201 }), m(3)] }, ['members[1] (m-2): duplicate SSH endpoint "JUMP:2201" (also members[0])']],
        ["a member without a name and with a bad user (labelled by position)", { members: [m(1), m(2), { address: "10.213.0.13", hostKey: fixtureHostKeys[2], sshUser: "a;b" }] },
            ["members[2].name: required", 'members[2]: sshUser "a;b" is not a user name (letters, digits, _ . -; not starting with - or a digit)']],
        ["two members without a name or a host key (no duplicate, no key asked of a nameless member)", { members: [m(1), { address: "10.213.0.12" }, { address: "10.213.0.13" }] },
            ["members[1].name: required", "members[2].name: required"]],
        ["two members without an address (no duplicate address or endpoint)", { members: [m(1), { name: "m-2", hostKey: fixtureHostKeys[1] }, { name: "m-3", hostKey: fixtureHostKeys[2] }] },
            ["members[1].address: required", "members[1].sshHost: required", "members[2].address: required", "members[2].sshHost: required"]],
        ["an adopt that is no object", { members: three({ adopt: "etcd.service" }) }, ["members[2] (m-3).adopt: must be an object"]],
        ["an adopt without a unit", { members: three({ adopt: { dataDir: "/var/lib/etcd-old" } }) }, ["members[2] (m-3).adopt.unit: required"]],
        ["an adopt without a data dir", { members: three({ adopt: { unit: "etcd.service" } }) }, ["members[2] (m-3).adopt.dataDir: required"]],
    ];
    for (const [title, raw, want] of cases) {
        it(`refuses ${title}, exactly`, () => assert.deepEqual(problemsOf(raw), want));
    }

    it("defaults and accepted values: sshHost the address, port 22, user root, no SANs; the given ones kept", () => {
        const s = parsed({ members: [m(1), m(2, { sshHost: "lab-2.example", sshPort: "2222", sshUser: "_deploy.bot-1", extraSans: ["*.example", "10.0.0.9"] }), m(3, { sshUser: null, sshHost: null })] });
        assert.deepEqual(s.members[0], { name: "m-1", address: "10.213.0.11", sshHost: "10.213.0.11", sshPort: 22, sshUser: "root", extraSans: [], hostKey: fixtureHostKeys[0] });
        assert.deepEqual(s.members[1], { name: "m-2", address: "10.213.0.12", sshHost: "lab-2.example", sshPort: 2222, sshUser: "_deploy.bot-1", extraSans: ["*.example", "10.0.0.9"], hostKey: fixtureHostKeys[1] });
        assert.equal(s.members[2].sshUser, "root");
        assert.equal(s.members[2].sshHost, "10.213.0.13");
        assert.equal("adopt" in s.members[0], false);
        for (const user of ["a", "A", "_", "Z.b-c_9", "u".repeat(32)]) assert.equal(parsed({ members: three({ sshUser: user }) }).members[2].sshUser, user);
        assert.equal(parsed({ members: three({ sshPort: 65535 }) }).members[2].sshPort, 65535);
        assert.equal(parsed({ members: three({ sshPort: 1 }) }).members[2].sshPort, 1);
        // No key and unverified hosts allowed: no hostKey at all; a null key is no key.
        const open = parsed({ members: three({ hostKey: null }), allowUnverifiedHosts: true }).members[2];
        assert.equal("hostKey" in open, false);
        assert.equal(parsed({ members: three({ adopt: { unit: "etcd.service", dataDir: "/d" } }) }).members[2].adopt?.dataDir, "/d");
    });

    it("the same SSH host on another port, or another host on the same port, is another endpoint", () => {
        parsed({ members: [m(1, { sshHost: "jump", sshPort: 2201 }), m(2, { sshHost: "jump", sshPort: 2202 }), m(3, { sshHost: "jump2", sshPort: 2201 })] });
    });

    it("a member's host key is normalised (comment dropped); the member without one is named with its endpoint", () => {
        assert.equal(parsed({ members: three({ hostKey: `${fixtureHostKeys[2]} root@lab-3` }) }).members[2].hostKey, fixtureHostKeys[2]);
        assert.deepEqual(problemsOf({ members: [m(1), m(2), { name: "m-3", address: "10.213.0.13", sshHost: "lab-3.example", sshPort: 2222 }] }),
            ["members[2] (m-3): no SSH host key for lab-3.example:2222; collect it with `ssh-keyscan -t ed25519 <host>`, check its fingerprint out of band, then set it (or point `etcd:knownHostsPath` at a verified known_hosts file); `etcd:allowUnverifiedHosts: true` skips the check (labs only)"]);
    });

    it("host keys from known_hosts: looked up by SSH host and port; an unreadable known_hosts (already reported) blames no member", () => {
        const members = [m(1), m(2), { name: "m-3", address: "10.213.0.13", sshPort: 2222 }];
        assert.equal(parsed({ members, knownHostsText: `[10.213.0.13]:2222 ${fixtureHostKeys[2]}\n` }).members[2].hostKey, fixtureHostKeys[2]);
        assert.match(problemsOf({ members, knownHostsText: `10.213.0.13 ${fixtureHostKeys[2]}\n` }).join("\n"), /^members\[2\] \(m-3\): no SSH host key for 10\.213\.0\.13:2222/);
        assert.equal(parsed({ members, knownHostsUnreadable: true }).members[2].hostKey, undefined);
        assert.equal(parsed({ members, knownHostsUnreadable: false, allowUnverifiedHosts: true }).members[2].hostKey, undefined);
        assert.equal(problemsOf({ members, knownHostsUnreadable: false }).length, 1);
        // A member's own key wins over known_hosts.
        assert.equal(parsed({ members: three({ hostKey: fixtureHostKeys[0] }), knownHostsText: `10.213.0.13 ${fixtureHostKeys[2]}\n` }).members[2].hostKey, fixtureHostKeys[0]);
    });

    it("member counts: 3, 5, 7; 1 with allowSingleMember; 4, 6 with allowEvenMembers; each refusal exact", () => {
        const n = (k: number) => Array.from({ length: k }, (_, i) => m(i + 1));
        assert.deepEqual(problemsOf({ members: [] }), ["members: 0 members; use 3, 5 or 7 (an even count adds no fault tolerance, more than 7 slows every write)"]);
        assert.deepEqual(problemsOf({ members: n(2), allowSingleMember: true, allowEvenMembers: true }), ["members: 2 members; use 3, 5 or 7 (an even count adds no fault tolerance, more than 7 slows every write)"]);
        assert.deepEqual(problemsOf({ members: n(1) }), ["members: 1 member has no fault tolerance; use 3, 5 or 7, or set etcd:allowSingleMember: true for development"]);
        assert.deepEqual(problemsOf({ members: n(6) }), ["members: 6 members, an even count: it tolerates no more failures than 5 and needs one more vote for quorum; use 3, 5 or 7, or set etcd:allowEvenMembers: true to run 6 on purpose"]);
        assert.deepEqual(problemsOf({ members: n(1), allowSingleMember: "true" }), []);
        assert.deepEqual(problemsOf({ members: n(6), allowEvenMembers: "true" }), []);
        assert.deepEqual(problemsOf({ members: n(6), allowEvenMembers: "false" }).length, 1);
        assert.deepEqual(problemsOf({ members: n(3), allowSingleMember: "yes" }), ["allowSingleMember: must be true or false"]);
        assert.deepEqual(problemsOf({ members: n(5), allowSingleMember: 1 }), ["allowSingleMember: must be true or false"]);
    });
});

describe("spec validators: version, ports, dirs", () => {
    const versions: Array<[unknown, string[]]> = [
        [undefined, ["version: required", 'version: required, e.g. "3.6.16"']],
        ["", ["version: must be a non-empty string", 'version: required, e.g. "3.6.16"']],
        ["v3.6.16", ['version: "v3.6.16" is not a release version like "3.6.16" (no leading "v")']],
        ["3.6", ['version: "3.6" is not a release version like "3.6.16" (no leading "v")']],
        ["3.6.16.1", ['version: "3.6.16.1" is not a release version like "3.6.16" (no leading "v")']],
        ["3.6.16-rc.0", ['version: "3.6.16-rc.0" is not a release version like "3.6.16" (no leading "v")']],
        ["3.6.x", ['version: "3.6.x" is not a release version like "3.6.16" (no leading "v")']],
        ["x3.6.16", ['version: "x3.6.16" is not a release version like "3.6.16" (no leading "v")']],
        ["3.4.23", ["version: etcd 3.4 is not supported; supported minors: 3.5, 3.6"]],
        ["13.6.1", ["version: etcd 13.6 is not supported; supported minors: 3.5, 3.6"]],
        ["3.60.1", ["version: etcd 3.60 is not supported; supported minors: 3.5, 3.6"]],
        ["3.5.13", ["version: etcd 3.5.13 ignores peer-transport-security.allowed-cn in its config file (read from 3.5.14 on), so its peer port would admit any certificate of the cluster's CA, client certificates too; use 3.5.14 or later"]],
    ];
    for (const [version, want] of versions) {
        it(`version ${JSON.stringify(version)}: refused, exactly`, () => assert.deepEqual(problemsOf({ version }), want));
    }
    it("versions accepted: 3.5.14 on, 3.6.x, with multi-digit parts", () => {
        for (const v of ["3.5.14", "3.5.32", "3.6.0", "3.6.16", "3.6.100"]) assert.equal(parsed({ version: v }).version, v);
    });

    it("ports: defaults, strings of digits, 65535; refused: 0, 65536, non-numbers, clashes (every pair), SSH on an etcd port of the same host", () => {
        assert.deepEqual(parsed({}).ports, { client: 2379, peer: 2380, metrics: 2381 });
        assert.deepEqual(parsed({ ports: { client: "12379", peer: 65535, metrics: 1 } }).ports, { client: 12379, peer: 65535, metrics: 1 });
        assert.deepEqual(problemsOf({ ports: { client: 65536 } }), ["ports.client: 65536 is not a TCP port"]);
        assert.deepEqual(problemsOf({ ports: { peer: 0 } }), ["ports.peer: must be a positive integer"]);
        assert.deepEqual(problemsOf({ ports: { metrics: "23x" } }), ["ports.metrics: must be a positive integer"]);
        assert.deepEqual(problemsOf({ ports: "2379" }), ["ports: must be an object"]);
        assert.deepEqual(problemsOf({ ports: [2379] }), ["ports: must be an object"]);
        assert.deepEqual(problemsOf({ ports: null }), ["ports: must be an object"]);
        assert.deepEqual(problemsOf({ ports: { metrics: 2380 } }), ["ports: peer and metrics both use port 2380"]);
        assert.deepEqual(problemsOf({ ports: { metrics: 2379 } }), ["ports: client and metrics both use port 2379"]);
        assert.deepEqual(problemsOf({ ports: { client: 9, peer: 9, metrics: 9 } }),
            ["ports: client and peer both use port 9", "ports: client and metrics both use port 9", "ports: peer and metrics both use port 9"]);
        assert.deepEqual(problemsOf({ members: three({ sshPort: 2381 }) }), ["members (m-3): SSH port 2381 clashes with the metrics port"]);
        assert.deepEqual(problemsOf({ members: three({ sshPort: 2380 }) }), ["members (m-3): SSH port 2380 clashes with the peer port"]);
        // SSH through another address (a NAT, a jump) does not share the member's ports.
        assert.deepEqual(problemsOf({ members: three({ sshPort: 2379, sshHost: "10.0.0.99" }) }), []);
    });

    it("dirs: absolute plain paths; the data dir apart from config and pki; each refusal exact", () => {
        assert.deepEqual(parsed({ dirs: { data: "/srv/etcd_data-1.0", config: "/ETC/e", pki: "/etc/e/pki" } }).dirs, { data: "/srv/etcd_data-1.0", config: "/ETC/e", pki: "/etc/e/pki" });
        // Prefixes that are not parents are fine.
        parsed({ dirs: { data: "/etc/etcd/pkix" } });
        parsed({ dirs: { data: "/var/lib/etcd", pki: "/var/lib/etcdx" } });
        const cases: Array<[object, string[]]> = [
            [{ data: "/etc/etcd" }, ['dirs: the data dir "/etc/etcd" must be separate from the config and pki dirs']],
            // The data dir equal to the config dir, with pki elsewhere: only the first comparison sees it.
            [{ data: "/srv/e", config: "/srv/e", pki: "/etc/pki" }, ['dirs: the data dir "/srv/e" must be separate from the config and pki dirs']],
            [{ data: "/etc/etcd/pki" }, ['dirs: the data dir "/etc/etcd/pki" must be separate from the config and pki dirs']],
            [{ data: "/etc/etcd/pki/data" }, ['dirs: the data dir "/etc/etcd/pki/data" must be separate from the config and pki dirs']],
            [{ pki: "/var/lib/etcd/pki" }, ['dirs: the data dir "/var/lib/etcd" must be separate from the config and pki dirs']],
            [{ data: "var/lib/etcd" }, ['dirs.data: "var/lib/etcd" must be an absolute path without spaces, "..", or a trailing slash']],
            [{ data: "/var/lib/../etcd" }, ['dirs.data: "/var/lib/../etcd" must be an absolute path without spaces, "..", or a trailing slash']],
            [{ data: "/var/lib/etcd/" }, ['dirs.data: "/var/lib/etcd/" must be an absolute path without spaces, "..", or a trailing slash']],
            [{ data: "/var/lib/my etcd" }, ['dirs.data: "/var/lib/my etcd" must be an absolute path without spaces, "..", or a trailing slash']],
            [{ data: "/var/lib/etcd\t" }, ['dirs.data: "/var/lib/etcd\t" must be an absolute path without spaces, "..", or a trailing slash']],
            [{ config: "/" }, ['dirs.config: "/" must be an absolute path without spaces, "..", or a trailing slash']],
            [{ config: "/etc/et'cd" }, ['dirs.config: "/etc/et\'cd" may hold only letters, digits and . _ - / (it is written into scripts run as root)']],
            [{ pki: "/etc/etcd/pki*" }, ['dirs.pki: "/etc/etcd/pki*" may hold only letters, digits and . _ - / (it is written into scripts run as root)']],
            [{ pki: "/$x/etcd" }, ['dirs.pki: "/$x/etcd" may hold only letters, digits and . _ - / (it is written into scripts run as root)']],
            [{ data: "" }, ["dirs.data: must be a non-empty string"]],
            [{ data: 7 }, ["dirs.data: must be a non-empty string"]],
        ];
        for (const [dirs, want] of cases) assert.deepEqual(problemsOf({ dirs }), want, JSON.stringify(dirs));
        assert.deepEqual(problemsOf({ dirs: "/etc/etcd" }), ["dirs: must be an object"]);
    });
});

describe("spec validators: binary source", () => {
    const a = hex("a"), b = hex("b");
    it("a local tarball; a URL with checksums (the default template when only checksums are given)", () => {
        assert.deepEqual(parsed({ binary: { localTarball: "/tmp/etcd.tgz" } }).binary, { kind: "local", tarballPath: "/tmp/etcd.tgz" });
        assert.deepEqual(parsed({ binary: { sha256: { amd64: a, arm64: b } } }).binary, { kind: "url", urlTemplate: defaultReleaseUrlTemplate, sha256: { amd64: a, arm64: b } });
        assert.deepEqual(parsed({ binary: { url: "https://m/{version}", sha256: { arm64: b } } }).binary, { kind: "url", urlTemplate: "https://m/{version}", sha256: { arm64: b } });
    });
    const cases: Array<[string, unknown, string[]]> = [
        ["none", undefined, ["binary: required: { url: <template>, sha256: { amd64: <hex> } } or { localTarball: <path> }"]],
        ["not an object", "https://x", ["binary: must be an object"]],
        ["a list", ["https://x"], ["binary: must be an object"]],
        ["an empty object", {}, ["binary: unknown binary source; expected { url, sha256 } or { localTarball }"]],
        ["both (checksums only)", { localTarball: "/x", sha256: { amd64: hex("a") } }, ["binary: give either url + sha256 or localTarball, not both"]],
        ["both (url only)", { localTarball: "/x", url: "https://x" }, ["binary: give either url + sha256 or localTarball, not both"]],
        ["an empty local tarball", { localTarball: "" }, ["binary.localTarball: must be a non-empty string"]],
        ["a null local tarball", { localTarball: null }, ["binary.localTarball: required"]],
        ["a url that is no text", { url: 5, sha256: { amd64: hex("a") } }, ["binary.url: must be a non-empty string"]],
        ["an http url", { url: "http://x/{version}", sha256: { amd64: hex("a") } }, ['binary.url: "http://x/{version}" must be an https:// URL']],
        ["an https url not at the start", { url: "mirror+https://x", sha256: { amd64: hex("a") } }, ['binary.url: "mirror+https://x" must be an https:// URL']],
        ["https without //", { url: "https:x", sha256: { amd64: hex("a") } }, ['binary.url: "https:x" must be an https:// URL']],
        ["no checksums", { url: "https://x" }, ["binary.sha256: required, a map of arch (amd64, arm64) to the tarball's sha256"]],
        ["checksums not a map", { url: "https://x", sha256: hex("a") }, ["binary.sha256: must be an object", "binary.sha256: required, a map of arch (amd64, arm64) to the tarball's sha256"]],
        ["an empty checksum map", { url: "https://x", sha256: {} }, ["binary.sha256: give at least one arch"]],
        ["an unknown arch only", { url: "https://x", sha256: { riscv64: hex("a") } }, ['binary.sha256: unknown arch "riscv64" (expected amd64 or arm64)']],
        ["uppercase hex", { url: "https://x", sha256: { amd64: hex("A") } }, ["binary.sha256.amd64: must be 64 lowercase hex characters"]],
        ["63 hex digits", { url: "https://x", sha256: { amd64: hex("a", 63) } }, ["binary.sha256.amd64: must be 64 lowercase hex characters"]],
        ["65 hex digits", { url: "https://x", sha256: { arm64: hex("a", 65) } }, ["binary.sha256.arm64: must be 64 lowercase hex characters"]],
        ["a non-hex digit", { url: "https://x", sha256: { amd64: hex("a", 63) + "g" } }, ["binary.sha256.amd64: must be 64 lowercase hex characters"]],
        ["a number", { url: "https://x", sha256: { amd64: 5 } }, ["binary.sha256.amd64: must be 64 lowercase hex characters"]],
        ["a list holding a checksum", { url: "https://x", sha256: { amd64: [hex("a")] } }, ["binary.sha256.amd64: must be 64 lowercase hex characters"]],
    ];
    for (const [title, binary, want] of cases) {
        it(`refuses ${title}, exactly`, () => assert.deepEqual(problemsOf({ binary }), want));
    }
    it("a bad checksum beside a good one keeps only the good one out of the spec (and is refused)", () => {
        assert.deepEqual(problemsOf({ binary: { url: "https://x", sha256: { amd64: "abc", arm64: hex("0") } } }), ["binary.sha256.amd64: must be 64 lowercase hex characters"]);
    });
});

describe("spec validators: tuning", () => {
    it("defaults: etcd's own (heartbeat 100 ms, election 1 s, periodic compaction of 1h, 2 GiB quota, 1.5 MiB requests, 10000 snapshot count)", () => {
        assert.deepEqual(parsed({}).tuning, { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, autoCompactionMode: "periodic", autoCompactionRetention: "1h",
            quotaBackendBytes: 2147483648, maxRequestBytes: 1572864, snapshotCount: 10000 });
    });

    it("every field taken as given; retention a number or a duration", () => {
        assert.deepEqual(parsed({ tuning: { heartbeatIntervalMs: 50, electionTimeoutMs: "250", autoCompactionMode: "revision", autoCompactionRetention: 1000, quotaBackendBytes: 8 * 1024 ** 3, maxRequestBytes: 8 * 1024 ** 3 - 1, snapshotCount: 5 } }).tuning,
            { heartbeatIntervalMs: 50, electionTimeoutMs: 250, autoCompactionMode: "revision", autoCompactionRetention: "1000", quotaBackendBytes: 8 * 1024 ** 3, maxRequestBytes: 8 * 1024 ** 3 - 1, snapshotCount: 5 });
        for (const r of ["1h", "30m", "10s", "0", "100", "12h"]) assert.equal(parsed({ tuning: { autoCompactionRetention: r } }).tuning.autoCompactionRetention, r);
        assert.equal(parsed({ tuning: { electionTimeoutMs: 50000, heartbeatIntervalMs: 100 } }).tuning.electionTimeoutMs, 50000);
        assert.equal(parsed({ tuning: { electionTimeoutMs: 500, heartbeatIntervalMs: 100 } }).tuning.electionTimeoutMs, 500);
    });
    const cases: Array<[string, unknown, string[]]> = [
        ["not an object", "fast", ["tuning: must be an object"]],
        ["an unknown compaction mode", { autoCompactionMode: "daily" }, ['tuning.autoCompactionMode: "daily" must be "periodic" or "revision"']],
        ["a retention in days", { autoCompactionRetention: "1d" }, ['tuning.autoCompactionRetention: "1d" must be a number, or a duration like "1h" or "30m"']],
        ["a retention unit alone", { autoCompactionRetention: "h" }, ['tuning.autoCompactionRetention: "h" must be a number, or a duration like "1h" or "30m"']],
        ["a retention with two units", { autoCompactionRetention: "1hh" }, ['tuning.autoCompactionRetention: "1hh" must be a number, or a duration like "1h" or "30m"']],
        ["a retention with a prefix", { autoCompactionRetention: "x1h" }, ['tuning.autoCompactionRetention: "x1h" must be a number, or a duration like "1h" or "30m"']],
        ["a duration in revision mode", { autoCompactionMode: "revision", autoCompactionRetention: "5m" }, ['tuning.autoCompactionRetention: revision mode takes a revision count, not a duration ("5m")']],
        ["an election timeout under 5 heartbeats", { heartbeatIntervalMs: 100, electionTimeoutMs: 499 }, ["tuning.electionTimeoutMs (499) must be at least 5 × heartbeatIntervalMs (100)"]],
        ["an election timeout over 50 s", { heartbeatIntervalMs: 100, electionTimeoutMs: 50001 }, ["tuning.electionTimeoutMs (50001) must be at most 50000"]],
        ["a quota over 8 GiB", { quotaBackendBytes: 8 * 1024 ** 3 + 1 }, [`tuning.quotaBackendBytes (${8 * 1024 ** 3 + 1}) exceeds etcd's suggested maximum of 8 GiB`]],
        ["a request limit as large as the quota", { quotaBackendBytes: 1048576, maxRequestBytes: 1048576 }, ["tuning.maxRequestBytes (1048576) must be smaller than quotaBackendBytes (1048576)"]],
        ["a heartbeat of 0", { heartbeatIntervalMs: 0 }, ["tuning.heartbeatIntervalMs: must be a positive integer"]],
        ["a fractional heartbeat", { heartbeatIntervalMs: 1.5 }, ["tuning.heartbeatIntervalMs: must be a positive integer"]],
        ["a snapshot count past 2^53", { snapshotCount: 2 ** 53 }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a negative snapshot count as text", { snapshotCount: "-5" }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count with a suffix", { snapshotCount: "5k" }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count with a prefix", { snapshotCount: "k5" }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count of \"0\"", { snapshotCount: "0" }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count that is empty text", { snapshotCount: "" }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count that is true", { snapshotCount: true }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count given as a list", { snapshotCount: [12] }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count with a leading space", { snapshotCount: " 12" }, ["tuning.snapshotCount: must be a positive integer"]],
        ["a count in exponent notation", { snapshotCount: "1e3" }, ["tuning.snapshotCount: must be a positive integer"]],
        ["an election timeout of 0", { electionTimeoutMs: 0 }, ["tuning.electionTimeoutMs: must be a positive integer"]],
        ["a quota of 0", { quotaBackendBytes: 0 }, ["tuning.quotaBackendBytes: must be a positive integer"]],
        ["a request limit of 0", { maxRequestBytes: 0 }, ["tuning.maxRequestBytes: must be a positive integer"]],
    ];
    for (const [title, tuning, want] of cases) {
        it(`refuses ${title}, exactly`, () => assert.deepEqual(problemsOf({ tuning }), want));
    }
});

describe("spec validators: CA, certificate lifetimes, client certificates", () => {
    it("CA defaults and given values; RSA from 2048 bits; bring-your-own with both halves", () => {
        assert.deepEqual(parsed({}).ca, { algorithm: "ECDSA", rsaBits: 2048, validityHours: 87600, bringYourOwn: false, generation: 1, trust: [1] });
        assert.deepEqual(parsed({ ca: { algorithm: "RSA", rsaBits: 2048, validityHours: 90000, generation: 3, trust: [3, 2] } }).ca,
            { algorithm: "RSA", rsaBits: 2048, validityHours: 90000, bringYourOwn: false, generation: 3, trust: [2, 3] });
        assert.equal(parsed({ ca: { rsaBits: 1024 } }).ca.rsaBits, 1024, "ECDSA ignores rsaBits");
        assert.deepEqual(parsed({ ca: { trust: [1] } }).ca.trust, [1]);
        assert.deepEqual(parsed({ ca: { trust: [2, 1] } }).ca.trust, [1, 2]);
        assert.deepEqual(parsed({ ca: { generation: "2", trust: [1, 2] } }).ca, { algorithm: "ECDSA", rsaBits: 2048, validityHours: 87600, bringYourOwn: false, generation: 2, trust: [1, 2] });
        assert.equal(parsed({ hasCaCert: true, hasCaKey: true }).ca.bringYourOwn, true);
        assert.equal(parsed({ hasCaCert: false, hasCaKey: false }).ca.bringYourOwn, false);
        for (const trust of [[9], [9, 10], [8, 9], [10, 9], [9, 9, 10]]) assert.deepEqual(parsed({ ca: { generation: 9, trust } }).ca.trust, [...new Set(trust)].sort((x, y) => x - y));
    });
    const cases: Array<[string, Raw, string[]]> = [
        ["ca not an object", { ca: "RSA" }, ["ca: must be an object"]],
        ["an unknown algorithm", { ca: { algorithm: "DSA" } }, ['ca.algorithm: "DSA" must be "ECDSA" (P-256) or "RSA"']],
        ["a lowercase algorithm", { ca: { algorithm: "rsa" } }, ['ca.algorithm: "rsa" must be "ECDSA" (P-256) or "RSA"']],
        ["RSA of 2047 bits", { ca: { algorithm: "RSA", rsaBits: 2047 } }, ["ca.rsaBits: 2047 is too weak; use 2048 or more"]],
        ["a CA key without its certificate", { hasCaKey: true }, ["ca: bring-your-own CA needs both `etcd:caCertPem` and the secret `etcd:caKeyPem`"]],
        ["a CA certificate without its key", { hasCaCert: true }, ["ca: bring-your-own CA needs both `etcd:caCertPem` and the secret `etcd:caKeyPem`"]],
        ["trust not a list", { ca: { trust: 1 } }, ["ca.trust: must be a list of CA generations (positive integers)"]],
        ["trust of generation 0", { ca: { trust: [0, 1] } }, ["ca.trust: must be a list of CA generations (positive integers)"]],
        ["trust of a fraction", { ca: { trust: [1.5] } }, ["ca.trust: must be a list of CA generations (positive integers)"]],
        ["trust two ahead, generation 1", { ca: { trust: [1, 3] } }, ["ca.trust: [1, 3] with ca.generation 1; use [1], or during a rotation [1, 2] (trust the next CA first)"]],
        ["trust without the issuer, generation 2", { ca: { generation: 2, trust: [1] } }, ["ca.trust: [1] with ca.generation 2; use [2], or during a rotation [2, 3] (trust the next CA first) or [1, 2] (still trust the previous one)"]],
        ["trust of three generations", { ca: { generation: 2, trust: [1, 2, 3] } }, ["ca.trust: [1, 2, 3] with ca.generation 2; use [2], or during a rotation [2, 3] (trust the next CA first) or [1, 2] (still trust the previous one)"]],
        ["generation 0", { ca: { generation: 0 } }, ["ca.generation: must be a positive integer"]],
        ["an RSA size of 0", { ca: { rsaBits: 0 } }, ["ca.rsaBits: must be a positive integer"]],
        ["an empty algorithm", { ca: { algorithm: "" } }, ["ca.algorithm: must be a non-empty string"]],
        ["a CA validity of 0", { ca: { validityHours: 0 } }, ["ca.validityHours: must be a positive integer"]],
        ["certificates outliving the CA", { certValidityHours: 87601 }, ["certValidityHours (87601) must not exceed ca.validityHours (87600)"]],
        ["a renewal window as long as the validity", { certValidityHours: 48, certRenewBeforeHours: 48 }, ["certRenewBeforeHours (48) must be less than certValidityHours (48): every up would re-issue every certificate"]],
        ["a renewal window longer than the validity", { certValidityHours: 48, certRenewBeforeHours: 49 }, ["certRenewBeforeHours (49) must be less than certValidityHours (48): every up would re-issue every certificate"]],
    ];
    for (const [title, raw, want] of cases) {
        it(`refuses ${title}, exactly`, () => assert.deepEqual(problemsOf(raw), want));
    }
    it("certificate lifetimes: defaults, the renewal window a quarter of the validity within [1, 720], the CA's validity allowed", () => {
        const s = parsed({});
        assert.deepEqual([s.certValidityHours, s.certRenewBeforeHours], [8760, 720]);
        assert.equal(parsed({ certValidityHours: 2880 }).certRenewBeforeHours, 720);
        assert.equal(parsed({ certValidityHours: 2884 }).certRenewBeforeHours, 720);
        assert.equal(parsed({ certValidityHours: 2876 }).certRenewBeforeHours, 719);
        assert.equal(parsed({ certValidityHours: 7 }).certRenewBeforeHours, 1);
        assert.equal(parsed({ certValidityHours: 3 }).certRenewBeforeHours, 1);
        assert.equal(parsed({ certValidityHours: 87600 }).certValidityHours, 87600);
        assert.equal(parsed({ certValidityHours: 48, certRenewBeforeHours: 47 }).certRenewBeforeHours, 47);
    });

    it("client certificates: the built-in three, then the configured ones (CN defaults to the name; organization and dir only when given)", () => {
        const s = parsed({ clientCertificates: [{ name: "flannel" }, { name: "kube", commonName: "system:kube-apiserver", organization: "system:masters", dir: "/etc/kubernetes/pki/etcd" }] });
        assert.deepEqual(s.clientCertificates, [
            { name: "admin", commonName: "root", organization: "etcd-stack" },
            { name: "healthcheck", commonName: "healthcheck", organization: "etcd-stack" },
            { name: "apiserver-etcd-client", commonName: "apiserver-etcd-client", organization: "system:masters" },
            { name: "flannel", commonName: "flannel", organization: undefined },
            { name: "kube", commonName: "system:kube-apiserver", organization: "system:masters", dir: "/etc/kubernetes/pki/etcd" },
        ]);
        assert.equal("dir" in s.clientCertificates[3], false);
        for (const text of ["a", "A b.c_d:e@f=g+h,i-j", "9" + "x".repeat(63)]) {
            assert.equal(parsed({ clientCertificates: [{ name: "c", commonName: text, organization: text }] }).clientCertificates[3].commonName, text);
        }
    });
    const subject = 'may hold only letters, digits, spaces and . _ : @ = + , - (at most 64)';
    const clientCases: Array<[string, unknown, string[]]> = [
        ["a list expected", { name: "x" }, ["clientCertificates: must be a list of { name, commonName, organization?, dir? }"]],
        ["no name", [{ commonName: "x" }], ["clientCertificates[0].name: required"]],
        ["a name not a DNS label", [{ name: "Flannel_1" }], ['clientCertificates[0]: name "Flannel_1" must be a lowercase DNS label']],
        ["a built-in name", [{ name: "healthcheck", commonName: "x" }], ['clientCertificates[0]: a client certificate named "healthcheck" already exists']],
        ["a name given twice", [{ name: "x" }, { name: "x", commonName: "y" }], ['clientCertificates[1]: a client certificate named "x" already exists']],
        ["the peer CN", [{ name: "sneaky", commonName: "etcd-peer" }], ['clientCertificates[0].commonName: "etcd-peer" is the members\' peer certificate\'s name, which the peer port admits: a client certificate must not carry it']],
        ["the peer CN in capitals", [{ name: "sneaky", commonName: "ETCD-Peer" }], ['clientCertificates[0].commonName: "ETCD-Peer" is the members\' peer certificate\'s name, which the peer port admits: a client certificate must not carry it']],
        ["the peer CN as the name (CN defaulting to it)", [{ name: "etcd-peer" }], ['clientCertificates[0].commonName: "etcd-peer" is the members\' peer certificate\'s name, which the peer port admits: a client certificate must not carry it']],
        ["a CN of 65 characters", [{ name: "c", commonName: "x".repeat(65) }], [`clientCertificates[0].commonName: "${"x".repeat(65)}" ${subject}`]],
        ["a CN starting with a space", [{ name: "c", commonName: " x" }], [`clientCertificates[0].commonName: " x" ${subject}`]],
        ["a CN starting with -", [{ name: "c", commonName: "-x" }], [`clientCertificates[0].commonName: "-x" ${subject}`]],
        ["a CN with a slash", [{ name: "c", commonName: "a/b" }], [`clientCertificates[0].commonName: "a/b" ${subject}`]],
        ["a CN with a semicolon at the end", [{ name: "c", commonName: "ab;" }], [`clientCertificates[0].commonName: "ab;" ${subject}`]],
        ["an organization with a quote", [{ name: "c", organization: "o'x" }], [`clientCertificates[0].organization: "o'x" ${subject}`]],
        ["an empty common name", [{ name: "c", commonName: "" }], ["clientCertificates[0].commonName: must be a non-empty string"]],
        ["an empty organization", [{ name: "c", organization: "" }], ["clientCertificates[0].organization: must be a non-empty string"]],
        ["a relative dir", [{ name: "c", dir: "etc/c" }], ['clientCertificates[0].dir: "etc/c" must be an absolute path without spaces, "..", or a trailing slash']],
        ["an empty dir", [{ name: "c", dir: "" }], ["clientCertificates[0].dir: must be a non-empty string"]],
    ];
    for (const [title, clientCertificates, want] of clientCases) {
        it(`client certificates: refuses ${title}, exactly`, () => assert.deepEqual(problemsOf({ clientCertificates }), want));
    }
});

describe("spec validators: adopt, restore, snapshots, defrag", () => {
    it("adopt: systemd service names accepted, anything else refused exactly", () => {
        for (const unit of ["etcd.service", "etcd-legacy.service", "getty@tty1.service", "a:b_c.d.service", "E.service", "0.service"]) {
            assert.deepEqual(parsed({ members: three({ adopt: { unit, dataDir: "/var/lib/etcd-old" } }) }).members[2].adopt, { unit, dataDir: "/var/lib/etcd-old" });
        }
        for (const unit of ["etcd", "etcd.socket", "-etcd.service", ".service", "etcd service.service", "etcd.service.bak", "etcd.servicex", "x;etcd.service", "etcd.service;x", "etcd$x.service", "etcd-service"]) {
            assert.deepEqual(problemsOf({ members: three({ adopt: { unit, dataDir: "/var/lib/etcd-old" } }) }),
                [`members[2] (m-3).adopt.unit: "${unit}" is not a systemd service name (like etcd-legacy.service)`], unit);
        }
    });

    it("restore: from a read snapshot (its id the digest's first 12 digits); none when the path is empty; refusals exact", () => {
        const sha = "0123456789ab" + hex("c", 52);
        assert.deepEqual(parsed({ restore: { snapshot: "/backups/a.db", sha256: sha } }).restore, { snapshotPath: "/backups/a.db", sha256: sha, id: "0123456789ab" });
        assert.equal("restore" in parsed({}), false);
        assert.deepEqual(problemsOf({ restore: { snapshot: "/a.db", sha256: hex("C") } }), ['restore.snapshot: "/a.db" could not be read to check its digest']);
        assert.deepEqual(problemsOf({ restore: { snapshot: "/a.db", sha256: hex("c", 63) } }), ['restore.snapshot: "/a.db" could not be read to check its digest']);
        assert.deepEqual(problemsOf({ restore: { snapshot: "/a.db", sha256: 5 } }), ['restore.snapshot: "/a.db" could not be read to check its digest']);
        assert.deepEqual(problemsOf({ restore: { snapshot: "/a.db", sha256: [sha] } }), ['restore.snapshot: "/a.db" could not be read to check its digest']);
        assert.deepEqual(problemsOf({ restore: "/a.db" }), ["restore: must be an object"]);
        assert.deepEqual(problemsOf({ restore: {} }), ["restore.snapshot: required"]);
        assert.deepEqual(problemsOf({ restore: { snapshot: "", sha256: sha } }), ["restore.snapshot: must be a non-empty string"]);
        assert.deepEqual(problemsOf({ restore: { snapshot: "/b.db", sha256: sha }, members: three({ adopt: { unit: "etcd.service", dataDir: "/var/lib/etcd" } }) }),
            ["restore: cannot restore while a member adopts an existing etcd; adopt first, then restore in a later run"]);
    });

    it("snapshots: defaults, enabled as text, given members and bounds; refusals exact", () => {
        assert.equal("snapshots" in parsed({}), false);
        assert.deepEqual(parsed({ snapshots: { enabled: "true" } }).snapshots, { onCalendar: "hourly", keep: 24, maxAgeDays: 7, members: ["lab-1", "lab-2", "lab-3"] });
        assert.equal(parsed({ snapshots: { enabled: "false" } }).snapshots, undefined);
        assert.deepEqual(parsed({ snapshots: { onCalendar: "daily", keep: 3, maxAgeDays: 30, members: ["lab-3", "lab-1"] } }).snapshots, { onCalendar: "daily", keep: 3, maxAgeDays: 30, members: ["lab-3", "lab-1"] });
        assert.deepEqual(problemsOf({ snapshots: "hourly" }), ["snapshots: must be an object"]);
        assert.deepEqual(problemsOf({ snapshots: { enabled: "no" } }), ["snapshots.enabled: must be true or false"]);
        assert.deepEqual(problemsOf({ snapshots: { members: ["lab-1", "nope"] } }), ['snapshots.members: "nope" is not a member of the stack']);
        assert.deepEqual(problemsOf({ snapshots: { members: "lab-1" } }), ["snapshots.members: must be a list of strings"]);
        assert.deepEqual(problemsOf({ snapshots: { maxAgeDays: 0 } }), ["snapshots.maxAgeDays: must be a positive integer"]);
    });

    it("defrag: defaults (the first member), refusals exact; no member to default to", () => {
        assert.deepEqual(parsed({ defrag: { enabled: true } }).defrag, { onCalendar: "weekly", member: "lab-1" });
        assert.deepEqual(problemsOf({ defrag: { member: "nope" } }), ['defrag.member: "nope" is not a member of the stack']);
        assert.deepEqual(problemsOf({ defrag: { enabled: 1 } }), ["defrag.enabled: must be true or false"]);
        assert.deepEqual(problemsOf({ defrag: [] }), ["defrag: must be an object"]);
        // No member list at all: only what is missing is reported, not a member "" that is not in the stack.
        assert.deepEqual(problemsOf({ members: undefined, defrag: {} }), ["members: required (a list of { name, address })", "defrag.member: required"]);
        assert.deepEqual(problemsOf({ members: "lab-1", defrag: {} }), ["members: must be a list of { name, address }", "defrag.member: required"]);
    });

    const calendars = "is not a systemd calendar expression (letters, digits, spaces and * - : / , . ~ _ + only)";
    it("calendar expressions: systemd's syntax accepted, anything a shell would read refused exactly", () => {
        for (const ok of ["hourly", "*-*-* 00/6:00:00", "Mon..Fri *-*-* 09:00:00", "*-*~03", "Sat,Sun 03:30 Europe/Berlin", "2026-01-01 00:00:00 UTC", "0", "*", "x+1_2"]) {
            assert.deepEqual(parsed({ snapshots: { onCalendar: ok }, defrag: { onCalendar: ok } }).snapshots?.onCalendar, ok);
        }
        for (const bad of [" hourly", "-hourly", ":00", ";hourly", "hourly;", "hourly\nExecStart=/bin/sh", "$(reboot)", "daily'x", "a|b", "a&b", "a>b", "a\\b", "a\"b", "a`b`", "a#b", "a=b"]) {
            assert.deepEqual(problemsOf({ snapshots: { onCalendar: bad }, defrag: { onCalendar: bad } }),
                [`snapshots.onCalendar: "${bad}" ${calendars}`, `defrag.onCalendar: "${bad}" ${calendars}`], bad);
        }
    });
});

describe("spec validators: bastion, flags, limits, the SSH key, the error", () => {
    it("bastion: defaults (port 22, user root), given values, a known_hosts key by host and port; refusals exact", () => {
        assert.deepEqual(parsed({ bastion: { host: "jump.example", hostKey: `${fixtureHostKeys[0]} me@x` } }).bastion, { host: "jump.example", port: 22, user: "root", hostKey: fixtureHostKeys[0] });
        assert.deepEqual(parsed({ bastion: { host: "10.0.0.2", port: 2222, user: "ops" }, knownHostsText: `[10.0.0.2]:2222 ${fixtureHostKeys[1]}\n` }).bastion,
            { host: "10.0.0.2", port: 2222, user: "ops", hostKey: fixtureHostKeys[1] });
        assert.deepEqual(parsed({ bastion: { host: "10.0.0.2" }, allowUnverifiedHosts: true }).bastion, { host: "10.0.0.2", port: 22, user: "root" });
        assert.deepEqual(parsed({ bastion: { host: "10.0.0.2" }, knownHostsUnreadable: true }).bastion, { host: "10.0.0.2", port: 22, user: "root" });
        assert.equal(parsed({}).bastion, undefined);
        const how = "collect it with `ssh-keyscan -t ed25519 <host>`, check its fingerprint out of band, then set it (or point `etcd:knownHostsPath` at a verified known_hosts file); `etcd:allowUnverifiedHosts: true` skips the check (labs only)";
        const cases: Array<[Raw, string[]]> = [
            [{ bastion: "jump" }, ["bastion: must be an object"]],
            [{ bastion: {} }, ["bastion.host: required"]],
            [{ bastion: { host: "jump" } }, [`bastion: no SSH host key for jump:22; ${how}`]],
            [{ bastion: { host: "jump", port: 2200 }, knownHostsText: `jump ${fixtureHostKeys[0]}\n` }, [`bastion: no SSH host key for jump:2200; ${how}`]],
            [{ bastion: { host: "jump;reboot", hostKey: fixtureHostKeys[0] } }, ['bastion.host: "jump;reboot" is neither a host name nor an IP address']],
            [{ bastion: { host: "jump", user: "$USER", hostKey: fixtureHostKeys[0] } }, ['bastion.user: "$USER" is not a user name (letters, digits, _ . -; not starting with - or a digit)']],
            [{ bastion: { host: "jump", hostKey: "SHA256:abc" } }, ['bastion.hostKey is not an SSH public key line ("ssh-ed25519 AAAA…", as ssh-keyscan prints it)', `bastion: no SSH host key for jump:22; ${how}`]],
            [{ bastion: { host: "jump", port: 70000, hostKey: fixtureHostKeys[0] } }, ["bastion.port: 70000 is not a TCP port"]],
            [{ bastion: { host: "jump", hostKey: 5 }, allowUnverifiedHosts: true }, ["bastion.hostKey: must be a non-empty string"]],
            [{ bastion: { host: "jump", user: "", hostKey: fixtureHostKeys[0] } }, ["bastion.user: must be a non-empty string"]],
        ];
        for (const [raw, want] of cases) assert.deepEqual(problemsOf(raw), want, JSON.stringify(raw));
    });

    it("flags and limits: defaults, true/false as text, positive integers; refusals exact", () => {
        const s = parsed({});
        assert.deepEqual([s.clusterName, s.allowSingleMember, s.allowEvenMembers, s.allowUnverifiedHosts, s.purgeDataOnDestroy, s.protectCa, s.maxClockSkewSeconds, s.minFreeDiskMiB, s.fsyncWarnMs, s.healthTimeoutSeconds],
            ["lab", false, false, false, false, true, 30, 1024, 10, 120]);
        assert.equal(parseClusterSpec({ ...rawConfig(), clusterName: undefined }).clusterName, "etcd");
        const t = parsed({ purgeDataOnDestroy: "true", protectCa: "false", maxClockSkewSeconds: "5", minFreeDiskMiB: 1, fsyncWarnMs: "25", healthTimeoutSeconds: 600, allowUnverifiedHosts: false });
        assert.deepEqual([t.purgeDataOnDestroy, t.protectCa, t.maxClockSkewSeconds, t.minFreeDiskMiB, t.fsyncWarnMs, t.healthTimeoutSeconds], [true, false, 5, 1, 25, 600]);
        assert.deepEqual([parsed({ purgeDataOnDestroy: true }).purgeDataOnDestroy, parsed({ protectCa: false }).protectCa], [true, false]);
        const cases: Array<[Raw, string[]]> = [
            [{ clusterName: "Lab" }, ['clusterName "Lab" must be a lowercase DNS label']],
            [{ clusterName: "lab.x" }, ['clusterName "lab.x" must be a lowercase DNS label']],
            [{ clusterName: "" }, ["clusterName: must be a non-empty string"]],
            [{ purgeDataOnDestroy: "yes" }, ["purgeDataOnDestroy: must be true or false"]],
            [{ protectCa: "TRUE" }, ["protectCa: must be true or false"]],
            [{ allowUnverifiedHosts: 1 }, ["allowUnverifiedHosts: must be true or false"]],
            [{ maxClockSkewSeconds: 0 }, ["maxClockSkewSeconds: must be a positive integer"]],
            [{ minFreeDiskMiB: -1 }, ["minFreeDiskMiB: must be a positive integer"]],
            [{ fsyncWarnMs: 0 }, ["fsyncWarnMs: must be a positive integer"]],
            [{ fsyncWarnMs: 2.5 }, ["fsyncWarnMs: must be a positive integer"]],
            [{ healthTimeoutSeconds: "1m" }, ["healthTimeoutSeconds: must be a positive integer"]],
            [{ certValidityHours: 0 }, ["certValidityHours: must be a positive integer"]],
            [{ certRenewBeforeHours: 0 }, ["certRenewBeforeHours: must be a positive integer"]],
            [{ hasSshKey: false }, ["missing SSH private key: set the secret `etcd:sshPrivateKey` (pulumi config set --secret) or `etcd:sshPrivateKeyPath`, or run an ssh-agent holding the key (SSH_AUTH_SOCK is not set)"]],
            [{ hasSshKey: false, sshAgentProblem: "SSH_AUTH_SOCK=/tmp/gone: no such socket (the agent of an ended session?)" },
                ["missing SSH private key: set the secret `etcd:sshPrivateKey` (pulumi config set --secret) or `etcd:sshPrivateKeyPath`, or run an ssh-agent holding the key (SSH_AUTH_SOCK=/tmp/gone: no such socket (the agent of an ended session?))"]],
            [{ hasSshKey: false, hasSshAgent: true }, []],
            [{ hasBastionKey: true }, ["bastionPrivateKey: set (or bastionPrivateKeyPath), but there is no `etcd:bastion` to use it for: set `etcd:bastion` or remove the key"]],
            [{ hasBastionKey: true, bastion: { host: "bastion.example", hostKey: fixtureHostKeys[0] } }, []],
        ];
        for (const [raw, want] of cases) assert.deepEqual(problemsOf(raw), want, JSON.stringify(raw));
    });

    it("the error names every problem, one a line, with their count (one problem: singular)", () => {
        try {
            parseClusterSpec(rawConfig({ hasSshKey: false }));
            assert.fail("expected a SpecError");
        } catch (e) {
            assert.ok(e instanceof SpecError);
            assert.equal(e.name, "SpecError");
            assert.equal(e.message, "invalid etcd stack config (1 problem):\n  - missing SSH private key: set the secret `etcd:sshPrivateKey` (pulumi config set --secret) or `etcd:sshPrivateKeyPath`, or run an ssh-agent holding the key (SSH_AUTH_SOCK is not set)");
        }
        const two = new SpecError(["a", "b"]);
        assert.equal(two.message, "invalid etcd stack config (2 problems):\n  - a\n  - b");
        assert.deepEqual(two.problems, ["a", "b"]);
    });
});

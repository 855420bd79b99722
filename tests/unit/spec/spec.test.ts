import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fc from "fast-check";
import { hostKeyFingerprint } from "../../../components/base/hostKeys";
import { SpecError } from "../../../components/spec/problems";
import { parseClusterSpec } from "../../../components/spec/parse";
import { defaultTuning } from "../../../components/spec/types";
import { isValidAddress, isValidMemberName, releaseUrl } from "../../../components/spec/values";
import { peerCommonName } from "../../../components/base/paths";
import { fixtureHostKeys, problemsOf, rawConfig, spec } from "../fixtures";


function member(i: number) {
    return { name: `m-${i}`, address: `10.213.0.${10 + i}`, hostKey: fixtureHostKeys[i % 3] };
}

describe("spec: defaults", () => {
    it("fills every default for a minimal valid config", () => {
        const s = spec();
        assert.equal(s.members.length, 3);
        assert.deepEqual(s.ports, { client: 2379, peer: 2380, metrics: 2381 });
        assert.deepEqual(s.dirs, { data: "/var/lib/etcd", config: "/etc/etcd", pki: "/etc/etcd/pki" });
        assert.deepEqual(s.tuning, defaultTuning);
        assert.equal(s.members[0].sshHost, "10.213.0.11");
        assert.equal(s.members[0].sshPort, 22);
        assert.equal(s.members[0].sshUser, "root");
        assert.deepEqual(s.members[2].extraSans, ["etcd.example.internal", "10.213.0.100"]);
        assert.equal(s.ca.algorithm, "ECDSA");
        assert.equal(s.purgeDataOnDestroy, false);
        assert.deepEqual(s.clientCertificates.map((c) => c.name), ["admin", "healthcheck", "apiserver-etcd-client"]);
    });

    it("accepts 5 and 7 members and IPv6 addresses", () => {
        assert.equal(spec({ members: [1, 2, 3, 4, 5].map(member) }).members.length, 5);
        assert.equal(spec({ members: [1, 2, 3, 4, 5, 6, 7].map(member) }).members.length, 7);
        const v6 = spec({ members: [{ name: "a", address: "fd00::1" }, { name: "b", address: "fd00::2" }, { name: "c", address: "fd00::3" }], allowUnverifiedHosts: true });
        assert.equal(v6.members[0].address, "fd00::1");
    });

    it("parses a URL binary source with per-arch checksums", () => {
        const s = spec({ binary: { url: "https://mirror.example/etcd-v{version}-linux-{arch}.tar.gz", sha256: { amd64: "a".repeat(64) } } });
        assert.deepEqual(s.binary, { kind: "url", urlTemplate: "https://mirror.example/etcd-v{version}-linux-{arch}.tar.gz", sha256: { amd64: "a".repeat(64) } });
        assert.equal(releaseUrl((s.binary as { urlTemplate: string }).urlTemplate, "3.6.16", "amd64"), "https://mirror.example/etcd-v3.6.16-linux-amd64.tar.gz");
    });
});

describe("spec: validation", () => {
    const cases: Array<[string, Parameters<typeof rawConfig>[0], RegExp]> = [
        ["no members", { members: undefined }, /members: required/],
        ["members not a list", { members: "lab-1" }, /members: must be a list/],
        ["two members", { members: [member(1), member(2)] }, /2 members; use 3, 5 or 7/],
        ["four members", { members: [1, 2, 3, 4].map(member) }, /4 members, an even count: .*; use 3, 5 or 7, or set etcd:allowEvenMembers: true/],
        ["six members", { members: [1, 2, 3, 4, 5, 6].map(member) }, /6 members, an even count: it tolerates no more failures than 5/],
        ["two members even with allowEvenMembers", { members: [member(1), member(2)], allowEvenMembers: true }, /2 members; use 3, 5 or 7/],
        ["eight members even with allowEvenMembers", { members: [1, 2, 3, 4, 5, 6, 7, 8].map(member), allowEvenMembers: true }, /8 members/],
        ["allowEvenMembers not a boolean", { allowEvenMembers: "sometimes" }, /allowEvenMembers/],
        ["eight members", { members: [1, 2, 3, 4, 5, 6, 7, 8].map(member) }, /8 members/],
        ["one member without the dev flag", { members: [member(1)] }, /allowSingleMember/],
        ["duplicate name", { members: [member(1), member(2), { name: "m-1", address: "10.213.0.99" }] }, /duplicate member name "m-1" \(also members\[0\]\)/],
        ["duplicate address", { members: [member(1), member(2), { name: "m-9", address: "10.213.0.11" }] }, /duplicate address "10.213.0.11"/],
        ["duplicate IPv6 address spelled differently", { members: [{ name: "a", address: "fd00::1" }, { name: "b", address: "fd00:0::1" }, member(3)] }, /duplicate address "fd00:0::1"/],
        // One machine named twice: DNS names ignore case, and an IPv6 address has many spellings
        // (memberIdentity.ts compares endpoints the same way).
        ["duplicate SSH endpoint in another case", { members: [{ ...member(1), sshHost: "etcd-1.example" }, { ...member(2), sshHost: "ETCD-1.Example" }, member(3)] }, /duplicate SSH endpoint "ETCD-1.Example:22" \(also members\[0\]\)/],
        ["duplicate SSH endpoint, IPv6 spelled differently", { members: [{ ...member(1), sshHost: "fd00::11" }, { ...member(2), sshHost: "fd00:0:0::11" }, member(3)] }, /duplicate SSH endpoint "fd00:0:0::11:22"/],
        ["invalid address", { members: [member(1), member(2), { name: "m-3", address: "10.213.0.300" }] }, /"10.213.0.300" is not an IPv4 or IPv6 address/],
        ["hostname as address", { members: [member(1), member(2), { name: "m-3", address: "etcd3.example" }] }, /not an IPv4 or IPv6/],
        ["uppercase name", { members: [member(1), member(2), { name: "Lab_3", address: "10.213.0.13" }] }, /name must be a lowercase DNS label/],
        ["name too long", { members: [member(1), member(2), { name: "a".repeat(64), address: "10.213.0.13" }] }, /DNS label/],
        ["missing name", { members: [member(1), member(2), { address: "10.213.0.13" }] }, /members\[2\]\.name: required/],
        ["bad extra SAN", { members: [member(1), member(2), { ...member(3), extraSans: ["not a name"] }] }, /extraSans entry "not a name"/],
        ["missing ssh key", { hasSshKey: false }, /missing SSH private key/],
        ["missing version", { version: undefined }, /version: required/],
        ["v-prefixed version", { version: "v3.6.16" }, /no leading "v"/],
        ["unsupported minor", { version: "3.4.23" }, /etcd 3.4 is not supported/],
        ["missing binary", { binary: undefined }, /binary: required/],
        ["unknown binary source", { binary: { path: "/x" } }, /unknown binary source/],
        ["both binary sources", { binary: { localTarball: "/x", url: "https://x", sha256: { amd64: "a".repeat(64) } } }, /not both/],
        ["url without checksum", { binary: { url: "https://x/{version}" } }, /binary.sha256: required/],
        ["bad checksum", { binary: { url: "https://x/{version}", sha256: { amd64: "abc" } } }, /binary.sha256.amd64: must be 64/],
        ["unknown arch", { binary: { url: "https://x/{version}", sha256: { riscv64: "a".repeat(64) } } }, /unknown arch "riscv64"/],
        ["http url", { binary: { url: "http://x/{version}", sha256: { amd64: "a".repeat(64) } } }, /must be an https:\/\/ URL/],
        ["client and peer port clash", { ports: { client: 2380 } }, /client and peer both use port 2380/],
        ["port out of range", { ports: { metrics: 70000 } }, /ports.metrics: 70000 is not a TCP port/],
        ["ssh port clashes with etcd port", { members: [member(1), member(2), { ...member(3), sshPort: 2379 }] }, /SSH port 2379 clashes with the client port/],
        ["relative data dir", { dirs: { data: "var/lib/etcd" } }, /dirs.data: "var\/lib\/etcd" must be an absolute path/],
        ["data dir inside pki dir", { dirs: { data: "/etc/etcd/pki/data" } }, /must be separate/],
        ["election timeout too short", { tuning: { heartbeatIntervalMs: 300, electionTimeoutMs: 1000 } }, /at least 5 × heartbeatIntervalMs/],
        ["bad compaction mode", { tuning: { autoCompactionMode: "daily" } }, /must be "periodic" or "revision"/],
        ["duration in revision mode", { tuning: { autoCompactionMode: "revision", autoCompactionRetention: "1h" } }, /revision mode takes a revision count/],
        ["huge quota", { tuning: { quotaBackendBytes: 16 * 1024 ** 3 } }, /exceeds etcd's suggested maximum/],
        ["negative snapshot count", { tuning: { snapshotCount: -5 } }, /tuning.snapshotCount: must be a positive integer/],
        ["weak RSA", { ca: { algorithm: "RSA", rsaBits: 1024 } }, /too weak/],
        ["unknown CA algorithm", { ca: { algorithm: "DSA" } }, /ca.algorithm: "DSA"/],
        ["half a brought CA", { hasCaCert: true }, /needs both/],
        ["client cert name clash", { clientCertificates: [{ name: "admin", commonName: "x" }] }, /"admin" already exists/],
        ["cert outlives CA", { certValidityHours: 100000 }, /must not exceed ca.validityHours/],
        ["member without a host key", { members: [member(1), member(2), { name: "m-3", address: "10.213.0.13" }] },
            /members\[2\] \(m-3\): no SSH host key for 10\.213\.0\.13:22; collect it with `ssh-keyscan/],
        ["malformed host key", { members: [member(1), member(2), { ...member(3), hostKey: "SHA256:abc" }] }, /members\[2\] \(m-3\): hostKey is not an SSH public key line/],
        ["host key under the wrong type", { members: [member(1), member(2), { ...member(3), hostKey: fixtureHostKeys[0].replace("ssh-ed25519", "ecdsa-sha2-nistp256") }] }, /hostKey is not an SSH public key line/],
        ["bastion without a host key", { bastion: { host: "10.213.0.2" } }, /bastion: no SSH host key for 10\.213\.0\.2:22/],
        ["adopt without a unit", { members: [member(1), member(2), { ...member(3), adopt: { dataDir: "/var/lib/etcd-old" } }] }, /members\[2\] \(m-3\)\.adopt\.unit: required/],
        ["adopt unit not a service", { members: [member(1), member(2), { ...member(3), adopt: { unit: "etcd; reboot", dataDir: "/var/lib/etcd-old" } }] }, /adopt\.unit: "etcd; reboot" is not a systemd service name/],
        ["adopt with a relative data dir", { members: [member(1), member(2), { ...member(3), adopt: { unit: "etcd.service", dataDir: "default.etcd" } }] }, /adopt\.dataDir: "default\.etcd" must be an absolute path/],
        ["restore without a readable snapshot", { restore: { snapshot: "/nope.db" } }, /restore\.snapshot: "\/nope\.db" could not be read/],
        ["restore while adopting", { restore: { snapshot: "/b.db", sha256: "e".repeat(64) }, members: [member(1), member(2), { ...member(3), adopt: { unit: "etcd.service", dataDir: "/var/lib/etcd" } }] }, /cannot restore while a member adopts/],
        ["renewal window as long as the validity", { certValidityHours: 48, certRenewBeforeHours: 48 }, /certRenewBeforeHours \(48\) must be less than certValidityHours \(48\)/],
        ["trusting a CA generation two ahead", { ca: { generation: 1, trust: [1, 3] } }, /ca\.trust: \[1, 3\] with ca\.generation 1; use \[1\], or during a rotation \[1, 2\]/],
        ["not trusting the issuing CA", { ca: { generation: 2, trust: [1] } }, /ca\.trust: \[1\] with ca\.generation 2/],
        ["a CA generation that is not a number", { ca: { trust: ["next"] } }, /ca\.trust: must be a list of CA generations/],
        ["protectCa not a boolean", { protectCa: "maybe" }, /protectCa/],
        ["known_hosts without the member", { members: [member(1), member(2), { name: "m-3", address: "10.213.0.13" }], knownHostsText: `10.213.0.99 ${fixtureHostKeys[0]}\n` }, /\(m-3\): no SSH host key/],
    ];
    for (const [title, overrides, pattern] of cases) {
        it(`rejects ${title}`, () => {
            const problems = problemsOf(overrides);
            assert.ok(problems.some((p) => pattern.test(p)), `no problem matched ${pattern}; got:\n${problems.join("\n")}`);
        });
    }

    it("pins host keys from known_hosts (plain, [host]:port and hashed entries), preferring ed25519", () => {
        const hashed = (name: string) => {
            const salt = crypto.randomBytes(20);
            return `|1|${salt.toString("base64")}|${crypto.createHmac("sha1", salt).update(name).digest("base64")}`;
        };
        const rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7";
        const knownHostsText = [
            "# comment", `10.213.0.11 ${rsa}`, `10.213.0.11,lab1 ${fixtureHostKeys[0]} comment`,
            `[10.213.0.12]:2222 ${fixtureHostKeys[1]}`, `${hashed("10.213.0.13")} ${fixtureHostKeys[2]}`, `*.example ${fixtureHostKeys[0]}`,
        ].join("\n");
        const members = [
            { name: "a", address: "10.213.0.11" }, { name: "b", address: "10.213.0.12", sshPort: 2222 }, { name: "c", address: "10.213.0.13" },
        ];
        const s = spec({ members, knownHostsText });
        assert.deepEqual(s.members.map((m) => m.hostKey), fixtureHostKeys);
        // A key set on the member wins over known_hosts.
        const own = spec({ members: [{ ...members[0], hostKey: fixtureHostKeys[2] + " me@host" }, members[1], members[2]], knownHostsText });
        assert.equal(own.members[0].hostKey, fixtureHostKeys[2]);
        assert.equal(hostKeyFingerprint(fixtureHostKeys[0]), "SHA256:" + crypto.createHash("sha256")
            .update(Buffer.from(fixtureHostKeys[0].split(" ")[1], "base64")).digest("base64").replace(/=+$/, ""));
    });

    it("connects to hosts without a pin only when allowUnverifiedHosts is set", () => {
        const members = [1, 2, 3].map((i) => ({ name: `m-${i}`, address: `10.213.0.${10 + i}` }));
        assert.equal(problemsOf({ members }).filter((p) => /no SSH host key/.test(p)).length, 3);
        assert.deepEqual(spec({ members, allowUnverifiedHosts: true }).members.map((m) => m.hostKey), [undefined, undefined, undefined]);
    });

    it("scheduled defragmentation: off by default, weekly from the first member when on, checked member and calendar", () => {
        assert.equal(spec().defrag, undefined);
        assert.deepEqual(spec({ defrag: {} }).defrag, { onCalendar: "weekly", member: "lab-1" });
        assert.equal(spec({ defrag: { enabled: false } }).defrag, undefined);
        assert.deepEqual(spec({ defrag: { member: "lab-3", onCalendar: "Sun *-*-* 03:00:00" } }).defrag, { onCalendar: "Sun *-*-* 03:00:00", member: "lab-3" });
        const problems = problemsOf({ defrag: { member: "nope", onCalendar: "weekly\nExecStart=/bin/sh" } });
        assert.ok(problems.some((p) => /defrag.member: "nope" is not a member of the stack/.test(p)), problems.join("\n"));
        assert.ok(problems.some((p) => /defrag.onCalendar: "weekly\nExecStart=\/bin\/sh" is not a systemd calendar expression/.test(p)), problems.join("\n"));
        assert.ok(problemsOf({ defrag: "weekly" }).some((p) => /^defrag\b/.test(p)), "a non-object is refused");
    });

    it("scheduled snapshots: off by default, all members when on, checked names and bounds", () => {
        assert.equal(spec().snapshots, undefined);
        assert.deepEqual(spec({ snapshots: {} }).snapshots, { onCalendar: "hourly", keep: 24, maxAgeDays: 7, members: ["lab-1", "lab-2", "lab-3"] });
        assert.equal(spec({ snapshots: { enabled: false } }).snapshots, undefined);
        assert.deepEqual(spec({ snapshots: { members: ["lab-2"], keep: 3 } }).snapshots?.members, ["lab-2"]);
        const problems = problemsOf({ snapshots: { members: ["nope"], keep: 0, onCalendar: "daily'; rm -rf /" } });
        assert.ok(problems.some((p) => /snapshots.members: "nope" is not a member/.test(p)), problems.join("\n"));
        assert.ok(problems.some((p) => /snapshots.keep: must be a positive integer/.test(p)), problems.join("\n"));
        assert.ok(problems.some((p) => /snapshots.onCalendar: .* is not a systemd calendar expression/.test(p)), problems.join("\n"));
    });

    it("the lab's hostile calendar (`$(touch${IFS}/tmp/x)`, which ran as root on the first member) is refused at preview, for snapshots and defrag", () => {
        const problems = problemsOf({ snapshots: { onCalendar: "$(touch${IFS}/tmp/x)", keep: 3 }, defrag: { onCalendar: "weekly`reboot`" } });
        assert.ok(problems.some((p) => /^snapshots\.onCalendar: "\$\(touch\$\{IFS\}\/tmp\/x\)" is not a systemd calendar expression/.test(p)), problems.join("\n"));
        assert.ok(problems.some((p) => /^defrag\.onCalendar: "weekly`reboot`" is not a systemd calendar expression/.test(p)), problems.join("\n"));
        for (const ok of ["hourly", "Mon..Fri *-*-* 09:00:00", "*-*-* 00/6:00:00", "*-*~03", "Sat,Sun 03:30 Europe/Berlin", "2026-01-01 00:00:00 UTC"]) {
            assert.deepEqual(problemsOf({ snapshots: { onCalendar: ok }, defrag: { onCalendar: ok } }), [], ok);
        }
    });

    it("every value that reaches a script is checked against what it may be, naming its key", () => {
        const [m1, m2, m3] = [member(1), member(2), member(3)];
        const problems = problemsOf({
            members: [{ ...m1, sshHost: "h$(reboot)" }, { ...m2, sshUser: "ops;reboot" }, { ...m3, adopt: { unit: "-etcd.service", dataDir: "/var/lib/etcd$(touch${IFS}/x)" } }],
            dirs: { data: "/data/`reboot`", config: "/etc/et'cd", pki: "/etc/etcd/pki*" },
            bastion: { host: "jump;reboot", user: "$USER", hostKey: fixtureHostKeys[0] },
        });
        for (const want of [
            /^members\[0\] \(m-1\): sshHost "h\$\(reboot\)" is neither a host name nor an IP address/,
            /^members\[1\] \(m-2\): sshUser "ops;reboot" is not a user name/,
            /^members\[2\] \(m-3\)\.adopt\.unit: "-etcd\.service" is not a systemd service name/,
            /^members\[2\] \(m-3\)\.adopt\.dataDir: "\/var\/lib\/etcd\$\(touch\$\{IFS\}\/x\)" may hold only letters, digits and \. _ - \//,
            /^dirs\.data: "\/data\/`reboot`" may hold only/, /^dirs\.config: "\/etc\/et'cd" may hold only/, /^dirs\.pki: "\/etc\/etcd\/pki\*" may hold only/,
            /^bastion\.host: "jump;reboot" is neither a host name nor an IP address/, /^bastion\.user: "\$USER" is not a user name/,
        ]) {
            assert.ok(problems.some((p) => want.test(p)), `no problem matched ${want}; got:\n${problems.join("\n")}`);
        }
        const fine = spec({ members: [{ ...m1, sshHost: "lab-1.example.internal", sshUser: "ops" }, { ...m2, sshHost: "fd00::12", sshUser: "_deploy.bot-1" }, m3],
            dirs: { data: "/srv/etcd_data-1.0" }, bastion: { host: "jump-1.example", user: "ops", hostKey: fixtureHostKeys[0] } });
        assert.equal(fine.members[1].sshHost, "fd00::12");
    });

    it("a client certificate cannot take the peer certificate's common name (the peer port admits it)", () => {
        const problems = problemsOf({ clientCertificates: [{ name: "sneaky", commonName: peerCommonName }] });
        assert.ok(problems.some((p) => /^clientCertificates\[0\]\.commonName: "etcd-peer" is the members' peer certificate's name/.test(p)), problems.join("\n"));
        const hostile = problemsOf({ clientCertificates: [{ name: "x", commonName: "x$(reboot)", organization: "o`id`" }] });
        assert.ok(hostile.some((p) => /^clientCertificates\[0\]\.commonName: "x\$\(reboot\)" may hold only/.test(p)), hostile.join("\n"));
        assert.ok(hostile.some((p) => /^clientCertificates\[0\]\.organization: "o`id`" may hold only/.test(p)), hostile.join("\n"));
        assert.equal(spec({ clientCertificates: [{ name: "kube", commonName: "system:kube-apiserver", organization: "system:masters" }] }).clientCertificates[3].commonName, "system:kube-apiserver");
    });

    it("adopt: kept on the member that takes over an existing etcd, absent elsewhere", () => {
        const [first, ...rest] = rawConfig().members as object[];
        const s = spec({ members: [{ ...first, adopt: { unit: "etcd-legacy.service", dataDir: "/var/lib/etcd-legacy" } }, ...rest] });
        assert.deepEqual(s.members[0].adopt, { unit: "etcd-legacy.service", dataDir: "/var/lib/etcd-legacy" });
        assert.equal(s.members[1].adopt, undefined);
    });

    it("certificate renewal window: a quarter of the validity up to 30 days unless set", () => {
        assert.equal(spec().certRenewBeforeHours, 720);
        assert.equal(spec({ certValidityHours: 100 }).certRenewBeforeHours, 25);
        assert.equal(spec({ certValidityHours: 2 }).certRenewBeforeHours, 1);
        assert.equal(spec({ certRenewBeforeHours: 2000 }).certRenewBeforeHours, 2000);
    });

    it("allows one member only with allowSingleMember", () => {
        assert.equal(spec({ members: [member(1)], allowSingleMember: true }).members.length, 1);
    });

    it("allows 4 or 6 members only with allowEvenMembers, and it does not stand in for allowSingleMember", () => {
        assert.equal(spec().allowEvenMembers, false);
        assert.equal(spec({ members: [1, 2, 3, 4].map(member), allowEvenMembers: true }).members.length, 4);
        assert.equal(spec({ members: [1, 2, 3, 4, 5, 6].map(member), allowEvenMembers: "true" }).allowEvenMembers, true);
        assert.equal(spec({ members: [1, 2, 3, 4, 5].map(member), allowEvenMembers: true }).members.length, 5);
        assert.deepEqual(problemsOf({ members: [member(1)], allowEvenMembers: true }).filter((p) => p.startsWith("members:")),
            ["members: 1 member has no fault tolerance; use 3, 5 or 7, or set etcd:allowSingleMember: true for development"]);
        assert.deepEqual(problemsOf({ members: [1, 2, 3, 4].map(member), allowSingleMember: true }),
            ["members: 4 members, an even count: it tolerates no more failures than 3 and needs one more vote for quorum; use 3, 5 or 7, or set etcd:allowEvenMembers: true to run 4 on purpose"]);
    });

    it("lists every problem at once in one message", () => {
        try {
            parseClusterSpec(rawConfig({ members: [member(1), member(1)], version: "v3", hasSshKey: false }));
            assert.fail("expected a SpecError");
        } catch (e) {
            assert.ok(e instanceof SpecError);
            assert.ok(e.problems.length >= 4, e.problems.join("\n"));
            for (const p of e.problems) assert.ok(e.message.includes(p));
            assert.match(e.message, /^invalid etcd stack config \(\d+ problems\):/);
        }
    });
});

describe("spec: properties", () => {
    it("member names are valid exactly when they are lowercase DNS labels", () => {
        fc.assert(fc.property(fc.string({ maxLength: 70 }), (name) => {
            const expected = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) && name.length <= 63;
            assert.equal(isValidMemberName(name), expected);
        }), { numRuns: 2000 });
    });

    it("every generated IPv4 and IPv6 address is accepted; octets above 255 are not", () => {
        fc.assert(fc.property(fc.ipV4(), (a) => assert.ok(isValidAddress(a))));
        fc.assert(fc.property(fc.ipV6(), (a) => assert.ok(isValidAddress(a))));
        fc.assert(fc.property(fc.integer({ min: 256, max: 999 }), (o) => assert.ok(!isValidAddress(`10.0.0.${o}`))));
    });

    it("any member count other than 3, 5 or 7 is rejected, and those are accepted", () => {
        fc.assert(fc.property(fc.integer({ min: 0, max: 12 }), (n) => {
            const problems = problemsOf({ members: Array.from({ length: n }, (_, i) => member(i + 1)) });
            const countProblem = problems.some((p) => /^members: /.test(p));
            assert.equal(countProblem, ![3, 5, 7].includes(n), `n=${n}: ${problems.join("; ")}`);
        }));
    });

    it("any duplicate among unique members is reported with both positions", () => {
        fc.assert(fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), (a, b) => {
            fc.pre(a !== b);
            const ms = [1, 2, 3, 4, 5].map(member);
            ms[Math.max(a, b)] = { ...ms[Math.max(a, b)], name: ms[Math.min(a, b)].name };
            const problems = problemsOf({ members: ms });
            assert.ok(problems.some((p) => p.includes(`duplicate member name "${ms[Math.min(a, b)].name}" (also members[${Math.min(a, b)}])`)), problems.join("; "));
        }));
    });

    it("valid tuning never produces a problem; election < 5×heartbeat always does", () => {
        fc.assert(fc.property(fc.integer({ min: 10, max: 1000 }), fc.integer({ min: 1, max: 50000 }), (hb, et) => {
            const problems = problemsOf({ tuning: { heartbeatIntervalMs: hb, electionTimeoutMs: et } });
            assert.equal(problems.length > 0, et < 5 * hb || et > 50000, `hb=${hb} et=${et}: ${problems.join("; ")}`);
        }));
    });
});

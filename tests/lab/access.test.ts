/**
 * Lab, real engine: the access patterns of real data centres. The members are reached only
 * through a bastion (lab4, its login `jump`, which takes only a second key: `etcd:bastionPrivateKeyPath`),
 * one of them on a custom SSH port, and as a non-root login with sudo (`deploy`, the lab key only):
 * the whole stack comes up and is destroyed that way, every login on a member is `deploy` arriving
 * from the bastion, and the files land with the stack's owners and modes. Half-way, both keys leave
 * the stack's config for an ssh-agent: an `up` through it, then a preview from another agent's
 * socket with nothing to change; the rest of the suite (destroy included) goes through the agent.
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../../components/base/paths";
import { ScratchStack, StepLog, engineUnavailable, repoRoot, scratchStack } from "../engine/engine";
import { skipIf, tarballMissing } from "../skip";
import { Etcdctl } from "./etcdClient";
import { labAvailable, labKeyPath, labKnownHostsPath, labRun, labSsh, labSshArgs, labUp, runAsync } from "./lab";
import { adminCredentials, hostOf, indent, labMembers, labStackConfig, labTarball, leftovers, sudoLoginCommands, wipeHosts } from "./labStack";

const members: Array<{ name: string; address: string; sshUser: string; sshPort?: number; hostKey?: string }> =
    labMembers(3).map((m) => ({ ...m, sshUser: "deploy" }));
const bastion = "10.213.0.14";
const noRootMarker = "# etcd-stack access test: no root login from the bastion";
/** The bastion's login, which takes only the bastion's own key (not the lab key the members take). */
const jump = "jump";

/** A key's SHA256 fingerprint, as sshd logs it. */
const fingerprintOf = (keyFile: string) => spawnSync("ssh-keygen", ["-lf", keyFile, "-E", "sha256"], { encoding: "utf8" }).stdout.split(" ")[1];

/** Whether `user@host` takes the key `keyFile` (ssh with only that key, no agent). */
function accepts(host: string, user: string, keyFile: string): boolean {
    const args = labSshArgs().map((a) => (a === labKeyPath() ? keyFile : a));
    const r = spawnSync("ssh", [...args, `${user}@10.213.0.${10 + Number(host.replace("lab", ""))}`, "true"],
        { encoding: "utf8", timeout: 30_000, env: { ...process.env, SSH_AUTH_SOCK: "" } });
    return r.status === 0;
}

/** An ssh-agent of this test's own, listening on `socket`, holding `keys`. */
function startAgent(socket: string, keys: string[]): ChildProcess {
    const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    for (let i = 0; i < 50 && !fs.existsSync(socket); i++) spawnSync("sleep", ["0.1"]);
    const added = spawnSync("ssh-add", keys, { encoding: "utf8", env: { ...process.env, SSH_AUTH_SOCK: socket } });
    assert.strictEqual(added.status, 0, added.stderr);
    return agent;
}

/** The lab's time as journalctl takes it, read on the bastion (one kernel clock for all hosts) so that
 * reading it adds no login to a member's log. */
const labTime = () => labSsh("lab4", "date -u '+%Y-%m-%d %H:%M:%S'").stdout.trim();

/** "user from address" of every SSH login accepted on `host` between two host times (with `withKey`, "user from address with SHA256:…"). */
function logins(host: string, since: string, until: string, withKey = false): string[] {
    const r = labSsh(host, `TZ=UTC journalctl -u ssh --no-pager -o cat --since '${since}' --until '${until}' | sed -n 's/^Accepted publickey for \\([^ ]*\\) from \\([^ ]*\\) .* \\(SHA256:[^ ]*\\).*/\\1 from \\2${withKey ? " with \\3" : ""}/p'`);
    return r.stdout.split("\n").filter((l) => l !== "");
}

describe("lab: through a bastion, as a sudo user without root login (real engine)", function () {
    this.timeout(15 * 60_000);
    let scratch: ScratchStack;
    let keyDir = "";
    let bastionKey = "";
    const agents: ChildProcess[] = [];

    before(async function () {
        skipIf(this, engineUnavailable() ?? labAvailable() ?? tarballMissing(labTarball));
        labUp(4);
        wipeHosts(4);
        // The bastion's own key, taken by its login `jump` (no sudo: it only forwards), never by a member.
        keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-access-keys-"));
        bastionKey = path.join(keyDir, "bastion");
        assert.strictEqual(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "etcd-stack bastion key", "-f", bastionKey]).status, 0);
        const jumpLogin = labSsh("lab4", [
            `id ${jump} >/dev/null 2>&1 || useradd -m -s /bin/sh ${jump}`,
            `install -d -m 700 -o ${jump} -g ${jump} /home/${jump}/.ssh`,
            `install -m 600 -o ${jump} -g ${jump} /dev/stdin /home/${jump}/.ssh/authorized_keys`,
        ].join(" && "), fs.readFileSync(`${bastionKey}.pub`, "utf8"));
        assert.strictEqual(jumpLogin.code, 0, jumpLogin.stderr);
        for (const m of members) {
            const r = labSsh(hostOf(m.name), [
                ...sudoLoginCommands("deploy"),
                // No root login from the bastion, where the stack's connections come from (the
                // test's own checks log in from the lab bridge). A Match block must end the file.
                `sed -i '/${noRootMarker}/,$d' /etc/ssh/sshd_config`,
                `printf '${noRootMarker}\\nMatch Address ${bastion}\\n    PermitRootLogin no\\n' >> /etc/ssh/sshd_config`,
                "sshd -t && systemctl restart ssh",
            ].join(" && "));
            assert.strictEqual(r.code, 0, r.stderr);
        }
        // lab1's sshd also listens on 2222 and logs the port each connection arrives on; its member
        // is reached there (a known_hosts file holds port-22 entries, so its key is given inline).
        const r = labSsh("lab1", "printf 'Port 22\\nPort 2222\\nLogLevel VERBOSE\\n' > /etc/ssh/sshd_config.d/lab-access.conf && systemctl restart ssh && cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub");
        assert.strictEqual(r.code, 0, r.stderr);
        members[0] = { ...members[0], sshPort: 2222, hostKey: r.stdout.trim() };
        scratch = await scratchStack("lab", { ...labStackConfig(3), members, bastion: { host: bastion, user: jump }, bastionPrivateKeyPath: bastionKey });
    });

    after(async () => {
        for (const a of agents) a.kill();
        if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
        labSsh("lab4", `userdel -r ${jump} 2>/dev/null; true`);
        await scratch?.dispose(); // the hosts are wiped below, without an engine destroy
        labSsh("lab1", "rm -f /etc/ssh/sshd_config.d/lab-access.conf");
        for (const m of members) labSsh(hostOf(m.name), `sed -i '/${noRootMarker}/,$d' /etc/ssh/sshd_config && systemctl restart ssh`);
        wipeHosts(4);
    });

    it("the bastion's login takes only the bastion key, the members only the lab key (the premise of the next test)", () => {
        assert.ok(accepts("lab4", jump, bastionKey), "jump@lab4 refuses the bastion key");
        assert.ok(!accepts("lab4", jump, labKeyPath()), "jump@lab4 takes the lab key");
        for (const m of members) {
            assert.ok(!accepts(hostOf(m.name), "deploy", bastionKey), `${m.name} takes the bastion key`);
            assert.ok(!accepts(hostOf(m.name), "root", bastionKey), `${m.name} takes the bastion key for root`);
        }
    });

    it("up with etcd:bastionPrivateKeyPath: every member healthy; on the members only deploy logged in, always from the bastion, with the lab key; on the bastion only jump, with its own key", async () => {
        // A second after the set-up's own root logins, so `since` (whole seconds) excludes them.
        await new Promise((r) => setTimeout(r, 1100));
        const since = labTime();
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        const until = labTime();
        for (const m of members) {
            const seen = logins(hostOf(m.name), since, until);
            // Each member's five commands over SSH (preflight, prepare, binaries, join, service), and one login
            // its dynamic resources share (staged release, files, config); lab-1 also runs the health gate.
            assert.ok(seen.length >= 6 && seen.length <= 7, `${m.name}: the stack's steps logged in ${seen.length} times`);
            assert.deepStrictEqual([...new Set(seen)], [`deploy from ${bastion}`], `${m.name}: logins other than deploy via the bastion`);
            assert.deepStrictEqual([...new Set(logins(hostOf(m.name), since, until, true))], [`deploy from ${bastion} with ${fingerprintOf(labKeyPath())}`], `${m.name}: another key`);
        }
        const onBastion = [...new Set(logins("lab4", since, until, true).filter((l) => !l.startsWith("root ")))];
        assert.deepStrictEqual(onBastion, [`${jump} from 10.213.0.1 with ${fingerprintOf(bastionKey)}`], "the bastion's logins");
        const ports = labSsh("lab1", `TZ=UTC journalctl -u ssh --no-pager -o cat --since '${since}' --until '${until}' | sed -n 's/^Connection from .* on 10\\.213\\.0\\.11 port \\([0-9]*\\).*/\\1/p' | sort -u`).stdout.trim();
        assert.strictEqual(ports, "2222", "lab-1's steps connected on its custom SSH port only");
        const outputs = await scratch.stack.outputs();
        const etcdctl = Etcdctl.extract(labTarball);
        try {
            const admin = await adminCredentials(scratch, etcdctl);
            const health = await etcdctl.run(String(outputs["clientEndpoints"].value), ["endpoint", "health"], admin);
            assert.strictEqual(health.code, 0, health.out);
        } finally {
            etcdctl.dispose();
        }
    });

    it("root cannot log in on a member from the bastion: the stack never needed it", () => {
        for (const m of members) {
            assert.match(labSsh(hostOf(m.name), `sshd -T -C user=root,host=lab4,addr=${bastion} | grep -i '^permitrootlogin'`).stdout, /^permitrootlogin no$/m, m.name);
        }
    });

    it("files land with the stack's owners and modes, written through sudo", () => {
        for (const m of members) {
            const stat = labSsh(hostOf(m.name), `stat -c '%n %U:%G %a' /etc/etcd/pki/server.key /etc/etcd/pki/server.crt /etc/etcd/etcd.conf.yml ${paths.unitPath} /var/lib/etcd ${paths.stagingDir} ${paths.stateDir} ${paths.releaseDir}`).stdout;
            assert.strictEqual(stat, [
                "/etc/etcd/pki/server.key etcd:etcd 600", "/etc/etcd/pki/server.crt etcd:etcd 644", "/etc/etcd/etcd.conf.yml root:root 644",
                `${paths.unitPath} root:root 644`, "/var/lib/etcd etcd:etcd 700", `${paths.stagingDir} deploy:root 700`,
                `${paths.stateDir} root:root 700`, `${paths.releaseDir} root:root 700`, "",
            ].join("\n"), m.name);
        }
    });

    it("npm run snapshot and npm run maintenance reach the members through the bastion's tunnel while their client port is closed to this machine", async () => {
        // This machine may not reach any member's client port (as behind a real bastion): an nftables
        // rule in this process's own network namespace, removed after.
        const table = "etcdstack_access_test";
        const nft = (script: string) => spawnSync("nft", ["-f", "-"], { input: script, encoding: "utf8" });
        const blocked = nft(`add table inet ${table}\nadd chain inet ${table} out { type filter hook output priority 0; }\n` +
            `add rule inet ${table} out ip daddr 10.213.0.0/24 tcp dport 2379 reject with tcp reset\n`);
        assert.strictEqual(blocked.status, 0, blocked.stderr);
        try {
            const outputs = await scratch.stack.outputs();
            const direct = spawnSync("bash", ["-c", `exec 3<>/dev/tcp/${members[1].address}/2379`], { encoding: "utf8", timeout: 10_000 });
            assert.notStrictEqual(direct.status, 0, "the client port is still reachable directly: the rule did not apply");
            const env = { ...process.env, ...scratch.env, ETCD_STACK_LAB: "1" };
            const snap = await runAsync("bash", [path.join(repoRoot, "scripts/snapshot.sh"), "lab", path.join(scratch.dir, "through-bastion.db")], { cwd: scratch.dir, env, timeoutMs: 5 * 60_000 });
            console.log(indent(`${snap.stderr.trim()}\n${snap.stdout.split("\n").filter((l) => /^snapshot of/.test(l)).join("\n")}`));
            assert.strictEqual(snap.code, 0, snap.stderr);
            // jump takes only the bastion key: the script found it in etcd:bastionPrivateKeyPath.
            const tunnels = /through the bastion jump@10\.213\.0\.14: (.*)$/m.exec(snap.stderr)?.[1] ?? "";
            assert.deepStrictEqual(tunnels.split(", ").map((t) => t.replace(/^https:\/\/127\.0\.0\.1:\d+ -> /, "")), String(outputs["clientEndpoints"].value).split(","));
            assert.match(snap.stdout, /^snapshot of stack 'lab' from https:\/\/127\.0\.0\.1:\d+: /m);
            assert.ok(fs.statSync(path.join(scratch.dir, "through-bastion.db")).size > 0);
            const maint = await runAsync("bash", [path.join(repoRoot, "scripts/maintenance.sh"), "lab"], { cwd: scratch.dir, env, timeoutMs: 5 * 60_000 });
            assert.strictEqual(maint.code, 0, maint.stderr);
            assert.strictEqual((maint.stdout.match(/^defragmented https:\/\/127\.0\.0\.1:\d+:/gm) ?? []).length, 3, maint.stdout);
            assert.match(maint.stdout, /^writes go through; every member healthy$/m);
        } finally {
            nft(`delete table inet ${table}\n`);
        }
    });

    it("with both keys only in an ssh-agent and none in the stack's config: up, the agent's socket in no resource; a new agent's socket previews no change; the snapshot tunnel uses the agent", async () => {
        scratch.setConfig({ sshPrivateKeyPath: undefined, bastionPrivateKeyPath: undefined });
        const socket = (n: number) => path.join(keyDir, `agent-${n}.sock`);
        agents.push(startAgent(socket(1), [labKeyPath(), bastionKey]));
        // The Automation API runs the CLI with this environment over the test process's own.
        const env = scratch.stack.workspace.envVars;
        env.SSH_AUTH_SOCK = socket(1);
        const log = new StepLog();
        const up = await scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent });
        assert.strictEqual(up.summary.result, "succeeded");
        const state = scratch.cli(["stack", "export", "--show-secrets"]);
        assert.strictEqual(state.code, 0, state.stderr);
        assert.ok(!state.stdout.includes(keyDir), "the agent's socket is in the state");
        assert.ok(!state.stdout.includes("agentSocketPath"), "a socket path is in the state");
        for (const key of [labKeyPath(), bastionKey]) assert.ok(!state.stdout.includes(fs.readFileSync(key, "utf8").split("\n")[1]), `${key} is in the state`);

        // Another login session: the first agent gone, a new one on another socket.
        agents.shift()!.kill();
        agents.push(startAgent(socket(2), [labKeyPath(), bastionKey]));
        env.SSH_AUTH_SOCK = socket(2);
        const preview = await scratch.stack.preview({ refresh: true });
        const changed = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && n > 0);
        assert.deepStrictEqual(changed, [], `from a new agent socket: ${JSON.stringify(preview.changeSummary)}`);

        const snap = await runAsync("bash", [path.join(repoRoot, "scripts/snapshot.sh"), "lab", path.join(scratch.dir, "through-agent.db")],
            { cwd: scratch.dir, env: { ...process.env, ...scratch.env, ETCD_STACK_LAB: "1", SSH_AUTH_SOCK: socket(2) }, timeoutMs: 5 * 60_000 });
        assert.strictEqual(snap.code, 0, snap.stderr);
        assert.match(snap.stderr, /through the bastion jump@10\.213\.0\.14: /);

        // Neither a key nor an agent: refused before anything starts, saying what to set.
        env.SSH_AUTH_SOCK = "";
        try {
            await assert.rejects(scratch.stack.preview(), (e: Error) => {
                assert.match(e.message, /missing SSH private key: set the secret `etcd:sshPrivateKey` \(pulumi config set --secret\) or `etcd:sshPrivateKeyPath`, or run an ssh-agent holding the key \(SSH_AUTH_SOCK is not set\)/);
                return true;
            });
        } finally {
            env.SSH_AUTH_SOCK = socket(2); // the suite's remaining runs go through the agent
        }
    });

    it("destroy through the bastion as deploy leaves nothing on the members", async () => {
        const destroy = await scratch.stack.destroy();
        assert.strictEqual(destroy.summary.result, "succeeded");
        for (const m of members) assert.strictEqual(leftovers(hostOf(m.name)), "", m.name);
    });

    // The other members' preflights passed and are in the state: a destroy afterwards leaves the next
    // test the empty stack it expects.
    it("a login whose sudo asks for a password (lab2) fails the up naming the login, the host and what to configure, before any file reaches any host", async () => {
        const passwordRule = "echo 'deploy ALL=(root) ALL' > /etc/sudoers.d/deploy";
        assert.strictEqual(labSsh("lab2", passwordRule).code, 0);
        try {
            const log = new StepLog();
            await assert.rejects(scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent }));
            const said = log.output.split("\n").find((l) => /etcd-stack: the login deploy on lab2 cannot run commands as root without a password \(sudo -n failed\): give it passwordless sudo \(a NOPASSWD rule in \/etc\/sudoers\.d\) or log in as root/.test(l));
            assert.ok(said, log.output.split("\n").filter((l) => /error|lab-2|sudo/.test(l)).join("\n"));
            console.log(`      ${said.trim().slice(0, 300)}`);
            assert.doesNotMatch(log.output, /a password is required|sudo: a terminal is required/, "sudo's own prompt message instead of the stack's");
            // Every member's prepare waits for every member's preflight: nothing was written on any host.
            for (const m of members) {
                assert.strictEqual(labSsh(hostOf(m.name), `ls /etc/etcd /usr/local/bin/etcd ${paths.stateDir} ${paths.stagingDir} 2>/dev/null; true`).stdout.trim(), "", `something was written on ${hostOf(m.name)}`);
            }
        } finally {
            labSsh("lab2", "echo 'deploy ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/deploy");
        }
        assert.strictEqual((await scratch.stack.destroy()).summary.result, "succeeded");
        for (const m of members) assert.strictEqual(leftovers(hostOf(m.name)), "", m.name);
    });

    it("an impostor behind the bastion is refused naming the member and both fingerprints, before any file reaches it", async () => {
        const knownHosts = labKnownHostsPath();
        const pinned = fs.readFileSync(knownHosts, "utf8");
        const impostor = labRun(["impostor", "lab3"]);
        assert.strictEqual(impostor.code, 0, impostor.stderr);
        try {
            fs.writeFileSync(knownHosts, pinned); // the stack still pins lab3's original key
            const log = new StepLog();
            await assert.rejects(scratch.stack.up({ onOutput: log.onOutput, onEvent: log.onEvent }));
            const refused = /lab-3: 10\.213\.0\.13:22 presents host key (SHA256:\S+), but the stack pins SHA256:\S+ \(ssh-ed25519\): another machine answers there; nothing was sent to it/.exec(log.output);
            assert.ok(refused, log.output.split("\n").filter((l) => /error|lab-3/.test(l)).join("\n"));
            console.log(`      ${refused[0]}`);
            assert.ok(impostor.stdout.includes(`host key ${refused[1]}`), `the fingerprint named is the impostor's: ${impostor.stdout}`);
            assert.strictEqual(labSsh("lab3", "ls /etc/etcd /usr/local/bin/etcd /var/tmp/etcd-stack 2>/dev/null; true").stdout.trim(), "", "something reached the impostor");
        } finally {
            labRun(["known-hosts"]); // later suites pin the hosts' keys as they are now
        }
    });
});

/**
 * The operator commands behind a bastion (scripts/lib/bastionTunnel.sh, issue 29 item 3), run by
 * bash with fakes: `pulumi` answers a stack with `etcd:bastion`, `ssh` records its arguments and
 * listens on the loopback ports it was asked to forward (as the real one does), `etcdctl` records
 * the endpoints it was given. The snapshot then goes through the tunnel's loopback URLs, the
 * bastion's key pinned; without a pinned key nothing connects; a tunnel that fails says so.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const repoRoot = path.join(__dirname, "..", "..");
const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2LLz4IJXE9JMXkcKhwfbvX3gkk92DKtYXITyCtmZF3";

/** `keys`: the stack's key settings (`sshPrivateKeyPath`, `bastionPrivateKey`…) that `config get` answers; the others are unset. */
const fakePulumi = (bastion: Record<string, string>, keys: Record<string, string>) => `#!/usr/bin/env bash
case "$*" in
  "stack output --stack "*" clientEndpoints") echo "https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379" ;;
  "stack output --stack "*" caCertPem" | "stack output --stack "*" adminCertPem") echo "-----BEGIN CERTIFICATE-----" ;;
  "stack output --stack "*" --show-secrets adminKeyPem") echo "fake key" ;;
  "config get etcd:version --stack "*) echo 3.6.16 ;;
${Object.entries(bastion).map(([k, v]) => `  "config get --path etcd:bastion.${k} --stack "*) echo '${v}' ;;`).join("\n")}
${Object.entries(keys).map(([k, v]) => `  "config get etcd:${k} --stack "*) echo '${v}' ;;`).join("\n")}
  *) exit 2 ;;
esac
`;

/** ssh: its arguments to $FAKE_SSH_LOG; listens on every -L port until killed (or exits 255 with FAKE_SSH_FAIL). */
const fakeSsh = `#!/usr/bin/env bash
printf '%s\\n' "$@" >"$FAKE_SSH_LOG"
prev=; for a in "$@"; do [[ $prev == -i && -f $a ]] && stat -c '%a' "$a" >"$FAKE_SSH_LOG.keymode"; prev=$a; done
for a in "$@"; do [[ $a == -oUserKnownHostsFile=* || $prev == -o && $a == UserKnownHostsFile=* ]] && cp "\${a#*=}" "$FAKE_SSH_LOG.known_hosts"; prev=$a; done
[[ -n \${FAKE_SSH_FAIL:-} ]] && { echo "Permission denied (publickey)." >&2; exit 255; }
ports=(); prev=; for a in "$@"; do [[ $prev == -L ]] && ports+=("$(cut -d: -f2 <<<"$a")"); prev=$a; done
exec node -e 'for (const p of process.argv.slice(1)) require("net").createServer((s) => s.end()).listen(Number(p), "127.0.0.1")' "\${ports[@]}"
`;

const fakeEtcdctl = `#!/usr/bin/env bash
words=()
while [[ $# -gt 0 ]]; do
  case $1 in --endpoints) echo "$2" >>"$FAKE_ETCDCTL_LOG"; shift 2 ;; --*) shift ;; *) words+=("$1"); shift ;; esac
done
case "\${words[*]}" in
  "endpoint health") echo healthy ;;
  "snapshot save "*) echo data >"\${words[2]}" ;;
  *) exit 1 ;;
esac
`;

describe("operator commands through the bastion's tunnel (scripts/lib/bastionTunnel.sh)", function () {
    this.timeout(60_000);
    let tmp = "";

    before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-bastion-tunnel-")); });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    function snapshot(bastion: Record<string, string>, env: Record<string, string> = {}, keys: Record<string, string> = { sshPrivateKeyPath: "/keys/deploy" }) {
        const dir = fs.mkdtempSync(path.join(tmp, "run-"));
        for (const d of ["bin", "etcd"]) fs.mkdirSync(path.join(dir, d));
        fs.writeFileSync(path.join(dir, "bin/pulumi"), fakePulumi(bastion, keys), { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin/ssh"), fakeSsh, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "etcd/etcdctl"), fakeEtcdctl, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "etcd/etcdutl"), "#!/usr/bin/env bash\necho ok\n", { mode: 0o755 });
        const r = spawnSync("bash", [path.join(repoRoot, "scripts/snapshot.sh"), "prod", path.join(dir, "snap.db")], {
            cwd: repoRoot, encoding: "utf8", timeout: 45_000,
            env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, HOME: dir, SSH_AUTH_SOCK: "", ETCD_BIN_DIR: path.join(dir, "etcd"),
                FAKE_SSH_LOG: path.join(dir, "ssh.log"), FAKE_ETCDCTL_LOG: path.join(dir, "etcdctl.log"), ...env },
        });
        const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : undefined);
        return { ...r, ssh: read("ssh.log")?.split("\n").filter(Boolean), keyMode: read("ssh.log.keymode")?.trim(), knownHosts: read("ssh.log.known_hosts"), endpoints: read("etcdctl.log")?.split("\n").filter(Boolean) };
    }

    it("with etcd:bastion, one ssh forwards a loopback port per member, the bastion's key pinned, and etcdctl uses only those ports", () => {
        const r = snapshot({ host: "bastion.example", port: "2222", user: "ops", hostKey });
        assert.equal(r.status, 0, r.stderr);
        const ssh = r.ssh!;
        assert.equal(ssh[ssh.length - 1], "ops@bastion.example");
        assert.ok(ssh.join(" ").includes("-p 2222") || ssh.includes("2222"));
        for (const want of ["BatchMode=yes", "StrictHostKeyChecking=yes", "GlobalKnownHostsFile=/dev/null", "ExitOnForwardFailure=yes", "IdentitiesOnly=yes"]) assert.ok(ssh.includes(want), `ssh without ${want}: ${ssh.join(" ")}`);
        assert.equal(ssh[ssh.indexOf("-i") + 1], "/keys/deploy", "the stack's sshPrivateKeyPath");
        assert.equal(r.knownHosts, `[bastion.example]:2222 ${hostKey}\n`);
        const forwards = ssh.filter((_, i) => ssh[i - 1] === "-L");
        assert.deepEqual(forwards.map((f) => f.replace(/^127\.0\.0\.1:\d+:/, "")), ["10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"]);
        const ports = forwards.map((f) => f.split(":")[1]);
        assert.equal(new Set(ports).size, 3);
        // Every etcdctl call went to the tunnel, never to a member's own address.
        assert.ok(r.endpoints!.length > 0);
        for (const e of r.endpoints!) for (const url of e.split(",")) assert.match(url, /^https:\/\/127\.0\.0\.1:(\d+)$/, e);
        assert.ok(r.endpoints!.some((e) => ports.some((p) => e.includes(`127.0.0.1:${p}`))));
        assert.match(r.stderr, /through the bastion ops@\[bastion\.example\]:2222: https:\/\/127\.0\.0\.1:\d+ -> https:\/\/10\.0\.0\.1:2379, /);
    });

    it("the bastion with no pinned host key: refused before any ssh", () => {
        const r = snapshot({ host: "bastion.example" });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /the bastion bastion\.example has no pinned host key \(etcd:bastion\.hostKey, or a line in etcd:knownHostsPath\): not connecting to an unverified host/);
        assert.equal(r.ssh, undefined, "ssh was started");
    });

    it("a tunnel that cannot open says so, with ssh's reason; ETCD_STACK_DIRECT=1 dials the members themselves", () => {
        const failed = snapshot({ host: "bastion.example", hostKey }, { FAKE_SSH_FAIL: "1" });
        assert.notEqual(failed.status, 0);
        assert.match(failed.stderr, /the tunnel through the bastion root@bastion\.example failed: Permission denied \(publickey\)\./);
        const direct = snapshot({ host: "bastion.example", hostKey }, { ETCD_STACK_DIRECT: "1" });
        assert.equal(direct.status, 0, direct.stderr);
        assert.equal(direct.ssh, undefined);
        assert.ok(direct.endpoints!.every((e) => /^https:\/\/10\.0\.0\.\d:2379/.test(e)), direct.endpoints!.join(" "));
    });

    it("the bastion's own key first: etcd:bastionPrivateKeyPath, else the secret etcd:bastionPrivateKey (0600 in the temporary directory), else the members' key", () => {
        const both = snapshot({ host: "bastion.example", hostKey }, {}, { sshPrivateKeyPath: "/keys/deploy", bastionPrivateKeyPath: "/keys/jump" });
        assert.equal(both.status, 0, both.stderr);
        assert.equal(both.ssh![both.ssh!.indexOf("-i") + 1], "/keys/jump");
        const secret = snapshot({ host: "bastion.example", hostKey }, {}, { sshPrivateKeyPath: "/keys/deploy", bastionPrivateKey: "JUMP KEY" });
        assert.equal(secret.status, 0, secret.stderr);
        const keyFile = secret.ssh![secret.ssh!.indexOf("-i") + 1];
        assert.match(path.basename(keyFile), /^bastionPrivateKey$/, "the bastion's secret, written for ssh");
        assert.equal(secret.keyMode, "600");
        assert.equal(secret.ssh!.filter((a) => a === "-i").length, 1);
        assert.ok(!secret.stdout.includes("JUMP KEY") && !secret.stderr.includes("JUMP KEY"), "the key in the output");
    });

    it("no key in the stack: ssh goes through the ssh-agent (no -i); no agent either: refused before any ssh, saying what to set", () => {
        const agent = snapshot({ host: "bastion.example", hostKey }, { SSH_AUTH_SOCK: "/run/agent.sock" }, {});
        assert.equal(agent.status, 0, agent.stderr);
        assert.ok(!agent.ssh!.includes("-i") && !agent.ssh!.includes("IdentitiesOnly=yes"), agent.ssh!.join(" "));
        const none = snapshot({ host: "bastion.example", hostKey }, {}, {});
        assert.notEqual(none.status, 0);
        assert.match(none.stderr, /no key for the bastion: set ETCD_STACK_SSH_KEY, etcd:bastionPrivateKey\(Path\) or etcd:sshPrivateKey\(Path\), or run an ssh-agent holding it \(SSH_AUTH_SOCK\)/);
        assert.equal(none.ssh, undefined, "ssh was started");
    });
});

/**
 * The two procedures without the engine, written by the bench, on the same hosts with the same
 * etcd tarball, the same config and unit (components/member/render.ts's pure functions) and certificates
 * made in the run (tests/lab/handMadePki.ts, ECDSA P-256 like the program's default):
 *
 * - the floor: one ssh session per host, all hosts at once, every file streamed as one tar,
 *   `systemctl start --no-block`, then the same session polls until its member is healthy over
 *   mTLS and the member list shows every member started (what the program's health gate checks);
 * - the classic procedure of the guides: host after host, each file copied with its own scp,
 *   one ssh to install; then the members started one after another (one ssh each; `--no-block`,
 *   since a Type=notify member started alone waits for a quorum), then checked from the
 *   operator's machine with etcdctl until every member is healthy.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as paths from "../components/base/paths";
import { renderEtcdConfig, renderUnit } from "../components/member/render";
import { shq } from "../components/shell/script";
import { configPath, pkiPath } from "../components/spec/where";
import { parseClusterSpec } from "../components/spec/parse";
import { ClusterSpec } from "../components/spec/types";
import { Etcdctl } from "../tests/lab/etcdClient";
import { KeyPairPem, issue, makeCa } from "../tests/lab/handMadePki";
import { labSshArgs } from "../tests/lab/lab";
import { labMembers, labTarball } from "../tests/lab/labStack";
import { readStackFile } from "../tests/stackFile";
import { repoRoot } from "../tests/engine/engine";
import { ipOf, hostsFor } from "./hosts";

/** The lab stack's spec for `size` members, as the program would parse it (no engine). */
export function labSpec(size: number): ClusterSpec {
    const file = readStackFile("lab");
    return parseClusterSpec({
        clusterName: file.clusterName,
        members: labMembers(size),
        version: file.version,
        binary: { localTarball: labTarball },
        protectCa: file.protectCa,
        purgeDataOnDestroy: file.purgeDataOnDestroy,
        healthTimeoutSeconds: file.healthTimeoutSeconds,
        knownHostsText: fs.readFileSync(path.join(repoRoot, ".lab/ssh/known_hosts"), "utf8"),
        hasSshKey: true,
    });
}

interface MemberFiles { host: string; name: string; files: Array<{ name: string; dest: string; mode: string; owner: string; content: string }> }

/** Certificates made now, and each member's files as the program renders them. */
async function makeFiles(spec: ClusterSpec): Promise<{ members: MemberFiles[]; admin: KeyPairPem; caPem: string; pkiSeconds: number }> {
    const t0 = Date.now();
    const ca = await makeCa(`${spec.clusterName}-etcd-ca`);
    const admin = await issue(ca, "root");
    const token = `${spec.clusterName}-${crypto.randomBytes(8).toString("hex")}`;
    const owner = `${paths.etcdUser}:${paths.etcdGroup}`;
    const members: MemberFiles[] = [];
    for (const [i, m] of spec.members.entries()) {
        const server = await issue(ca, m.name, [m.address, "127.0.0.1"]);
        const peer = await issue(ca, paths.peerCommonName, [m.address]);
        members.push({
            host: hostsFor(spec.members.length)[i], name: m.name, files: [
                { name: "ca.crt", dest: pkiPath(spec, "ca"), mode: paths.modes.certificate, owner, content: ca.certPem },
                { name: "server.crt", dest: pkiPath(spec, "serverCert"), mode: paths.modes.certificate, owner, content: server.certPem },
                { name: "server.key", dest: pkiPath(spec, "serverKey"), mode: paths.modes.privateKey, owner, content: server.privateKeyPem },
                { name: "peer.crt", dest: pkiPath(spec, "peerCert"), mode: paths.modes.certificate, owner, content: peer.certPem },
                { name: "peer.key", dest: pkiPath(spec, "peerKey"), mode: paths.modes.privateKey, owner, content: peer.privateKeyPem },
                { name: "etcd.conf.yml", dest: configPath(spec), mode: paths.modes.config, owner: "root:root", content: renderEtcdConfig(spec, m, { token, initialClusterState: "new" }) },
                { name: "etcd.service", dest: paths.unitPath, mode: paths.modes.unit, owner: "root:root", content: renderUnit(spec, m) },
            ],
        });
    }
    return { members, admin, caPem: ca.certPem, pkiSeconds: (Date.now() - t0) / 1000 };
}

/** Shell: user, directories, binaries from the tarball in "$src" (checksum checked), then the files. */
function installScript(spec: ClusterSpec, m: MemberFiles, sha256: string): string[] {
    const u = paths.etcdUser;
    const g = paths.etcdGroup;
    return [
        `getent group ${g} >/dev/null || groupadd --system ${g}`,
        `getent passwd ${u} >/dev/null || useradd --system --gid ${g} --home-dir ${shq(spec.dirs.data)} --no-create-home --shell /usr/sbin/nologin ${u}`,
        `install -d -m ${paths.modes.dataDir} -o ${u} -g ${g} ${shq(spec.dirs.data)}`,
        `install -d -m ${paths.modes.configDir} -o root -g root ${shq(spec.dirs.config)}`,
        `install -d -m ${paths.modes.pkiDir} -o ${u} -g ${g} ${shq(spec.dirs.pki)}`,
        `echo ${shq(sha256)}'  '"$src/etcd.tar.gz" | sha256sum -c --quiet -`,
        `mkdir "$src/rel" && tar -xzf "$src/etcd.tar.gz" -C "$src/rel" --strip-components=1`,
        `install -m ${paths.modes.binary} -o root -g root ${paths.releaseBinaries.map((b) => `"$src/rel/${b}"`).join(" ")} ${paths.binDir}/`,
        ...m.files.map((f) => `install -m ${f.mode} -o ${f.owner.split(":")[0]} -g ${f.owner.split(":")[1]} "$src/${f.name}" ${shq(f.dest)}`),
        `systemctl daemon-reload`,
        `systemctl enable ${paths.unitName} >/dev/null 2>&1`,
    ];
}

/** Shell: poll (every 0.2 s) until this member is healthy over mTLS and lists every member started. */
function healthPoll(spec: ClusterSpec): string[] {
    const ctl = `${paths.binDir}/etcdctl --endpoints https://127.0.0.1:${spec.ports.client} --cacert ${shq(pkiPath(spec, "ca"))} ` +
        `--cert ${shq(pkiPath(spec, "serverCert"))} --key ${shq(pkiPath(spec, "serverKey"))} --command-timeout=5s`;
    const want = spec.members.map((m) => m.name).sort().join(",");
    return [
        `deadline=$(( $(date +%s) + ${spec.healthTimeoutSeconds} ))`,
        `until ${ctl} endpoint health >/dev/null 2>&1 && [ "$(${ctl} member list -w simple 2>/dev/null | awk -F', ' '$2 == "started" {print $3}' | sort | paste -sd, -)" = ${shq(want)} ]; do`,
        `  [ "$(date +%s)" -lt "$deadline" ] || { echo "$(hostname): not healthy in time" >&2; journalctl -u ${paths.unitName} -n 20 --no-pager >&2; exit 1; }`,
        `  sleep 0.2`,
        `done`,
    ];
}

function sha256Of(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Runs a local shell pipeline, bounded. */
function sh(command: string, timeoutMs: number): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        const child = spawn("bash", ["-o", "pipefail", "-c", command], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
        child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("close", (code) => { clearTimeout(timer); resolve({ code: code ?? 124, out }); });
    });
}

const sshOpts = () => labSshArgs().map(shq).join(" ");

/** A private directory with each member's files (keys 0600 inside a 0700 dir), removed afterwards. */
function stage(members: MemberFiles[]): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-bench-"));
    for (const m of members) {
        const d = path.join(dir, m.host);
        fs.mkdirSync(d, { mode: 0o700 });
        for (const f of m.files) fs.writeFileSync(path.join(d, f.name), f.content, { mode: 0o600 });
        fs.symlinkSync(labTarball, path.join(d, "etcd.tar.gz"));
    }
    return dir;
}

export interface ProcedureResult {
    seconds: number;
    pkiSeconds: number;
    /** Per host: seconds until its session ended (floor), or its copy + install (classic). */
    perHost: Record<string, number>;
    /** Classic only: the three phases. */
    phases?: { copyInstall: number; starts: number; check: number };
}

/** The floor: see the file comment. */
export async function runFloor(size: number): Promise<ProcedureResult> {
    const spec = labSpec(size);
    const t0 = Date.now();
    const { members, pkiSeconds } = await makeFiles(spec);
    const sha256 = sha256Of(labTarball);
    const dir = stage(members);
    try {
        const perHost: Record<string, number> = {};
        const results = await Promise.all(members.map(async (m) => {
            const script = ["set -eu", `src=$1`, ...installScript(spec, m, sha256), `systemctl start --no-block ${paths.unitName}`, ...healthPoll(spec), `rm -rf "$src"`].join("\n") + "\n";
            fs.writeFileSync(path.join(dir, m.host, "bootstrap.sh"), script, { mode: 0o600 });
            const remote = `src=$(mktemp -d) && tar -x -C "$src" && sh "$src/bootstrap.sh" "$src"`;
            const r = await sh(`tar -chf - -C ${shq(path.join(dir, m.host))} . | ssh ${sshOpts()} root@${ipOf(m.host)} ${shq(remote)}`, 3 * 60_000);
            perHost[m.host] = (Date.now() - t0) / 1000;
            return { m, r };
        }));
        const failed = results.filter(({ r }) => r.code !== 0);
        if (failed.length > 0) throw new Error(`floor failed: ${failed.map(({ m, r }) => `${m.host}: ${r.out.trim().slice(-600)}`).join("\n")}`);
        return { seconds: (Date.now() - t0) / 1000, pkiSeconds, perHost };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The classic procedure: see the file comment. */
export async function runClassic(size: number, etcdctl: Etcdctl): Promise<ProcedureResult> {
    const spec = labSpec(size);
    const t0 = Date.now();
    const { members, admin, caPem, pkiSeconds } = await makeFiles(spec);
    const sha256 = sha256Of(labTarball);
    const dir = stage(members);
    const perHost: Record<string, number> = {};
    const must = async (what: string, command: string) => {
        const r = await sh(command, 3 * 60_000);
        if (r.code !== 0) throw new Error(`classic: ${what}: ${r.out.trim().slice(-600)}`);
    };
    try {
        // Host after host: every file with its own scp, then one ssh to install.
        for (const m of members) {
            const ip = ipOf(m.host);
            await must(`${m.host} mkdir`, `ssh ${sshOpts()} root@${ip} 'rm -rf /root/etcd-classic && mkdir -m 700 /root/etcd-classic'`);
            for (const f of ["etcd.tar.gz", ...m.files.map((x) => x.name)]) {
                await must(`${m.host} scp ${f}`, `scp -q ${sshOpts()} ${shq(path.join(dir, m.host, f))} root@${ip}:/root/etcd-classic/${f}`);
            }
            const script = ["set -eu", "src=/root/etcd-classic", ...installScript(spec, m, sha256), `rm -rf "$src"`].join("\n");
            await must(`${m.host} install`, `ssh ${sshOpts()} root@${ip} ${shq(script)}`);
            perHost[m.host] = (Date.now() - t0) / 1000;
        }
        const t1 = Date.now();
        // Members started one after another.
        for (const m of members) await must(`${m.host} start`, `ssh ${sshOpts()} root@${ipOf(m.host)} systemctl start --no-block ${paths.unitName}`);
        const t2 = Date.now();
        // Checked from the operator's machine until every member is healthy and started.
        const creds = etcdctl.credentials("bench-classic", caPem, admin);
        const endpoints = spec.members.map((m) => `https://${m.address}:${spec.ports.client}`).join(",");
        const deadline = Date.now() + spec.healthTimeoutSeconds * 1000;
        for (; ;) {
            const health = await etcdctl.run(endpoints, ["endpoint", "health"], creds);
            const list = health.code === 0 ? await etcdctl.run(endpoints.split(",")[0], ["member", "list", "-w", "simple"], creds) : { code: 1, out: "" };
            const started = list.out.split("\n").filter((l) => l.split(", ")[1] === "started").length;
            if (health.code === 0 && started === size) break;
            if (Date.now() > deadline) throw new Error(`classic: not healthy in time: ${health.out.slice(-400)}`);
            await new Promise((r) => setTimeout(r, 200));
        }
        const t3 = Date.now();
        return {
            seconds: (t3 - t0) / 1000, pkiSeconds, perHost,
            phases: { copyInstall: (t1 - t0) / 1000, starts: (t2 - t1) / 1000, check: (t3 - t2) / 1000 },
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

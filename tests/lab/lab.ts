/**
 * The lab from mocha: tests/lab/lab.sh brings up real systemd hosts (lab1 = 10.213.0.11, …)
 * and these helpers drive it and reach the hosts over ssh with the lab key.
 */
import { SpawnSyncReturns, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export interface RunResult { code: number; stdout: string; stderr: string }

/** Faults lab.sh can inject into one host. */
export type LabFault = "stop" | "start" | "crash" | "reboot" | "freeze" | "thaw" | "link-down" | "link-up" | "clock-behind" | "clock-fix"
    | "drop-peer" | "undrop-peer" | "slow-disk" | "fast-disk";

const repoRoot = path.resolve(__dirname, "../..");
export const labScript = path.join(repoRoot, "tests/lab/lab.sh");

/** The lab's ssh private key (created by `lab.sh up`; .lab/ is git-ignored), shared by the lanes. */
export function labKeyPath(): string {
    return path.join(repoRoot, ".lab/ssh/id_ed25519");
}

/**
 * The lab lane this process drives (issue 26): 1, or 2 when scripts/test.sh runs it inside lane
 * 2's network namespace with ETCD_STACK_LAB_LANE=2 (tests/lab/lab.sh: same names and addresses).
 */
export function labLane(): number {
    const lane = Number(process.env.ETCD_STACK_LAB_LANE);
    return lane >= 2 && lane <= 6 ? lane : 1;
}

/** The known_hosts file `lab.sh up` writes from this lane's hosts' own keys. */
export function labKnownHostsPath(): string {
    return path.join(repoRoot, labLane() === 1 ? ".lab/ssh/known_hosts" : `.lab/lane${labLane()}/ssh/known_hosts`);
}

/** The network namespace of a lab host in this lane (lab.sh's PREFIX). */
export function labNetns(host: string): string {
    return `${labLane() === 1 ? "etcdlab-" : `etcdl${labLane()}-`}${host}`;
}

/** lab<k> is at 10.213.0.(10+k), as in stacks/Pulumi.lab.yaml. */
export function labIp(host: string): string {
    const m = /^lab([1-7])$/.exec(host);
    if (!m) throw new Error(`not a lab host: ${host}`);
    return `10.213.0.${10 + Number(m[1])}`;
}

/** The lab host at `address` (lab k is at 10.213.0.(10+k)): the inverse of labIp. */
export function labHostAt(address: string): string {
    const m = /^10\.213\.0\.(1[1-7])$/.exec(address);
    if (!m) throw new Error(`not a lab host's address: ${address}`);
    return `lab${Number(m[1]) - 10}`;
}

function onPath(bin: string): boolean {
    const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
    return dirs.some((d) => d !== "" && fs.existsSync(path.join(d, bin)));
}

/** Why the lab cannot run on this machine, or undefined when it can. */
export function labAvailable(): string | undefined {
    if (process.platform !== "linux") return `the lab needs Linux (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return "the lab needs root (network namespaces, mounts, cgroups)";
    for (const bin of ["systemd-nspawn", "debootstrap", "ssh", "ip"]) {
        if (!onPath(bin)) return `${bin} not installed: run 'bash tests/lab/lab.sh install-deps'`;
    }
    for (const hierarchy of ["systemd", "freezer"]) {
        if (!fs.existsSync(`/sys/fs/cgroup/${hierarchy}`)) return `no cgroup v1 '${hierarchy}' hierarchy at /sys/fs/cgroup/${hierarchy}`;
    }
    if (!/\boverlay\b/.test(fs.readFileSync("/proc/filesystems", "utf8"))) return "the kernel has no overlayfs";
    return undefined;
}

function result(r: SpawnSyncReturns<string>, what: string, timeoutMs: number): RunResult {
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
    const stdout = r.stdout ?? "";
    let stderr = r.stderr ?? "";
    if (timedOut) stderr += `\n${what}: timed out after ${timeoutMs} ms`;
    else if (r.error) stderr += `\n${what}: ${r.error.message}`;
    const code = timedOut ? 124 : r.status ?? (r.signal ? 128 : 1);
    return { code, stdout, stderr };
}

/** Runs `lab.sh <args>`; never throws. */
export function labRun(args: string[], timeoutMs = 120_000): RunResult {
    const r = spawnSync("bash", [labScript, ...args], {
        encoding: "utf8", timeout: timeoutMs, killSignal: "SIGTERM", stdio: ["ignore", "pipe", "pipe"],
    });
    return result(r, `lab.sh ${args.join(" ")}`, timeoutMs);
}

function labMust(args: string[], timeoutMs: number): RunResult {
    const r = labRun(args, timeoutMs);
    if (r.code !== 0) throw new Error(`lab.sh ${args.join(" ")} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    return r;
}

/** Prints lab.sh's progress (stderr: base build, removals) and result lines, indented for mocha. */
function show(r: RunResult): void {
    const text = `${r.stderr}${r.stdout}`.trimEnd();
    if (text !== "") console.log(text.replace(/^/gm, "      "));
}

/** The Debian releases a lab host can run (issue 30): 11, 12 (the default) and 13. */
export type LabRelease = "bullseye" | "bookworm" | "trixie";
export const labReleases: LabRelease[] = ["bullseye", "bookworm", "trixie"];
/** Each release's /etc/debian_version major and systemd major, as Debian ships them. */
export const releaseFacts: Record<LabRelease, { debian: number; systemd: number }> = {
    bullseye: { debian: 11, systemd: 247 }, bookworm: { debian: 12, systemd: 252 }, trixie: { debian: 13, systemd: 257 },
};

/**
 * Starts (or keeps) hosts lab1..lab<n>; the first run of a release builds its base rootfs (about a
 * minute). Hosts not in `releases` run bookworm; a running host of another release is made again.
 */
export function labUp(n: number, releases: Partial<Record<string, LabRelease>> = {}): void {
    const pairs = Object.entries(releases).map(([host, release]) => `${host}=${release}`);
    show(labMust(["up", String(n), ...pairs], 15 * 60_000));
}

/** Stops and removes every lab host, the bridge and all lab state. */
export function labDown(): void {
    show(labMust(["down"], 5 * 60_000));
}

/** The lab's hosts, e.g. ["lab1", "lab2", "lab3"]. */
export function labHosts(): string[] {
    return labMust(["hosts"], 30_000).stdout.split("\n").filter((l) => l !== "");
}

/** Injects a fault into one host (lab.sh waits until it took effect), `more` its other arguments (drop-peer FROMHOST); returns lab.sh's output. */
export function labFault(fault: LabFault, host: string, ...more: string[]): string {
    return labMust([fault, host, ...more], 3 * 60_000).stdout;
}

/** ssh options: the lab key only, no prompts, no known_hosts (host keys are new on every `up`). */
export function labSshArgs(): string[] {
    return [
        "-F", "/dev/null", "-i", labKeyPath(), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2",
    ];
}

/**
 * Runs `command` as root on a lab host over ssh, `stdin` on its standard input.
 * Bounded: after `timeoutMs` ssh is killed and the code is 124. ssh's own failures are 255.
 */
export function labSsh(host: string, command: string, stdin?: string | Buffer, timeoutMs = 5 * 60_000): RunResult {
    const r = spawnSync("ssh", [...labSshArgs(), `root@${labIp(host)}`, command], {
        input: stdin ?? "", encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024,
    });
    return result(r, `ssh ${host}`, timeoutMs);
}

/**
 * The output of a read-only `command` on a lab host that must answer: tried 3 times (ssh itself
 * failing on a busy machine), then an error naming the host, the command and ssh's error. A read
 * that failed must never pass for an empty answer (no journal line, no restart).
 */
export function labRead(host: string, command: string, timeoutMs = 60_000): string {
    let r = labSsh(host, command, undefined, timeoutMs);
    for (let i = 1; i < 3 && r.code !== 0; i++) r = labSsh(host, command, undefined, timeoutMs);
    if (r.code !== 0) throw new Error(`${host}: \`${command}\` failed (exit ${r.code}): ${r.stderr.trim().slice(-500)}`);
    return r.stdout;
}

/**
 * Runs `command` without blocking this process (the test can watch the cluster meanwhile), its
 * output collected. Bounded: killed after `timeoutMs`, the code then 124 and `label` says so.
 */
export function runAsync(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; label?: string } = {}): Promise<RunResult> {
    const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
    return new Promise((resolve) => {
        const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
        child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
        const timer = setTimeout(() => { stderr += `\n${opts.label ?? command}: timed out after ${timeoutMs} ms`; child.kill("SIGTERM"); }, timeoutMs);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? 124, stdout, stderr });
        });
    });
}

/** labSsh without blocking: the test can watch the cluster while the command runs. */
export function labSshAsync(host: string, command: string, timeoutMs = 5 * 60_000): Promise<RunResult> {
    return runAsync("ssh", [...labSshArgs(), `root@${labIp(host)}`, command], { timeoutMs, label: `ssh ${host}` });
}

/** A free TCP port on this process's loopback (a server the test runs: Prometheus, Patroni, PostgreSQL). */
export function freeLoopbackPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        }).on("error", reject);
    });
}

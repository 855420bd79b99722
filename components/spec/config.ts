/**
 * Reads a stack's `etcd:*` config into a validated spec plus the secrets that stay out of it.
 * Validation happens here, before any resource is registered: a bad stack changes nothing.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SpecError } from "./problems";
import { parseClusterSpec } from "./parse";
import { ClusterSpec, RawClusterConfig } from "./types";
import { unknownKeyProblems } from "./configReference";

export interface StackInputs {
    spec: ClusterSpec;
    /** The members' SSH key; undefined: none is configured and an ssh-agent (SSH_AUTH_SOCK) authenticates. */
    sshPrivateKey?: pulumi.Output<string>;
    /** The bastion's own key (`etcd:bastionPrivateKey*`); undefined: the bastion takes the members' key (or the agent). */
    bastionPrivateKey?: pulumi.Output<string>;
    caCertPem?: pulumi.Output<string>;
    caPrivateKeyPem?: pulumi.Output<string>;
}

const objectKeys = ["members", "binary", "dirs", "ports", "tuning", "ca", "clientCertificates", "snapshots", "defrag", "restore", "metrics", "bastion"] as const;
const scalarKeys = ["clusterName", "version", "certValidityHours", "certRenewBeforeHours", "allowSingleMember", "allowEvenMembers", "allowUnverifiedHosts", "purgeDataOnDestroy", "protectCa",
    "maxClockSkewSeconds", "minFreeDiskMiB", "fsyncWarnMs", "healthTimeoutSeconds"] as const;

/** Expands a leading "~/" and resolves relative paths against the project directory. */
export function resolveLocalPath(p: string, baseDir: string = process.cwd()): string {
    if (p.startsWith("~/")) return path.join(os.homedir(), p.slice(2));
    return path.resolve(baseDir, p);
}

/** A local file named by config `key`, or undefined with a problem saying why it could not be read. */
function readLocalFile(key: string, resolved: string, problems: string[]): string | undefined {
    try {
        return fs.readFileSync(resolved, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        problems.push(code === "ENOENT" ? `${key}: file "${resolved}" does not exist` : `${key}: cannot read "${resolved}" (${code ?? e})`);
        return undefined;
    }
}

/**
 * A private key given as the secret `etcd:<key>` or as a file `etcd:<key>Path` (read here, kept
 * secret); undefined when neither is set, or when the file cannot be read (a problem says why).
 */
function readPrivateKey(config: pulumi.Config, key: "sshPrivateKey" | "bastionPrivateKey", problems: string[]): pulumi.Output<string> | undefined {
    const secret = config.getSecret(key);
    const keyPath = config.get(`${key}Path`);
    if (secret !== undefined || keyPath === undefined) return secret;
    const text = readLocalFile(`${key}Path`, resolveLocalPath(keyPath), problems);
    // Unreadable: reported above; a placeholder keeps "no key" from being reported as well.
    return pulumi.secret(text ?? "");
}

/**
 * Why no ssh-agent can be used at SSH_AUTH_SOCK (`sock`); undefined when it names a socket.
 * Matters only when no key is configured: then every connection authenticates through the agent.
 */
export function agentSocketProblem(sock: string | undefined): string | undefined {
    if (!sock) return "SSH_AUTH_SOCK is not set";
    try {
        return fs.statSync(sock).isSocket() ? undefined : `SSH_AUTH_SOCK=${sock} is not a socket`;
    } catch (e) {
        return `SSH_AUTH_SOCK=${sock}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such socket (the agent of an ended session?)" : String(e)}`;
    }
}

const digests = new Map<string, string>();

/**
 * sha256 of a local file, hex. Every member stages the same tarball: the file is read once while
 * its size and modification time stay the same (a program run in a long-lived process, as the
 * Automation API's inline programs are, sees a replaced file).
 */
export function sha256File(file: string): string {
    const stat = fs.statSync(file);
    const key = `${path.resolve(file)}\0${stat.size}\0${stat.mtimeMs}`;
    let digest = digests.get(key);
    if (digest === undefined) {
        digest = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
        digests.set(key, digest);
    }
    return digest;
}

/**
 * `env`: where SSH_AUTH_SOCK is read, only to check that an agent is there when no key is
 * configured; its value never enters a resource (the command provider and ssh.ts read it when they
 * connect: it changes with every login session).
 */
export function readStackInputs(config: pulumi.Config = new pulumi.Config("etcd"), env: NodeJS.ProcessEnv = process.env): StackInputs {
    const raw: RawClusterConfig = { hasSshKey: false };
    const problems: string[] = [];
    for (const k of objectKeys) {
        try {
            raw[k] = config.getObject<unknown>(k);
        } catch {
            problems.push(`${k}: not valid YAML/JSON`);
        }
    }
    for (const k of scalarKeys) {
        raw[k] = config.get(k);
    }
    // A key the program does not read (a typo such as `sshUSer`, at any depth) is refused, not ignored.
    const given = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith(`${config.name}:`)).map((k) => k.slice(config.name.length + 1));
    problems.push(...unknownKeyProblems(given, raw as unknown as Record<string, unknown>));

    const sshPrivateKey = readPrivateKey(config, "sshPrivateKey", problems);
    const bastionPrivateKey = readPrivateKey(config, "bastionPrivateKey", problems);
    raw.hasSshKey = sshPrivateKey !== undefined;
    raw.hasBastionKey = bastionPrivateKey !== undefined;
    raw.sshAgentProblem = agentSocketProblem(env.SSH_AUTH_SOCK);
    raw.hasSshAgent = raw.sshAgentProblem === undefined;

    const knownHostsPath = config.get("knownHostsPath");
    if (knownHostsPath !== undefined) {
        raw.knownHostsText = readLocalFile("knownHostsPath", resolveLocalPath(knownHostsPath), problems);
        raw.knownHostsUnreadable = raw.knownHostsText === undefined;
    }

    const caCertPem = config.get("caCertPem");
    const caPrivateKeyPem = config.getSecret("caKeyPem");
    raw.hasCaCert = caCertPem !== undefined;
    raw.hasCaKey = caPrivateKeyPem !== undefined;

    const binary = raw.binary as { localTarball?: unknown } | undefined;
    if (binary && typeof binary.localTarball === "string") {
        const resolved = resolveLocalPath(binary.localTarball);
        if (!fs.existsSync(resolved)) {
            problems.push(`binary.localTarball: file "${resolved}" does not exist`);
        }
        raw.binary = { ...binary, localTarball: resolved };
    }

    const restore = raw.restore as { snapshot?: unknown } | undefined;
    if (restore && typeof restore.snapshot === "string") {
        const resolved = resolveLocalPath(restore.snapshot);
        if (!fs.existsSync(resolved)) problems.push(`restore.snapshot: file "${resolved}" does not exist`);
        else raw.restore = { ...restore, snapshot: resolved, sha256: sha256File(resolved) };
    }

    let spec: ClusterSpec | undefined;
    try {
        spec = parseClusterSpec(raw);
    } catch (e) {
        if (e instanceof SpecError) problems.push(...e.problems);
        else throw e;
    }
    if (problems.length > 0 || spec === undefined) {
        throw new SpecError(problems);
    }
    return {
        spec,
        sshPrivateKey,
        bastionPrivateKey,
        caCertPem: caCertPem === undefined ? undefined : pulumi.output(caCertPem),
        caPrivateKeyPem: caPrivateKeyPem,
    };
}

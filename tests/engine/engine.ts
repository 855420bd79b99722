/**
 * Drives the real Pulumi engine (the offline toolchain from scripts/toolchain.sh)
 * through the Automation API, in a scratch copy of the project so that test stacks
 * never write into the repository's stacks/ directory.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";

export const repoRoot = path.resolve(__dirname, "../..");
export const cacheDir = process.env.ETCD_STACK_CACHE ?? path.join(os.homedir(), ".cache/etcd-stack");
const binDir = path.join(cacheDir, "pulumi/bin");

/** The environment scripts/pulumi-env.sh sets up: no step may try the network. */
function engineEnv(backendDir: string): Record<string, string> {
    return {
        PATH: `${binDir}:${process.env.PATH ?? ""}`,
        PULUMI_HOME: path.join(cacheDir, "pulumi/home"),
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_BACKEND_URL: `file://${backendDir}`,
        PULUMI_CONFIG_PASSPHRASE: "etcd-stack-test",
    };
}

/** Why the engine cannot run here, or undefined when it can. */
export function engineUnavailable(): string | undefined {
    for (const bin of ["pulumi", "pulumi-language-nodejs"]) {
        if (!fs.existsSync(path.join(binDir, bin))) return `${bin} not built: run 'bash scripts/toolchain.sh'`;
    }
    return undefined;
}

/**
 * Provider plugins the program needs but the toolchain could not build, with the reason
 * scripts/toolchain.sh recorded (the Go module proxy's answer).
 */
export function missingPlugins(): string[] {
    const status = path.join(cacheDir, "pulumi/plugins.status");
    if (!fs.existsSync(status)) return ["plugin status unknown: run 'bash scripts/toolchain.sh'"];
    return fs.readFileSync(status, "utf8").split("\n").filter((l) => / missing/.test(l));
}

export interface ScratchStack {
    stack: Stack;
    dir: string;
    /** Removes the stack's state and the scratch copy. */
    dispose(): Promise<void>;
}

/**
 * A copy of the project (program, components, tsconfig) with one stack whose config
 * is `config` (keys without the `etcd:` prefix), in its own local file backend.
 */
export async function scratchStack(stackName: string, config: Record<string, unknown>): Promise<ScratchStack> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-stack-engine-"));
    for (const entry of ["Pulumi.yaml", "index.ts", "components", "tsconfig.json", "package.json"]) {
        fs.cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.mkdirSync(path.join(dir, "state"));
    const stackConfig = Object.fromEntries(Object.entries(config).map(([k, v]) => [`etcd:${k}`, v]));
    fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${stackName}.yaml`), yaml.dump({ config: stackConfig }));

    const env = engineEnv(path.join(dir, "state"));
    const pulumiCommand = await PulumiCommand.get({ root: path.dirname(binDir) });
    const workspace = await LocalWorkspace.create({ workDir: dir, envVars: env, pulumiCommand });
    const stack = await Stack.create(stackName, workspace);
    return {
        stack,
        dir,
        async dispose() {
            await workspace.removeStack(stackName, { force: true }).catch(() => undefined);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/**
 * The stack files a checkout holds (stacks/Pulumi.<env>.yaml), and which of them a CI runner can
 * preview: those whose binary is downloaded from a release URL (dev and lab install a tarball
 * built on a developer's machine, `binary.localTarball`, and reach hosts a runner cannot).
 *
 * The preview workflow's matrix is this list, so a new `stacks/Pulumi.<env>.yaml` is previewed
 * without editing the workflow:
 *   TS_NODE_TRANSPILE_ONLY=1 npx ts-node scripts/stackFiles.ts [stacksDir]   # prints ["prod","staging"]
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

export const defaultStacksDir = path.join(__dirname, "..", "stacks");

/** The environments with a stack file in `dir`, sorted: `Pulumi.<env>.yaml` gives `<env>`. */
export function stackNames(dir: string = defaultStacksDir): string[] {
    return fs.readdirSync(dir).map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1]).filter((e): e is string => e !== undefined).sort();
}

/** The `config:` map of `<dir>/Pulumi.<env>.yaml`, keys as written (`etcd:members`, …). */
export function readStackConfig(env: string, dir: string = defaultStacksDir): Record<string, unknown> {
    const doc = yaml.load(fs.readFileSync(path.join(dir, `Pulumi.${env}.yaml`), "utf8")) as { config?: Record<string, unknown> } | null;
    return doc?.config ?? {};
}

/** The stacks a runner can preview: a release URL and no local tarball. */
export function previewStacks(dir: string = defaultStacksDir): string[] {
    return stackNames(dir).filter((env) => {
        const binary = readStackConfig(env, dir)["etcd:binary"] as { url?: unknown; localTarball?: unknown } | undefined;
        return binary?.url !== undefined && binary?.localTarball === undefined;
    });
}

if (require.main === module) {
    process.stdout.write(JSON.stringify(previewStacks(process.argv[2] ?? defaultStacksDir)) + "\n");
}

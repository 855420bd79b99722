import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";

/** The `etcd:` config of stacks/Pulumi.<env>.yaml, keys without the namespace. */
export function readStackFile(env: string): Record<string, unknown> {
    const file = path.join(__dirname, "..", "stacks", `Pulumi.${env}.yaml`);
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^etcd:/, ""), v]));
}

/**
 * Serializes every dynamic provider as the engine does at registration, and prints one JSON line:
 * `{ "<provider>": "ok" | "<error>" }`. Run by providerSerialization.test.ts under the engine's own
 * compiler settings (tsconfig.pulumi.json: ts-node with swc), whose emitted code is what the engine
 * serializes; mocha's TypeScript emitter captures imports differently.
 */
import * as pulumi from "@pulumi/pulumi";
import { hostFilesProvider } from "../../components/host/hostFilesProvider";
import { hostKeyCheckProvider } from "../../components/host/hostKeyCheck";
import { stagedReleaseProvider } from "../../components/host/stagedRelease";
import { membershipProvider } from "../../components/membership/membershipProvider";
import { planProvider } from "../../components/plan/planResource";
import { removalCheckProvider } from "../../components/plan/removalCheck";

export const providers: Record<string, pulumi.dynamic.ResourceProvider> = {
    hostFilesProvider, hostKeyCheckProvider, stagedReleaseProvider, membershipProvider, planProvider, removalCheckProvider,
};

async function main(): Promise<void> {
    const results: Record<string, string> = {};
    for (const [name, provider] of Object.entries(providers)) {
        try {
            const s = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
            results[name] = s.text.includes("exports.handler") ? "ok" : "no handler in the serialized text";
        } catch (e) {
            results[name] = `${(e as Error).message}`.split("\n").slice(0, 30).join("\n");
        }
    }
    console.log(JSON.stringify(results));
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });

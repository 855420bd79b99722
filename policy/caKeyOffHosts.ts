/**
 * Policy: the CA private key never reaches a host. It signs certificates in the operator's state;
 * a host that held it could issue itself any client or peer certificate.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { StackResource, known, runsOnHost, types } from "./resources";

/** The CA keys of a stack: the resources they come from, and their text where it is known. */
export interface CaKeys {
    sources: Set<string>;
    texts: string[];
}

/**
 * Whatever signs a certificate is a CA key: the `caPrivateKeyPem` of every locally signed
 * certificate and the `privateKeyPem` of a self-signed CA certificate. This finds a generated CA
 * (by the key resource it comes from, known even in a preview) and a brought one (by its text).
 */
export function caKeys(resources: StackResource[]): CaKeys {
    const keys: CaKeys = { sources: new Set(), texts: [] };
    const add = (r: StackResource, prop: string) => {
        for (const d of r.propertyDependencies[prop] ?? []) keys.sources.add(d.urn);
        const text = known(r.props, prop);
        if (typeof text === "string" && text.trim() !== "") keys.texts.push(text.trim());
    };
    for (const r of resources) {
        if (r.type === types.locallySignedCert) add(r, "caPrivateKeyPem");
        if (r.type === types.selfSignedCert && known(r.props, "isCaCertificate") === true) add(r, "privateKeyPem");
    }
    return keys;
}

/** The inputs of a remote command, or of a HostFiles write, that travel to the host. */
const sentToHost = ["stdin", "create", "update", "delete", "environment", "source", "contents"];

/** The strings in a value: itself, or those inside an object or array (e.g. a command's environment). */
function stringsIn(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (value !== null && typeof value === "object") {
        const fields = value as Record<string, unknown>;
        return Object.keys(fields).flatMap((k) => stringsIn(known(fields, k)));
    }
    return [];
}

/** Each remote command or copy that would carry a CA key to its host, with the input that does. */
export function caKeyCarriers(resources: StackResource[], keys: CaKeys = caKeys(resources)): Array<{ resource: StackResource; input: string }> {
    const found: Array<{ resource: StackResource; input: string }> = [];
    for (const r of resources.filter((x) => runsOnHost(x.type))) {
        for (const input of sentToHost) {
            const fromKey = (r.propertyDependencies[input] ?? []).some((d) => keys.sources.has(d.urn));
            const texts = stringsIn(known(r.props, input));
            if (fromKey || keys.texts.some((k) => texts.some((t) => t.includes(k)))) found.push({ resource: r, input });
        }
    }
    return found;
}

export const caKeyOffHosts: StackValidationPolicy = {
    name: "etcd-ca-key-off-hosts",
    description: "No command or copy sends the CA private key to a host.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const { resource, input } of caKeyCarriers(args.resources)) {
            reportViolation(`${resource.name} sends the CA private key to its host (in its ${input}): ` +
                "the CA key stays in the operator's state; give a host only certificates and its own keys", resource.urn);
        }
    },
};

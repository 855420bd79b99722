/**
 * Reads an etcd config file (the YAML that components/member/render.ts renders for each member) and says
 * what in it a policy refuses. Pure: text in, problems out.
 */
import * as yaml from "js-yaml";

/** An etcd config file's top-level keys; empty when the text is not a YAML mapping. */
export type EtcdConfig = Record<string, unknown>;

/** Parses the config text; YAML that is not a mapping yields no keys (so every check refuses it). */
export function parseEtcdConfig(text: string): EtcdConfig {
    const doc = yaml.load(text);
    return doc !== null && typeof doc === "object" && !Array.isArray(doc) ? doc as EtcdConfig : {};
}

/**
 * The keys that carry client and peer URLs, each with what etcd uses when the key is absent:
 * its defaults are plaintext, so a missing key is as bad as an http:// URL.
 */
export const urlKeys: Record<string, string> = {
    "listen-client-urls": "http://localhost:2379",
    "advertise-client-urls": "http://localhost:2379",
    "listen-peer-urls": "http://localhost:2380",
    "initial-advertise-peer-urls": "http://localhost:2380",
    "initial-cluster": "default=http://localhost:2380",
};

/** The URLs in one value: a comma-separated list, entries optionally `name=url` (initial-cluster). */
function urlsIn(value: string): string[] {
    return value.split(",").map((s) => s.trim().replace(/^[^=\s]*=(?=[a-z]+:\/\/)/i, "")).filter((s) => s.includes("://"));
}

/** Every client or peer URL that is not https, as "key: url" lines naming what to change. */
export function plaintextUrlProblems(config: EtcdConfig): string[] {
    const problems: string[] = [];
    for (const [key, etcdDefault] of Object.entries(urlKeys)) {
        const value = config[key];
        if (value === undefined || value === null) {
            problems.push(`${key} is not set, so etcd uses ${etcdDefault} (plaintext)`);
            continue;
        }
        for (const url of urlsIn(String(value))) {
            if (!/^https:\/\//i.test(url)) problems.push(`${key}: ${url} is plaintext; use https://`);
        }
    }
    return problems;
}

/** The two listeners whose TLS settings etcd reads from these sections. */
export const transportSections = ["client-transport-security", "peer-transport-security"] as const;

/** Every listener that accepts a connection without a certificate of the cluster CA. */
export function clientCertAuthProblems(config: EtcdConfig): string[] {
    const problems: string[] = [];
    for (const section of transportSections) {
        const settings = config[section];
        const value = settings !== null && typeof settings === "object" ? (settings as Record<string, unknown>)["client-cert-auth"] : undefined;
        if (value !== true) {
            problems.push(`${section}.client-cert-auth is ${value === undefined ? "not set" : JSON.stringify(value)}; it must be true`);
        }
    }
    return problems;
}

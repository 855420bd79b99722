/** Validation of the PKI's settings: the CA, the extra client certificates, and the metrics listener's client. */
import { peerCommonName } from "../base/paths";
import { Reader, field } from "./problems";
import { CaSpec, ClientCertificateSpec, MetricsSpec, RawClusterConfig, builtinClientCertificates } from "./types";
import { dnsLabel, subjectText } from "./values";

export function parseCa(raw: RawClusterConfig, p: Reader, problems: string[]): CaSpec {
    p.object("ca", raw.ca);
    const algorithm = p.string("ca.algorithm", field(raw.ca, "algorithm"), "ECDSA");
    if (algorithm !== "ECDSA" && algorithm !== "RSA") {
        problems.push(`ca.algorithm: "${algorithm}" must be "ECDSA" (P-256) or "RSA"`);
    }
    const rsaBits = p.positiveInt("ca.rsaBits", field(raw.ca, "rsaBits"), 2048);
    if (algorithm === "RSA" && rsaBits < 2048) {
        problems.push(`ca.rsaBits: ${rsaBits} is too weak; use 2048 or more`);
    }
    const bringYourOwn = Boolean(raw.hasCaCert) || Boolean(raw.hasCaKey);
    if (bringYourOwn && !(raw.hasCaCert && raw.hasCaKey)) {
        problems.push("ca: bring-your-own CA needs both `etcd:caCertPem` and the secret `etcd:caKeyPem`");
    }
    const generation = p.positiveInt("ca.generation", field(raw.ca, "generation"), 1);
    const trustRaw = field(raw.ca, "trust");
    let trust = [generation];
    if (trustRaw !== undefined) {
        if (!Array.isArray(trustRaw) || trustRaw.some((g) => !Number.isSafeInteger(g) || g < 1)) {
            problems.push("ca.trust: must be a list of CA generations (positive integers)");
        } else {
            trust = [...new Set(trustRaw as number[])].sort((a, b) => a - b);
            const allowed = [[generation], [generation, generation + 1], [generation - 1, generation]].map((t) => t.join(","));
            if (!allowed.includes(trust.join(","))) {
                problems.push(`ca.trust: [${trust.join(", ")}] with ca.generation ${generation}; use [${generation}], or during a rotation ` +
                    `[${generation}, ${generation + 1}] (trust the next CA first)` + (generation > 1 ? ` or [${generation - 1}, ${generation}] (still trust the previous one)` : ""));
            }
        }
    }
    return {
        algorithm: algorithm as CaSpec["algorithm"],
        rsaBits,
        validityHours: p.positiveInt("ca.validityHours", field(raw.ca, "validityHours"), 87600),
        bringYourOwn,
        generation,
        trust,
    };
}

export function parseClientCertificates(value: unknown, p: Reader, problems: string[]): ClientCertificateSpec[] {
    const result = [...builtinClientCertificates];
    if (value === undefined) return result;
    if (!Array.isArray(value)) {
        problems.push("clientCertificates: must be a list of { name, commonName, organization?, dir? }");
        return result;
    }
    value.forEach((c, i) => {
        const at = `clientCertificates[${i}]`;
        const name = p.string(`${at}.name`, field(c, "name"), "");
        const commonName = p.string(`${at}.commonName`, field(c, "commonName"), name);
        const organizationRaw = field(c, "organization");
        const organization = organizationRaw === undefined ? undefined : p.string(`${at}.organization`, organizationRaw, "");
        const dirRaw = field(c, "dir");
        const dir = dirRaw === undefined ? undefined : p.absPath(`${at}.dir`, dirRaw, "");
        // The flags name files here and are pasted into shells and units: absPath lets through nothing that needs quoting.
        for (const [key, text] of [["commonName", commonName], ["organization", organization]] as const) {
            if (text && !subjectText.test(text)) problems.push(`${at}.${key}: "${text}" may hold only letters, digits, spaces and . _ : @ = + , - (at most 64)`);
        }
        if (commonName.toLowerCase() === peerCommonName) {
            problems.push(`${at}.commonName: "${commonName}" is the members' peer certificate's name, which the peer port admits: a client certificate must not carry it`);
        }
        if (name && !dnsLabel.test(name)) {
            problems.push(`${at}: name "${name}" must be a lowercase DNS label`);
        }
        if (result.some((r) => r.name === name)) {
            problems.push(`${at}: a client certificate named "${name}" already exists`);
        }
        result.push({ name, commonName, organization, ...(dir === undefined ? {} : { dir }) });
    });
    return result;
}

export function parseMetrics(value: unknown, clients: ClientCertificateSpec[], p: Reader): MetricsSpec | undefined {
    if (value === undefined) return undefined;
    if (!p.object("metrics", value)) return undefined;
    if (!p.boolean("metrics.enabled", field(value, "enabled"), true)) return undefined;
    const listen = p.string("metrics.listen", field(value, "listen"), "https");
    if (listen !== "https" && listen !== "http") {
        p.problems.push(`metrics.listen: "${listen}" must be "https" (mutual TLS) or "http" (plain, behind a firewall's allow-list)`);
        return undefined;
    }
    const raw = field(value, "clientCertificate");
    if (listen === "http") {
        if (raw !== undefined) p.problems.push("metrics.clientCertificate: only with metrics.listen https (a plain listener asks for no certificate)");
        return { listen };
    }
    const name = p.string("metrics.clientCertificate", raw, "");
    if (name === "") {
        p.problems.push("metrics.clientCertificate: with metrics.listen https, name the clientCertificates entry the Prometheus server presents " +
            "(etcd admits any certificate of its client CA on every client API too: give the scraper one of its own)");
    } else if (name === "admin" || !clients.some((c) => c.name === name)) {
        p.problems.push(`metrics.clientCertificate: "${name}" is not one of the stack's clientCertificates${name === "admin" ? " (admin is the operator's, never a scraper's)" : ""}`);
    }
    return { listen, clientCertificate: name };
}

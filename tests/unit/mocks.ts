/**
 * Pulumi mocks that record every resource's inputs, with fake but distinguishable
 * outputs for tls, random and command resources. Certificates and CSRs carry a digest
 * of their inputs, so a changed input flows on to what depends on it, as with the real provider.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { skipPromiseStackMapping } from "../../components/base/promiseStacks";

// What index.ts does for the engine's runs, for the mocked programs in this process: without it,
// ts-node's source-map support formats the trace the SDK records on every promise, which took about
// 40 % of the mocked tests' CPU (a profile of tests/unit/cluster.test.ts: 9.7 s of 23 s).
skipPromiseStackMapping();

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** The explicit provider's reference (URN::ID), if the resource has one. */
    provider?: string;
}

/** Resolves an Output in tests (an unresolved Output would make assertions pass vacuously). */
export function resolve<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((res) => pulumi.output(o).apply((v) => { res(v as T); return v; }));
}

/**
 * `newStack`: the stack's removal check is created in this run (the stack had no members), as on
 * a first `up`; otherwise it reports another run, as every later `up` does. `commandStdout`: a
 * remote command's stdout by resource name, instead of the default below (undefined: the default).
 * `planPrevious`: the cluster the plan's record (planResource.ts) hands back as `previous`, as a
 * preview's check would (default: null, no earlier record); `planLive`, the live health it hands back
 * (default: null, no refresh read). `dryRun`: the program runs as a preview.
 */
export function installMocks(options: { newStack?: boolean; commandStdout?: (name: string) => string | undefined; planPrevious?: unknown; planLive?: unknown; dryRun?: boolean } = {}): Recorded[] {
    const recorded: Recorded[] = [];
    pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            recorded.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
            const state: Record<string, any> = { ...args.inputs };
            const digest = crypto.createHash("sha256").update(JSON.stringify(args.inputs)).digest("hex").slice(0, 8);
            switch (args.type) {
                case "tls:index/privateKey:PrivateKey":
                    state.privateKeyPem = `PRIVATE-KEY(${args.name})`;
                    state.privateKeyOpenssh = `OPENSSH-PRIVATE-KEY(${args.name})`;
                    state.publicKeyOpenssh = `ssh-ed25519 PUBLIC-KEY(${args.name})\n`;
                    break;
                case "tls:index/selfSignedCert:SelfSignedCert":
                    state.certPem = `CA-CERT(${args.name}#${digest})`;
                    state.validityEndTime = "2036-11-21T08:00:00Z";
                    break;
                case "tls:index/certRequest:CertRequest":
                    state.certRequestPem = `CSR(${args.name}#${digest})`;
                    break;
                case "tls:index/locallySignedCert:LocallySignedCert":
                    state.certPem = `CERT(${args.name}#${digest})`;
                    state.validityStartTime = "2026-11-23T08:00:00Z";
                    state.validityEndTime = "2027-11-23T08:00:00Z";
                    break;
                case "pulumi-nodejs:dynamic/etcd:RemovalCheck":
                    state.createdInRun = options.newStack ? args.inputs.run : "an earlier run";
                    break;
                case "pulumi-nodejs:dynamic/etcd:Plan":
                    state.previous = options.planPrevious ?? null;
                    state.live = options.planLive ?? null;
                    break;
                case "random:index/randomId:RandomId":
                    state.hex = "0123456789abcdef";
                    break;
                case "command:remote:Command":
                    state.stdout = options.commandStdout?.(args.name) ?? (/preflight/.test(args.name) ? "arch=amd64\n"
                        : /-join$/.test(args.name) ? "initial-cluster-state=new\ninitial-cluster=lab-1=https://10.213.0.11:2380\n" : "ok\n");
                    state.stderr = "";
                    break;
            }
            return { id: `${args.name}-id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    }, "etcd-stack", "unit", options.dryRun ?? false);
    return recorded;
}

/**
 * Records the `dependsOn` every resource is declared with (a transformation on the root
 * component, inherited by every child), by resource name: the ordering the engine will
 * enforce, which mocks do not otherwise show.
 */
export class DependencyRecorder {
    private readonly names = new Map<pulumi.Resource, string>();
    private readonly declared = new Map<string, pulumi.Resource[]>();
    private readonly pending: Promise<void>[] = [];

    readonly transformation: pulumi.ResourceTransformation = (args) => {
        this.names.set(args.resource, args.name);
        const d = args.opts.dependsOn;
        if (pulumi.Output.isInstance(d)) {
            // Known once what it waits for resolved (a member's turn of the roll): see settled().
            this.pending.push(new Promise((res) => (d as pulumi.Output<unknown>).apply((v) => {
                this.declared.set(args.name, (Array.isArray(v) ? v : [v]) as pulumi.Resource[]);
                res();
                return v;
            })));
            return undefined;
        }
        this.declared.set(args.name, d === undefined ? [] : (Array.isArray(d) ? d : [d]) as pulumi.Resource[]);
        return undefined;
    };

    /** Resolves once every `dependsOn` given as an Output is known. */
    async settled(): Promise<void> {
        await Promise.all(this.pending);
    }

    /** Names of the resources `name` was declared to depend on, sorted. */
    dependsOn(name: string): string[] {
        const deps = this.declared.get(name);
        if (deps === undefined) throw new Error(`no resource named ${name} was declared`);
        return deps.map((r) => this.names.get(r) ?? "<unknown>").sort();
    }
}

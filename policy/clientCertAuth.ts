/** Policy: etcd accepts only clients and peers that present a certificate of the cluster CA. */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { etcdConfigWrite } from "./configWrite";
import { clientCertAuthProblems, parseEtcdConfig } from "./etcdConfig";

export const clientCertAuth: ResourceValidationPolicy = {
    name: "etcd-client-cert-auth",
    description: "client-cert-auth is on for the client and the peer listener of every member.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const write = etcdConfigWrite(args.type, args.opts.parent, args.props);
        if (!write) return;
        // Unknown in a stack's first preview, like every check of the config text (see tlsUrls.ts).
        for (const problem of clientCertAuthProblems(parseEtcdConfig(write.content()))) {
            reportViolation(`${write.member} ${write.path}: ${problem} (renderEtcdConfig in components/member/render.ts)`);
        }
    },
};

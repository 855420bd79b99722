/** Policy: etcd serves clients and peers over TLS only. */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { etcdConfigWrite } from "./configWrite";
import { parseEtcdConfig, plaintextUrlProblems } from "./etcdConfig";

export const tlsUrls: ResourceValidationPolicy = {
    name: "etcd-tls-urls",
    description: "Every client and peer URL in a member's etcd config is https://.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const write = etcdConfigWrite(args.type, args.opts.parent, args.props);
        if (!write) return;
        // The config is unknown in the first preview of a stack (it carries the cluster token, a
        // random.RandomId); reading it then reports "can't run during preview", and `up` checks it
        // before the file is written.
        for (const problem of plaintextUrlProblems(parseEtcdConfig(write.content()))) {
            reportViolation(`${write.member} ${write.path}: ${problem} (clientUrl/peerUrl in components/member/render.ts)`);
        }
    },
};

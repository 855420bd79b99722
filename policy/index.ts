/**
 * The etcd-stack policy pack: `pulumi preview --policy-pack policy` (and `up`) refuses a stack that
 * breaks any of these rules. Every policy is mandatory; see docs/policy.md.
 */
import { PolicyPack } from "@pulumi/policy";
import { caKeyOffHosts } from "./caKeyOffHosts";
import { certificateValidity } from "./certValidity";
import { clientCertAuth } from "./clientCertAuth";
import { memberCount } from "./memberCount";
import { planRefused } from "./planRefusals";
import { prodSnapshots } from "./prodSnapshots";
import { tlsUrls } from "./tlsUrls";

new PolicyPack("etcd-stack", {
    policies: [memberCount, tlsUrls, clientCertAuth, prodSnapshots, certificateValidity, caKeyOffHosts, planRefused],
});

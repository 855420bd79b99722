/** Policy: certificates live long enough that an `up` renews them in time. */
import * as tls from "@pulumi/tls";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

/**
 * Default minimum: 30 days. Nothing renews a certificate by itself (an `up` inside its early-renewal
 * window does), so a shorter one expires between two ordinary deploys.
 */
export const defaultMinimumValidityHours = 720;

/** Why `hours` of validity is refused, or undefined when it is not. */
export function validityProblem(hours: number, minimumHours: number): string | undefined {
    return hours < minimumHours ? `valid for ${hours} h, below the minimum of ${minimumHours} h` : undefined;
}

/** The configured minimum, or the default when the pack's config leaves it out. */
function minimumHours(config: { minimumValidityHours?: number }): number {
    return config.minimumValidityHours ?? defaultMinimumValidityHours;
}

export const certificateValidity: ResourceValidationPolicy = {
    name: "etcd-certificate-validity",
    description: "The CA and every member and client certificate are valid for at least etcd-certificate-validity.minimumValidityHours (default 720).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minimumValidityHours: { type: "integer", minimum: 1, default: defaultMinimumValidityHours },
        },
    },
    validateResource: [
        validateResourceOfType(tls.LocallySignedCert, (cert, args, reportViolation) => {
            const problem = validityProblem(cert.validityPeriodHours, minimumHours(args.getConfig()));
            if (problem) reportViolation(`certificate ${args.name} is ${problem}: raise etcd:certValidityHours`);
        }),
        validateResourceOfType(tls.SelfSignedCert, (cert, args, reportViolation) => {
            const problem = validityProblem(cert.validityPeriodHours, minimumHours(args.getConfig()));
            if (problem) reportViolation(`CA certificate ${args.name} is ${problem}: raise etcd:ca.validityHours`);
        }),
    ],
};

/** Stacks for the plan's tests (plan.test.ts, renderPlan.test.ts): the fixture's three members, and two more. */
import { RawClusterConfig } from "../../components/spec/types";
import { fixtureHostKeys, rawConfig, spec } from "./fixtures";

/** Host keys of lab-4, lab-5 and a rebuilt lab-3 (public halves of throw-away ed25519 keys). */
export const moreHostKeys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDo+fO0AzuujNcE2Xxxq7vLI+QeGWVdXVFTFeAoV0HQ0",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIe0QBq5DaSptx2UUpepWf1xnCs9Z4RPEqbWfE7FWcsw",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIByAa1DTEiaxu7fR8Si6p4T9wBkosg8pfz0JNDlwXheH",
];

type RawMember = { name: string; address: string; hostKey?: string; extraSans?: string[] };
export const three = rawConfig().members as RawMember[];
export const five: RawMember[] = [
    ...three,
    { name: "lab-4", address: "10.213.0.14", hostKey: moreHostKeys[0] },
    { name: "lab-5", address: "10.213.0.15", hostKey: moreHostKeys[1] },
];

/** The fixture's spec with these members and overrides. */
export const stack = (members: RawMember[], overrides: Partial<RawClusterConfig> = {}) => spec({ members, ...overrides });

/** lab-3 moved to 10.213.0.16, a new machine with its own key. */
export const threeWithLab3Moved: RawMember[] = [three[0], three[1], { ...three[2], address: "10.213.0.16", hostKey: moreHostKeys[2] }];

/** lab-3 renamed lab-9 at the same address and machine. */
export const threeWithLab3Renamed: RawMember[] = [three[0], three[1], { ...three[2], name: "lab-9" }];

export { fixtureHostKeys };

/** Shared fixtures for unit tests: a valid raw config and a parsed spec. */
import { strict as assert } from "assert";
import { SpecError } from "../../components/spec/problems";
import { parseClusterSpec } from "../../components/spec/parse";
import { ClusterSpec, RawClusterConfig } from "../../components/spec/types";

/** Host keys of the fixture's hosts (public halves of throw-away ed25519 keys). */
export const fixtureHostKeys = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO2LLz4IJXE9JMXkcKhwfbvX3gkk92DKtYXITyCtmZF3",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHIL6o4gBqRjQrjSmcBnCdxm71pnwIBb0cyUQPvsiMO",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL+1aQBtGX9rLn/VK/lcViJYObI7EyOoUJ2qovQZb9Sk",
];

export function rawConfig(overrides: Partial<RawClusterConfig> = {}): RawClusterConfig {
    return {
        clusterName: "lab",
        members: [
            { name: "lab-1", address: "10.213.0.11", hostKey: fixtureHostKeys[0] },
            { name: "lab-2", address: "10.213.0.12", hostKey: fixtureHostKeys[1] },
            { name: "lab-3", address: "10.213.0.13", extraSans: ["etcd.example.internal", "10.213.0.100"], hostKey: fixtureHostKeys[2] },
        ],
        version: "3.6.16",
        binary: { localTarball: "/tmp/etcd-v3.6.16-linux-amd64.tar.gz" },
        hasSshKey: true,
        ...overrides,
    };
}

export function spec(overrides: Partial<RawClusterConfig> = {}): ClusterSpec {
    return parseClusterSpec(rawConfig(overrides));
}

/** The problems a raw config produces (empty when valid): `parseClusterSpec`'s list, as reported. */
export function problemsOf(overrides: Partial<RawClusterConfig> = {}): string[] {
    try {
        parseClusterSpec(rawConfig(overrides));
        return [];
    } catch (e) {
        assert.ok(e instanceof SpecError, `expected SpecError, got ${e}`);
        return e.problems;
    }
}

/** Shared fixtures for unit tests: a valid raw config and a parsed spec. */
import { ClusterSpec, RawClusterConfig, parseClusterSpec } from "../../components/spec";

export function rawConfig(overrides: Partial<RawClusterConfig> = {}): RawClusterConfig {
    return {
        clusterName: "lab",
        members: [
            { name: "lab-1", address: "10.213.0.11" },
            { name: "lab-2", address: "10.213.0.12" },
            { name: "lab-3", address: "10.213.0.13", extraSans: ["etcd.example.internal", "10.213.0.100"] },
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

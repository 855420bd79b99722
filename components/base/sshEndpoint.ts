/**
 * Where an SSH connection goes, spelled one way for messages, resource ids and the comparisons that
 * tell machines apart: `host:port` (22 when unset), and ` via bastion:port` through a bastion.
 */
export interface Endpoint {
    host: string;
    port?: number;
    proxy?: { host: string; port?: number };
}

export function sshEndpoint(c: Endpoint): string {
    const via = c.proxy ? ` via ${c.proxy.host}:${c.proxy.port ?? 22}` : "";
    return `${c.host}:${c.port ?? 22}${via}`;
}

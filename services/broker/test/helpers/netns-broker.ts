// A cluster node running inside a network namespace (helpers/netns.ts): the built broker (MAIN) with
// the env conventions of startBroker and startClusterNode, listening on the namespace end of the
// client link, so that clients on the host reach it while its Redis link is cut.
import { MAIN } from './broker-process.js';
import { startClusterNode, type ClusterNode } from './cluster.js';
import type { Netns } from './netns.js';
import { RawClient, type TransportKind } from './raw-client.js';

/** A cluster node and the address its listeners bind to (the host's nodes: 127.0.0.1). */
export type ReachableNode = ClusterNode & { readonly host: string };

/** A raw client over `kind` to a node on the host or in a namespace, not yet connected. */
export function openRawTo(node: ReachableNode, kind: TransportKind): Promise<RawClient> {
  return kind === 'tcp' ? RawClient.tcp(node.tcpPort, node.host) : RawClient.ws(node.wsUrl);
}

/** The host's own nodes bind to 127.0.0.1 (startBroker). */
export function onHost(node: ClusterNode): ReachableNode {
  return Object.assign(node, { host: '127.0.0.1' });
}

/**
 * Starts node `nodeId` in `ns` with STOMPEDE_REDIS_URL `redisUrl` (an address the namespace reaches,
 * e.g. the host end of its Redis link) and resolves once it listens. Fails when it came up with the
 * in-memory broker, as startClusterNode does.
 */
export async function startNodeInNetns(ns: Netns, nodeId: string, redisUrl: string, extraEnv: Record<string, string> = {}, timeoutMs = 20_000): Promise<ReachableNode> {
  const host = ns.clientLink.nsAddress;
  // `ip netns exec` execs the command in place: the child's pid is the broker's. Its ports are free
  // in the namespace by construction; freePort only keeps them distinct in this process.
  const [command, args] = ns.command(process.execPath, [MAIN]);
  const node = await startClusterNode(nodeId, { STOMPEDE_REDIS_URL: redisUrl }, { STOMPEDE_ADMIN_BIND: host, ...extraEnv }, timeoutMs, {
    command: [command, ...args],
    host,
    name: `${nodeId} in ${ns.name}`,
  });
  return Object.assign(node, { host });
}

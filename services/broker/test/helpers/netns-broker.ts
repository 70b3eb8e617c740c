// A cluster node running inside a network namespace (helpers/netns.ts): the built broker (MAIN) with
// the env conventions of startBroker and startClusterNode, listening on the namespace end of the
// client link, so that clients on the host reach it while its Redis link is cut.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { MAIN, TEST_ADMIN_TOKEN, TEST_LIMITS_ENV, freePort } from './broker-process.js';
import { FAST_CLUSTER_ENV, type ClusterNode } from './cluster.js';
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

function listeningLine(out: string): Record<string, unknown> | undefined {
  const line = out.split('\n').find((l) => l.includes('stompede listening'));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Starts node `nodeId` in `ns` with STOMPEDE_REDIS_URL `redisUrl` (an address the namespace reaches,
 * e.g. the host end of its Redis link) and resolves once it listens. Fails when it came up with the
 * in-memory broker, as startClusterNode does.
 */
export async function startNodeInNetns(ns: Netns, nodeId: string, redisUrl: string, extraEnv: Record<string, string> = {}, timeoutMs = 20_000): Promise<ReachableNode> {
  const host = ns.clientLink.nsAddress;
  // Ports are free in the namespace by construction; freePort only keeps them distinct in this process.
  const wsPort = await freePort();
  const tcpPort = await freePort();
  const adminPort = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    STOMPEDE_BIND: host,
    STOMPEDE_ADMIN_BIND: host,
    STOMPEDE_WS_PORT: String(wsPort),
    STOMPEDE_TCP_PORT: String(tcpPort),
    STOMPEDE_ADMIN_PORT: String(adminPort),
    STOMPEDE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    STOMPEDE_DRAIN_GRACE_MS: '0',
    STOMPEDE_DRAIN_WINDOW_MS: '0',
    STOMPEDE_LOG_LEVEL: process.env['STOMPEDE_TEST_LOG_LEVEL'] ?? 'info',
    ...TEST_LIMITS_ENV,
    ...FAST_CLUSTER_ENV,
    STOMPEDE_REDIS_URL: redisUrl,
    ...extraEnv,
    STOMPEDE_NODE_ID: nodeId,
  };
  const [command, args] = ns.command(process.execPath, [MAIN]);
  // `ip netns exec` execs the command in place: the child's pid is the broker's.
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${nodeId} in ${ns.name} did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = (): void => {
      if (!out.includes('stompede listening')) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve();
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${nodeId} in ${ns.name} exited with ${code} before listening:\n${out}`));
    });
  });
  const brokerKind = String(listeningLine(out)?.['broker'] ?? 'unknown');
  if (brokerKind === 'memory') {
    child.kill('SIGKILL');
    throw new Error(`${nodeId} started with the in-memory broker although STOMPEDE_REDIS_URL=${redisUrl}`);
  }
  return {
    nodeId,
    brokerKind,
    host,
    wsPort,
    tcpPort,
    tlsPort: 0,
    adminPort,
    adminAddress: `${host}:${adminPort}`,
    wsUrl: `ws://${host}:${wsPort}/ws`,
    httpUrl: `http://${host}:${wsPort}`,
    process: child,
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

// A two-node cluster split by a network namespace: node A runs in a namespace of its own and reaches
// a private Redis over a link the tests cut, heal or slow down (helpers/netns.ts); node B runs on
// the host beside Redis. `usePartitionCluster()`, called inside a describe, sets it up before the
// block's tests and, after them (whether they passed or not), heals the link, closes every client
// opened through it, stops the nodes, removes Redis and deletes the namespace.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Client, StompConfig } from '@stomp/stompjs';
import type { BrokerHandle } from './broker-process.js';
import { OUTAGE_ENV, startClusterNode } from './cluster.js';
import { startDelayRelay, type DelayRelay } from './delay-relay.js';
import { createNetns, type Netns } from './netns.js';
import { onHost, openRawTo, startNodeInNetns, type ReachableNode } from './netns-broker.js';
import type { RawClient, TransportKind } from './raw-client.js';
import { startRedis, type RedisHandle } from './redis-server.js';
import { connectStompjs } from './stompjs.js';

export interface PartitionOptions {
  /**
   * Node A reaches Redis through a delay relay on the host end of its link (the stand-in for
   * `tc netem delay` where the kernel has no netem); its delay starts at 0.
   */
  readonly relay?: boolean;
  /** STOMPEDE_* settings of both nodes, on top of FAST_CLUSTER_ENV. */
  readonly env?: Record<string, string>;
}

export interface PartitionSuite {
  netns(): Netns;
  redis(): RedisHandle;
  /** Node A, in the namespace. */
  a(): ReachableNode;
  /** Node B, on the host. */
  b(): ReachableNode;
  /** The delay relay in front of Redis for node A (options.relay). */
  relay(): DelayRelay;
  /** A @stomp/stompjs client over WebSocket to `node`. */
  stompjs(node: ReachableNode, config?: StompConfig): Promise<Client>;
  /** A raw client over `kind` to `node`, through CONNECT (1.2). */
  connectRaw(node: ReachableNode, kind: TransportKind, headers?: Record<string, string>): Promise<RawClient>;
  /** The last `chars` characters of both nodes' output, for failure messages. */
  logs(chars?: number): string;
}

/** SIGTERM, and SIGKILL if the node has not exited after `ms` (a node cut from Redis may hang in its drain). */
async function stopWithin(node: BrokerHandle, ms: number): Promise<void> {
  const timer = setTimeout(() => node.kill(), ms);
  await node.stop();
  clearTimeout(timer);
}

export function usePartitionCluster(options: PartitionOptions = {}): PartitionSuite {
  let ns: Netns | undefined;
  let redis: RedisHandle | undefined;
  let relay: DelayRelay | undefined;
  const nodes: ReachableNode[] = [];
  const stompjsClients: Client[] = [];
  const raws: RawClient[] = [];
  const need = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`${what} exists only inside tests and hooks of the describe that called usePartitionCluster()`);
    return x;
  };

  before(async () => {
    ns = await createNetns();
    const link = ns.redisLink.hostAddress;
    // Loopback for node B and redis-cli, the host end of the namespace's link for node A.
    redis = await startRedis({ args: ['--bind', `127.0.0.1 ${link}`] });
    let url = `redis://${link}:${redis.port}`;
    if (options.relay) {
      relay = await startDelayRelay(link, 0, { host: '127.0.0.1', port: redis.port });
      url = `redis://${link}:${relay.port}`;
    }
    const [a, b] = await Promise.allSettled([
      startNodeInNetns(ns, 'node-a', url, { ...OUTAGE_ENV, ...options.env }),
      startClusterNode('node-b', redis.brokerEnv(), { ...OUTAGE_ENV, ...options.env }),
    ]);
    // A node that started is stopped by the after hook even if the other failed (else it would
    // keep this file's process alive).
    if (a.status === 'fulfilled') nodes.push(a.value);
    if (b.status === 'fulfilled') nodes.push(onHost(b.value));
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
  });

  after(async () => {
    try {
      // A node that reaches Redis again stops quickly instead of hanging in its shutdown.
      if (ns?.isCut()) await ns.heal();
      relay?.setDelay(0, 0);
      for (const c of stompjsClients) c.forceDisconnect();
      for (const c of raws) c.close();
      const dir = process.env['STOMPEDE_TEST_CLUSTER_LOGS'];
      if (dir) {
        mkdirSync(dir, { recursive: true });
        for (const node of nodes) writeFileSync(join(dir, `cluster-partition-${process.pid}-${ns?.name}-${node.nodeId}.log`), node.output());
      }
      await Promise.all(nodes.map((n) => stopWithin(n, 10_000)));
    } finally {
      await relay?.close();
      await redis?.cleanup();
      await ns?.remove();
    }
  });

  const suite: PartitionSuite = {
    netns: () => need(ns, 'the namespace'),
    redis: () => need(redis, 'Redis'),
    a: () => need(nodes[0], 'node A'),
    b: () => need(nodes[1], 'node B'),
    relay: () => need(relay, 'the delay relay (usePartitionCluster({ relay: true }))'),
    async stompjs(node, config = {}) {
      const c = await connectStompjs(node.wsUrl, config);
      stompjsClients.push(c);
      return c;
    },
    async connectRaw(node, kind, headers = {}) {
      const c = await openRawTo(node, kind);
      raws.push(c);
      await c.connect(headers);
      return c;
    },
    logs(chars = 4000) {
      return nodes.map((n) => `--- ${n.nodeId} (pid ${n.pid})\n${n.output().slice(-chars)}`).join('\n');
    },
  };
  return suite;
}

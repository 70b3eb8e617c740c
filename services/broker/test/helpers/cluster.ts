// Several broker processes forming one cluster through a Redis of their own: `useCluster(options)`,
// called inside a describe, starts a private redis-server (or a 3-master Redis Cluster) and N nodes
// before the block's tests, with fast cluster timings, and after them closes every client opened
// through it, stops the nodes and removes Redis. Nodes can be SIGKILLed (`node(i).kill()`) and added.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Client, StompConfig } from '@stomp/stompjs';
import { startBroker, type BrokerHandle, type StartOptions } from './broker-process.js';
import { eventually } from './expect.js';
import { metricsText, metricValue } from './metrics.js';
import { RawClient, type TransportKind } from './raw-client.js';
import { startRedisCluster, type RedisClusterHandle } from './redis-cluster.js';
import { startRedis, type RedisHandle, type RedisOptions } from './redis-server.js';
import { connectStompjs } from './stompjs.js';

/**
 * Cluster timings scaled down so node deaths are noticed within a couple of seconds. The Redis
 * command deadline stays at the product's default (3 s): on a machine as loaded as CI, 1 s let
 * nodes count Redis as down in tests that are not about outages (a SUBSCRIBE or SEND with a
 * receipt then gets ERROR). The partition suites, which are, set 1 s themselves (OUTAGE_ENV).
 */
export const FAST_CLUSTER_ENV: Readonly<Record<string, string>> = {
  STOMPEDE_REDIS_HEARTBEAT_MS: '200',
  STOMPEDE_REDIS_NODE_TTL_MS: '1000',
  STOMPEDE_QUEUE_CLAIM_IDLE_MS: '1000',
  STOMPEDE_QUEUE_JANITOR_MS: '200',
  STOMPEDE_REDIS_TIMEOUT_MS: '3000',
};

/** For tests of Redis becoming unreachable without closing (a partition): noticed after 1 s. */
export const OUTAGE_ENV: Readonly<Record<string, string>> = { STOMPEDE_REDIS_TIMEOUT_MS: '1000' };

export interface ClusterNode extends BrokerHandle {
  readonly nodeId: string;
  /** The broker kind the node logged when it started listening (e.g. "redis"). */
  readonly brokerKind: string;
}

export interface ClusterOptions {
  /** Nodes started before the tests (default 3). */
  readonly nodes?: number;
  /** Options of the private redis-server, or 'cluster' for a 3-master Redis Cluster. */
  readonly redis?: RedisOptions | 'cluster';
  /** STOMPEDE_* settings of every node, on top of FAST_CLUSTER_ENV. */
  readonly env?: Record<string, string>;
  /** Per-node settings, by index, on top of `env`. */
  readonly nodeEnv?: readonly Record<string, string>[];
}

export interface ClusterSuite {
  /** The private (or shared) redis-server; only inside tests and hooks. */
  redis(): RedisHandle;
  /** The Redis Cluster when options.redis is 'cluster'. */
  redisCluster(): RedisClusterHandle;
  /** Node `i` (0 = node-a, 1 = node-b, ...). */
  node(i: number): ClusterNode;
  nodes(): readonly ClusterNode[];
  /** Starts one more node pointed at the same Redis. */
  addNode(env?: Record<string, string>): Promise<ClusterNode>;
  /** A @stomp/stompjs client connected over WebSocket to node `i` (or the given node). */
  stompjs(node: number | ClusterNode, config?: StompConfig): Promise<Client>;
  /** A raw client over `kind` to node `i`, not yet connected. */
  openRaw(node: number | ClusterNode, kind: TransportKind): Promise<RawClient>;
  /** A raw client that went through CONNECT (1.2). */
  connectRaw(node: number | ClusterNode, kind: TransportKind, headers?: Record<string, string>): Promise<RawClient>;
  /** The last `chars` characters of every node's output, for failure messages. */
  logs(chars?: number): string;
  /** Runs `fn` when the block ends, before clients close and nodes stop (last deferred first). */
  defer(fn: () => unknown): void;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function listeningLine(out: string): Record<string, unknown> | undefined {
  for (const line of out.split('\n')) {
    if (!line.includes('stompede listening')) continue;
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return undefined;
}

/**
 * Starts one cluster node. Fails when the node came up with the in-memory broker: the cluster tests
 * would otherwise fail later with less obvious messages. `start`: where and how it runs, when not
 * as startBroker's default (a node in a network namespace, helpers/netns-broker.ts).
 */
export async function startClusterNode(
  nodeId: string,
  redisEnv: Record<string, string>,
  env: Record<string, string> = {},
  timeoutMs = 20_000,
  start: Pick<StartOptions, 'command' | 'host' | 'name' | 'onOutput'> = {},
): Promise<ClusterNode> {
  const handle = await startBroker({
    ...start,
    env: {
      STOMPEDE_LOG_LEVEL: process.env['STOMPEDE_TEST_LOG_LEVEL'] ?? 'info',
      ...FAST_CLUSTER_ENV,
      ...redisEnv,
      ...env,
      STOMPEDE_NODE_ID: nodeId,
    },
    timeoutMs,
  });
  const kind = String(listeningLine(handle.output())?.['broker'] ?? 'unknown');
  if (kind === 'memory') {
    handle.kill();
    throw new Error(`node ${nodeId} started with the in-memory broker although STOMPEDE_REDIS_URL=${redisEnv['STOMPEDE_REDIS_URL']} (node.ts does not build the Redis broker)`);
  }
  return Object.assign(handle, { nodeId, brokerKind: kind });
}

/** Sum of the samples of metric `name` whose labels include `labels`, on a node's /metrics; undefined when absent. */
export async function metricSum(node: BrokerHandle, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number | undefined> {
  return metricValue(await metricsText(node), name, labels);
}

/** stompede_redis_up of a node: 1, 0, or undefined when the node does not export it. */
export function redisUp(node: BrokerHandle): Promise<number | undefined> {
  return metricSum(node, 'stompede_redis_up');
}

/** Waits until `node` reports Redis up (`up`) or down; passes when the metric is not exported. */
export async function waitRedisUp(node: BrokerHandle, up: boolean, timeoutMs = 20_000): Promise<void> {
  let last: number | undefined;
  await eventually(
    async () => {
      last = await redisUp(node);
      return last === undefined || (last > 0) === up;
    },
    () => `stompede_redis_up is ${last}, expected ${up ? 1 : 0}`,
    timeoutMs,
  );
}

async function stopNode(node: BrokerHandle): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    node.stop(),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        node.kill();
        resolve();
      }, 10_000);
    }),
  ]);
  clearTimeout(timer);
}

export function useCluster(options: ClusterOptions = {}): ClusterSuite {
  let redis: RedisHandle | undefined;
  let redisCluster: RedisClusterHandle | undefined;
  const started: ClusterNode[] = [];
  const raws: RawClient[] = [];
  const stompjsClients: Client[] = [];
  const deferred: (() => unknown)[] = [];
  const redisEnv = (): Record<string, string> => {
    if (redisCluster) return redisCluster.brokerEnv();
    if (redis) return redis.brokerEnv();
    throw new Error('the cluster runs only inside tests and hooks of the describe that called useCluster()');
  };
  const resolveNode = (n: number | ClusterNode): ClusterNode => (typeof n === 'number' ? suite.node(n) : n);

  before(async () => {
    if (options.redis === 'cluster') redisCluster = await startRedisCluster(3);
    else redis = await startRedis(options.redis ?? {});
    const n = options.nodes ?? 3;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => startClusterNode(`node-${LETTERS[i]}`, redisEnv(), { ...options.env, ...options.nodeEnv?.[i] })),
    );
    // The nodes that did start are stopped by the after hook even when another failed: left
    // running, they would keep this test file's process alive for good (seen in CI).
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  });

  after(async () => {
    try {
      for (const fn of deferred.reverse()) await fn();
    } finally {
      for (const c of stompjsClients) c.forceDisconnect();
      for (const c of raws) c.close();
      const dir = process.env['STOMPEDE_TEST_CLUSTER_LOGS'];
      if (dir) {
        mkdirSync(dir, { recursive: true });
        const file = (process.argv[1] ?? 'cluster').split('/').at(-1)!.replace(/\W+/g, '-');
        for (const node of started) writeFileSync(join(dir, `${file}-${process.pid}-${node.nodeId}.log`), node.output());
        if (redis) writeFileSync(join(dir, `${file}-${process.pid}-redis.log`), redis.output());
        if (redisCluster) writeFileSync(join(dir, `${file}-${process.pid}-redis-cluster.log`), redisCluster.output());
      }
      await Promise.all(started.map(stopNode));
      await redis?.cleanup();
      await redisCluster?.cleanup();
    }
  });

  const suite: ClusterSuite = {
    redis() {
      if (redis === undefined) throw new Error(redisCluster ? 'this cluster runs on a Redis Cluster: use redisCluster()' : 'redis() only inside tests and hooks');
      return redis;
    },
    redisCluster() {
      if (redisCluster === undefined) throw new Error('no Redis Cluster: pass { redis: "cluster" } to useCluster()');
      return redisCluster;
    },
    node(i) {
      const node = started[i];
      if (node === undefined) throw new Error(`no node ${i} (the cluster has ${started.length}; nodes exist only inside tests and hooks)`);
      return node;
    },
    nodes: () => started,
    async addNode(env = {}) {
      const node = await startClusterNode(`node-${LETTERS[started.length] ?? started.length}`, redisEnv(), { ...options.env, ...env });
      started.push(node);
      return node;
    },
    async stompjs(n, config = {}) {
      const c = await connectStompjs(resolveNode(n).wsUrl, config);
      stompjsClients.push(c);
      return c;
    },
    async openRaw(n, kind) {
      const c = await RawClient.open(kind, resolveNode(n));
      raws.push(c);
      return c;
    },
    async connectRaw(n, kind, headers = {}) {
      const c = await suite.openRaw(n, kind);
      await c.connect(headers);
      return c;
    },
    logs(chars = 4000) {
      return started.map((node) => `--- ${node.nodeId} (pid ${node.pid})\n${node.output().slice(-chars)}`).join('\n');
    },
    defer(fn) {
      deferred.push(fn);
    },
  };
  return suite;
}

/** Compares two message-ids `<destination>@<ms>-<seq>` of one destination by stream position. */
export function compareMessageIds(a: string, b: string): number {
  const pos = (id: string): [bigint, bigint] => {
    const m = /@(\d+)-(\d+)$/.exec(id);
    if (m === null) throw new Error(`not a <destination>@<ms>-<seq> message-id: ${id}`);
    return [BigInt(m[1]!), BigInt(m[2]!)];
  };
  const [am, as] = pos(a);
  const [bm, bs] = pos(b);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

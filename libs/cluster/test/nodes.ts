// Test kit for the Redis broker driven directly: "nodes" are RedisBroker instances in this process
// (distinct node ids, short heart-beats and claim times) on the file's private Redis, each with a
// handler that records what the broker calls back.
import { after, afterEach, before } from 'node:test';
import type { BrokerHandler, Message, QueuedMessage } from '@stompede/broker-api';
import { RedisBroker, type RedisBrokerOptions } from '@stompede/cluster';
import { KeySpace } from '../src/redis/keys.js';
import { delay, eventually, startRedis, type TestRedis } from './redis.js';

export const VHOST = '/';

export interface Received {
  readonly vhost: string;
  readonly destination: string;
  readonly id: string;
  readonly names: readonly string[];
  readonly values: readonly string[];
  /** The body as UTF-8 text, and as bytes. */
  readonly body: string;
  readonly bytes: Uint8Array;
  /** Messages the node said were missing right before this one (x-resume-gap). */
  readonly missedBefore: number;
}

/** A BrokerHandler that records every callback. */
export class Recorder implements BrokerHandler {
  readonly topics: Received[] = [];
  /** "<vhost> <queue>" per onQueueReady call. */
  readonly ready: string[] = [];
  readonly dead: { vhost: string; entry: QueuedMessage }[] = [];
  /** Destination prefixes `interested` answers true for (what wildcard subscriptions would match). */
  readonly interests = new Set<string>();
  /** Times the broker said publish pressure went away. */
  relieved = 0;

  onTopicMessage(vhost: string, m: Message): void {
    this.topics.push({
      vhost,
      destination: m.destination,
      id: m.id,
      names: [...m.headers.names],
      values: [...m.headers.values],
      body: Buffer.from(m.body).toString(),
      bytes: Uint8Array.from(m.body),
      missedBefore: m.missedBefore,
    });
  }

  onQueueReady(vhost: string, queue: string): void {
    this.ready.push(`${vhost} ${queue}`);
  }

  interested(_vhost: string, destination: string): boolean {
    for (const p of this.interests) if (destination.startsWith(p)) return true;
    return false;
  }

  onDeadLetter(vhost: string, entry: QueuedMessage): void {
    this.dead.push({ vhost, entry });
  }

  onPressureRelieved(): void {
    this.relieved++;
  }

  /** Bodies received on `destination`, in order. */
  bodies(destination: string): string[] {
    return this.topics.filter((t) => t.destination === destination).map((t) => t.body);
  }

  count(destination: string, body: string): number {
    return this.topics.filter((t) => t.destination === destination && t.body === body).length;
  }
}

export interface TestNode {
  readonly id: string;
  readonly broker: RedisBroker;
  readonly handler: Recorder;
}

export const BASE_OPTIONS = {
  partitions: 4,
  readCount: 10,
  outboxMessages: 100,
  outboxBytes: 1 << 20,
  heartbeatMs: 40,
  nodeTtlMs: 500,
  claimIdleMs: 200,
  janitorMs: 25,
  readLingerMs: 0,
  publishLingerMs: 0,
  streamMaxEntries: 100_000,
  streamLagPressure: 10_000,
  maxPublishesInFlight: 10_000,
  trimIntervalMs: 100,
  timeoutMs: 2_000,
  startTimeoutMs: 10_000,
  history: [
    { prefix: '/topic/', messages: 1000 },
    { prefix: '/topic/short.', messages: 3 },
  ],
  maxDeliveries: 0,
  maxQueueMessages: 1000,
  maxQueueBytes: 1 << 20,
} satisfies Partial<RedisBrokerOptions>;

/** Options for a describe block of Redis tests: a hang fails the block instead of the whole run. */
export const REDIS_SUITE = { timeout: 60_000 };

/** How long the fixture waits for a node's close() after a test. */
const CLOSE_WAIT_MS = 500;

/** No timer of a node made with this ever fires during a test (setInterval caps at 2^31-1 ms). */
export const NEVER_MS = 600_000;

/**
 * Per-describe fixture: one Redis for the block, nodes made per test and closed after it (a node
 * a test already closed is skipped).
 */
export function useNodes(): {
  redis: () => TestRedis;
  keys: () => KeySpace;
  node: (id: string, overrides?: Partial<RedisBrokerOptions>) => Promise<TestNode>;
} {
  let redis: TestRedis | undefined;
  let nodes: TestNode[] = [];
  let seq = 0;
  before(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    // A test that failed during an outage left Redis down: the next one needs it.
    if (redis !== undefined && !redis.running()) await redis.start();
    const closing = nodes;
    nodes = [];
    // Bounded: a close() that never settles (see redis-outage.test.ts) must not hang the file.
    await Promise.all(
      closing.map(async (n) => {
        const closed = await Promise.race([n.broker.close().then(() => true, () => true), delay(CLOSE_WAIT_MS).then(() => false)]);
        if (!closed) forceDisconnect(n.broker);
      }),
    );
  });
  after(async () => {
    await redis?.cleanup();
  });
  const r = (): TestRedis => {
    if (redis === undefined) throw new Error('Redis not started');
    return redis;
  };
  return {
    redis: r,
    keys: () => new KeySpace(r().keyPrefix, BASE_OPTIONS.partitions),
    async node(id, overrides = {}) {
      // Node ids are unique per file so that inboxes and consumers of earlier tests never mix in.
      const nodeId = `${id}${++seq}`;
      const handler = new Recorder();
      const broker = new RedisBroker({ ...BASE_OPTIONS, urls: [r().url], keyPrefix: r().keyPrefix, nodeId, ...overrides });
      await broker.start(handler);
      // Tests may close a node themselves; the fixture closes it only if they did not (a second
      // close() would disconnect a closing ioredis socket, which holds the process for 2 s).
      const close = broker.close.bind(broker);
      let closing: Promise<void> | undefined;
      broker.close = () => (closing ??= close());
      const n = { id: nodeId, broker, handler };
      nodes.push(n);
      return n;
    },
  };
}

/**
 * Drops every connection of a node whose close() did not finish: its command connection would
 * otherwise keep reconnecting and hold the test process open. Reaches into the broker's internals.
 */
export function forceDisconnect(broker: RedisBroker): void {
  const ctx = (broker as unknown as { ctx: { commands: { disconnect(): void } } }).ctx;
  ctx.commands.disconnect();
}

export const text = (s: string): Uint8Array => Buffer.from(s);
export const NONE = { names: [], values: [] };

/**
 * The next entry of `queue` on `node`, polling `take` and reporting `credit` through `want` while
 * nothing is there, as the session layer's QueueBinding does.
 */
export async function takeNext(node: TestNode, queue: string, credit: number, timeoutMs = 3_000): Promise<QueuedMessage> {
  return eventually(() => {
    const e = node.broker.take(VHOST, queue);
    if (e === undefined) node.broker.want(VHOST, queue, credit);
    return e;
  }, `an entry of ${queue} on ${node.id}`, timeoutMs);
}

/** Takes `n` entries one by one, acking each before taking the next (credit stays `credit`). */
export async function takeAndAck(node: TestNode, queue: string, n: number, credit = 5): Promise<QueuedMessage[]> {
  const got: QueuedMessage[] = [];
  while (got.length < n) {
    const e = await takeNext(node, queue, credit);
    got.push(e);
    node.broker.ack(VHOST, e);
  }
  return got;
}

export const bodyOf = (e: QueuedMessage): string => Buffer.from(e.message.body).toString();

export const range = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Waits out a short period in which something must NOT happen (kept to the minimum a check needs). */
export const settle = (ms = 100): Promise<void> => delay(ms);

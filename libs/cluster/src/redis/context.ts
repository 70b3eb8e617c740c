// What the parts of the Redis broker share: options, the command and stream-write connections, the
// readers (one per hash tag and kind, each on its own connection), whether Redis is reachable, and
// counters.
import type { BrokerHandler, HistoryPrefix, QueueLimits } from '@stompede/broker-api';
import { cmd, openConnection, type Conn } from './connection.js';
import { KeySpace } from './keys.js';
import { WAKE_FIELD } from './fields.js';
import { StreamReader, type StreamEntry } from './reader.js';

export interface ClusterLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RedisBrokerOptions extends QueueLimits {
  /** One redis:// URL, or several Redis Cluster seeds. */
  readonly urls: readonly string[];
  readonly nodeId: string;
  readonly keyPrefix: string;
  readonly partitions: number;
  readonly readCount: number;
  readonly outboxMessages: number;
  readonly outboxBytes: number;
  readonly heartbeatMs: number;
  readonly nodeTtlMs: number;
  readonly claimIdleMs: number;
  readonly janitorMs: number;
  readonly history: readonly HistoryPrefix[];
  /**
   * The prefixes wildcard patterns match under. Only destinations under one of them are announced
   * (directory.ts): the others (user destinations' per-user streams) could never match a pattern,
   * and would grow the directory that every new pattern reads whole. Undefined: every destination.
   */
  readonly patternPrefixes?: readonly string[];
  /** A topic read that returned less than a full batch waits this long before the next (0: no wait). */
  readonly readLingerMs: number;
  /** A stream's batch with no batch in flight waits this long for more before it goes (0: at the end of the turn). */
  readonly publishLingerMs: number;
  /** Hard bound of a topic stream's length; past it entries are trimmed even if a node has not read them. */
  readonly streamMaxEntries: number;
  /**
   * A destination one of whose readers lags by this many entries puts its publishers under
   * pressure (slowed: TCP reads paused, WebSocket input held); past streamMaxEntries they are refused.
   */
  readonly streamLagPressure: number;
  /** Publishes this node may have on their way to Redis before its publishers are slowed. */
  readonly maxPublishesInFlight: number;
  /** How often a node trims the streams it publishes to, and learns how far their readers lag. */
  readonly trimIntervalMs: number;
  /** A command Redis has not answered in this long fails, and Redis counts as unreachable. */
  readonly timeoutMs: number;
  /** How long start() keeps trying to reach Redis before it fails. */
  readonly startTimeoutMs: number;
  /** Delivery attempts before a queue entry is dead-lettered; 0 = unlimited. */
  readonly maxDeliveries: number;
  /** Shown in the registry (addresses, version); `RedisBroker.announce` adds to it later. */
  readonly meta?: Readonly<Record<string, string | number>>;
  readonly log?: ClusterLog;
  /**
   * Called once per topic read with the age, in ms, of the oldest entry it returned: how long a
   * message took from its XADD to this node (a metrics histogram). Clock skew between the node and
   * Redis shows up in it; negative ages count as 0.
   */
  readonly onReadLag?: (ms: number) => void;
}

export interface ClusterCounters {
  entriesRead: number;
  bytesRead: number;
  published: number;
  publishFailures: number;
  outboxDropped: number;
  reclaimed: number;
  released: number;
  deadLettered: number;
  /** Topic messages trimmed from a stream before this node read them. */
  gaps: number;
  /** Age of the oldest entry of the latest topic read (see RedisBrokerOptions.onReadLag). */
  readLagMs: number;
  /** Round trip of the latest registry heart-beat. */
  heartbeatRttMs: number;
}

export const GROUP = 'stompede';
/** How long a blocking read waits before it is re-issued (it returns early on data or a wake). */
const BLOCK_MS = 5_000;
const RETRY_MS = 250;

const SILENT: ClusterLog = { info() {}, warn() {}, error() {} };

export class RedisContext {
  readonly keys: KeySpace;
  readonly commands: Conn;
  /** Topic stream writes (publishes and the outbox), in the order they are issued. */
  readonly streamWrites: Conn;
  readonly log: ClusterLog;
  up = false;
  handler: BrokerHandler | undefined;
  readonly counters: ClusterCounters = {
    entriesRead: 0, bytesRead: 0, published: 0, publishFailures: 0, outboxDropped: 0, reclaimed: 0, released: 0, deadLettered: 0, gaps: 0,
    readLagMs: 0, heartbeatRttMs: 0,
  };
  private readonly readers = new Map<string, StreamReader>();

  constructor(readonly o: RedisBrokerOptions) {
    this.keys = new KeySpace(o.keyPrefix, o.partitions);
    this.log = o.log ?? SILENT;
    this.commands = openConnection(o.urls, `stompede:${o.nodeId}:commands`, 'commands', o.timeoutMs);
    this.streamWrites = openConnection(o.urls, `stompede:${o.nodeId}:writes`, 'writes', o.timeoutMs);
  }

  /** Both connections every command goes over are ready (readers and followers report their own). */
  get connected(): boolean {
    return this.commands.status === 'ready' && this.streamWrites.status === 'ready';
  }

  /** The queue reader for the streams with hash tag `tag` (the shared group); created on first use. */
  queueReader(
    tag: string,
    onError: (err: unknown) => Promise<void>,
    onOrphans: (key: string, entries: StreamEntry[]) => void,
  ): StreamReader {
    let r = this.readers.get(tag);
    if (r !== undefined) return r;
    const wakeKey = this.keys.wake(this.o.nodeId, tag, 'queues');
    const conn = openConnection(this.o.urls, `stompede:${this.o.nodeId}:queues:${tag}`, 'reader', this.o.timeoutMs);
    conn.on('error', () => {}); // the command connection reports outages; readers just retry
    r = new StreamReader({
      conn,
      wakeKey,
      wake: () => cmd(this.commands, 'XADD', [wakeKey, 'MAXLEN', '1', '*', WAKE_FIELD, '1']),
      readCount: this.o.readCount,
      blockMs: BLOCK_MS,
      group: { name: GROUP, consumer: this.o.nodeId, noAck: false },
      // Queue reads are sized by the consumers' credit; waiting would only delay deliveries.
      lingerMs: 0,
      onWake: (ids) => void cmd(this.commands, 'XACK', [wakeKey, GROUP, ...ids]).catch(() => {}),
      onError: async (err) => {
        await onError(err);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      },
      onOrphans,
      onRead: (entries, bytes) => this.countRead(entries, bytes),
    });
    this.readers.set(tag, r);
    return r;
  }

  /** Drops and re-opens every queue reader's connection (Redis stopped answering on this node's path). */
  reconnectReaders(): void {
    for (const r of this.readers.values()) r.reconnect();
  }

  countRead(entries: number, bytes: number): void {
    this.counters.entriesRead += entries;
    this.counters.bytesRead += bytes;
  }

  /** Stops the queue readers; returns their wake streams (nobody else reads them). */
  async closeReaders(): Promise<string[]> {
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    const wakeKeys = [...this.readers.values()].map((r) => r.wakeKey);
    this.readers.clear();
    return wakeKeys;
  }

  /** A topic read returned entries; `firstId` is the oldest one's stream id ("<ms>-<seq>"). */
  observeReadLag(firstId: Buffer): void {
    const dash = firstId.indexOf(0x2d);
    const lag = Math.max(0, Date.now() - Number(firstId.toString('latin1', 0, dash < 0 ? firstId.length : dash)));
    this.counters.readLagMs = lag;
    this.o.onReadLag?.(lag);
  }

  /** Creates the consumer group of a stream (and the stream) unless it exists. */
  async ensureGroup(key: string, from = '0'): Promise<void> {
    try {
      await cmd(this.commands, 'XGROUP', ['CREATE', key, GROUP, from, 'MKSTREAM']);
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }
}

/** Stream id "<ms>-<seq>" of a message id "<destination>@<ms>-<seq>". */
export function streamIdOf(messageId: string): string {
  return messageId.slice(messageId.lastIndexOf('@') + 1);
}

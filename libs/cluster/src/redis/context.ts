// What the parts of the Redis broker share: options, the command connection, the readers (one
// per hash tag and kind, each on its own connection), whether Redis is reachable, and counters.
import type { BrokerHandler, HistoryPrefix, QueueLimits } from '../broker.js';
import { cmd, openConnection, type Conn } from './connection.js';
import { KeySpace } from './keys.js';
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
    this.commands = openConnection(o.urls, `stompede:${o.nodeId}:commands`, 'commands');
  }

  /** The reader of `kind` for the streams with hash tag `tag`; created on first use. */
  reader(
    kind: 'topics' | 'queues',
    tag: string,
    onError?: (err: unknown) => Promise<void>,
    onOrphans?: (key: string, entries: StreamEntry[]) => void,
  ): StreamReader {
    const id = kind + tag;
    let r = this.readers.get(id);
    if (r !== undefined) return r;
    const wakeKey = this.keys.wake(this.o.nodeId, tag, kind);
    const conn = openConnection(this.o.urls, `stompede:${this.o.nodeId}:${kind}:${tag}`, 'reader');
    conn.on('error', () => {}); // the command connection reports outages; readers just retry
    r = new StreamReader({
      conn,
      wakeKey,
      wake: () => cmd(this.commands, 'XADD', [wakeKey, 'MAXLEN', '1', '*', 'w', '1']),
      readCount: this.o.readCount,
      blockMs: BLOCK_MS,
      group: kind === 'queues' ? { name: GROUP, consumer: this.o.nodeId } : undefined,
      onWake: kind === 'queues' ? (ids) => void cmd(this.commands, 'XACK', [wakeKey, GROUP, ...ids]).catch(() => {}) : undefined,
      onError: async (err) => {
        await onError?.(err);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      },
      onOrphans,
      onRead: (entries, bytes) => {
        this.counters.entriesRead += entries;
        this.counters.bytesRead += bytes;
      },
    });
    this.readers.set(id, r);
    return r;
  }

  /** Stops every reader; their wake streams go too (nobody else reads them). */
  async closeReaders(): Promise<void> {
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    const wakeKeys = [...this.readers.values()].map((r) => r.wakeKey);
    this.readers.clear();
    if (this.up) await Promise.allSettled(wakeKeys.map((k) => cmd(this.commands, 'DEL', [k])));
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

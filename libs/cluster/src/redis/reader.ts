// A blocking read loop over a changing set of streams on a dedicated connection, with XREADGROUP.
// Topic streams are read through a consumer group of this node's own (NOACK: the group is only the
// node's read position, which the trimmer leaves in place); queues through the one group all nodes
// share (nodes compete, and what a node read stays pending until acked). The streams of one reader
// share a hash tag, so one command covers them all, in Redis Cluster too. Adding a stream wakes the
// blocked read through the reader's wake stream, so the read is re-issued with it at once instead of
// at the next timeout.
import { Command } from 'ioredis';
import type { StreamEntry } from './codec.js';
import { resetConnection, type Conn } from './connection.js';

export type { StreamEntry } from './codec.js';

/** Longest close() waits for a read in flight. */
const CLOSE_WAIT_MS = 1_000;

export interface ReadTarget {
  /** Id of the last entry read (a topic group is re-created there if Redis loses it). */
  lastId: string;
  /** How many entries this stream may take now (queues: the consumers' credit); 0 leaves it out of the read; undefined: no limit. */
  readonly demand?: number;
  onEntries(entries: StreamEntry[]): void;
}

export interface ReaderOptions {
  readonly conn: Conn;
  /** Issues the wake XADD (on the command connection: never on the blocked one). */
  readonly wake: () => Promise<unknown>;
  readonly wakeKey: string;
  readonly readCount: number;
  readonly blockMs: number;
  readonly group: { readonly name: string; readonly consumer: string; readonly noAck: boolean };
  /**
   * After a read that returned fewer entries than it could have, wait this long before the next
   * one: at low rates each read then takes several entries instead of one (CPU), at the cost of up
   * to this much latency.
   */
  readonly lingerMs: number;
  onWake?(ids: string[]): void;
  onError(err: unknown): Promise<void>;
  onRead?(entries: number, bytes: number): void;
  /**
   * Entries for a stream removed while the read was out. For a shared queue group they are now
   * pending for this node, so they must not be dropped.
   */
  onOrphans?(key: string, entries: StreamEntry[]): void;
}

export class StreamReader {
  private readonly streams = new Map<string, ReadTarget>();
  private blocked = false;
  /** The streams the read in flight covers. */
  private reading = new Set<string>();
  /** The read command, kept while the streams read and their demand stay the same. */
  private read: PreparedRead | undefined;
  private closed = false;
  private parked: (() => void) | undefined;
  private lingering: NodeJS.Timeout | undefined;
  /** Fails the read in flight: its connection closed (ioredis drops such a command unsettled). */
  private abandon: ((err: Error) => void) | undefined;
  private readonly done: Promise<void>;

  constructor(private readonly o: ReaderOptions) {
    o.conn.on('close', () => this.abandon?.(new Error('the reader\'s connection to Redis closed')));
    this.done = this.loop();
  }

  get wakeKey(): string {
    return this.o.wakeKey;
  }

  get size(): number {
    return this.streams.size;
  }

  has(key: string): boolean {
    return this.streams.has(key);
  }

  target(key: string): ReadTarget | undefined {
    return this.streams.get(key);
  }

  /** Every stream read, with its target. */
  entries(): IterableIterator<[string, ReadTarget]> {
    return this.streams.entries();
  }

  add(key: string, target: ReadTarget): void {
    this.streams.set(key, target);
    this.read = undefined;
    this.poke(key);
  }

  /** Stops reading `key`; a read in flight that covers it is woken, so it stops claiming entries for it. */
  remove(key: string): void {
    this.streams.delete(key);
    this.read = undefined;
    if (this.blocked && this.reading.has(key) && !this.o.group.noAck) this.o.wake().catch(() => {});
  }

  /**
   * Stream `key` was added or now has demand: make sure a read covers it. A parked loop resumes; a
   * blocked read that does not include the stream is woken so it is re-issued with it.
   */
  poke(key?: string): void {
    if (this.parked !== undefined) {
      const resume = this.parked;
      this.parked = undefined;
      resume();
    } else if (this.blocked && (key === undefined || !this.reading.has(key))) {
      this.o.wake().catch(() => {});
    }
  }

  /**
   * Drops the connection with a reset and opens it again: a read in flight fails, and the loop goes
   * on (onError). A reset, so that a read still unsent cannot reach Redis later and move a group on.
   */
  reconnect(): void {
    if (!this.closed) resetConnection(this.o.conn);
  }

  /**
   * Stops the loop. A read in flight on a connection that is reconnecting may never settle (ioredis
   * holds it for a resend), so the wait for the loop is bounded.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.lingering);
    this.poke();
    this.o.conn.disconnect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const read = this.prepare();
      if (read === undefined) {
        await new Promise<void>((resolve) => (this.parked = resolve));
        continue;
      }
      let reply: unknown;
      this.blocked = true;
      try {
        const lost = new Promise<never>((_, reject) => (this.abandon = reject));
        reply = await Promise.race([this.send(read), lost]);
      } catch (err) {
        this.blocked = false;
        if (this.closed) return;
        await this.o.onError(err);
        continue;
      } finally {
        this.blocked = false;
        this.abandon = undefined;
      }
      const entries = reply === null ? 0 : this.dispatch(reply as [Buffer, StreamEntry[]][]);
      if (entries > 0 && entries < this.o.readCount && this.o.lingerMs > 0) await this.linger();
    }
  }

  /**
   * The read for the streams that can take entries now (undefined if none can): the one before,
   * while the streams are the same and none has a demand (topic readers, between subscription
   * changes), since demand changes without a call here.
   */
  private prepare(): PreparedRead | undefined {
    if (this.read !== undefined) return this.read;
    const keys: string[] = [];
    let count = 0;
    let demand = false;
    for (const [key, t] of this.streams) {
      if (t.demand !== undefined) {
        demand = true;
        if (t.demand <= 0) continue;
        count = Math.max(count, t.demand);
      } else {
        count = this.o.readCount;
      }
      keys.push(key);
    }
    if (keys.length === 0) return undefined;
    this.reading = new Set(keys);
    const g = this.o.group;
    const args = [
      'GROUP', g.name, g.consumer, 'COUNT', Math.min(count, this.o.readCount), 'BLOCK', this.o.blockMs, ...(g.noAck ? ['NOACK'] : []),
      'STREAMS', this.o.wakeKey, ...keys, '>', ...keys.map(() => '>'),
    ];
    if (demand) return { args, bytes: undefined };
    // Encoded once, here, only for a read that will be sent again as it is.
    this.read = { args, bytes: toBuffer(new Command('xreadgroup', args).toWritable({})) };
    return this.read;
  }

  /** Sends the read with bulk replies as Buffers (bodies stay bytes, no UTF-8 round trip). */
  private send(read: PreparedRead): Promise<unknown> {
    const command = new PreparedCommand(read);
    void this.o.conn.sendCommand(command);
    return command.promise;
  }

  private linger(): Promise<void> {
    return new Promise((resolve) => (this.lingering = setTimeout(resolve, this.o.lingerMs)));
  }

  /** Hands every stream's entries to its target; returns how many entries were read. */
  private dispatch(reply: [Buffer, StreamEntry[]][]): number {
    let entries = 0;
    let bytes = 0;
    for (const [keyBuf, list] of reply) {
      const key = keyBuf.toString();
      if (list.length === 0) continue;
      if (key === this.o.wakeKey) {
        this.o.onWake?.(list.map((e) => e[0].toString()));
        continue;
      }
      const target = this.streams.get(key);
      if (target === undefined) {
        this.o.onOrphans?.(key, list);
        continue;
      }
      target.lastId = list[list.length - 1]![0].toString();
      entries += list.length;
      for (const [, fields] of list) for (const f of fields) bytes += f.length;
      target.onEntries(list);
    }
    if (entries > 0) this.o.onRead?.(entries, bytes);
    return entries;
  }
}

/** A read command's arguments (for ioredis: the key slot in Redis Cluster) and, for a read kept to be sent again, its RESP bytes. */
interface PreparedRead {
  readonly args: readonly (string | number)[];
  readonly bytes: Buffer | undefined;
}

/**
 * XREADGROUP written, when the read is kept, as bytes ioredis encoded once. Left to itself,
 * ioredis encodes a command afresh on every send by concatenating strings, and a topic reader
 * re-sends the same read after every reply: that was a kilobyte of garbage per read on the reading node's busiest path.
 * Overriding `toWritable` is how ioredis's own Script commands change what is written.
 */
class PreparedCommand extends Command {
  private readonly bytes: Buffer | undefined;

  constructor(read: PreparedRead) {
    // ioredis copies the arguments (flat()), so the prepared ones are never changed.
    super('xreadgroup', read.args as (string | number)[], { replyEncoding: null });
    this.bytes = read.bytes;
  }

  override toWritable(socket: object): string | Buffer {
    return this.bytes ?? super.toWritable(socket);
  }
}

function toBuffer(writable: string | Buffer): Buffer {
  return typeof writable === 'string' ? Buffer.from(writable) : writable;
}

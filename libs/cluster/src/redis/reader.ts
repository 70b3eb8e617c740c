// A blocking read loop over a changing set of streams on a dedicated connection. Topics use XREAD
// (every node reads the streams it is interested in); queues use XREADGROUP (nodes compete). The
// streams of one reader share a hash tag, so one command covers them all, in Redis Cluster too.
// Adding a stream wakes the blocked read through the reader's wake stream, so the read is re-issued
// with it at once instead of at the next timeout.
import { cmdBuffer, type Conn } from './connection.js';

/** Longest close() waits for a read in flight. */
const CLOSE_WAIT_MS = 1_000;

export type StreamEntry = [id: Buffer, fields: Buffer[]];

export interface ReadTarget {
  /** XREAD: the last id read (exclusive start of the next read). */
  lastId: string;
  /** XREADGROUP: how many entries this stream may take now; 0 leaves it out of the read. */
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
  /** XREADGROUP group and consumer; XREAD when absent. */
  readonly group?: { readonly name: string; readonly consumer: string };
  onWake?(ids: string[]): void;
  onError(err: unknown): Promise<void>;
  onRead?(entries: number, bytes: number): void;
  /**
   * Entries for a stream removed while the read was out. For XREADGROUP they are now pending for
   * this node, so they must not be dropped.
   */
  onOrphans?(key: string, entries: StreamEntry[]): void;
}

export class StreamReader {
  private readonly streams = new Map<string, ReadTarget>();
  private wakeId = '0-0';
  private blocked = false;
  /** The streams the read in flight covers. */
  private reading = new Set<string>();
  private closed = false;
  private parked: (() => void) | undefined;
  private readonly done: Promise<void>;

  constructor(private readonly o: ReaderOptions) {
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

  add(key: string, target: ReadTarget): void {
    this.streams.set(key, target);
    this.poke(key);
  }

  /** Stops reading `key`; a read in flight that covers it is woken, so it stops claiming entries for it. */
  remove(key: string): void {
    this.streams.delete(key);
    if (this.blocked && this.reading.has(key) && this.o.group !== undefined) this.o.wake().catch(() => {});
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
   * Stops the loop. A read in flight on a connection that is reconnecting may never settle (ioredis
   * holds it for a resend), so the wait for the loop is bounded.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.poke();
    this.o.conn.disconnect();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const keys: string[] = [];
      const ids: string[] = [];
      let count = 0;
      for (const [key, t] of this.streams) {
        if (this.o.group !== undefined) {
          const demand = t.demand ?? 0;
          if (demand <= 0) continue;
          count = Math.max(count, demand);
          ids.push('>');
        } else {
          ids.push(t.lastId);
        }
        keys.push(key);
      }
      if (keys.length === 0) {
        await new Promise<void>((resolve) => (this.parked = resolve));
        continue;
      }
      count = this.o.group === undefined ? this.o.readCount : Math.min(count, this.o.readCount);
      const args = this.o.group === undefined
        ? ['COUNT', count, 'BLOCK', this.o.blockMs, 'STREAMS', this.o.wakeKey, ...keys, this.wakeId, ...ids]
        : ['GROUP', this.o.group.name, this.o.group.consumer, 'COUNT', count, 'BLOCK', this.o.blockMs, 'STREAMS', this.o.wakeKey, ...keys, '>', ...ids];
      let reply: unknown;
      this.reading = new Set(keys);
      this.blocked = true;
      try {
        reply = await cmdBuffer(this.o.conn, this.o.group === undefined ? 'XREAD' : 'XREADGROUP', args);
      } catch (err) {
        this.blocked = false;
        if (this.closed) return;
        await this.o.onError(err);
        continue;
      } finally {
        this.blocked = false;
      }
      if (reply !== null) this.dispatch(reply as [Buffer, StreamEntry[]][]);
    }
  }

  private dispatch(reply: [Buffer, StreamEntry[]][]): void {
    let entries = 0;
    let bytes = 0;
    for (const [keyBuf, list] of reply) {
      const key = keyBuf.toString();
      if (list.length === 0) continue;
      if (key === this.o.wakeKey) {
        this.wakeId = list[list.length - 1]![0].toString();
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
  }
}

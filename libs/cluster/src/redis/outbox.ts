// Topic messages published while Redis is unreachable, in order, bounded by count and bytes. They
// were already delivered to this node's subscribers; other nodes get them when Redis returns.
import { Deque } from '@stompede/broker-api';

export interface OutboxEntry {
  readonly key: string;
  readonly maxlen: number;
  readonly payload: Buffer;
  /** "<incarnation>:<seq>", as on every entry the node publishes (topics.ts). */
  readonly origin: string;
  /** The seq of `origin`: the stream must get this node's messages in seq order (origin.ts). */
  readonly seq: number;
}

export class Outbox {
  private readonly entries = new Deque<OutboxEntry>();
  bytes = 0;
  /** Highest seq kept, per stream (insertInOrder appends when it can). */
  private readonly lastSeq = new Map<string, number>();

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.entries.length;
  }

  /** False when the entry does not fit: the caller counts it as dropped. */
  push(entry: OutboxEntry): boolean {
    if (this.entries.length >= this.maxMessages || this.bytes + entry.payload.length > this.maxBytes) return false;
    this.entries.push(entry);
    this.bytes += entry.payload.length;
    this.noteSeq(entry);
    return true;
  }

  private noteSeq(entry: OutboxEntry): void {
    if (entry.seq > (this.lastSeq.get(entry.key) ?? 0)) this.lastSeq.set(entry.key, entry.seq);
  }

  /**
   * Adds messages of one stream whose publish failed after later messages of the same stream were
   * already kept here (they were in flight when Redis stopped answering): each goes before the
   * first kept entry of its stream with a higher seq, so the stream still gets them in seq order
   * and readers do not take the late ones for repeats. Returns how many did not fit (dropped).
   */
  insertInOrder(entries: readonly OutboxEntry[]): number {
    if (entries.length === 0) return 0;
    if (entries[0]!.seq > (this.lastSeq.get(entries[0]!.key) ?? 0)) return entries.filter((e) => !this.push(e)).length;
    let fit = 0;
    let bytes = this.bytes;
    while (fit < entries.length && this.length + fit < this.maxMessages && bytes + entries[fit]!.payload.length <= this.maxBytes) {
      bytes += entries[fit++]!.payload.length;
    }
    const kept = this.drain();
    let next = 0;
    for (const e of kept) {
      while (next < fit && entries[next]!.key === e.key && entries[next]!.seq < e.seq) this.entries.push(entries[next++]!);
      this.entries.push(e);
    }
    while (next < fit) this.entries.push(entries[next++]!);
    for (const e of this.entries) this.noteSeq(e);
    this.bytes = bytes;
    return entries.length - fit;
  }

  /** Puts entries that could not be sent back in front, in their order. */
  restore(entries: readonly OutboxEntry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      this.entries.unshift(entries[i]!);
      this.bytes += entries[i]!.payload.length;
      this.noteSeq(entries[i]!);
    }
  }

  drain(): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    let e: OutboxEntry | undefined;
    while ((e = this.entries.shift()) !== undefined) out.push(e);
    this.bytes = 0;
    this.lastSeq.clear();
    return out;
  }
}

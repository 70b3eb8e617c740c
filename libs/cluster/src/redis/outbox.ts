// Topic messages published while Redis is unreachable, in order, bounded by count and bytes. They
// were already delivered to this node's subscribers; other nodes get them when Redis returns.
import { Deque } from '../deque.js';

export interface OutboxEntry {
  readonly key: string;
  readonly maxlen: number;
  readonly payload: Buffer;
  /** "<incarnation>:<seq>", as on every entry the node publishes (topics.ts). */
  readonly origin: string;
}

export class Outbox {
  private readonly entries = new Deque<OutboxEntry>();
  bytes = 0;

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
    return true;
  }

  /** Puts entries that could not be sent back in front, in their order. */
  restore(entries: readonly OutboxEntry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      this.entries.unshift(entries[i]!);
      this.bytes += entries[i]!.payload.length;
    }
  }

  drain(): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    let e: OutboxEntry | undefined;
    while ((e = this.entries.shift()) !== undefined) out.push(e);
    this.bytes = 0;
    return out;
  }
}

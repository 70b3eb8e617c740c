// What the origin mark of each entry of one stream tells the node reading it. Every entry a node
// publishes carries "<incarnation>:<seq>" (fields.ts's ORIGIN_FIELD): a random id of the publishing
// process and a counter per stream. From them a reader sees
// - repeats: a message whose XADD failed in flight may have been stored anyway, then sent again from
//   the outbox; it is skipped the second time (invariant F3);
// - its own messages delivered straight to local subscribers during a Redis outage, skipped when
//   they come back from the stream (F3, F4);
// - gaps: a seq that jumps means messages were trimmed before this node read them (or Redis lost
//   them); the count goes on the wire (x-resume-gap) and into stompede_cluster_gaps_total.
// No Redis here: this is bookkeeping, tested on its own (libs/cluster/test/origin.test.ts).
import { Deque } from '@stompede/broker-api';

/** One of this node's messages, sent to the stream and not read back yet. */
export interface OwnMessage {
  readonly seq: number;
  readonly payload: Buffer;
}

export interface Verdict {
  /** Passed on already (a repeat, or delivered here during an outage): the reader drops it. */
  readonly alreadyDelivered: boolean;
  /** Messages of the same publisher that should have come before this one and never will. */
  readonly missing: number;
}

/** Own messages remembered per stream (only matters for the order of local delivery across an outage). */
export const MAX_OWN = 10_000;
/** Publishing processes remembered per stream. */
const MAX_INCARNATIONS = 10_000;

export class OriginTracker {
  /** Highest seq passed on, per publishing incarnation. */
  private readonly seen = new Map<string, number>();
  /** Seqs of this node's messages its subscribers got during an outage, straight from the publisher. */
  private readonly local = new Set<number>();
  /** This node's messages sent to the stream and not read back yet, oldest first. */
  private readonly transit = new Deque<OwnMessage>();

  /** `self` is this process's current incarnation (it changes when the publisher renumbers). */
  constructor(private readonly self: () => string) {}

  /** This node sent one of its messages to the stream. */
  sent(message: OwnMessage): void {
    if (this.transit.length >= MAX_OWN) this.transit.shift();
    this.transit.push(message);
  }

  /** This node delivered one of its messages to its own subscribers without the stream (an outage). */
  deliveredHere(seq: number): void {
    this.local.add(seq);
    // A Set keeps insertion order: the oldest goes first.
    if (this.local.size > MAX_OWN) this.local.delete(this.local.values().next().value!);
  }

  /** Whether this node's message `seq` was delivered to its subscribers without the stream. */
  wasDeliveredHere(seq: number): boolean {
    return this.local.has(seq);
  }

  /** This node's message `seq` failed and its publisher was told: it is no longer on its way back. */
  forget(seq: number): void {
    const kept = [...this.transit].filter((t) => t.seq !== seq);
    if (kept.length === this.transit.length) return;
    while (this.transit.shift() !== undefined);
    for (const t of kept) this.transit.push(t);
  }

  /** This node's messages up to `seq` that were sent and not read back yet, oldest first; forgotten here. */
  takeSentUpTo(seq: number): OwnMessage[] {
    const out: OwnMessage[] = [];
    for (let t = this.transit.shift(); t !== undefined; t = this.transit.shift()) {
      if (t.seq > seq) {
        this.transit.unshift(t);
        break;
      }
      out.push(t);
    }
    return out;
  }

  /** An entry marked `origin` was read from the stream. */
  read(origin: string): Verdict {
    const colon = origin.lastIndexOf(':');
    const incarnation = origin.slice(0, colon);
    const seq = Number(origin.slice(colon + 1));
    const last = this.seen.get(incarnation);
    // A repeat of one already passed on (F3: a publish resent from the outbox after its first try
    // was stored): delivering it would be a duplicate.
    if (last !== undefined && seq <= last) return { alreadyDelivered: true, missing: 0 };
    const own = incarnation === this.self();
    let missing = 0;
    if (last !== undefined && seq > last + 1) {
      missing = seq - last - 1;
      // This node's own messages that never reached the stream (dropped from a full outbox) were
      // delivered here: not missing for this node.
      if (own) for (let k = last + 1; k < seq; k++) if (this.local.delete(k)) missing--;
    }
    this.remember(incarnation, seq);
    if (!own) return { alreadyDelivered: false, missing };
    this.takeSentUpTo(seq);
    return { alreadyDelivered: this.local.delete(seq), missing };
  }

  private remember(incarnation: string, seq: number): void {
    if (!this.seen.has(incarnation) && this.seen.size >= MAX_INCARNATIONS) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(incarnation, seq);
  }
}

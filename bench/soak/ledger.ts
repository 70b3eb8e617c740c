// What the soak's clients sent, what the broker confirmed and what came back, and the loss
// accounting over it. Pure: no sockets, so bench/test/soak-ledger.test.ts checks the definitions.
//
// Topics. A publisher numbers its SENDs 1, 2, 3, ... across its connections, each with a receipt.
// A SEND is *confirmed* when its RECEIPT came (in cluster mode: the message is in Redis). A SEND
// whose connection was lost before the RECEIPT is *unconfirmed*: it may or may not have been
// published, so it is neither required nor forbidden anywhere. A long-lived subscriber's window on a
// publisher starts at the first message it got from it; from there every confirmed number up to the
// publisher's last confirmed one must arrive exactly once, across the subscriber's reconnects (it
// resumes with x-resume-after). Numbers the broker *told* it had lost (x-resume-gap on the first
// message of a resumed subscription: the history no longer reached back) are counted apart as told
// gaps; everything else missing is silent loss.
//
// Queues. A producer numbers its SENDs the same way, with receipts. An ACK is *confirmed* when its
// RECEIPT came. Every confirmed SEND must end with exactly one confirmed ACK; NACKed messages come
// back (redelivered) and are acked then. Two confirmed ACKs of one message mean it was delivered
// again after it was acked: a duplicate.

/** Per-sequence-number counters (numbers start at 1), grown on demand, saturating at 255. */
export class SeqCounts {
  private counts = new Uint8Array(1024);
  /** Highest number counted. */
  max = 0;

  get(seq: number): number {
    return seq < this.counts.length ? this.counts[seq]! : 0;
  }

  add(seq: number): number {
    if (!Number.isInteger(seq) || seq < 1) throw new Error(`sequence numbers start at 1, got ${seq}`);
    if (seq >= this.counts.length) {
      const grown = new Uint8Array(Math.max(seq + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    const n = Math.min(255, this.counts[seq]! + 1);
    this.counts[seq] = n;
    if (seq > this.max) this.max = seq;
    return n;
  }
}

/** A few examples of a list that may be long, for the report. */
function firstFew(xs: number[], n = 10): number[] {
  return xs.slice(0, n);
}

interface Reception {
  readonly got: SeqCounts;
  first: number;
  /** Inclusive ranges the broker told this subscriber it lost. */
  readonly told: [number, number][];
}

export interface PairAccount {
  readonly subscriber: string;
  readonly publisher: number;
  /** First number received from this publisher (0: none). */
  readonly first: number;
  /** Confirmed numbers in [first, the publisher's last confirmed]. */
  readonly expected: number;
  readonly received: number;
  /** Confirmed numbers missing and not told. */
  readonly silentLoss: number;
  /** Confirmed numbers missing inside ranges the broker told. */
  readonly toldLoss: number;
  /** Numbers received more than once. */
  readonly duplicates: number;
  readonly examples: number[];
}

export class TopicLedger {
  private readonly confirmed = new Map<number, SeqCounts>();
  private readonly receptions = new Map<string, Reception>();

  confirm(publisher: number, seq: number): void {
    this.confirmedOf(publisher).add(seq);
  }

  isConfirmed(publisher: number, seq: number): boolean {
    return (this.confirmed.get(publisher)?.get(seq) ?? 0) > 0;
  }

  lastConfirmed(publisher: number): number {
    return this.confirmed.get(publisher)?.max ?? 0;
  }

  /** A long-lived subscriber got number `seq` of `publisher`. */
  receive(subscriber: string, publisher: number, seq: number): void {
    const r = this.reception(subscriber, publisher);
    if (r.first === 0 || seq < r.first) r.first = seq;
    r.got.add(seq);
  }

  /** The broker told `subscriber` that numbers from..to of `publisher` are lost to it. */
  told(subscriber: string, publisher: number, from: number, to: number): void {
    if (to >= from) this.reception(subscriber, publisher).told.push([from, to]);
  }

  /** Highest number `subscriber` got from `publisher` (0: none). */
  lastReceived(subscriber: string, publisher: number): number {
    return this.receptions.get(`${subscriber}\u0000${publisher}`)?.got.max ?? 0;
  }

  /** Whether every subscriber has everything it should have (the settle phase waits for this). */
  settled(subscribers: readonly string[], publishers: readonly number[]): boolean {
    return subscribers.every((s) => publishers.every((p) => this.lastReceived(s, p) >= this.lastConfirmed(p)));
  }

  account(subscribers: readonly string[], publishers: readonly number[]): PairAccount[] {
    return subscribers.flatMap((s) => publishers.map((p) => this.pair(s, p)));
  }

  private pair(subscriber: string, publisher: number): PairAccount {
    const r = this.receptions.get(`${subscriber}\u0000${publisher}`);
    const confirmed = this.confirmedOf(publisher);
    const last = confirmed.max;
    if (r === undefined) {
      let expected = 0;
      for (let seq = 1; seq <= last; seq++) if (confirmed.get(seq) > 0) expected++;
      return { subscriber, publisher, first: 0, expected, received: 0, silentLoss: expected, toldLoss: 0, duplicates: 0, examples: [] };
    }
    let expected = 0;
    let received = 0;
    let duplicates = 0;
    const silent: number[] = [];
    let toldLoss = 0;
    for (let seq = r.first; seq <= Math.max(last, r.got.max); seq++) {
      const n = r.got.get(seq);
      if (n > 0) received++;
      if (n > 1) duplicates++;
      if (confirmed.get(seq) === 0 || seq > last) continue;
      expected++;
      if (n > 0) continue;
      if (r.told.some(([a, b]) => seq >= a && seq <= b)) toldLoss++;
      else silent.push(seq);
    }
    return { subscriber, publisher, first: r.first, expected, received, silentLoss: silent.length, toldLoss, duplicates, examples: firstFew(silent) };
  }

  private confirmedOf(publisher: number): SeqCounts {
    let c = this.confirmed.get(publisher);
    if (c === undefined) this.confirmed.set(publisher, (c = new SeqCounts()));
    return c;
  }

  private reception(subscriber: string, publisher: number): Reception {
    const key = `${subscriber}\u0000${publisher}`;
    let r = this.receptions.get(key);
    if (r === undefined) this.receptions.set(key, (r = { got: new SeqCounts(), first: 0, told: [] }));
    return r;
  }
}

/**
 * One short-lived (churn) subscription: what it got of each publisher. Its numbers must be
 * contiguous from its first to its last: a confirmed number missing in between is lost.
 */
export class ChurnSession {
  private readonly got = new Map<number, Set<number>>();

  receive(publisher: number, seq: number): void {
    let s = this.got.get(publisher);
    if (s === undefined) this.got.set(publisher, (s = new Set()));
    s.add(seq);
  }

  get messages(): number {
    let n = 0;
    for (const s of this.got.values()) n += s.size;
    return n;
  }

  /** Numbers missing between the first and the last received, per publisher. */
  holes(): { publisher: number; seq: number }[] {
    const out: { publisher: number; seq: number }[] = [];
    for (const [publisher, s] of this.got) {
      const xs = [...s].sort((a, b) => a - b);
      for (let seq = xs[0]!; seq <= xs.at(-1)!; seq++) if (!s.has(seq)) out.push({ publisher, seq });
    }
    return out;
  }
}

/** Churn holes that are real loss: numbers the publisher had confirmed. */
export function churnLoss(holes: readonly { publisher: number; seq: number }[], ledger: TopicLedger): { publisher: number; seq: number }[] {
  return holes.filter((h) => ledger.isConfirmed(h.publisher, h.seq));
}

export interface QueueAccount {
  readonly confirmedSends: number;
  readonly unconfirmedSends: number;
  readonly deliveries: number;
  readonly redeliveries: number;
  readonly nacks: number;
  readonly ackedOnce: number;
  /** Confirmed SENDs without a confirmed ACK at the end. */
  readonly lost: number;
  /** ... of which never delivered at all. */
  readonly neverDelivered: number;
  /** Messages with more than one confirmed ACK. */
  readonly duplicates: number;
  readonly examples: string[];
}

export class QueueLedger {
  private readonly sent = new Map<number, SeqCounts>();
  private readonly confirmedSends = new Map<number, SeqCounts>();
  private readonly delivered = new Map<number, SeqCounts>();
  private readonly acked = new Map<number, SeqCounts>();
  deliveries = 0;
  redeliveries = 0;
  nacks = 0;

  written(producer: number, seq: number): void {
    this.of(this.sent, producer).add(seq);
  }

  confirm(producer: number, seq: number): void {
    this.of(this.confirmedSends, producer).add(seq);
  }

  deliver(producer: number, seq: number, redelivered: boolean): void {
    this.deliveries++;
    if (redelivered) this.redeliveries++;
    this.of(this.delivered, producer).add(seq);
  }

  nack(): void {
    this.nacks++;
  }

  ack(producer: number, seq: number): void {
    this.of(this.acked, producer).add(seq);
  }

  /** Every confirmed SEND has a confirmed ACK (the settle phase waits for this). */
  settled(): boolean {
    for (const [producer, confirmed] of this.confirmedSends) {
      const acked = this.of(this.acked, producer);
      for (let seq = 1; seq <= confirmed.max; seq++) if (confirmed.get(seq) > 0 && acked.get(seq) === 0) return false;
    }
    return true;
  }

  account(): QueueAccount {
    let confirmedSends = 0;
    let unconfirmedSends = 0;
    let ackedOnce = 0;
    let neverDelivered = 0;
    let duplicates = 0;
    const lost: string[] = [];
    for (const [producer, sent] of this.sent) {
      const confirmed = this.of(this.confirmedSends, producer);
      const acked = this.of(this.acked, producer);
      const delivered = this.of(this.delivered, producer);
      for (let seq = 1; seq <= Math.max(sent.max, acked.max); seq++) {
        const a = acked.get(seq);
        if (a === 1) ackedOnce++;
        if (a > 1) duplicates++;
        if (confirmed.get(seq) === 0) {
          if (sent.get(seq) > 0) unconfirmedSends++;
          continue;
        }
        confirmedSends++;
        if (a > 0) continue;
        lost.push(`${producer}:${seq}`);
        if (delivered.get(seq) === 0) neverDelivered++;
      }
    }
    return {
      confirmedSends, unconfirmedSends, deliveries: this.deliveries, redeliveries: this.redeliveries, nacks: this.nacks,
      ackedOnce, lost: lost.length, neverDelivered, duplicates, examples: lost.slice(0, 10),
    };
  }

  private of(m: Map<number, SeqCounts>, producer: number): SeqCounts {
    let c = m.get(producer);
    if (c === undefined) m.set(producer, (c = new SeqCounts()));
    return c;
  }
}

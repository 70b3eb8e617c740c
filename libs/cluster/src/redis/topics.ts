// Topics over Redis Streams. Every destination has one stream; a publish is one XADD. A node reads
// (blocking XREAD) only the streams of destinations it has local subscribers for, and while Redis is
// up its own subscribers get their messages back from the stream too, so every node delivers a
// destination in the one order of its stream and the stream id is the message-id.
// Wildcard subscriptions find their destinations through directory.ts; history is history.ts.
import { randomBytes } from 'node:crypto';
import { BrokerUnavailableError, historyLength, type Completion } from '../broker.js';
import { Deque } from '../deque.js';
import { copyBytes, Message, type UserHeaders } from '../message.js';
import { formatMessageId, PositionClock } from '../message-id.js';
import { decodeEntry, encodeEntry, field, ORIGIN_FIELD } from './codec.js';
import { cmdBuffer } from './connection.js';
import type { RedisContext } from './context.js';
import { Directory } from './directory.js';
import { KeySpace } from './keys.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import type { ReadTarget, StreamEntry } from './reader.js';
import { ANNOUNCE, run } from './scripts.js';

const MAX_ANNOUNCED_CACHE = 100_000;
/** Streams keep at least this many reads' worth of entries, so a node that lags a little loses nothing. */
const READ_BACKLOG_READS = 10;
/** Streams this node keeps a publish seq for before starting a new incarnation. */
const MAX_SEQ_STREAMS = 100_000;
/** Own messages remembered per stream until read back (only matters for order during an outage). */
const MAX_TRANSIT = 10_000;

interface Watched {
  readonly key: string;
  readonly vhost: string;
  readonly destination: string;
  /** An exact subscription exists (else it is read for wildcard subscriptions only). */
  exact: boolean;
  /** Highest seq read from the stream per publishing incarnation (see TopicPlane.incarnation). */
  readonly seen: Map<string, number>;
  /** Seqs of this node's messages its subscribers got during an outage, straight from the publisher. */
  readonly local: Set<number>;
  /** This node's messages sent to the stream and not read back yet, oldest first. */
  readonly transit: Deque<{ readonly seq: number; readonly payload: Buffer }>;
  /** Not reading yet: the start position could not be fetched (Redis down); retried on reconnect. */
  waiting: boolean;
  readonly target: ReadTarget;
}


export class TopicPlane {
  private readonly watched = new Map<string, Watched>();
  private readonly directory: Directory;
  private readonly announced = new Map<string, Promise<void> | true>();
  readonly outbox: Outbox;
  private readonly clock = new PositionClock();
  /**
   * Every entry this node publishes carries "<incarnation>:<seq>" (ORIGIN_FIELD), seq counting up
   * per stream. A message whose XADD failed in flight may still have been stored, and goes out
   * again from the outbox: readers skip an origin's entries at or below the last seq they passed
   * on, so neither that copy nor the node's own outage deliveries arrive twice. A seq that jumps
   * is a gap: entries trimmed before this node read them (it fell further behind than the stream
   * keeps), counted and logged instead of passing silently.
   */
  private incarnation = randomBytes(4).toString('hex');
  private readonly seqs = new Map<string, number>();
  private lastGapLogMs = 0;
  /** Set while the outbox is being sent after an outage. */
  private flushing: Promise<void> | undefined;
  private dropping = false;

  constructor(private readonly ctx: RedisContext) {
    this.directory = new Directory(ctx, {
      discover: (vhost, destination, startId) => this.discover(vhost, destination, startId),
      releaseUnmatched: (vhost) => {
        for (const w of [...this.watched.values()]) if (w.vhost === vhost && !w.exact) this.release(w);
      },
      tailId: (key) => this.tailId(key),
    });
    this.outbox = new Outbox(ctx.o.outboxMessages, ctx.o.outboxBytes);
  }

  get watchedStreams(): number {
    return this.watched.size;
  }

  patterns(): string[] {
    return [...this.watched.values()].filter((w) => w.exact).map((w) => `${w.vhost} ${w.destination}`);
  }

  // ---------------------------------------------------------------- publish

  publish(vhost: string, destination: string, headers: UserHeaders, body: Uint8Array, durable: boolean): Completion {
    const key = this.ctx.keys.topic(vhost, destination);
    const maxlen = this.maxlen(destination);
    if (!this.ctx.up) return this.offline(vhost, destination, key, maxlen, headers, body, durable);
    if (this.flushing !== undefined) {
      // The outbox goes out first, so the stream keeps the order in which this node published.
      if (!durable) return this.offline(vhost, destination, key, maxlen, headers, body, false);
      const copy = { headers, body: copyBytes(body) };
      return this.flushing.then(() => this.publish(vhost, destination, copy.headers, copy.body, true));
    }
    const payload = encodeEntry(headers, body);
    const seq = this.nextSeq(key);
    const origin = `${this.incarnation}:${seq}`;
    const send = (): Promise<unknown> => cmdBuffer(this.ctx.commands, 'XADD', [key, 'MAXLEN', '~', maxlen, '*', 'd', payload, ORIGIN_FIELD, origin]);
    const w = this.watched.get(key);
    if (w !== undefined && !w.waiting) {
      if (w.transit.length >= MAX_TRANSIT) w.transit.shift();
      w.transit.push({ seq, payload });
    }
    const announcing = this.announce(vhost, destination);
    const done = (announcing === undefined ? send() : announcing.then(send)).then(
      () => {
        this.ctx.counters.published++;
      },
      (err: unknown) => {
        this.ctx.counters.publishFailures++;
        if (durable) throw new BrokerUnavailableError(`the message could not be stored in Redis: ${(err as Error).message}`);
        // Whether the XADD was applied is unknown; sending it again risks a duplicate, which beats a loss.
        const copy = decodeEntry(payload);
        this.offline(vhost, destination, key, maxlen, copy.headers, copy.body, false, seq);
      },
    );
    if (durable) return done;
  }

  /** Redis is unreachable: deliver here now, keep the message for the other nodes. */
  private offline(
    vhost: string, destination: string, key: string, maxlen: number, headers: UserHeaders, body: Uint8Array, durable: boolean,
    seq = this.nextSeq(key),
  ): Completion {
    if (durable) return Promise.reject(new BrokerUnavailableError('Redis is unreachable, so the message cannot be made durable; try again.'));
    const handler = this.ctx.handler;
    // This node's subscribers get it now (after its own earlier messages that were still on their
    // way back from the stream): when it comes back from the stream, it is skipped.
    const w = this.watched.get(key);
    const alreadyDelivered = w !== undefined && this.deliverTransit(w, vhost, seq);
    if (w !== undefined) remember(w.local, seq);
    const payload = encodeEntry(headers, body);
    if (!this.outbox.push({ key, maxlen, payload, origin: `${this.incarnation}:${seq}` })) {
      this.ctx.counters.outboxDropped++;
      if (!this.dropping) {
        this.dropping = true;
        this.ctx.log.warn({ outboxMessages: this.outbox.length, outboxBytes: this.outbox.bytes }, 'Redis outbox full: cross-node topic messages are being dropped');
      }
    }
    if (alreadyDelivered) return;
    const message = new Message(destination, formatMessageId(destination, this.clock.next()), headers, body);
    handler?.onTopicMessage(vhost, message);
  }

  /**
   * Delivers here this node's messages up to `seq` that are stored or in flight but not read back
   * yet, so that local subscribers keep this node's publish order across the outage. True if `seq`
   * itself was among them.
   */
  private deliverTransit(w: Watched, vhost: string, seq: number): boolean {
    let found = false;
    for (let t = w.transit.shift(); t !== undefined; t = w.transit.shift()) {
      if (t.seq > seq) {
        w.transit.unshift(t);
        break;
      }
      found ||= t.seq === seq;
      remember(w.local, t.seq);
      const { headers, body } = decodeEntry(t.payload);
      this.ctx.handler?.onTopicMessage(vhost, new Message(w.destination, formatMessageId(w.destination, this.clock.next()), headers, body, true));
    }
    return found;
  }

  /**
   * Redis is back: sends what the outbox kept, in order. Messages published meanwhile join the
   * outbox behind them, so the stream gets this node's messages in the order they were published.
   */
  flushOutbox(): Promise<void> {
    if (this.flushing !== undefined) return this.flushing;
    this.dropping = false;
    if (this.outbox.length === 0) return Promise.resolve();
    this.flushing = this.drainOutbox().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drainOutbox(): Promise<void> {
    let sent = 0;
    while (this.outbox.length > 0 && this.ctx.up) {
      const entries = this.outbox.drain();
      const results = await Promise.allSettled(entries.map((e) => this.sendOutboxEntry(e)));
      const failed = entries.filter((_, i) => results[i]!.status === 'rejected');
      sent += entries.length - failed.length;
      if (failed.length > 0) {
        this.outbox.restore(failed);
        break;
      }
    }
    this.ctx.log.info({ sent, left: this.outbox.length }, 'Redis outbox flushed');
  }

  private sendOutboxEntry(e: OutboxEntry): Promise<unknown> {
    return cmdBuffer(this.ctx.commands, 'XADD', [e.key, 'MAXLEN', '~', e.maxlen, '*', 'd', e.payload, ORIGIN_FIELD, e.origin]).then(() => {
      this.ctx.counters.published++;
    });
  }

  private maxlen(destination: string): number {
    // Readers need a backlog to catch up with even where no history is promised: a node that falls
    // further behind than the stream keeps loses what was trimmed (counted as a gap).
    return Math.max(historyLength(this.ctx.o.history, destination), READ_BACKLOG_READS * this.ctx.o.readCount);
  }

  private nextSeq(key: string): number {
    if (this.seqs.size >= MAX_SEQ_STREAMS) {
      // A new incarnation restarts every count without readers taking new seqs for repeats.
      this.seqs.clear();
      this.incarnation = randomBytes(4).toString('hex');
    }
    const seq = (this.seqs.get(key) ?? 0) + 1;
    this.seqs.set(key, seq);
    return seq;
  }

  /** The first publish of a destination from this node announces it; later ones go straight out. */
  private announce(vhost: string, destination: string): Promise<void> | undefined {
    const k = vhost + '\u0000' + destination;
    const state = this.announced.get(k);
    if (state === true) return undefined;
    if (state !== undefined) return state;
    if (this.announced.size >= MAX_ANNOUNCED_CACHE) this.announced.clear();
    const dir = this.ctx.keys.directory(vhost);
    const p = run(this.ctx.commands, ANNOUNCE, [dir.known, dir.announced], [destination]).then(
      () => {
        this.announced.set(k, true);
      },
      (err: unknown) => {
        this.announced.delete(k);
        throw err;
      },
    );
    this.announced.set(k, p);
    return p;
  }

  // ---------------------------------------------------------------- interest

  watch(vhost: string, pattern: string, wildcard: boolean): Completion {
    if (wildcard) return this.directory.watchPattern(vhost);
    const key = this.ctx.keys.topic(vhost, pattern);
    const w = this.watched.get(key);
    if (w !== undefined) {
      w.exact = true;
      return;
    }
    return this.attach(vhost, pattern, true, undefined);
  }

  unwatch(vhost: string, pattern: string, wildcard: boolean): void {
    if (wildcard) {
      this.directory.unwatchPattern(vhost);
      return;
    }
    const w = this.watched.get(this.ctx.keys.topic(vhost, pattern));
    if (w === undefined) return;
    w.exact = false;
    this.release(w);
  }

  /** Streams whose start could not be fetched while Redis was down: start them now. */
  async restart(): Promise<void> {
    const waiting = [...this.watched.values()].filter((w) => w.waiting);
    await Promise.allSettled(waiting.map((w) => this.start(w, undefined)));
    await this.directory.restart();
  }

  private attach(vhost: string, destination: string, exact: boolean, startId: string | undefined): Promise<void> {
    const key = this.ctx.keys.topic(vhost, destination);
    const w: Watched = {
      key,
      vhost,
      destination,
      exact,
      seen: new Map(),
      local: new Set(),
      transit: new Deque(),
      waiting: true,
      target: { lastId: '0-0', onEntries: (entries) => this.onEntries(w, entries) },
    };
    this.watched.set(key, w);
    if (!this.ctx.up) return Promise.reject(new BrokerUnavailableError('Redis is unreachable: cross-node delivery starts when it returns.'));
    return this.start(w, startId);
  }

  private async start(w: Watched, startId: string | undefined): Promise<void> {
    const id = startId ?? (await this.tailId(w.key));
    if (this.watched.get(w.key) !== w || !w.waiting) return; // unwatched, or started meanwhile
    w.waiting = false;
    w.target.lastId = id;
    this.ctx.reader('topics', KeySpace.tagOf(w.key)).add(w.key, w.target);
  }

  private release(w: Watched): void {
    if (w.exact || (this.ctx.handler?.interested?.(w.vhost, w.destination) ?? false)) return;
    this.watched.delete(w.key);
    if (!w.waiting) this.ctx.reader('topics', KeySpace.tagOf(w.key)).remove(w.key);
  }

  /** The id of a stream's newest entry: reading after it yields exactly what is published from now on. */
  private async tailId(key: string): Promise<string> {
    const last = (await cmdBuffer(this.ctx.commands, 'XREVRANGE', [key, '+', '-', 'COUNT', 1])) as StreamEntry[];
    return last.length === 0 ? '0-0' : last[0]![0].toString();
  }

  private onEntries(w: Watched, entries: StreamEntry[]): void {
    const handler = this.ctx.handler;
    if (handler === undefined) return;
    this.ctx.observeReadLag(entries[0]![0]);
    for (const [id, fields] of entries) {
      const data = field(fields, 'd');
      if (data === undefined) continue;
      const origin = field(fields, ORIGIN_FIELD);
      if (origin !== undefined && this.repeated(w, origin.toString())) continue;
      let decoded;
      try {
        decoded = decodeEntry(data);
      } catch (err) {
        this.ctx.log.warn({ stream: w.key, id: id.toString(), err: String(err) }, 'skipping a malformed stream entry');
        continue;
      }
      const message = new Message(w.destination, `${w.destination}@${id.toString()}`, decoded.headers, decoded.body, true);
      handler.onTopicMessage(w.vhost, message);
    }
  }

  /**
   * Whether an entry was passed on already: a second copy of an entry (a failed XADD that was
   * stored after all, then sent again from the outbox), or one of this node's own messages that its
   * subscribers got during the outage.
   */
  private repeated(w: Watched, origin: string): boolean {
    const colon = origin.lastIndexOf(':');
    const incarnation = origin.slice(0, colon);
    const seq = Number(origin.slice(colon + 1));
    const last = w.seen.get(incarnation);
    if (last !== undefined && seq <= last) return true;
    if (last !== undefined && seq > last + 1) {
      // This node's own messages that never reached the stream (dropped from a full outbox) were
      // delivered here: not a gap for this node.
      let missing = seq - last - 1;
      if (incarnation === this.incarnation) for (let k = last + 1; k < seq; k++) if (w.local.delete(k)) missing--;
      if (missing > 0) this.gap(w, missing);
    }
    w.seen.set(incarnation, seq);
    if (incarnation !== this.incarnation) return false;
    while (w.transit.length > 0) {
      const t = w.transit.shift()!;
      if (t.seq > seq) {
        w.transit.unshift(t);
        break;
      }
    }
    return w.local.delete(seq);
  }

  private gap(w: Watched, missing: number): void {
    this.ctx.counters.gaps += missing;
    const now = Date.now();
    if (now - this.lastGapLogMs < 1_000) return;
    this.lastGapLogMs = now;
    this.ctx.log.warn({ stream: w.key, missing, gapsTotal: this.ctx.counters.gaps }, 'messages trimmed from a stream before this node read them (the node fell behind)');
  }

  private discover(vhost: string, destination: string, startId: string | undefined): Promise<void> | undefined {
    if (this.watched.has(this.ctx.keys.topic(vhost, destination))) return undefined;
    if (!(this.ctx.handler?.interested?.(vhost, destination) ?? false)) return undefined;
    return this.attach(vhost, destination, false, startId);
  }
}

/** Adds to a bounded set of own seqs delivered here (the oldest go first: a Set keeps insertion order). */
function remember(local: Set<number>, seq: number): void {
  local.add(seq);
  if (local.size > MAX_TRANSIT) local.delete(local.values().next().value!);
}

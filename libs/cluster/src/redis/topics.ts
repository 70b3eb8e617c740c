// Topics over Redis Streams. Every destination has one stream; a node's publishes of one event-loop
// turn go to it in one batch (publish-batch.ts). A node reads only the streams of destinations it has
// local subscribers for, through a consumer group of its own (follow.ts), and while Redis is up its
// own subscribers get their messages back from the stream too, so every node delivers a destination
// in the one order of its stream and the stream id is the message-id. The streams a node publishes
// to are trimmed to what readers still need (trimmer.ts), which is also where publish pressure comes
// from. Wildcard subscriptions find their destinations through directory.ts; history is history.ts;
// what origin marks tell a reader is origin.ts.
import { randomBytes } from 'node:crypto';
import {
  BrokerUnavailableError,
  copyBytes,
  formatMessageId,
  Message,
  PositionClock,
  type Completion,
  type PublishPressure,
  type UserHeaders,
} from '@stompede/broker-api';
import { decodeEntry, encodeEntry, messageOf, readEntry, type StreamEntry } from './codec.js';
import { cmdBuffer } from './connection.js';
import type { RedisContext } from './context.js';
import { Directory } from './directory.js';
import { DATA_FIELD, ORIGIN_FIELD } from './fields.js';
import type { Followers } from './follow.js';
import { OriginTracker } from './origin.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { PublishBatcher, type Outgoing } from './publish-batch.js';
import type { ReadTarget } from './reader.js';
import type { KnownNodes } from './registry.js';
import { ANNOUNCE, RECOUNT, run } from './scripts.js';
import { StreamTrimmer } from './trimmer.js';

const MAX_ANNOUNCED_CACHE = 100_000;
/** Streams this node keeps a publish seq for before starting a new incarnation. */
const MAX_SEQ_STREAMS = 100_000;
/** A watch whose start failed while Redis was up is retried after this long (doubling, up to 8 s). */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 8_000;
/** A retried watch starts this far before its first attempt (clock skew between node and Redis). */
const RETRY_SLACK_MS = 1_000;

interface Watched {
  readonly key: string;
  readonly vhost: string;
  readonly destination: string;
  /** An exact subscription exists (else it is read for wildcard subscriptions only). */
  exact: boolean;
  readonly origins: OriginTracker;
  /** Messages known to be missing, not yet reported on a delivered MESSAGE. */
  missed: number;
  /** Not following yet: Redis was down, or starting failed; retried. */
  waiting: boolean;
  readonly target: ReadTarget;
}

export interface TopicPlaneOptions {
  readonly followers: Followers;
  /** Node ids in the registry (live or recently dead), for the trimmer; undefined when stale. */
  readonly knownNodes: () => KnownNodes | undefined;
  /** Redis did not answer a publish in time: the broker treats it as unreachable and reconnects. */
  readonly onStall: () => void;
}

export class TopicPlane {
  private readonly watched = new Map<string, Watched>();
  private readonly directory: Directory;
  private readonly announced = new Map<string, Promise<void> | true>();
  readonly outbox: Outbox;
  readonly trimmer: StreamTrimmer;
  private readonly batcher: PublishBatcher;
  private readonly followers: Followers;
  private readonly onStall: () => void;
  private readonly clock = new PositionClock();
  /** Marks this process's entries (origin.ts); renewed when the seq map is reset. */
  private incarnation = randomBytes(4).toString('hex');
  private readonly seqs = new Map<string, number>();
  private lastGapLogMs = 0;
  /** Set while the outbox is being sent after an outage. */
  private flushing: Promise<void> | undefined;
  private dropping = false;
  /** This node has too many publishes on their way to Redis: every publisher is slowed. */
  private inFlightPressure = false;

  constructor(
    private readonly ctx: RedisContext,
    options: TopicPlaneOptions,
  ) {
    this.followers = options.followers;
    this.onStall = options.onStall;
    this.directory = new Directory(ctx, options.followers, {
      discover: (vhost, destination, startId) => this.discover(vhost, destination, startId),
      releaseUnmatched: (vhost) => {
        for (const w of [...this.watched.values()]) if (w.vhost === vhost && !w.exact) this.release(w);
      },
    });
    this.outbox = new Outbox(ctx.o.outboxMessages, ctx.o.outboxBytes);
    this.trimmer = new StreamTrimmer(ctx, options.knownNodes, () => this.relieved(), (key) => this.batcher.unwritten(key));
    this.batcher = new PublishBatcher(ctx, {
      stored: (_key, items) => {
        ctx.counters.published += items.length;
        this.checkInFlight();
      },
      failed: (key, _maxlen, items, err) => this.publishFailed(key, items, err),
    });
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
    if (!this.ctx.up) return this.offline(vhost, destination, key, headers, body, durable);
    if (this.flushing !== undefined) {
      // The outbox goes out first, so the stream keeps the order in which this node published.
      if (!durable) return this.offline(vhost, destination, key, headers, body, false);
      const copy = { headers, body: copyBytes(body) };
      return this.flushing.then(() => this.publish(vhost, destination, copy.headers, copy.body, true));
    }
    const payload = encodeEntry(headers, body);
    const seq = this.nextSeq(key);
    const w = this.watched.get(key);
    if (w !== undefined && !w.waiting) w.origins.sent({ seq, payload });
    this.trimmer.published(key, vhost, destination);
    const message: Outgoing = { payload, origin: `${this.incarnation}:${seq}`, seq, vhost, destination, durable };
    return this.batcher.add(key, this.ctx.o.streamMaxEntries, message, this.announce(vhost, destination), durable);
  }

  publishPressure(vhost: string, destination: string): PublishPressure {
    if (this.batcher.inFlight >= this.ctx.o.maxPublishesInFlight) {
      this.inFlightPressure = true;
      return 'slow';
    }
    return this.trimmer.pressure(this.ctx.keys.topic(vhost, destination));
  }

  /**
   * A batch was not acknowledged: whether it was applied is unknown; resending risks a repeat
   * (readers skip it by its origin), which beats a loss. Messages published after it may already
   * wait in the outbox (they were delivered here when Redis counted as unreachable), so the batch
   * goes in before them, and nothing already delivered here is delivered twice.
   */
  private publishFailed(key: string, items: readonly Outgoing[], err: unknown): void {
    this.ctx.counters.publishFailures += items.length;
    const w = this.watched.get(key);
    const kept: OutboxEntry[] = [];
    for (const m of items) {
      if (m.durable) {
        w?.origins.forget(m.seq); // its publisher got the error (a RECEIPT was asked for)
        continue;
      }
      if (w !== undefined) this.deliverHere(w, m.seq, m.payload);
      kept.push({ key, maxlen: this.ctx.o.streamMaxEntries, payload: m.payload, origin: m.origin, seq: m.seq });
    }
    this.keep(kept, true);
    this.ctx.log.warn({ stream: key, messages: items.length, err: String(err) }, 'publishing to Redis failed; the messages wait in the outbox');
    this.checkInFlight();
    if (!this.ctx.up) return;
    // Redis did not answer in time: every connection starts over and the outbox goes out when it
    // is back (broker-redis.ts). Any other failure (Redis refused the batch) is retried shortly.
    if (/timed out/i.test(String(err))) this.onStall();
    else setTimeout(() => void this.flushOutbox(), RETRY_FIRST_MS).unref();
  }

  /** Delivers one of this node's failed messages here, unless its subscribers already have it. */
  private deliverHere(w: Watched, seq: number, payload: Buffer): void {
    if (w.origins.wasDeliveredHere(seq)) return;
    if (this.deliverSent(w, w.vhost, seq)) return;
    w.origins.deliveredHere(seq);
    const { headers, body } = decodeEntry(payload);
    this.ctx.handler?.onTopicMessage(w.vhost, new Message(w.destination, formatMessageId(w.destination, this.clock.next()), headers, body, true));
  }

  /** Keeps messages for the other nodes; `late`: later messages of the stream may be kept already. */
  private keep(entries: readonly OutboxEntry[], late: boolean): void {
    const dropped = late ? this.outbox.insertInOrder(entries) : entries.filter((e) => !this.outbox.push(e)).length;
    if (dropped === 0) return;
    this.ctx.counters.outboxDropped += dropped;
    if (!this.dropping) {
      this.dropping = true;
      this.ctx.log.warn({ outboxMessages: this.outbox.length, outboxBytes: this.outbox.bytes }, 'Redis outbox full: cross-node topic messages are being dropped');
    }
  }

  /** Redis is unreachable: deliver here now, keep the message for the other nodes. */
  private offline(vhost: string, destination: string, key: string, headers: UserHeaders, body: Uint8Array, durable: boolean): Completion {
    if (durable) return Promise.reject(new BrokerUnavailableError('Redis is unreachable, so the message cannot be made durable; try again.'));
    const seq = this.nextSeq(key);
    // This node's subscribers get it now (after its own earlier messages that were still on their
    // way back from the stream): when it comes back from the stream, it is skipped.
    const w = this.watched.get(key);
    if (w !== undefined) {
      this.deliverSent(w, vhost, seq);
      w.origins.deliveredHere(seq);
    }
    const payload = encodeEntry(headers, body);
    this.keep([{ key, maxlen: this.ctx.o.streamMaxEntries, payload, origin: `${this.incarnation}:${seq}`, seq }], false);
    this.ctx.handler?.onTopicMessage(vhost, new Message(destination, formatMessageId(destination, this.clock.next()), headers, body));
  }

  /**
   * Delivers here this node's messages up to `seq` that are stored or in flight but not read back
   * yet, so that local subscribers keep this node's publish order across the outage. True if `seq`
   * itself was among them.
   */
  private deliverSent(w: Watched, vhost: string, seq: number): boolean {
    let found = false;
    for (const t of w.origins.takeSentUpTo(seq)) {
      found ||= t.seq === seq;
      w.origins.deliveredHere(t.seq);
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
    return cmdBuffer(this.ctx.streamWrites, 'XADD', [e.key, 'MAXLEN', '~', e.maxlen, '*', DATA_FIELD, e.payload, ORIGIN_FIELD, e.origin]).then(() => {
      this.ctx.counters.published++;
    });
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

  /**
   * The first publish of a destination from this node announces it, if a wildcard pattern could
   * match it (RedisBrokerOptions.patternPrefixes); later ones go straight out.
   */
  private announce(vhost: string, destination: string): Promise<void> | undefined {
    const k = vhost + '\u0000' + destination;
    const state = this.announced.get(k);
    if (state === true) return undefined;
    if (state !== undefined) return state;
    if (this.announced.size >= MAX_ANNOUNCED_CACHE) this.announced.clear();
    const patterns = this.ctx.o.patternPrefixes;
    if (patterns !== undefined && !patterns.some((p) => destination.startsWith(p))) {
      // No pattern can match it: remembered like an announced one, so the check runs once.
      this.announced.set(k, true);
      return undefined;
    }
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

  private checkInFlight(): void {
    if (this.inFlightPressure && this.batcher.inFlight < this.ctx.o.maxPublishesInFlight / 2) this.relieved();
  }

  private relieved(): void {
    this.inFlightPressure = false;
    this.ctx.handler?.onPressureRelieved?.();
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

  /** Redis is back: streams that could not start while it was down start now (from now on). */
  async restart(): Promise<void> {
    const waiting = [...this.watched.values()].filter((w) => w.waiting);
    await Promise.allSettled(waiting.map((w) => this.start(w, '$', RETRY_FIRST_MS)));
    await this.directory.restart();
  }

  private attach(vhost: string, destination: string, exact: boolean, startId: string | undefined): Promise<void> {
    const key = this.ctx.keys.topic(vhost, destination);
    const w: Watched = {
      key,
      vhost,
      destination,
      exact,
      origins: new OriginTracker(() => this.incarnation),
      missed: 0,
      waiting: true,
      target: { lastId: startId ?? '$', onEntries: (entries) => this.onEntries(w, entries) },
    };
    this.watched.set(key, w);
    if (!this.ctx.up) return Promise.reject(new BrokerUnavailableError('Redis is unreachable: cross-node delivery starts when it returns.'));
    return this.start(w, startId ?? '$', RETRY_FIRST_MS);
  }

  /**
   * Follows the stream from `startId`. If that fails while Redis is up, it is retried with backoff,
   * starting a little before the first attempt, so nothing published since is missed; the caller
   * (a SUBSCRIBE's receipt) still learns of the failure.
   */
  private async start(w: Watched, startId: string, retryMs: number): Promise<void> {
    const firstAttemptMs = Date.now();
    try {
      await this.followers.follow(w.key, startId, w.target, () => this.watched.get(w.key) === w);
      if (this.watched.get(w.key) === w) w.waiting = false;
    } catch (err) {
      this.ctx.log.warn({ stream: w.key, err: String(err), retryMs }, 'could not start reading a topic stream; retrying');
      const retryFrom = startId === '$' ? `${Math.max(0, firstAttemptMs - RETRY_SLACK_MS)}-0` : startId;
      const timer = setTimeout(() => {
        if (this.watched.get(w.key) === w && w.waiting && this.ctx.up) void this.start(w, retryFrom, Math.min(retryMs * 2, RETRY_MAX_MS)).catch(() => {});
      }, retryMs);
      timer.unref();
      throw err;
    }
  }

  private release(w: Watched): void {
    if (w.exact || (this.ctx.handler?.interested?.(w.vhost, w.destination) ?? false)) return;
    this.watched.delete(w.key);
    if (!w.waiting) this.followers.unfollow(w.key);
  }

  private onEntries(w: Watched, entries: StreamEntry[]): void {
    const handler = this.ctx.handler;
    if (handler === undefined) return;
    this.ctx.observeReadLag(entries[0]![0]);
    let gapped = false;
    for (const raw of entries) {
      const entry = readEntry(raw);
      if (entry.origin !== undefined) {
        const verdict = w.origins.read(entry.origin.toString('latin1'));
        if (verdict.missing > 0) {
          this.gap(w, verdict.missing);
          gapped = true;
        }
        if (verdict.alreadyDelivered) continue;
      }
      let message: Message | undefined;
      try {
        message = messageOf(w.destination, entry);
      } catch (err) {
        this.ctx.log.warn({ stream: w.key, id: entry.id, err: String(err) }, 'skipping a malformed stream entry');
        continue;
      }
      if (message === undefined) continue;
      if (w.missed > 0) {
        message.missedBefore = w.missed;
        w.missed = 0;
      }
      handler.onTopicMessage(w.vhost, message);
    }
    if (gapped) this.recount(w);
  }

  /** This node's group skipped missing entries: Redis's count of its reads is short (recount.lua). */
  private recount(w: Watched): void {
    run(this.ctx.commands, RECOUNT, [w.key], [this.ctx.o.nodeId]).catch((err: unknown) =>
      this.ctx.log.warn({ stream: w.key, err: String(err) }, 'could not correct the read count of this node\'s group (its lag may read too high until it catches up)'),
    );
  }

  /** Counts and logs messages this node will never read; the next one delivered tells its subscribers. */
  private gap(w: Watched, missing: number): void {
    w.missed += missing;
    this.ctx.counters.gaps += missing;
    const now = Date.now();
    if (now - this.lastGapLogMs < 1_000) return;
    this.lastGapLogMs = now;
    this.ctx.log.warn({ stream: w.key, missing, gapsTotal: this.ctx.counters.gaps }, 'messages missing from a stream before this node read them (it fell further behind than the stream keeps, or Redis lost them); subscribers are told (x-resume-gap)');
  }

  private discover(vhost: string, destination: string, startId: string | undefined): Promise<void> | undefined {
    if (this.watched.has(this.ctx.keys.topic(vhost, destination))) return undefined;
    if (!(this.ctx.handler?.interested?.(vhost, destination) ?? false)) return undefined;
    return this.attach(vhost, destination, false, startId);
  }
}

// Queues over Redis Streams: one stream per queue, read through one consumer group shared by all
// nodes, so nodes compete and each entry goes to one of them. A node reads (XREADGROUP) only as
// many entries as its consumers have credit for; what it has read is pending for it in Redis until
// the client ACKs (XACK, then XDEL: acked entries leave the stream). A node renews a lease on what it
// holds every heart-beat; entries of a node that stopped renewing (it died) go idle and the janitors
// of the other nodes reclaim them with XAUTOCLAIM. A NACKed entry stays on the node while it has
// consumers; a node whose last consumer leaves hands its entries back (claimed as long idle, so the
// next janitor pass anywhere picks them up). The delivery counter of Redis, carried across claims,
// dead-letters an entry past maxDeliveries.
import {
  BrokerUnavailableError,
  comparePositions,
  Deque,
  entrySize,
  parseMessageId,
  QueueFullError,
  type Completion,
  type QueuedMessage,
  type UserHeaders,
} from '@stompede/broker-api';
import { encodeEntry, messageOf, readEntry, type StreamEntry } from './codec.js';
import { cmd, cmdBuffer, str } from './connection.js';
import { GROUP, streamIdOf, type RedisContext } from './context.js';
import { KeySpace } from './keys.js';
import type { ReadTarget } from './reader.js';
import { ACK, ENQUEUE, RENEW, run } from './scripts.js';

/** Consumer name that entries handed back are parked under until a janitor claims them. */
const RELEASED = '-released-';
/** IDLE given to handed-back entries: past any claimIdleMs, so the next janitor pass takes them. */
const RELEASED_IDLE_MS = 2 ** 31 - 1;
const MAX_CLAIM = 100;
const RENEW_CHUNK = 500;

interface QueueState {
  readonly key: string;
  readonly bytesKey: string;
  readonly vhost: string;
  readonly queue: string;
  consumers: number;
  /** Read from Redis, not yet taken by a consumer. */
  readonly buffer: Deque<QueuedMessage>;
  /** Taken by a consumer, not yet acked or requeued; by stream id. */
  readonly held: Map<string, QueuedMessage>;
  /** Credit the local consumers reported (`want`). */
  credit: number;
  reading: boolean;
  claimCursor: string;
  readonly target: ReadTarget;
}

interface FailedAck {
  readonly key: string;
  readonly bytesKey: string;
  readonly id: string;
  readonly size: number;
}

const MAX_LISTED_CACHE = 100_000;

export class QueuePlane {
  private readonly states = new Map<string, QueueState>();
  private readonly wakeGroups = new Set<string>();
  private failedAcks: FailedAck[] = [];
  private janitorRunning = false;
  /** Queues this node has put in the queue directory (admin API). */
  private readonly listed = new Set<string>();
  /** The node is draining: it reads no entries for its consumers and hands requeued ones back. */
  private draining = false;

  constructor(private readonly ctx: RedisContext) {}

  names(): string[] {
    return [...this.states.values()].map((s) => `${s.vhost} ${s.queue}`);
  }

  stats(): { queues: number; buffered: number } {
    let buffered = 0;
    for (const s of this.states.values()) buffered += s.buffer.length;
    return { queues: this.states.size, buffered };
  }

  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Completion {
    if (!this.ctx.up) return Promise.reject(new BrokerUnavailableError('Redis is unreachable, so the message cannot be queued; try again.'));
    const key = this.ctx.keys.queue(vhost, queue);
    const o = this.ctx.o;
    this.list(vhost, queue);
    return run(this.ctx.commands, ENQUEUE, [key, this.ctx.keys.queueBytes(key)], [
      o.maxQueueMessages, o.maxQueueBytes, entrySize(headers, body), encodeEntry(headers, body),
    ]).then((r) => {
      if (r === -1) throw new QueueFullError(queue, 'maxQueueMessages', o.maxQueueMessages);
      if (r === -2) throw new QueueFullError(queue, 'maxQueueBytes', o.maxQueueBytes);
    }, (err: unknown) => {
      throw new BrokerUnavailableError(`the message could not be queued in Redis: ${(err as Error).message}`);
    });
  }

  consume(vhost: string, queue: string): void {
    const k = vhost + '\u0000' + queue;
    const existing = this.states.get(k);
    if (existing !== undefined) {
      existing.consumers++;
      return;
    }
    const key = this.ctx.keys.queue(vhost, queue);
    this.list(vhost, queue);
    const plane = this;
    const s: QueueState = {
      key,
      bytesKey: this.ctx.keys.queueBytes(key),
      vhost,
      queue,
      consumers: 1,
      buffer: new Deque(),
      held: new Map(),
      credit: 0,
      reading: false,
      claimCursor: '0-0',
      target: {
        lastId: '>',
        get demand() {
          return plane.draining ? 0 : Math.max(0, s.credit - s.buffer.length);
        },
        onEntries: (entries) => this.onEntries(s, entries),
      },
    };
    this.states.set(k, s);
    if (this.ctx.up) void this.startReading(s);
  }

  cancel(vhost: string, queue: string): void {
    const k = vhost + '\u0000' + queue;
    const s = this.states.get(k);
    if (s === undefined) return;
    if (--s.consumers > 0) return;
    this.states.delete(k);
    if (s.reading) this.reader(s).remove(s.key);
    const back: QueuedMessage[] = [...s.held.values()];
    let e: QueuedMessage | undefined;
    while ((e = s.buffer.shift()) !== undefined) back.push(e);
    this.release(s.key, back);
  }

  take(vhost: string, queue: string): QueuedMessage | undefined {
    const s = this.states.get(vhost + '\u0000' + queue);
    const entry = s?.buffer.shift();
    if (entry !== undefined) s!.held.set(streamIdOf(entry.message.id), entry);
    return entry;
  }

  want(vhost: string, queue: string, credit: number): void {
    const s = this.states.get(vhost + '\u0000' + queue);
    if (s === undefined) return;
    s.credit = credit;
    if ((s.target.demand ?? 0) > 0 && s.reading) this.reader(s).poke(s.key);
  }

  ack(vhost: string, entry: QueuedMessage): void {
    const key = this.ctx.keys.queue(vhost, entry.queue);
    const id = streamIdOf(entry.message.id);
    this.states.get(vhost + '\u0000' + entry.queue)?.held.delete(id);
    const a: FailedAck = { key, bytesKey: this.ctx.keys.queueBytes(key), id, size: entrySize(entry.message.headers, entry.message.body) };
    this.sendAck(a);
  }

  requeue(vhost: string, entry: QueuedMessage): void {
    const s = this.states.get(vhost + '\u0000' + entry.queue);
    const id = streamIdOf(entry.message.id);
    s?.held.delete(id);
    entry.deliveries++;
    if (s !== undefined && s.consumers > 0 && !this.draining) {
      s.buffer.unshift(entry);
      this.ctx.handler?.onQueueReady(vhost, entry.queue);
      return;
    }
    this.release(this.ctx.keys.queue(vhost, entry.queue), [entry]);
  }

  /**
   * Draining: entries read ahead for local consumers go back to the cluster now, and the node reads
   * no more, so the queue's other consumers (on other nodes) get them at the next janitor pass.
   */
  setDraining(draining: boolean): void {
    this.draining = draining;
    if (!draining) {
      for (const s of this.states.values()) if (s.reading) this.reader(s).poke(s.key);
      return;
    }
    for (const s of this.states.values()) {
      const back: QueuedMessage[] = [];
      let e: QueuedMessage | undefined;
      while ((e = s.buffer.shift()) !== undefined) back.push(e);
      this.release(s.key, back);
    }
  }

  /** Redis is back: groups may be gone (a restart without persistence), acks may be owed. */
  async restart(): Promise<void> {
    this.wakeGroups.clear();
    const acks = this.failedAcks;
    this.failedAcks = [];
    for (const a of acks) this.sendAck(a);
    await Promise.allSettled([...this.states.values()].map((s) => this.startReading(s)));
  }

  /** Every heart-beat: renew the lease on what this node holds. */
  async renewLeases(): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const s of this.states.values()) {
      const ids = [...s.held.keys()];
      for (const e of s.buffer) ids.push(streamIdOf(e.message.id));
      for (let i = 0; i < ids.length; i += RENEW_CHUNK) {
        work.push(run(this.ctx.commands, RENEW, [s.key], [GROUP, this.ctx.o.nodeId, ...ids.slice(i, i + RENEW_CHUNK)]));
      }
    }
    await Promise.allSettled(work);
  }

  /** Reclaims entries whose holder stopped renewing its lease, for local consumers with credit. */
  async janitor(): Promise<void> {
    if (this.janitorRunning || !this.ctx.up) return;
    this.janitorRunning = true;
    try {
      for (const s of [...this.states.values()]) {
        const room = s.target.demand ?? 0;
        if (room > 0 && s.reading) await this.reclaim(s, Math.min(room, MAX_CLAIM));
      }
    } catch (err) {
      this.ctx.log.warn({ err: String(err) }, 'queue janitor pass failed');
    } finally {
      this.janitorRunning = false;
    }
  }

  private async reclaim(s: QueueState, count: number): Promise<void> {
    const o = this.ctx.o;
    const reply = (await cmdBuffer(this.ctx.commands, 'XAUTOCLAIM', [s.key, GROUP, o.nodeId, o.claimIdleMs, s.claimCursor, 'COUNT', count])) as [Buffer, (StreamEntry | null)[], Buffer[]?];
    s.claimCursor = str(reply[0]);
    // Entries this node holds itself (its renewals fell behind, e.g. a long stall) are left alone:
    // they are out for delivery here already.
    const mine = reply[1].length === 0 ? undefined : new Set([...s.held.keys(), ...[...s.buffer].map((e) => streamIdOf(e.message.id))]);
    const entries = reply[1].filter((e): e is StreamEntry => e !== null && e[1] !== null && !mine!.has(e[0].toString()));
    if (entries.length === 0) return;
    const first = entries[0]![0].toString();
    const last = entries[entries.length - 1]![0].toString();
    const pending = (await cmd(this.ctx.commands, 'XPENDING', [s.key, GROUP, first, last, entries.length * 2, o.nodeId])) as [string, string, number, number][];
    const counts = new Map(pending.map((p) => [p[0], Number(p[3])]));
    this.ctx.counters.reclaimed += entries.length;
    if (this.states.get(s.vhost + '\u0000' + s.queue) !== s) {
      this.release(s.key, entries.map((e) => this.toEntry(s, e, counts)).filter((e): e is QueuedMessage => e !== undefined));
      return;
    }
    // Reclaimed entries are older than what the node buffered: they go first, in stream order.
    const fresh: QueuedMessage[] = [];
    for (const e of entries) {
      const entry = this.toEntry(s, e, counts);
      if (entry === undefined) continue;
      if (o.maxDeliveries > 0 && entry.deliveries >= o.maxDeliveries) {
        this.ctx.counters.deadLettered++;
        this.ctx.handler?.onDeadLetter?.(s.vhost, entry);
        this.ack(s.vhost, entry);
        continue;
      }
      fresh.push(entry);
    }
    for (let i = fresh.length - 1; i >= 0; i--) s.buffer.unshift(fresh[i]!);
    if (fresh.length > 0) this.ctx.handler?.onQueueReady(s.vhost, s.queue);
  }

  private toEntry(s: Pick<QueueState, 'key' | 'bytesKey' | 'queue'>, raw: StreamEntry, counts?: Map<string, number>): QueuedMessage | undefined {
    const entry = readEntry(raw);
    const message = messageOf(s.queue, entry);
    if (message === undefined) {
      void run(this.ctx.commands, ACK, [s.key, s.bytesKey], [GROUP, entry.id, 0]).catch(() => {});
      return undefined;
    }
    const delivered = counts?.get(entry.id) ?? 1;
    return { queue: s.queue, message, deliveries: Math.max(0, delivered - 1) };
  }

  private onEntries(s: QueueState, entries: StreamEntry[]): void {
    if (this.states.get(s.vhost + '\u0000' + s.queue) !== s) {
      this.release(s.key, entries.map((e) => this.toEntry(s, e)).filter((e): e is QueuedMessage => e !== undefined));
      return;
    }
    let added = 0;
    for (const e of entries) {
      let entry: QueuedMessage | undefined;
      try {
        entry = this.toEntry(s, e);
      } catch (err) {
        this.ctx.log.warn({ stream: s.key, id: e[0].toString(), err: String(err) }, 'skipping a malformed queue entry');
        continue;
      }
      if (entry === undefined) continue;
      s.buffer.push(entry);
      added++;
    }
    if (added > 0) this.ctx.handler?.onQueueReady(s.vhost, s.queue);
  }

  /** Hands entries back to the cluster: parked as long idle, so the next janitor pass anywhere takes them. */
  private release(key: string, entries: readonly QueuedMessage[]): void {
    for (const entry of entries) {
      const id = streamIdOf(entry.message.id);
      this.ctx.counters.released++;
      void cmd(this.ctx.commands, 'XCLAIM', [key, GROUP, RELEASED, 0, id, 'IDLE', RELEASED_IDLE_MS, 'RETRYCOUNT', entry.deliveries, 'JUSTID'])
        .catch((err: unknown) => this.ctx.log.warn({ stream: key, id, err: String(err) }, 'could not hand a queue entry back; it returns when its lease expires'));
    }
  }

  /** Records the queue in its vhost's queue directory, once per node (the admin API lists it). */
  private list(vhost: string, queue: string): void {
    const k = vhost + '\u0000' + queue;
    if (this.listed.has(k)) return;
    if (this.listed.size >= MAX_LISTED_CACHE) this.listed.clear();
    this.listed.add(k);
    cmd(this.ctx.commands, 'SADD', [this.ctx.keys.queueDirectory(vhost), queue]).catch(() => this.listed.delete(k));
  }

  private sendAck(a: FailedAck): void {
    run(this.ctx.commands, ACK, [a.key, a.bytesKey], [GROUP, a.id, a.size]).catch(() => {
      this.failedAcks.push(a);
    });
  }

  private async startReading(s: QueueState): Promise<void> {
    const reader = this.reader(s);
    try {
      await this.ensureWakeGroup(s);
      await this.ctx.ensureGroup(s.key);
    } catch (err) {
      this.ctx.log.warn({ queue: s.queue, err: String(err) }, 'could not create the consumer group; retried when Redis is back');
      return;
    }
    if (this.states.get(s.vhost + '\u0000' + s.queue) !== s) return;
    s.reading = true;
    if (!reader.has(s.key)) reader.add(s.key, s.target);
  }

  private async ensureWakeGroup(s: QueueState): Promise<void> {
    const tag = KeySpace.tagOf(s.key);
    if (this.wakeGroups.has(tag)) return;
    await this.ctx.ensureGroup(this.ctx.keys.wake(this.ctx.o.nodeId, tag, 'queues'), '$');
    this.wakeGroups.add(tag);
  }

  private reader(s: QueueState) {
    return this.ctx.queueReader(
      KeySpace.tagOf(s.key),
      async (err) => {
        if (!/NOGROUP/.test(String((err as Error).message))) return;
        this.wakeGroups.clear();
        await Promise.allSettled([...this.states.values()].map((q) => this.startReading(q)));
      },
      (key, entries) => this.onOrphans(key, entries),
    );
  }

  /**
   * Entries a read claimed for a queue this node had stopped reading. If it consumes the queue
   * again they join its buffer in stream order; otherwise they are handed back.
   */
  private onOrphans(key: string, entries: StreamEntry[]): void {
    const s = [...this.states.values()].find((q) => q.key === key);
    // Only handed back: the queue name is not needed, the stream id and delivery count are.
    const parked = s ?? { key, bytesKey: this.ctx.keys.queueBytes(key), queue: '' };
    const orphans = entries.map((e) => this.toEntry(parked, e)).filter((e): e is QueuedMessage => e !== undefined);
    if (s === undefined) {
      this.release(key, orphans);
      return;
    }
    const merged = [...s.buffer, ...orphans].sort((a, b) => comparePositions(parseMessageId(a.message.id)!.position, parseMessageId(b.message.id)!.position));
    while (s.buffer.shift() !== undefined);
    for (const e of merged) s.buffer.push(e);
    this.ctx.handler?.onQueueReady(s.vhost, s.queue);
  }
}

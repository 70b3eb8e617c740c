// One session's subscriptions: SUBSCRIBE and UNSUBSCRIBE, the reply queues a SEND's
// `reply-to:/temp-queue/...` creates, and the lookups by id and by ordinal (the first part of an
// `ack` id). Created with the session's first subscription, so an idle connection pays nothing.
import type { Completion } from '@stompede/broker-api';
import type { Headers } from '@stompede/stomp';
import { REPLY_QUEUE_PREFIX, TEMP_QUEUE_PREFIX, type Destination } from './destinations.js';
import type { SessionHost } from './host.js';
import type { Principal } from './principal.js';
import { checkedDestination, Refusal, required } from './refusal.js';
import { resumeRequest } from './resume.js';
import { replayInto } from './resume-delivery.js';
import { ACK_MODES, Subscription, type AckMode, type SubscriberSession } from './subscription.js';
import type { ReadScope } from './topic-index.js';

/** The session a table belongs to. */
export interface TableOwner extends SubscriberSession {
  readonly id: string;
  readonly vhost: string;
  /** Who the session acts for: `/user/...` subscriptions resolve to its own destinations. */
  readonly principal: Principal | undefined;
  /**
   * Refuses (throws) a SUBSCRIBE the session's principal may not make; returns what a wildcard
   * subscription is limited to reading, if anything.
   */
  authorizeSubscribe(destination: Destination): ReadScope | undefined;
}

export class SubscriptionTable {
  readonly byId = new Map<string, Subscription>();
  /** Acked subscriptions by ordinal, the first part of their `ack` ids (auto-ack ones have none). */
  byOrdinal: Map<number, Subscription> | undefined;
  private nextOrdinal = 0;
  /** /temp-queue/<name> -> its reply-queue subscription */
  private replyQueues: Map<string, Subscription> | undefined;

  constructor(
    private readonly session: TableOwner,
    private readonly hub: SessionHost,
  ) {}

  /** SUBSCRIBE; completes when the subscription is in place (what its RECEIPT waits for). */
  subscribe(h: Headers): Completion {
    const name = required(h, 'destination', 'SUBSCRIBE');
    // STOMP 1.0 made the id optional; such a subscription is known by its destination.
    const id = this.session.version === '1.0' ? (h.get('id') ?? name) : required(h, 'id', 'SUBSCRIBE');
    const destination = checkedDestination(name, 'subscribe', this.hub.config, this.session.principal);
    const scope = this.session.authorizeSubscribe(destination);
    if (this.byId.has(id)) {
      throw new Refusal('duplicate subscription', `Subscription id "${id}" is already in use on this connection.`);
    }
    // The constant rather than the header's own string: one copy for every subscription.
    const ackMode = ACK_MODES.find((m) => m === (h.get('ack') ?? 'auto'));
    if (ackMode === undefined) {
      throw new Refusal('invalid ack mode', `ack must be auto, client or client-individual, got "${h.get('ack')}".`);
    }
    const prefetch = h.get('prefetch-count');
    let window = this.hub.config.maxUnacked;
    const requested = prefetch === undefined ? this.hub.config.defaultPrefetch : parseCount(prefetch);
    if (requested === null) {
      throw new Refusal('invalid prefetch-count', `prefetch-count must be a non-negative integer, got "${prefetch}".`);
    }
    if (requested > 0) window = Math.min(window, requested);
    const resume = resumeRequest(h, destination);
    const sub = this.add(id, destination, ackMode, window);
    if (resume !== undefined) sub.resume = resume;
    const router = this.hub.router;
    const watched = router.subscribe(this.session.vhost, sub, scope);
    this.index(sub);
    return resume === undefined ? watched : replayInto(sub, resume, router.broker, this.session.vhost, watched);
  }

  unsubscribe(h: Headers): void {
    let sub: Subscription | undefined;
    const id = h.get('id');
    if (id !== undefined) sub = this.byId.get(id);
    else if (this.session.version === '1.0' && h.has('destination')) {
      // A 1.0 subscription made without an id is known by its destination; prefer it, then the
      // oldest other subscription to that destination.
      const dest = h.get('destination')!;
      sub = this.byId.get(dest);
      if (sub === undefined) for (const s of this.byId.values()) if (s.destination.name === dest) { sub = s; break; }
    } else {
      required(h, 'id', 'UNSUBSCRIBE');
    }
    if (sub === undefined) {
      throw new Refusal('unknown subscription', `No subscription "${id ?? h.get('destination')}" on this connection.`);
    }
    this.drop(sub);
  }

  /** The reply queue a SEND's `reply-to:/temp-queue/<name>` stands for; created and subscribed to on first use. */
  replyQueueFor(tempName: string): string {
    const existing = this.replyQueues?.get(tempName);
    if (existing !== undefined) return existing.destination.name;
    const suffix = tempName.slice(TEMP_QUEUE_PREFIX.length);
    if (suffix.length === 0) throw new Refusal('invalid reply-to', `${TEMP_QUEUE_PREFIX} needs a name, e.g. ${TEMP_QUEUE_PREFIX}replies.`);
    if (this.byId.has(tempName)) throw new Refusal('duplicate subscription', `Subscription id "${tempName}" is already in use.`);
    const name = `${REPLY_QUEUE_PREFIX}${this.hub.config.nodeId}/${this.session.id}/${suffix}`;
    this.hub.router.openReplyQueue(this.session.vhost, name);
    const destination: Destination = { kind: 'reply', name, prefixLength: REPLY_QUEUE_PREFIX.length, wildcard: false };
    const sub = this.add(tempName, destination, 'auto', this.hub.config.maxUnacked);
    // A queue: attached at once, there is nothing to wait for.
    this.hub.router.subscribe(this.session.vhost, sub);
    this.index(sub);
    this.replyQueues ??= new Map();
    this.replyQueues.set(tempName, sub);
    return name;
  }

  /** Drops every subscription (requeueing unacked queue messages): the session is closing. */
  dropAll(): void {
    for (const sub of [...this.byId.values()]) this.drop(sub);
  }

  /** A new subscription; the caller attaches it to the router, then indexes it. */
  private add(id: string, destination: Destination, ackMode: AckMode, window: number): Subscription {
    const config = this.hub.config;
    if (this.byId.size >= config.maxSubscriptions) {
      throw new Refusal(
        'too many subscriptions',
        `A connection may hold at most ${config.maxSubscriptions} subscriptions (maxSubscriptions).`,
      );
    }
    this.hub.metrics.subscriptions++;
    return new Subscription(this.session, id, destination, ackMode, ++this.nextOrdinal, window);
  }

  /** After the router has attached `sub`, which may have replaced its id by an equal shared string. */
  private index(sub: Subscription): void {
    this.byId.set(sub.id, sub);
    if (sub.acked) (this.byOrdinal ??= new Map()).set(sub.ordinal, sub);
  }

  private drop(sub: Subscription): void {
    const router = this.hub.router;
    const vhost = this.session.vhost;
    this.byId.delete(sub.id);
    if (sub.acked) this.byOrdinal?.delete(sub.ordinal);
    this.hub.metrics.subscriptions--;
    // Unacked queue entries go back, in their original order, ahead of newer ones.
    const unacked = [...sub.unacked.values()].reverse();
    for (const d of unacked) {
      sub.untrack(d);
      if (d.entry !== undefined) router.requeueEntry(vhost, d.entry);
    }
    sub.dropHeld();
    router.unsubscribe(vhost, sub);
    if (sub.destination.kind === 'reply') {
      this.replyQueues?.delete(sub.id);
      router.closeReplyQueue(vhost, sub.destination.name);
    }
  }
}

function parseCount(text: string): number | null {
  if (!/^\d{1,9}$/.test(text)) return null;
  return Number(text);
}

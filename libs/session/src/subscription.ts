// One SUBSCRIBE of one session, and the deliveries it has not had acknowledged yet.
import { Deque, type Message, type QueuedMessage } from '@stompede/broker-api';
import type { StompVersion } from '@stompede/stomp';
import type { Destination } from './destinations.js';
import type { Group } from './group.js';
import { messageOpening } from './message-frame.js';
import type { QueueBinding } from './queue-binding.js';
import type { Resume } from './resume.js';
import type { SessionState } from './session-state.js';
import { TopicNode } from './topic-index.js';

/** What a subscription's session does for it (session.ts implements it). */
export interface SubscriberSession {
  readonly version: StompVersion;
  readonly state: SessionState;
  /** Whether a queue delivery may go to `sub` now (credit, room in the socket). */
  canTake(sub: Subscription): boolean;
  deliverQueued(sub: Subscription, entry: QueuedMessage): void;
  /** A topic message for a subscription delivered on its own (client-acked or resuming). */
  deliverTopic(sub: Subscription, message: Message): void;
  joinGroup(group: Group): void;
  leaveGroup(group: Group): void;
  /** Closes the session: it fell too far behind. */
  abortSlowConsumer(): void;
}

export type AckMode = 'auto' | 'client' | 'client-individual';

export const ACK_MODES: readonly AckMode[] = ['auto', 'client', 'client-individual'];

export interface Delivery {
  readonly tag: number;
  readonly message: Message;
  /** The queue entry, for queue deliveries. */
  readonly entry: QueuedMessage | undefined;
  /** How many times this message was delivered to this subscription before. */
  readonly previous: number;
}

/** A topic message waiting for credit on an acked subscription. */
interface Held {
  readonly message: Message;
  readonly previous: number;
}

const NO_DELIVERIES: ReadonlyMap<number, Delivery> = new Map();

/**
 * What a subscription keeps when its deliveries are written for it alone: client-acked and
 * resuming topic subscriptions and queue consumers. Auto-ack topic subscriptions, delivered through
 * their fan-out group, are most subscriptions and never need it, so it is created on first use.
 */
class Solo {
  /** Deliveries awaiting ACK/NACK, in delivery order (which cumulative `client` acks rely on). */
  unacked: Map<number, Delivery> | undefined;
  /** STOMP 1.0/1.1 acknowledge by message-id; the index exists only for those sessions. */
  byMessageId: Map<string, Delivery> | undefined;
  /** Topic messages that arrived while the subscription had no credit or its socket no room. */
  held: Deque<Held> | undefined;
  heldBytes = 0;
  /** "MESSAGE\nsubscription:<id>\n", made with the first delivery. */
  opening: string | undefined;
  /** message-id of the latest topic message written for this subscription alone. */
  lastMessageId: string | undefined;
  resume: Resume | undefined;
  queue: QueueBinding | undefined;

  constructor(
    readonly ackMode: AckMode,
    /** Unique within the session; the first part of `ack` header values. */
    readonly ordinal: number,
    /** Most unacked deliveries; prefetch-count or the configured ceiling. */
    readonly window: number,
  ) {}
}

export class Subscription {
  group: Group | undefined;
  /** The group's lastMessageId when this subscription joined it: that message was not for it. */
  joinedAfter: string | undefined;
  private solo: Solo | undefined;

  constructor(
    readonly session: SubscriberSession,
    /** Replaced by the group's equal copy when it joins one, so that a group's members keep one string. */
    public id: string,
    /**
     * For a topic, its node in the router's index once subscribed: one object per destination,
     * however many subscribe to it, and its name kept once.
     */
    public destination: Destination,
    /** Kept, with what only acked subscriptions need, in `solo`: most subscriptions are auto-ack. */
    ackMode: AckMode,
    /** Unique within the session; used in `ack` header values, so kept only for acked subscriptions. */
    ordinal: number,
    /** Most unacked deliveries (prefetch-count or the configured ceiling); acked subscriptions only. */
    window: number,
  ) {
    if (ackMode !== 'auto') this.solo = new Solo(ackMode, ordinal, window);
  }

  /** The router's node for this subscription's topic destination or pattern. */
  get topicNode(): TopicNode<Subscription> | undefined {
    return this.destination instanceof TopicNode ? this.destination : undefined;
  }

  private own(): Solo {
    return (this.solo ??= new Solo('auto', 0, 0));
  }

  /**
   * message-id of the latest message delivered on this topic subscription; undefined for queues,
   * wildcard patterns (no single position) and subscriptions that got nothing yet.
   */
  get position(): string | undefined {
    if (this.destination.kind !== 'topic' || this.destination.wildcard) return undefined;
    // A resumed subscription that got nothing new since is still at its resume point.
    if (this.group === undefined) return this.solo?.lastMessageId ?? this.solo?.resume?.afterId;
    const last = this.group.lastMessageId;
    return last === this.joinedAfter ? undefined : last;
  }

  get ackMode(): AckMode {
    return this.solo?.ackMode ?? 'auto';
  }

  get acked(): boolean {
    return this.solo !== undefined && this.solo.ackMode !== 'auto';
  }

  get ordinal(): number {
    return this.solo?.ordinal ?? 0;
  }

  get window(): number {
    return this.solo?.window ?? 0;
  }

  get unacked(): ReadonlyMap<number, Delivery> {
    return this.solo?.unacked ?? NO_DELIVERIES;
  }

  get byMessageId(): ReadonlyMap<string, Delivery> | undefined {
    return this.solo?.byMessageId;
  }

  /** Room for another unacked delivery. */
  get hasCredit(): boolean {
    return !this.acked || this.unacked.size < this.solo!.window;
  }

  get resume(): Resume | undefined {
    return this.solo?.resume;
  }

  set resume(resume: Resume | undefined) {
    if (resume !== undefined || this.solo !== undefined) this.own().resume = resume;
  }

  get queue(): QueueBinding | undefined {
    return this.solo?.queue;
  }

  set queue(queue: QueueBinding | undefined) {
    if (queue !== undefined || this.solo !== undefined) this.own().queue = queue;
  }

  /** "MESSAGE\nsubscription:<id>\n" for deliveries written for this subscription alone. */
  get opening(): string {
    const solo = this.own();
    return (solo.opening ??= messageOpening(this.id, this.session.version));
  }

  /** message-id of the latest topic message written for this subscription alone (not through a group). */
  get lastMessageId(): string | undefined {
    return this.solo?.lastMessageId;
  }

  set lastMessageId(id: string | undefined) {
    this.own().lastMessageId = id;
  }

  get held(): Deque<Held> | undefined {
    return this.solo?.held;
  }

  get heldBytes(): number {
    return this.solo?.heldBytes ?? 0;
  }

  track(delivery: Delivery): void {
    const solo = this.solo!;
    (solo.unacked ??= new Map()).set(delivery.tag, delivery);
    // STOMP 1.0 and 1.1 clients acknowledge by message-id.
    if (this.session.version !== '1.2') (solo.byMessageId ??= new Map()).set(delivery.message.id, delivery);
  }

  untrack(delivery: Delivery): void {
    const solo = this.solo!;
    solo.unacked?.delete(delivery.tag);
    solo.byMessageId?.delete(delivery.message.id);
  }

  /**
   * The deliveries an ACK or NACK of `target` settles: in client-individual mode just that one, in
   * client mode it and every delivery before it (spec: ACK "cumulative" in client mode).
   */
  settledBy(target: Delivery): Delivery[] {
    if (this.ackMode !== 'client') return [target];
    const out: Delivery[] = [];
    for (const d of this.unacked.values()) {
      out.push(d);
      if (d === target) break;
    }
    return out;
  }

  hold(message: Message, previous: number, atHead: boolean): void {
    const solo = this.own();
    solo.held ??= new Deque();
    message.retain();
    if (atHead) solo.held.unshift({ message, previous });
    else solo.held.push({ message, previous });
    solo.heldBytes += message.body.length;
  }

  nextHeld(): Held | undefined {
    const solo = this.solo;
    const h = solo?.held?.shift();
    if (h !== undefined) solo!.heldBytes -= h.message.body.length;
    return h;
  }

  /** Forgets what waits for credit: the subscription is gone. */
  dropHeld(): void {
    if (this.solo === undefined) return;
    this.solo.held = undefined;
    this.solo.heldBytes = 0;
  }
}

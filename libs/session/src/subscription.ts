// One SUBSCRIBE of one session, and the deliveries it has not had acknowledged yet.
import { Deque, type Message, type QueuedMessage } from '@stompede/broker-api';
import type { StompVersion } from '@stompede/stomp';
import type { Destination } from './destinations.js';
import type { Group } from './group.js';
import type { QueueBinding } from './queue-binding.js';
import type { Resume } from './resume.js';
import type { SessionState } from './session-state.js';
import type { TopicNode } from './topic-index.js';

/** What a subscription's session does for it (session.ts implements it). */
export interface SubscriberSession {
  readonly version: StompVersion;
  readonly state: SessionState;
  /** Whether a queue delivery may go to `sub` now (credit, room in the socket). */
  canTake(sub: Subscription): boolean;
  deliverQueued(sub: Subscription, entry: QueuedMessage): void;
  /** A topic message for a subscription delivered on its own (client-acked or resuming). */
  deliverTopic(sub: Subscription, message: Message): void;
  joinGroup(sub: Subscription, group: Group): void;
  leaveGroup(sub: Subscription, group: Group): void;
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

export class Subscription {
  /** Deliveries awaiting ACK/NACK, in delivery order (which cumulative `client` acks rely on). */
  readonly unacked = new Map<number, Delivery>();
  /** STOMP 1.0/1.1 acknowledge by message-id; the index exists only for those sessions. */
  byMessageId: Map<string, Delivery> | undefined;
  /** Topic messages that arrived while the subscription had no credit or its socket no room. */
  held: Deque<Held> | undefined;
  heldBytes = 0;
  group: Group | undefined;
  /** Joined its group through the transport's native fan-out (a uWS topic). */
  native = false;
  node: TopicNode<Subscription> | undefined;
  queue: QueueBinding | undefined;
  /** "MESSAGE\nsubscription:<id>\n" for deliveries written for this subscription alone. */
  opening = '';
  /** Set when SUBSCRIBE asked to resume after a message (x-resume-after); see resume.ts. */
  resume: Resume | undefined;
  /** message-id of the latest topic message written for this subscription alone (not through a group). */
  lastMessageId: string | undefined;
  /** The group's lastMessageId when this subscription joined it: that message was not for it. */
  joinedAfter: string | undefined;

  constructor(
    readonly session: SubscriberSession,
    /** Unique within the session; used in `ack` header values. */
    readonly ordinal: number,
    readonly id: string,
    readonly destination: Destination,
    readonly ackMode: AckMode,
    /** Most unacked deliveries; prefetch-count or the configured ceiling. */
    readonly window: number,
  ) {}

  /**
   * message-id of the latest message delivered on this topic subscription; undefined for queues,
   * wildcard patterns (no single position) and subscriptions that got nothing yet.
   */
  get position(): string | undefined {
    if (this.destination.kind !== 'topic' || this.destination.wildcard) return undefined;
    // A resumed subscription that got nothing new since is still at its resume point.
    if (this.group === undefined) return this.lastMessageId ?? this.resume?.afterId;
    const last = this.group.lastMessageId;
    return last === this.joinedAfter ? undefined : last;
  }

  get acked(): boolean {
    return this.ackMode !== 'auto';
  }

  /** Room for another unacked delivery. */
  get hasCredit(): boolean {
    return this.unacked.size < this.window;
  }

  track(delivery: Delivery): void {
    this.unacked.set(delivery.tag, delivery);
    this.byMessageId?.set(delivery.message.id, delivery);
  }

  untrack(delivery: Delivery): void {
    this.unacked.delete(delivery.tag);
    this.byMessageId?.delete(delivery.message.id);
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
    this.held ??= new Deque();
    message.retain();
    if (atHead) this.held.unshift({ message, previous });
    else this.held.push({ message, previous });
    this.heldBytes += message.body.length;
  }

  nextHeld(): Held | undefined {
    const h = this.held?.shift();
    if (h !== undefined) this.heldBytes -= h.message.body.length;
    return h;
  }
}

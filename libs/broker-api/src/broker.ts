// The cluster plane seen from a node: where published messages go and where queue entries live.
// The session layer speaks only this interface. `broker-memory.ts` is the single-node embedded
// default; a clustered implementation moves the same calls through Redis.
import type { Message, QueuedMessage, UserHeaders } from './message.js';

/**
 * Result of an operation that may complete later. `undefined` means done (and durable as far as
 * this broker makes anything durable); a promise settles when it is.
 */
export type Completion = void | Promise<void>;

/**
 * How hard the cluster pushes back on publishing to a destination: `none`; `slow` (a node reading it
 * lags: the publisher should be slowed down); `full` (publishing now would overrun a reader that
 * lags too far: refuse).
 */
export type PublishPressure = 'none' | 'slow' | 'full';

/** Callbacks from the broker into the node. */
export interface BrokerHandler {
  /**
   * A message on a topic destination, published on this node or elsewhere. The memory broker calls
   * it synchronously inside `publish`, with a body that is only valid during the call.
   */
  onTopicMessage(vhost: string, message: Message): void;
  /** A queue this node consumes from has entries to `take`. */
  onQueueReady(vhost: string, queue: string): void;
  /**
   * Whether a message on `destination` would reach a local subscriber (an exact or a wildcard
   * subscription). Lets a clustered broker read a newly discovered destination only when it matters.
   */
  interested?(vhost: string, destination: string): boolean;
  /** A queue entry went past the delivery limit while no session held it (e.g. its node died). */
  onDeadLetter?(vhost: string, entry: QueuedMessage): void;
  /** Publish pressure went away (publishPressure): publishers held for it may go on. */
  onPressureRelieved?(): void;
}

export interface Replay {
  readonly messages: readonly Message[];
  readonly gap: boolean;
}

export interface BrokerStats {
  readonly queues: number;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  /** Messages sent to a reply queue whose owner is gone. */
  readonly unroutable: number;
}

export interface Broker {
  readonly kind: string;
  start(handler: BrokerHandler): Promise<void>;
  close(): Promise<void>;

  /**
   * Publishes to a topic destination. `durable`: the caller needs to know the message reached the
   * cluster (a RECEIPT was asked for); without it a clustered broker may keep the message in a
   * bounded outbox while the cluster is unreachable.
   */
  publish(vhost: string, destination: string, headers: UserHeaders, body: Uint8Array, durable?: boolean): Completion;
  /**
   * The pressure on publishing to `destination` now, from state the broker keeps (never a round
   * trip). A broker without it (memory) never pushes back.
   */
  publishPressure?(vhost: string, destination: string): PublishPressure;
  /**
   * This node has subscribers for `pattern` (a destination or a wildcard pattern). Called once per
   * pattern until `unwatch`. Completes when every message published after that, on any node, will
   * reach `onTopicMessage` (what a RECEIPT for SUBSCRIBE promises).
   */
  watch(vhost: string, pattern: string, wildcard?: boolean): Completion;
  /**
   * False while the broker cannot reach the rest of the cluster (Redis unreachable): no SUBSCRIBE
   * can then be promised cluster-wide routing, whether or not this node already follows its
   * destination, so each one's completion fails alike. A broker without it is always reachable.
   */
  clusterReachable?(): boolean;
  unwatch(vhost: string, pattern: string, wildcard?: boolean): void;
  /**
   * The history of a topic destination after the message `afterId` (exclusive), oldest first, for
   * a subscription that resumes. `gap` is true when history no longer reaches back to `afterId`
   * (trimmed, or never kept), so messages may be missing before the first one returned.
   */
  replay(vhost: string, destination: string, afterId: string): Replay | Promise<Replay>;

  /** Appends to a queue. Throws (or rejects with) QueueFullError when the queue is at its bound. */
  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Completion;
  /** This node has consumers for `queue`: make its entries available to `take`. Counted. */
  consume(vhost: string, queue: string): void;
  cancel(vhost: string, queue: string): void;
  /** Next entry for a local consumer, or undefined when none is ready now. */
  take(vhost: string, queue: string): QueuedMessage | undefined;
  /**
   * The local consumers of `queue` could take `credit` more entries now than `take` had: a clustered
   * broker fetches up to that many (a queue's consumers never hoard more than their prefetch allows).
   */
  want?(vhost: string, queue: string, credit: number): void;
  /** The entry was processed: forget it. */
  ack(vhost: string, entry: QueuedMessage): void;
  /** The entry was not processed: deliver it again, ahead of newer entries. */
  requeue(vhost: string, entry: QueuedMessage): void;

  /** Creates a session-private reply queue; entries sent to a reply queue that does not exist are dropped. */
  openReplyQueue(vhost: string, queue: string): void;
  /** Deletes a reply queue and whatever it still holds. */
  closeReplyQueue(vhost: string, queue: string): void;

  stats(): BrokerStats;

  /**
   * The node is draining (true) or serving again (false). A broker whose queues outlive the node
   * (the cluster) hands the entries it read ahead, and those requeued while draining, back to the
   * other nodes at once, and returns true: the node's own consumers then take no new entries. A
   * broker with nowhere else to put them (the embedded memory broker) keeps delivering locally.
   */
  setDraining?(draining: boolean): boolean;
}

/** What a broker holds for one destination (admin API). */
export interface DestinationStats {
  /** Queues: entries waiting for a consumer. */
  readonly depth: number;
  /** Queues: entries delivered and not yet acknowledged. */
  readonly pending: number;
  /** Topics: messages kept for x-resume-after (in a cluster, the length of the destination's stream). */
  readonly historyLength: number;
}

export interface KnownDestinations {
  readonly topics: readonly string[];
  readonly queues: readonly string[];
}

/**
 * What the control plane asks a broker about destinations (the admin API and the queue-depth
 * metric). Never on a message's path; the session layer does not use it.
 */
export interface BrokerInspector {
  /** Topics the broker keeps something for (published to, with history) and queues, of `vhost`. */
  knownDestinations(vhost: string): Promise<KnownDestinations>;
  /** Stats of each target, in order, in one round trip where the broker is remote. */
  destinationStats(vhost: string, targets: readonly DestinationTarget[]): Promise<DestinationStats[]>;
}

export interface DestinationTarget {
  readonly name: string;
  readonly kind: 'topic' | 'queue';
}

/** The cluster plane cannot take the operation now (Redis unreachable); nothing was stored. */
export class BrokerUnavailableError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'BrokerUnavailableError';
  }
}

/** Raised by `enqueue` when a queue is at maxQueueMessages or maxQueueBytes. */
export class QueueFullError extends Error {
  constructor(
    readonly queue: string,
    readonly limit: 'maxQueueMessages' | 'maxQueueBytes',
    readonly bound: number,
  ) {
    super(`queue ${queue} is full (${limit} ${bound})`);
    this.name = 'QueueFullError';
  }
}

export interface QueueLimits {
  /**
   * Most entries one queue holds: waiting ones (memory broker), or waiting plus delivered-not-acked
   * ones (Redis broker: the stream's length, since unacked entries stay in it until the ACK).
   */
  readonly maxQueueMessages: number;
  /** Most body and header bytes one queue holds. */
  readonly maxQueueBytes: number;
}

/** How many messages of a topic's history are kept, by destination prefix (the longest match wins). */
export interface HistoryPrefix {
  readonly prefix: string;
  readonly messages: number;
}

/** History length of `destination`: the longest matching prefix's, else 0 (no history). */
export function historyLength(policy: readonly HistoryPrefix[], destination: string): number {
  let best = -1;
  let messages = 0;
  for (const p of policy) {
    if (p.prefix.length > best && destination.startsWith(p.prefix)) {
      best = p.prefix.length;
      messages = p.messages;
    }
  }
  return messages;
}

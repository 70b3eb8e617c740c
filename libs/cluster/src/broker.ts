// The cluster plane seen from a node: where published messages go and where queue entries live.
// The session layer speaks only this interface. `broker-memory.ts` is the single-node embedded
// default; a clustered implementation moves the same calls through Redis.
import type { Message, QueuedMessage, UserHeaders } from './message.js';

/**
 * Result of an operation that may complete later. `undefined` means done (and durable as far as
 * this broker makes anything durable); a promise settles when it is.
 */
export type Completion = void | Promise<void>;

/** Callbacks from the broker into the node. */
export interface BrokerHandler {
  /**
   * A message on a topic destination, published on this node or elsewhere. The memory broker calls
   * it synchronously inside `publish`, with a body that is only valid during the call.
   */
  onTopicMessage(vhost: string, message: Message): void;
  /** A queue this node consumes from has entries to `take`. */
  onQueueReady(vhost: string, queue: string): void;
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

  /** Publishes to a topic destination. */
  publish(vhost: string, destination: string, headers: UserHeaders, body: Uint8Array): Completion;
  /** This node has subscribers for `pattern` (a destination or a wildcard pattern). Counted. */
  watch(vhost: string, pattern: string): void;
  unwatch(vhost: string, pattern: string): void;

  /** Appends to a queue. Throws (or rejects with) QueueFullError when the queue is at its bound. */
  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Completion;
  /** This node has consumers for `queue`: make its entries available to `take`. Counted. */
  consume(vhost: string, queue: string): void;
  cancel(vhost: string, queue: string): void;
  /** Next entry for a local consumer, or undefined when none is ready now. */
  take(vhost: string, queue: string): QueuedMessage | undefined;
  /** The entry was processed: forget it. */
  ack(vhost: string, entry: QueuedMessage): void;
  /** The entry was not processed: deliver it again, ahead of newer entries. */
  requeue(vhost: string, entry: QueuedMessage): void;

  /** Creates a session-private reply queue; entries sent to a reply queue that does not exist are dropped. */
  openReplyQueue(vhost: string, queue: string): void;
  /** Deletes a reply queue and whatever it still holds. */
  closeReplyQueue(vhost: string, queue: string): void;

  stats(): BrokerStats;
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
  /** Most entries one queue holds (waiting, not counting those out for delivery). */
  readonly maxQueueMessages: number;
  /** Most body and header bytes one queue holds. */
  readonly maxQueueBytes: number;
}

// What a node's sessions share, as the session-side modules see it: the hub (hub.ts implements
// SessionHost) and its router (router.ts implements RouterPort). Declared here, apart from both,
// so that the modules a session is made of depend on these ports and never on hub.ts or
// router.ts, which depend on them: the module graph stays acyclic (test: module-graph.test.ts).
import type { Authenticator } from './authenticator.js';
import type { Broker, Completion, Message, PublishPressure, QueuedMessage, UserHeaders } from '@stompede/broker-api';
import type { SessionConfig } from './config.js';
import type { Destination } from './destinations.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Outbox } from './outbox.js';
import type { Subscription } from './subscription.js';
import type { Transport } from './transport.js';

export type DeadLetterReason = 'rejected' | 'delivery-limit';

/** The router as sessions use it: publishing, attaching subscriptions, settling queue entries. */
export interface RouterPort {
  readonly broker: Broker;
  /** A client's SEND. `durable`: the sender waits for the message to be stored (it asked for a RECEIPT). */
  publish(vhost: string, destination: Destination, headers: UserHeaders, body: Uint8Array, durable?: boolean): Completion;
  /** How hard the cluster pushes back on publishing to `destination` now (never for queues). */
  pressure(vhost: string, destination: Destination): PublishPressure;
  /** Attaches `sub`; completes when it receives every message published from then on. */
  subscribe(vhost: string, sub: Subscription): Completion;
  unsubscribe(vhost: string, sub: Subscription): void;
  ackEntry(vhost: string, entry: QueuedMessage): void;
  requeueEntry(vhost: string, entry: QueuedMessage): void;
  deadLetterMessage(vhost: string, message: Message, reason: DeadLetterReason): void;
  openReplyQueue(vhost: string, queue: string): void;
  closeReplyQueue(vhost: string, queue: string): void;
}

/** A session as the hub keeps track of it. */
export interface HostedSession {
  readonly transport: Transport;
}

/** The hub as its sessions see it. */
export interface SessionHost {
  readonly config: SessionConfig;
  readonly metrics: Metrics;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly router: RouterPort;
  /** Checks CONNECT credentials and token refreshes. */
  readonly authenticator: Authenticator;
  /** Set while the node drains and its broker hands queue entries to other nodes. */
  readonly queueTakesPaused: boolean;
  now(): number;
  /** The session's socket is gone. */
  detach(session: HostedSession): void;
  /** The session holds its input for publish pressure: release it when the pressure goes. */
  holdingInput(session: HostedSession): void;
}

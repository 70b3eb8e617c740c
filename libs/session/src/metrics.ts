// Counters of one node. Plain numbers, so the hot path pays an increment and nothing else; the
// service exports them (Prometheus /metrics) by reading them when scraped.
import { OPERATIONS, type Operation } from './access.js';

/** Client commands counted by name in `framesByCommand`; anything else counts as OTHER. */
export const CLIENT_COMMANDS = [
  'CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT',
] as const;

export class Metrics {
  connectionsOpened = 0;
  connectionsClosed = 0;
  framesIn = 0;
  /** Client frames by command (a bounded set of labels: CLIENT_COMMANDS and OTHER). */
  readonly framesByCommand = new Map<string, number>([...CLIENT_COMMANDS, 'OTHER'].map((c) => [c, 0]));
  bytesIn = 0;
  messagesPublished = 0;
  /** MESSAGE frames handed to sockets: per subscriber, including native group publishes. */
  messagesDelivered = 0;
  messagesEnqueued = 0;
  messagesRedelivered = 0;
  messagesDeadLettered = 0;
  /** Auto-ack topic messages dropped for a slow consumer (slowConsumerPolicy=drop). */
  slowConsumerDrops = 0;
  /** Messages NACKed with requeue:false or past maxDeliveries while no dead-letter destination is set. */
  messagesDiscarded = 0;
  /** Connections closed because they did not read fast enough. */
  slowConsumerDisconnects = 0;
  /** Times a publisher's input was held for publish pressure. */
  inputHolds = 0;
  /** Subscriptions open on this node, reply queues included. */
  subscriptions = 0;
  /** ERROR frames sent, by `message` header. */
  readonly errors = new Map<string, number>();
  heartbeatTimeouts = 0;
  /** Times an abuse limit refused or throttled a client, by the setting's name (a bounded set). */
  readonly limitHits = new Map<string, number>();
  /** Frames refused by authorization (ERROR access refused), by operation. */
  readonly accessDenied = new Map<Operation, number>(OPERATIONS.map((o) => [o, 0]));
  /**
   * Bindings of a wildcard subscription to a destination its principal may not read: that
   * destination's messages skip it. Counted once per binding (topic-index.ts), not per message.
   */
  wildcardExclusions = 0;

  countFrame(command: string): void {
    this.framesIn++;
    const n = this.framesByCommand.get(command);
    if (n !== undefined) this.framesByCommand.set(command, n + 1);
    else this.framesByCommand.set('OTHER', this.framesByCommand.get('OTHER')! + 1);
  }

  countLimit(setting: string): void {
    this.limitHits.set(setting, (this.limitHits.get(setting) ?? 0) + 1);
  }

  countDenied(operation: Operation): void {
    this.accessDenied.set(operation, this.accessDenied.get(operation)! + 1);
  }

  countError(message: string): void {
    this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
  }
}

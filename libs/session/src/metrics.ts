// Counters of one node. Plain numbers, so the hot path pays an increment and nothing else; the
// service exports them (Prometheus /metrics) by reading them when scraped.
export class Metrics {
  connectionsOpened = 0;
  connectionsClosed = 0;
  framesIn = 0;
  bytesIn = 0;
  messagesPublished = 0;
  /** MESSAGE frames handed to sockets: per subscriber, including native group publishes. */
  messagesDelivered = 0;
  messagesEnqueued = 0;
  messagesRedelivered = 0;
  messagesDeadLettered = 0;
  /** Auto-ack topic messages dropped for a slow consumer (slowConsumerPolicy=drop). */
  slowConsumerDrops = 0;
  /** Connections closed because they did not read fast enough. */
  slowConsumerDisconnects = 0;
  /** ERROR frames sent, by `message` header. */
  readonly errors = new Map<string, number>();
  heartbeatTimeouts = 0;

  countError(message: string): void {
    this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
  }
}

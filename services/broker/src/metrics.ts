// Prometheus exposition of a node's counters. The hot path only bumps plain numbers in
// Hub.metrics; prom-client reads them when /metrics is scraped.
import type { Broker } from '@stompede/cluster';
import type { Hub } from '@stompede/session';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(hub: Hub, broker: Broker): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stompede_process_' });
  const m = hub.metrics;
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('stompede_connections', 'Open client connections.', () => hub.connections);
  counter('stompede_connections_opened_total', 'Client connections accepted.', () => m.connectionsOpened);
  counter('stompede_frames_received_total', 'Client frames parsed.', () => m.framesIn);
  counter('stompede_received_bytes_total', 'Bytes received from clients.', () => m.bytesIn);
  counter('stompede_messages_published_total', 'SEND frames accepted (topics and queues).', () => m.messagesPublished);
  counter('stompede_messages_delivered_total', 'MESSAGE frames handed to sockets.', () => m.messagesDelivered);
  counter('stompede_messages_redelivered_total', 'Messages delivered again after NACK or a lost consumer.', () => m.messagesRedelivered);
  counter('stompede_messages_dead_lettered_total', 'Messages moved to the dead-letter destination.', () => m.messagesDeadLettered);
  counter('stompede_slow_consumer_drops_total', 'Auto-ack topic messages skipped for a slow consumer (slowConsumerPolicy=drop).', () => m.slowConsumerDrops);
  counter('stompede_slow_consumer_disconnects_total', 'Connections closed for not reading fast enough.', () => m.slowConsumerDisconnects);
  counter('stompede_heartbeat_timeouts_total', 'Connections closed for missing heart-beats.', () => m.heartbeatTimeouts);
  gauge('stompede_queued_messages', 'Messages waiting in queues.', () => broker.stats().queuedMessages);
  gauge('stompede_queued_bytes', 'Bytes waiting in queues.', () => broker.stats().queuedBytes);
  counter('stompede_unroutable_total', 'Messages sent to reply queues whose owner is gone.', () => broker.stats().unroutable);
  new Counter({
    name: 'stompede_errors_total',
    help: 'ERROR frames sent, by message.',
    labelNames: ['message'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [message, n] of m.errors) this.inc({ message }, n);
    },
  });
  return registry;
}

// Prometheus exposition of a node's counters. The hot path only bumps plain numbers in
// Hub.metrics; prom-client reads them when /metrics is scraped.
import { RedisBroker, type Broker } from '@stompede/cluster';
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
  if (broker instanceof RedisBroker) {
    const c = () => broker.clusterStats();
    gauge('stompede_cluster_redis_up', '1 while Redis is reachable, 0 during an outage.', () => (c().redisUp ? 1 : 0));
    gauge('stompede_cluster_nodes', 'Live nodes in the registry, this one included.', () => c().nodesAlive);
    gauge('stompede_cluster_watched_streams', 'Topic streams this node reads (destinations with local subscribers).', () => c().watchedStreams);
    gauge('stompede_cluster_outbox_messages', 'Topic messages waiting for Redis to return.', () => c().outboxMessages);
    gauge('stompede_cluster_outbox_bytes', 'Bytes of topic messages waiting for Redis to return.', () => c().outboxBytes);
    counter('stompede_cluster_outbox_dropped_total', 'Topic messages dropped because the outbox was full during an outage.', () => c().outboxDropped);
    counter('stompede_cluster_entries_read_total', 'Stream entries this node read from Redis (topics and queues).', () => c().entriesRead);
    counter('stompede_cluster_bytes_read_total', 'Field bytes of the stream entries this node read from Redis.', () => c().bytesRead);
    counter('stompede_cluster_published_total', 'Topic messages stored in Redis (XADD acknowledged).', () => c().published);
    counter('stompede_cluster_publish_failures_total', 'Topic XADDs that failed (the message went to the outbox, or the SEND got ERROR).', () => c().publishFailures);
    counter('stompede_cluster_reclaimed_total', 'Queue entries this node reclaimed from dead or departed nodes (XAUTOCLAIM).', () => c().reclaimed);
    counter('stompede_cluster_released_total', 'Queue entries this node handed back when its last consumer left.', () => c().released);
    counter('stompede_cluster_gaps_total', 'Topic messages this node never read: trimmed from their stream before it caught up (it fell further behind than the stream keeps), or refused to their publisher.', () => c().gaps);
    counter('stompede_cluster_dead_lettered_total', 'Reclaimed queue entries past maxDeliveries.', () => c().deadLettered);
  }
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

// Metrics only a cluster node has: Redis reachability and lag, the outbox, stream reads, queue
// reclaims, gaps.
import type { RedisBroker } from '@stompede/cluster';
import type { Histogram, Registry } from 'prom-client';
import { counterOf, gaugeOf } from './metric-kinds.js';

export function clusterMetrics(registry: Registry, broker: RedisBroker, redisLag: Histogram): void {
  const c = () => broker.clusterStats();
  const counter = (name: string, help: string, read: () => number): void => counterOf(registry, name, help, read);
  const gauge = (name: string, help: string, read: () => number): void => gaugeOf(registry, name, help, read);
  gauge('stompede_redis_up', '1 while Redis is reachable, 0 during an outage.', () => (c().redisUp ? 1 : 0));
  registry.registerMetric(redisLag);
  gauge('stompede_cluster_nodes', 'Live nodes in the registry, this one included.', () => c().nodesAlive);
  gauge('stompede_cluster_watched_streams', 'Topic streams this node reads (destinations with local subscribers).', () => c().watchedStreams);
  gauge('stompede_cluster_outbox_messages', 'Topic messages waiting for Redis to return.', () => c().outboxMessages);
  gauge('stompede_cluster_outbox_bytes', 'Bytes of topic messages waiting for Redis to return.', () => c().outboxBytes);
  counter('stompede_cluster_entries_read_total', 'Stream entries this node read from Redis (topics and queues).', () => c().entriesRead);
  counter('stompede_cluster_bytes_read_total', 'Field bytes of the stream entries this node read from Redis.', () => c().bytesRead);
  counter('stompede_cluster_published_total', 'Topic messages stored in Redis (XADD acknowledged).', () => c().published);
  counter('stompede_cluster_publish_failures_total', 'Topic XADDs that failed (the message went to the outbox, or the SEND got ERROR).', () => c().publishFailures);
  counter('stompede_cluster_reclaimed_total', 'Queue entries this node reclaimed from dead or departed nodes (XAUTOCLAIM).', () => c().reclaimed);
  counter('stompede_cluster_released_total', 'Queue entries this node handed back (its last consumer left, or it drains).', () => c().released);
  counter('stompede_cluster_gaps_total', 'Topic messages this node never read: trimmed from their stream before it caught up (it fell further behind than the stream keeps), or refused to their publisher.', () => c().gaps);
  counter('stompede_cluster_dead_lettered_total', 'Reclaimed queue entries past maxDeliveries.', () => c().deadLettered);
}

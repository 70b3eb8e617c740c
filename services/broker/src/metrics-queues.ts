// stompede_queue_depth for the deepest queues only: one label value per queue would let the number
// of series grow with the number of queues. Depths come from the broker (Redis in a cluster, the
// same on every node), at most once per QUEUE_DEPTH_TTL_MS however often /metrics is scraped.
import type { BrokerInspector } from '@stompede/cluster';
import type { Hub } from '@stompede/session';
import { Gauge } from 'prom-client';

const QUEUE_DEPTH_TTL_MS = 5_000;

interface QueueDepth {
  readonly vhost: string;
  readonly queue: string;
  readonly depth: number;
}

export function queueDepthGauge(sources: { hub: Hub; inspector: BrokerInspector; topQueues: number }): Gauge {
  let cached: { atMs: number; top: QueueDepth[] } | undefined;
  const top = async (): Promise<QueueDepth[]> => {
    if (cached !== undefined && Date.now() - cached.atMs < QUEUE_DEPTH_TTL_MS) return cached.top;
    const all: QueueDepth[] = [];
    for (const vhost of sources.hub.config.vhosts) {
      const queues = (await sources.inspector.knownDestinations(vhost)).queues;
      const stats = await sources.inspector.destinationStats(vhost, queues.map((name) => ({ name, kind: 'queue' as const })));
      queues.forEach((queue, i) => all.push({ vhost, queue, depth: stats[i]!.depth }));
    }
    all.sort((a, b) => b.depth - a.depth);
    cached = { atMs: Date.now(), top: all.slice(0, sources.topQueues) };
    return cached.top;
  };
  return new Gauge({
    name: 'stompede_queue_depth',
    help: 'Messages waiting in a queue, for the STOMPEDE_METRICS_TOP_QUEUES deepest queues (cluster-wide in a cluster: every node exports the same values, aggregate with max).',
    labelNames: ['vhost', 'queue'],
    registers: [],
    async collect() {
      this.reset();
      try {
        for (const q of await top()) this.set({ vhost: q.vhost, queue: q.queue }, q.depth);
      } catch {
        // Redis unreachable: no queue depths this scrape (stompede_redis_up says why).
      }
    },
  });
}

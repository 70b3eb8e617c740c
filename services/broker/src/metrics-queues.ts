// stompede_queue_depth for the deepest queues only: one label value per queue would let the number
// of series grow with the number of queues. Depths come from the broker (Redis in a cluster, the
// same on every node). A scrape never waits for them: it reports the last depths read, and starts
// a new read when those are older than QUEUE_DEPTH_TTL_MS, so a slow or unreachable Redis cannot
// hold /metrics (or WatchStats) up.
import type { BrokerInspector } from '@stompede/broker-api';
import type { Hub } from '@stompede/session';
import { Gauge } from 'prom-client';

const QUEUE_DEPTH_TTL_MS = 5_000;

interface QueueDepth {
  readonly vhost: string;
  readonly queue: string;
  readonly depth: number;
}

export function queueDepthGauge(sources: { hub: Hub; inspector: BrokerInspector; topQueues: number }): Gauge {
  let top: QueueDepth[] = [];
  let readAtMs = 0;
  let reading = false;
  const read = async (): Promise<void> => {
    const all: QueueDepth[] = [];
    for (const vhost of sources.hub.config.vhosts) {
      const queues = (await sources.inspector.knownDestinations(vhost)).queues;
      const stats = await sources.inspector.destinationStats(vhost, queues.map((name) => ({ name, kind: 'queue' as const })));
      queues.forEach((queue, i) => all.push({ vhost, queue, depth: stats[i]!.depth }));
    }
    all.sort((a, b) => b.depth - a.depth);
    top = all.slice(0, sources.topQueues);
  };
  const refresh = (): void => {
    if (reading || Date.now() - readAtMs < QUEUE_DEPTH_TTL_MS) return;
    reading = true;
    readAtMs = Date.now();
    // Redis unreachable: the last depths stay (stompede_redis_up says why they are old).
    read().catch(() => {}).finally(() => (reading = false));
  };
  return new Gauge({
    name: 'stompede_queue_depth',
    help: 'Messages waiting in a queue, for the STOMPEDE_METRICS_TOP_QUEUES deepest queues, read at most every 5 s (cluster-wide in a cluster: every node exports the same values, aggregate with max).',
    labelNames: ['vhost', 'queue'],
    registers: [],
    collect() {
      refresh();
      this.reset();
      for (const q of top) this.set({ vhost: q.vhost, queue: q.queue }, q.depth);
    },
  });
}

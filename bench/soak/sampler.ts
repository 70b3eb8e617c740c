// Every few seconds, one Sample per process: a node's RSS and V8 heap from its /metrics
// (prom-client's process_resident_memory_bytes and nodejs_heap_size_*), open descriptors from
// /proc/<pid>/fd; Redis's RSS and descriptors from /proc and its used_memory from INFO. A node that
// is down (restarting) has no sample.
import { loadavg } from 'node:os';
import type { PrometheusFamily } from 'parse-prometheus-text-format';
import { fdCount, parseMetrics, rssBytes } from '../../services/broker/test/helpers/metrics.js';
import type { SoakCluster } from './cluster.js';
import type { Sample } from './trend.js';

function sum(family: PrometheusFamily | undefined, name: string): number {
  if (family === undefined) throw new Error(`${name} is not exported on /metrics`);
  return family.metrics.reduce((s, m) => s + Number(m.value), 0);
}

export class Sampler {
  readonly samples: Sample[] = [];
  /** Readings that failed (a node going away while read), by reason. */
  readonly misses = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly cluster: SoakCluster, private readonly startedAt: number, private readonly everyMs: number) {}

  start(): void {
    void this.sampleAll();
    this.timer = setInterval(() => void this.sampleAll(), this.everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async sampleAll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const t = (Date.now() - this.startedAt) / 1000;
    const load1 = loadavg()[0]!;
    try {
      const readings = await Promise.all([
        ...this.cluster.upNodes().map((n) => this.attempt(n.nodeId, () => this.node(n.nodeId, n.pid, n.httpUrl, t, load1))),
        this.attempt('redis', () => this.redis(t, load1)),
      ]);
      for (const r of readings) if (r !== undefined) this.samples.push(r);
    } finally {
      this.busy = false;
    }
  }

  private async attempt(name: string, read: () => Promise<Sample>): Promise<Sample | undefined> {
    try {
      return await read();
    } catch (err) {
      const reason = `${name}: ${(err as Error).message.slice(0, 80)}`;
      this.misses.set(reason, (this.misses.get(reason) ?? 0) + 1);
      return undefined;
    }
  }

  private async node(name: string, pid: number, httpUrl: string, t: number, load1: number): Promise<Sample> {
    const res = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const m = parseMetrics(await res.text());
    const fam = (n: string): number => sum(m.get(n), n);
    return {
      t, process: name, pid, load1,
      rssBytes: fam('process_resident_memory_bytes'),
      heapUsedBytes: fam('nodejs_heap_size_used_bytes'),
      heapTotalBytes: fam('nodejs_heap_size_total_bytes'),
      fds: fdCount(pid),
      connections: fam('stompede_connections'),
    };
  }

  private async redis(t: number, load1: number): Promise<Sample> {
    const info = await this.cluster.redis.cli('INFO');
    const field = (k: string): number => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    const pid = this.cluster.redisPid;
    return {
      t, process: 'redis', pid, load1,
      rssBytes: rssBytes(pid),
      heapUsedBytes: field('used_memory'),
      heapTotalBytes: field('used_memory_rss'),
      fds: fdCount(pid),
      connections: field('connected_clients'),
    };
  }
}

// One soak run against a started cluster: the clients, the restart at its time, the settle phase
// after the load, and the accounting. Returns everything the report needs.
import { Churner } from './churn.js';
import { ErrorTally, QueueConsumer, QueueProducer, queueOf, TopicPublisher, TopicSubscriber } from './clients.js';
import type { SoakCluster } from './cluster.js';
import { churnLoss, QueueLedger, TopicLedger } from './ledger.js';
import type { SoakOptions } from './options.js';
import type { SoakResult } from './report.js';
import { Sampler } from './sampler.js';
import { trends } from './trend.js';

type Log = (line: string) => void;
export type TrafficResult = Omit<SoakResult, 'command' | 'machine' | 'startedAt'>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** mulberry32: a small seeded generator, so that a run's traffic mix can be repeated. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

class Traffic {
  readonly random: () => number;
  readonly topics = new TopicLedger();
  readonly queues = new QueueLedger();
  readonly errors = new ErrorTally();
  readonly publisherIds: number[];
  readonly publishers: TopicPublisher[];
  readonly subscribers: TopicSubscriber[];
  readonly producers: QueueProducer[];
  readonly consumers: QueueConsumer[];
  readonly churners: Churner[];

  constructor(o: SoakOptions, cluster: SoakCluster) {
    this.random = seeded(o.seed);
    const body = (): string => 'x'.repeat(64 + Math.floor(this.random() * 960));
    const nodes = cluster.upNodes().length;
    this.publisherIds = range(o.publishers);
    this.publishers = this.publisherIds.map((i) => new TopicPublisher(cluster, i, i, this.topics, this.errors, body));
    this.subscribers = range(nodes * o.subscribers).map((i) => new TopicSubscriber(cluster, i, `sub-${i}`, this.publisherIds, this.topics, this.errors));
    this.producers = range(o.producers).map((i) => new QueueProducer(cluster, i + 1, i, queueOf(i), this.queues, this.errors, body));
    const consumer = { prefetch: 20, nackShare: o.nackShare, maxHoldMs: 20, random: this.random };
    this.consumers = range(nodes * o.consumers).map((i) => new QueueConsumer(cluster, i, `con-${i}`, queueOf(i % o.producers), this.queues, this.errors, consumer));
    const churn = { publishers: o.publishers, queues: o.producers, dwellMs: [500, 2500] as const, leaveUnacked: 0.2, random: this.random };
    this.churners = range(o.churners).map((i) => new Churner(i % 2 === 0 ? 'ws' : 'tcp', cluster, i, this.queues, this.errors, churn));
  }

  async start(o: SoakOptions): Promise<void> {
    for (const c of [...this.subscribers, ...this.consumers]) c.start();
    await withTimeout(Promise.all([...this.subscribers, ...this.consumers].map((c) => c.ready)), 30_000, 'subscribers and consumers did not subscribe within 30 s');
    for (const p of this.publishers) p.start(o.topicRate);
    for (const p of this.producers) p.start(o.queueRate);
    for (const c of this.churners) c.start();
  }

  /** Stops the load; connections stay for RECEIPTs and deliveries still under way. */
  async stopLoad(): Promise<void> {
    for (const p of [...this.publishers, ...this.producers]) p.pause();
    await Promise.all(this.churners.map((c) => c.stop()));
  }

  settled(): { topics: boolean; queues: boolean } {
    return { topics: this.topics.settled(this.subscribers.map((s) => s.name), this.publisherIds), queues: this.queues.settled() };
  }

  async close(): Promise<void> {
    await Promise.all([...this.publishers, ...this.producers, ...this.subscribers, ...this.consumers].map((c) => c.stop()));
  }

  progress(): string {
    const confirmed = this.publisherIds.map((p) => this.topics.lastConfirmed(p)).join('/');
    const q = this.queues;
    return `topic seq ${confirmed}, queue deliveries ${q.deliveries} (${q.redeliveries} redelivered, ${q.nacks} NACKs), churn cycles ${this.churners.reduce((s, c) => s + c.cycles, 0)}`;
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runTraffic(o: SoakOptions, cluster: SoakCluster, log: Log): Promise<TrafficResult> {
  const t0 = Date.now();
  const loadMs = o.minutes * 60_000;
  const sampler = new Sampler(cluster, t0, o.sampleSeconds * 1000);
  sampler.start();
  const traffic = new Traffic(o, cluster);
  await traffic.start(o);
  log(`load running for ${o.minutes} min: ${traffic.publishers.length} topic publishers, ${traffic.subscribers.length} subscribers, ${traffic.producers.length} queue producers, ${traffic.consumers.length} consumers, ${traffic.churners.length} churners`);
  const ticker = setInterval(() => log(`${((Date.now() - t0) / 60_000).toFixed(1)} min: ${traffic.progress()}`), 30_000);
  let restart: TrafficResult['restart'];
  try {
    await sleep(t0 + o.restartAt * loadMs - Date.now());
    log(`restarting ${cluster.nodes[1]!.nodeId} (SIGTERM: drain, exit, start again)`);
    const r = await cluster.restart(1);
    restart = { ...r, stopS: (r.stopAt - t0) / 1000, upS: (r.upAt - t0) / 1000 };
    log(`${r.node} exited with ${r.exitCode} after ${((r.exitedAt - r.stopAt) / 1000).toFixed(1)} s, serves again (pid ${r.newPid})`);
    await sleep(t0 + loadMs - Date.now());
  } finally {
    clearInterval(ticker);
  }
  await traffic.stopLoad();
  const loadSeconds = (Date.now() - t0) / 1000;
  const settleStart = Date.now();
  while (Date.now() - settleStart < o.settleSeconds * 1000 && !(traffic.settled().topics && traffic.settled().queues)) await sleep(250);
  const settled = { ...traffic.settled(), seconds: (Date.now() - settleStart) / 1000 };
  sampler.stop();
  await traffic.close();
  return account(o, traffic, sampler, { loadSeconds, settled, restart });
}

function account(o: SoakOptions, traffic: Traffic, sampler: Sampler, run: Pick<TrafficResult, 'loadSeconds' | 'settled' | 'restart'>): TrafficResult {
  const MiB = 1024 * 1024;
  const window = { fromS: run.loadSeconds / 2, toS: run.loadSeconds };
  const churnHoles = traffic.churners.flatMap((c) => c.holes);
  const churnFailures: Record<string, number> = {};
  for (const c of traffic.churners) for (const [k, v] of c.failures) churnFailures[k] = (churnFailures[k] ?? 0) + v;
  return {
    ...run,
    settings: {
      'topic publishers': `${o.publishers} × ${o.topicRate} msgs/s`, 'topic subscribers': traffic.subscribers.length,
      'queue producers': `${o.producers} × ${o.queueRate} msgs/s`, 'queue consumers': traffic.consumers.length, 'NACK share': o.nackShare,
      churners: o.churners, 'sample every': `${o.sampleSeconds} s`, seed: o.seed,
    },
    window,
    samples: sampler.samples,
    trends: trends(sampler.samples, window.fromS, window.toS, { rssBytesPerMin: o.maxRssMibPerMin * MiB, heapBytesPerMin: o.maxHeapMibPerMin * MiB, fdsPerMin: o.maxFdsPerMin }),
    topics: traffic.topics.account(traffic.subscribers.map((s) => s.name), traffic.publisherIds),
    topicsPublished: Object.fromEntries(traffic.publisherIds.map((p) => [String(p), traffic.topics.lastConfirmed(p)])),
    queues: traffic.queues.account(),
    churn: {
      cycles: { ws: sumCycles(traffic.churners, 'ws'), tcp: sumCycles(traffic.churners, 'tcp') },
      messages: traffic.churners.reduce((s, c) => s + c.messages, 0),
      lost: churnLoss(churnHoles, traffic.topics).length,
      failures: churnFailures,
    },
    errors: Object.fromEntries(traffic.errors.counts),
    drainErrors: traffic.errors.drains,
    sampleMisses: Object.fromEntries(sampler.misses),
  };
}

function sumCycles(churners: readonly Churner[], kind: 'ws' | 'tcp'): number {
  return churners.filter((c) => c.kind === kind).reduce((s, c) => s + c.cycles, 0);
}

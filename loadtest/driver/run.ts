// One scenario run: parts (in this process or in --procs workers) connect their clients, the
// parent drives publishers or producers (and a drain, for the drain scenario), waits until what
// was sent has arrived (or the scenario's drainSec has passed), collects every part's report,
// adds the verdict metrics and evaluates the scenario's thresholds.
import { num, str, type MetricName, type Scenario } from '../k6/lib/scenario-core.js';
import { ctlDrain, nodeIdAt, type AdminTarget } from './drain.js';
import { Metrics, type MetricValues } from './metrics.js';
import { localPart, workerPart, type PartHandle } from './part-handles.js';
import { scenarioKind, type PartResult } from './parts.js';
import { queueVerdict } from './queue.js';
import { evaluateThresholds, type ThresholdResult } from './thresholds.js';
import { Publisher, type PublisherReport } from './publisher.js';
import { topicVerdict } from './topic.js';

export interface RunOptions {
  readonly scenario: Scenario;
  readonly urls: readonly string[];
  /** Worker processes for the parts (0: everything in this process). */
  readonly procs: number;
  /** Topic subscribers' client (default: stompjs when the scenario drains a node, else raw). */
  readonly client?: 'raw' | 'stompjs';
  /** Where the drain scenario sends its Drain (any node's admin API). */
  readonly admin?: AdminTarget;
  readonly log?: (line: string) => void;
}

export interface ClientCpu {
  /** CPU seconds of the driver's processes over the run, and their average use in cores. */
  readonly seconds: number;
  readonly cores: number;
  readonly processes: number;
}

export interface RunResult {
  readonly scenario: string;
  readonly profile: string;
  readonly params: Scenario['params'];
  readonly elapsedSec: number;
  readonly metrics: Record<string, MetricValues>;
  readonly thresholds: readonly ThresholdResult[];
  readonly passed: boolean;
  readonly clientCpu: ClientCpu;
  /** Drain scenario: the node drained. */
  readonly drainedNode?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `reached` until it is true or `deadlineMs` passes. */
async function until(reached: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end && !(await reached())) await sleep(100);
}

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const { scenario } = o;
  const log = o.log ?? (() => {});
  const kind = scenarioKind(scenario);
  const drains = 'drainAtSec' in scenario.params;
  if (drains && o.admin === undefined) throw new Error(`scenario ${scenario.name} drains a node: give the admin address (--admin host:port)`);
  const cpu0 = process.cpuUsage();
  const started = Date.now();
  const count = Math.max(1, o.procs);
  const client = o.client ?? (drains ? 'stompjs' : 'raw');
  const drainTarget = drains ? await nodeIdAt(o.urls[num(scenario, 'subscriberNode') % o.urls.length]!) : undefined;

  log(`${scenario.name} (${scenario.profile}): starting ${count} part(s)${o.procs > 0 ? ' in worker processes' : ''}`);
  const parts: PartHandle[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const spec = { scenario, urls: o.urls, index, count, client };
      parts.push(await (o.procs > 0 ? workerPart(spec) : localPart(spec)));
    }
    const metrics = new Metrics();
    const publishers = kind === 'churn' ? [] : makePublishers(scenario, o.urls, kind, metrics);
    await Promise.all(publishers.map((p) => p.connect()));
    log(`${scenario.name}: clients ready; load for ${num(scenario, 'durationSec')} s`);
    const loadStarted = Date.now();
    for (const part of parts) part.go();
    for (const p of publishers) p.start();

    let drained: Promise<void> = Promise.resolve();
    if (drainTarget !== undefined) {
      drained = sleep(num(scenario, 'drainAtSec') * 1000).then(() => {
        log(`${scenario.name}: draining ${drainTarget}`);
        return ctlDrain(o.admin!, drainTarget, { graceMs: num(scenario, 'drainGraceMs'), windowMs: num(scenario, 'drainWindowMs') });
      });
    }
    await sleep(Math.max(0, num(scenario, 'durationSec') * 1000 - (Date.now() - loadStarted)));
    const drainMs = kind === 'churn' ? 0 : num(scenario, 'drainSec') * 1000;
    const reports: PublisherReport[] = await Promise.all(publishers.map((p) => p.finish(drainMs)));
    await drained;
    await settle(scenario, kind, reports, parts, drainMs);
    const results: PartResult[] = await Promise.all(parts.map((p) => p.finish()));
    const elapsedSec = (Date.now() - started) / 1000;

    for (const r of results) metrics.merge(r.metrics);
    const subscribers = results.flatMap((r) => r.subscribers);
    if (kind === 'topic') topicVerdict(reports, subscribers, metrics);
    if (kind === 'queue') queueVerdict(reports, results.flatMap((r) => r.consumers), metrics);

    const thresholds = evaluateThresholds(scenario.thresholds, metrics, (Date.now() - loadStarted) / 1000);
    const own = process.cpuUsage(cpu0);
    const seconds = (own.user + own.system + (o.procs > 0 ? results.reduce((n, r) => n + r.cpuUs, 0) : 0)) / 1e6;
    const names = new Set([...Object.keys(metrics.toJSON().counters), ...Object.keys(metrics.toJSON().trends), ...Object.keys(scenario.thresholds)]);
    return {
      scenario: scenario.name,
      profile: scenario.profile,
      params: scenario.params,
      elapsedSec,
      metrics: Object.fromEntries([...names].sort().map((n) => [n, metrics.values(n as MetricName, (Date.now() - loadStarted) / 1000)])),
      thresholds,
      passed: thresholds.every((t) => t.ok),
      clientCpu: { seconds, cores: seconds / elapsedSec, processes: 1 + (o.procs > 0 ? o.procs : 0) },
      ...(drainTarget === undefined ? {} : { drainedNode: drainTarget }),
    };
  } finally {
    for (const p of parts) p.kill();
  }
}

function makePublishers(scenario: Scenario, urls: readonly string[], kind: 'topic' | 'queue', metrics: Metrics): Publisher[] {
  const durationSec = num(scenario, 'durationSec');
  const common = { urls: () => urls, destination: str(scenario, 'destination'), bodyBytes: num(scenario, 'bodyBytes'), metrics };
  if (kind === 'topic') {
    const rate = num(scenario, 'ratePerSec');
    return Array.from({ length: num(scenario, 'publishers') }, () =>
      new Publisher({ ...common, home: num(scenario, 'publisherNode'), ratePerSec: rate, total: Math.max(1, Math.round(rate * durationSec)), reconnectDelayMs: num(scenario, 'reconnectDelayMs') }),
    );
  }
  const producers = num(scenario, 'producers');
  const messages = num(scenario, 'messages');
  return Array.from({ length: producers }, (_, i) => {
    const total = Math.floor(messages / producers) + (i < messages % producers ? 1 : 0);
    return new Publisher({ ...common, home: num(scenario, 'node'), ratePerSec: total / durationSec, total, reconnectDelayMs: 1000, counter: 'queue_sent' });
  });
}

/** Waits until every subscriber saw every confirmed final message, or every sent message was acked. */
async function settle(scenario: Scenario, kind: string, reports: readonly PublisherReport[], parts: readonly PartHandle[], deadlineMs: number): Promise<void> {
  if (kind === 'churn') return;
  const finals = reports.filter((r) => r.finalSeq !== undefined).map((r) => r.id);
  const target = kind === 'topic'
    ? num(scenario, 'subscribers') * finals.length
    : reports.reduce((n, r) => n + r.confirmed.reduce((m, [a, b]) => m + b - a + 1, 0), 0);
  await until(async () => (await Promise.all(parts.map((p) => p.progress(finals)))).reduce((a, b) => a + b, 0) >= target, deadlineMs);
}

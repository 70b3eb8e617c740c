// A rolling update as Kubernetes runs one (maxSurge 1, maxUnavailable 0), as processes: three
// nodes and a private redis-server under continuous traffic; for each original node in turn, a
// new node starts and joins the endpoints, the old one leaves them, gets its preStop hook
// (`stompede-ctl drain <node> --wait` against its own admin port) and then SIGTERM. Clients
// reconnect to the nodes in the endpoints and resume. The report: messages lost and duplicated
// (thresholds from loadtest/scenarios/rollout.json) and the peak reconnect rate.
import { num, type Scenario } from '../k6/lib/scenario-core.js';
import { ctlDrain } from '../driver/drain.js';
import { Metrics, type MetricValues } from '../driver/metrics.js';
import { evaluateThresholds, type ThresholdResult } from '../driver/thresholds.js';
import { TEST_ADMIN_TOKEN } from '../../services/broker/test/helpers/broker-process.js';
import { startRehearsalCluster } from './cluster.js';
import type { Repeat, SubscriberReport } from '../driver/topic.js';
import { peakPerSecond, Traffic } from './traffic.js';

export interface NodeStep {
  readonly replaced: string;
  readonly by: string;
  /** Time the preStop drain took, and the old node's exit code after SIGTERM. */
  readonly drainMs: number;
  readonly exitCode: number | null;
}

export interface RehearsalReport {
  readonly profile: string;
  readonly params: Scenario['params'];
  readonly elapsedSec: number;
  readonly steps: readonly NodeStep[];
  readonly metrics: Record<string, MetricValues>;
  readonly thresholds: readonly ThresholdResult[];
  readonly peakReconnectsPerSec: number;
  readonly reconnects: number;
  readonly clientCpuSec: number;
  /** Topic messages a subscriber got twice (first 20): message-ids and connections of both. */
  readonly repeats: readonly Repeat[];
  /** Drain notices whose x-last-message-id was not the last message the subscriber received (first 20). */
  readonly staleDrainIds: readonly { readonly header: string; readonly lastReceived: string | undefined }[];
  readonly passed: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runRehearsal(scenario: Scenario, log: (line: string) => void = () => {}): Promise<RehearsalReport> {
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const graceMs = num(scenario, 'drainGraceMs');
  const windowMs = num(scenario, 'drainWindowMs');
  // SIGTERM without a preStop would drain with these too; the preStop drain comes first anyway.
  const cluster = await startRehearsalCluster(3, { STOMPEDE_DRAIN_GRACE_MS: String(graceMs), STOMPEDE_DRAIN_WINDOW_MS: String(windowMs) });
  const metrics = new Metrics();
  const traffic = new Traffic(scenario, () => cluster.urls(), metrics);
  const steps: NodeStep[] = [];
  let subscribers: SubscriberReport[] = [];
  try {
    log(`nodes ${cluster.nodes.map((n) => n.nodeId).join(', ')} and redis on port ${cluster.redis.port}; starting traffic`);
    await traffic.start();
    await sleep(num(scenario, 'warmupSec') * 1000);
    for (const old of [...cluster.nodes]) {
      const fresh = await cluster.addNode();
      cluster.removeEndpoint(old);
      log(`${fresh.nodeId} ready; preStop drain of ${old.nodeId}`);
      const drainStarted = Date.now();
      await ctlDrain({ address: old.adminAddress, token: TEST_ADMIN_TOKEN }, old.nodeId, { graceMs, windowMs });
      const drainMs = Date.now() - drainStarted;
      const exitCode = await old.stop();
      log(`${old.nodeId} drained in ${drainMs} ms, exited ${exitCode} after SIGTERM`);
      steps.push({ replaced: old.nodeId, by: fresh.nodeId, drainMs, exitCode });
      await sleep(num(scenario, 'settleSec') * 1000);
    }
    log('rollout done; stopping traffic');
    subscribers = await traffic.finish(Math.max(10_000, windowMs * 2));
  } finally {
    await cluster.close();
  }
  const elapsedSec = (Date.now() - started) / 1000;
  const thresholds = evaluateThresholds(scenario.thresholds, metrics, elapsedSec);
  const names = new Set([...Object.keys(metrics.toJSON().counters), ...Object.keys(metrics.toJSON().trends)]);
  const cpu = process.cpuUsage(cpu0);
  return {
    profile: scenario.profile,
    params: scenario.params,
    elapsedSec,
    steps,
    metrics: Object.fromEntries([...names].sort().map((n) => [n, metrics.values(n as never, elapsedSec)])),
    thresholds,
    peakReconnectsPerSec: peakPerSecond(traffic.reconnects),
    reconnects: traffic.reconnects.length,
    clientCpuSec: (cpu.user + cpu.system) / 1e6,
    repeats: subscribers.flatMap((s) => s.repeats ?? []).slice(0, 20),
    staleDrainIds: subscribers.flatMap((s) => s.staleDrainIds ?? []).slice(0, 20),
    passed: thresholds.every((t) => t.ok) && steps.every((s) => s.exitCode === 0),
  };
}

export function rehearsalText(r: RehearsalReport): string {
  const count = (name: string): number => r.metrics[name]?.['count'] ?? 0;
  const lines = [`rollout rehearsal (profile ${r.profile}), ${r.elapsedSec.toFixed(1)} s`];
  for (const s of r.steps) lines.push(`  ${s.replaced} -> ${s.by}: preStop drain ${s.drainMs} ms, exit ${s.exitCode} after SIGTERM`);
  lines.push(`topics: ${count('stomp_published')} published (confirmed), ${count('stomp_delivered')} delivered, lost ${count('stomp_lost')}, duplicated ${count('stomp_duplicated')}, final message missing ${count('stomp_incomplete')}, delivered unconfirmed ${count('stomp_unconfirmed_delivered')}`);
  lines.push(`queue:  ${count('queue_sent')} sent (confirmed), ${count('queue_acked')} acked, lost ${count('queue_lost')}, duplicated ${count('queue_duplicated')}, acked unconfirmed ${count('queue_unconfirmed_acked')}`);
  lines.push(`reconnects: ${r.reconnects}, peak ${r.peakReconnectsPerSec}/s; drain notices ${count('stomp_drain_notices')}; resumed subscriptions: reconnect p99 ${r.metrics['stomp_reconnect_ms']?.['p(99)']?.toFixed(0) ?? '-'} ms`);
  lines.push(`client CPU: ${r.clientCpuSec.toFixed(2)} s`);
  for (const x of r.repeats) lines.push(`  repeated: ${x.publisher} #${x.seq}: ${x.firstId} (connection ${x.firstConnection}) then ${x.againId} (connection ${x.againConnection})`);
  for (const x of r.staleDrainIds) lines.push(`  drain notice named ${x.header}, last received ${x.lastReceived}`);
  for (const t of r.thresholds) lines.push(`  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expression} (${t.value ?? '-'})`);
  lines.push(r.passed ? 'PASS' : 'FAIL');
  return lines.join('\n');
}

// The soak's verdict and its report (markdown for people, JSON for tools). Pure, so the verdict's
// rules are tested (bench/test/soak-report.test.ts).
import type { RestartRecord } from './cluster.js';
import type { PairAccount, QueueAccount } from './ledger.js';
import type { Sample, Trend } from './trend.js';

export interface ChurnTotals {
  readonly cycles: { readonly ws: number; readonly tcp: number };
  readonly messages: number;
  /** Confirmed topic numbers missing inside a churn connection's run of messages. */
  readonly lost: number;
  readonly failures: Record<string, number>;
}

export interface SoakResult {
  readonly command: string;
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, unknown>;
  readonly startedAt: string;
  readonly loadSeconds: number;
  readonly window: { readonly fromS: number; readonly toS: number };
  readonly samples: readonly Sample[];
  readonly restart: (RestartRecord & { readonly stopS: number; readonly upS: number }) | undefined;
  readonly trends: readonly Trend[];
  readonly topics: readonly PairAccount[];
  readonly topicsPublished: Record<string, number>;
  readonly queues: QueueAccount;
  readonly churn: ChurnTotals;
  readonly errors: Record<string, number>;
  readonly drainErrors: number;
  readonly sampleMisses: Record<string, number>;
  readonly settled: { readonly topics: boolean; readonly queues: boolean; readonly seconds: number };
}

/** Why the soak failed; empty when it passed. */
export function failures(r: SoakResult): string[] {
  const out: string[] = [];
  for (const t of r.trends) {
    if (!t.ok) out.push(`${t.process} ${t.quantity}: ${t.problem ?? `slope ${fmtSlope(t)} over the bound ${fmtBound(t)}`}`);
  }
  if (r.trends.length === 0) out.push('no samples in the slope window');
  const silent = sumOf(r.topics, 'silentLoss');
  if (silent > 0) out.push(`topics: ${silent} confirmed messages lost silently (e.g. ${r.topics.filter((p) => p.silentLoss > 0).slice(0, 3).map((p) => `${p.subscriber}/pub${p.publisher}: ${p.examples.join(',')}`).join('; ')})`);
  const dups = sumOf(r.topics, 'duplicates');
  if (dups > 0) out.push(`topics: ${dups} messages delivered twice to one subscriber`);
  const silentPairs = r.topics.filter((p) => p.received === 0);
  if (silentPairs.length > 0) out.push(`topics: ${silentPairs.length} subscriber/publisher pairs received nothing`);
  if (r.queues.lost > 0) out.push(`queues: ${r.queues.lost} confirmed messages never acked (${r.queues.neverDelivered} never delivered; e.g. ${r.queues.examples.join(', ')})`);
  if (r.queues.duplicates > 0) out.push(`queues: ${r.queues.duplicates} messages acked more than once`);
  if (r.churn.lost > 0) out.push(`churn: ${r.churn.lost} confirmed messages missing inside churn connections`);
  if (r.restart === undefined) out.push('the node restart did not happen');
  else if (r.restart.exitCode !== 0) out.push(`${r.restart.node} exited with ${r.restart.exitCode} after SIGTERM (expected 0 after its drain)`);
  return out;
}

function sumOf(pairs: readonly PairAccount[], k: 'silentLoss' | 'toldLoss' | 'duplicates' | 'expected' | 'received'): number {
  return pairs.reduce((s, p) => s + p[k], 0);
}

const MiB = 1024 * 1024;

function fmtSlope(t: Trend): string {
  return t.quantity === 'fds' ? `${t.slopePerMin.toFixed(2)} fds/min` : `${(t.slopePerMin / MiB).toFixed(3)} MiB/min`;
}

function fmtBound(t: Trend): string {
  return t.quantity === 'fds' ? `${t.bound} fds/min` : `${(t.bound / MiB).toFixed(2)} MiB/min`;
}

function fmtValue(t: Trend, v: number): string {
  return t.quantity === 'fds' ? String(v) : `${(v / MiB).toFixed(1)} MiB`;
}

const QUANTITY: Record<Trend['quantity'], string> = { rssBytes: 'RSS', heapUsedBytes: 'heap used', fds: 'open fds' };

export function markdown(r: SoakResult): string {
  const fail = failures(r);
  const q = r.queues;
  const L: string[] = [
    `**${fail.length === 0 ? 'PASS' : 'FAIL'}**: ${(r.loadSeconds / 60).toFixed(1)} minutes of load from ${r.startedAt}.`, '',
    `- command: \`${r.command}\``,
    `- machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(' / ') : String(v)}`).join('; ')}`,
    `- traffic: ${Object.entries(r.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`,
    `- achieved (a publisher ticks every 1/rate s and falls behind when the load core is starved): ${achieved(r)}`,
  ];
  if (r.restart) {
    L.push(`- restart: ${r.restart.node} got SIGTERM at ${(r.restart.stopS / 60).toFixed(2)} min, drained and exited (code ${r.restart.exitCode}) after ${((r.restart.exitedAt - r.restart.stopAt) / 1000).toFixed(1)} s, served again at ${(r.restart.upS / 60).toFixed(2)} min${r.restart.movedPorts ? ' on new ports' : ' on the same ports'}; ${r.drainErrors} drain ERRORs reached clients, which moved to other nodes`);
  }
  L.push('', `Slopes over minutes ${(r.window.fromS / 60).toFixed(2)}–${(r.window.toS / 60).toFixed(2)} (least squares; a restarted node counts with its new process only):`, '',
    '| process | quantity | samples | first | last | slope | bound | ok |', '|---|---|---|---|---|---|---|---|');
  for (const t of r.trends) L.push(`| ${t.process} | ${QUANTITY[t.quantity]} | ${t.samples} | ${fmtValue(t, t.first)} | ${fmtValue(t, t.last)} | ${fmtSlope(t)} | ≤ ${fmtBound(t)} | ${t.ok ? 'yes' : `**no**${t.problem ? ` (${t.problem})` : ''}`} |`);
  L.push('', 'Messages:', '',
    `- topics: ${Object.entries(r.topicsPublished).map(([p, n]) => `publisher ${p} confirmed ${n}`).join(', ')}; ${r.topics.length} subscriber/publisher pairs expected ${sumOf(r.topics, 'expected')}, received ${sumOf(r.topics, 'received')}: **${sumOf(r.topics, 'silentLoss')} lost**, ${sumOf(r.topics, 'toldLoss')} in told gaps (x-resume-gap), ${sumOf(r.topics, 'duplicates')} duplicates`,
    `- queues: ${q.confirmedSends} confirmed SENDs (${q.unconfirmedSends} unconfirmed), ${q.deliveries} deliveries (${q.redeliveries} redelivered, ${q.nacks} NACKs), ${q.ackedOnce} acked exactly once: **${q.lost} lost**, ${q.duplicates} acked twice`,
    `- churn: ${r.churn.cycles.ws} WebSocket and ${r.churn.cycles.tcp} TCP connections, ${r.churn.messages} topic messages: **${r.churn.lost} lost** inside a connection's run; failed cycles: ${fmtCounts(r.churn.failures)}`,
    `- settled after the load: topics ${r.settled.topics ? 'yes' : '**no**'}, queues ${r.settled.queues ? 'yes' : '**no**'} (${r.settled.seconds.toFixed(1)} s)`,
    `- ERROR frames other than the drain's: ${fmtCounts(r.errors)}; missed samples: ${fmtCounts(r.sampleMisses)}`);
  if (fail.length > 0) L.push('', 'Failures:', '', ...fail.map((f) => `- ${f}`));
  return L.join('\n') + '\n';
}

function achieved(r: SoakResult): string {
  const perS = (n: number): string => (n / r.loadSeconds).toFixed(1);
  const topic = Object.values(r.topicsPublished).reduce((a, b) => a + b, 0);
  const churn = r.churn.cycles.ws + r.churn.cycles.tcp;
  return `${perS(topic)} topic msgs/s confirmed in all, ${perS(sumOf(r.topics, 'received'))} topic deliveries/s to the long-lived subscribers, ` +
    `${perS(r.queues.confirmedSends)} queue msgs/s, ${(churn / (r.loadSeconds / 60)).toFixed(0)} churned connections/min`;
}

function fmtCounts(m: Record<string, number>): string {
  const e = Object.entries(m);
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ×${v}`).join(', ');
}

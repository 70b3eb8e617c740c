// The driver's output: a k6-like text summary (thresholds with ✓/✗, then every metric) and the
// same as one JSON document.
import type { RunResult } from './run.js';

const fmt = (v: number | undefined): string => (v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1));

export function textReport(r: RunResult): string {
  const lines = [`scenario ${r.scenario} (profile ${r.profile}), ${r.elapsedSec.toFixed(1)} s${r.drainedNode ? `, drained ${r.drainedNode}` : ''}`];
  lines.push('thresholds:');
  for (const t of r.thresholds) lines.push(`  ${t.ok ? '✓' : '✗'} ${t.metric} ${t.expression} (${fmt(t.value)})`);
  lines.push('metrics:');
  for (const [name, values] of Object.entries(r.metrics)) {
    lines.push(`  ${name.padEnd(22)} ${Object.entries(values).map(([k, v]) => `${k}=${fmt(v)}`).join(' ')}`);
  }
  lines.push(`client CPU: ${r.clientCpu.seconds.toFixed(2)} s in ${r.clientCpu.processes} process(es), ${(r.clientCpu.cores * 100).toFixed(0)}% of one core on average`);
  lines.push(r.passed ? 'PASS' : `FAIL: ${r.thresholds.filter((t) => !t.ok).length} threshold(s) crossed`);
  return lines.join('\n');
}

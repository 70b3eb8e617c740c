#!/usr/bin/env node
// Vendored unchanged from /work/shared/tools/stompbench/summarize.js (2026-11-25 snapshot); see bench/README.md.
'use strict';
// Reads OUTDIR/*.jsonl written by run-anchors.sh / stompbench --out and prints markdown tables:
// median [min-max] over runs for each anchor x scenario.
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
if (!dir) { console.error('usage: node summarize.js OUTDIR'); process.exit(2); }
const rows = [];
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jsonl')).sort()) {
  const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const runs = lines.filter((l) => !l.summary && !l.error);
  const errs = lines.filter((l) => l.error);
  if (errs.length) console.error(`${f}: ${errs.length} aborted run(s): ${errs.map((e) => e.error + '@' + e.phase).join(', ')}`);
  if (!runs.length) continue;
  const [anchor, scen] = (runs[0].label || f).split('/');
  rows.push({ anchor, scen, runs });
}
const med = (v) => { const s = v.filter((x) => typeof x === 'number').sort((a, b) => a - b); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (v, d = 0) => (v == null ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
function cell(runs, f, d = 0) {
  const v = runs.map(f).filter((x) => typeof x === 'number');
  if (!v.length) return '–';
  const m = med(v);
  if (v.length === 1) return fmt(m, d);
  return `${fmt(m, d)} [${fmt(Math.min(...v), d)}–${fmt(Math.max(...v), d)}]`;
}
const flow = rows.filter((r) => r.runs[0].scenario !== 'conns');
const conns = rows.filter((r) => r.runs[0].scenario === 'conns');
const order = ['uws-ref', 'rmq-ws', 'rmq-tcp', 'amq-ws', 'amq-tcp'];
const byAnchor = (a, b) => (order.indexOf(a.anchor) - order.indexOf(b.anchor)) || a.scen.localeCompare(b.scen);
console.log('### Throughput / latency (median [min–max] of ' + (flow[0] ? flow[0].runs.length : 0) + ' runs)\n');
console.log('| scenario | anchor | delivered msg/s | publish msg/s | p50 ms | p95 ms | p99 ms | lost | client CPU % | broker CPU % | core0/core1 busy % |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of flow.sort((a, b) => a.scen.localeCompare(b.scen) || byAnchor(a, b))) {
  const R = r.runs;
  console.log(`| ${r.scen} | ${r.anchor} | ${cell(R, (x) => x.delivered_rate)} | ${cell(R, (x) => x.publish_rate)} | ${cell(R, (x) => x.lat_ms.p50, 2)} | ${cell(R, (x) => x.lat_ms.p95, 2)} | ${cell(R, (x) => x.lat_ms.p99, 2)} | ${cell(R, (x) => x.lost)} | ${cell(R, (x) => x.client_cpu_pct)} | ${cell(R, (x) => x.broker_cpu_pct)} | ${fmt(med(R.map((x) => x.core_busy_pct.cpu0)))}/${fmt(med(R.map((x) => x.core_busy_pct.cpu1)))} |`);
}
console.log('\n### Idle connections (median [min–max])\n');
console.log('| scenario | anchor | opened | connect/s | broker RSS before MB | broker RSS after MB | broker bytes/conn | client CPU % (connect) | broker CPU % (connect) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of conns.sort(byAnchor)) {
  const R = r.runs;
  console.log(`| ${r.scen} | ${r.anchor} | ${cell(R, (x) => x.opened)} | ${cell(R, (x) => x.connect_rate)} | ${cell(R, (x) => x.broker_rss_before_mb, 1)} | ${cell(R, (x) => x.broker_rss_after_mb, 1)} | ${cell(R, (x) => x.broker_bytes_per_conn)} | ${cell(R, (x) => x.client_cpu_pct_during_connect)} | ${cell(R, (x) => x.broker_cpu_pct_during_connect)} |`);
}

// Compact anchor x scenario table (medians): msgs/s for max rows, p50/p99 for fixed-rate rows, RSS/conn.
{
  const get = (a, s) => rows.find((r) => r.anchor === a && r.scen === s);
  const m = (a, s, f, d = 0) => { const r = get(a, s); if (!r) return '–'; return fmt(med(r.runs.map(f)), d); };
  const lat = (a, s) => { const r = get(a, s); if (!r) return '–'; return `${fmt(med(r.runs.map((x) => x.lat_ms.p50)), 1)} / ${fmt(med(r.runs.map((x) => x.lat_ms.p99)), 1)}`; };
  const anchors = [...new Set(rows.map((r) => r.anchor))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const rss = (a) => { const r = get(a, 'conns10k-freshjvm') || get(a, 'conns10k'); return r ? fmt(med(r.runs.map((x) => x.broker_bytes_per_conn)) / 1024, 1) : '–'; };
  console.log('\n### Compact (medians)\n');
  console.log('| anchor | fanout 100 subs, max: deliv/s | fanout 1000 subs, max: deliv/s | p2p 4×4, max: msg/s | fanout 100 @20/s p50/p99 ms | fanout 1000 @2/s p50/p99 ms | p2p @1000/s p50/p99 ms | 10k idle conns: KiB/conn | connect/s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const a of anchors) {
    console.log(`| ${a} | ${m(a, 'fanout100-max', (x) => x.delivered_rate)} | ${m(a, 'fanout1000-max', (x) => x.delivered_rate)} | ${m(a, 'p2p4x4-max', (x) => x.delivered_rate)} | ${lat(a, 'fanout100-r20')} | ${lat(a, 'fanout1000-r2')} | ${lat(a, 'p2p4x4-r1000')} | ${rss(a)} | ${m(a, 'conns10k', (x) => x.connect_rate)} |`);
  }
}

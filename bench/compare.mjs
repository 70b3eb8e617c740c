// The `compare` section of `npm run bench` (`npm run bench:compare`, or bench/run.mjs --only compare):
// the same scenarios, in one run, against four systems, the server(s) pinned to the broker core and the
// load to the load core:
//
//   stompede    one Stompede node (embedded broker, no Redis)
//   cluster-3   three Stompede nodes sharing a private redis-server, publisher on node 1, subscribers
//               spread over the three nodes (all nodes and Redis on the broker core)
//   rabbitmq    a private RabbitMQ (Debian's rabbitmq-server) with rabbitmq_web_stomp on free ports,
//               its own node name, Mnesia/log/config/plugins/HOME under a temp dir; started once per
//               run and kept warm across its runs (a RabbitMQ boot takes tens of seconds)
//   uws-ref     bench/stompbench/ref-uws-server.js, the bare-uWS ceiling (topics only, no acks)
//
// Scenarios: fan-out deliveries/s at --compare-subs subscriber counts (max rate, 128 B); p50/p99 at
// --compare-rates fixed publish rates to 100 subscribers; broker RSS per idle connection and connects/s
// (--conns); queue throughput (4 producers x 4 consumers, client-individual acks). The load is
// stompbench (its raw client, --compare-procs worker processes) against one URL, and for cluster-3
// bench/cluster.mjs's load driver (one publisher URL, several subscriber URLs). Every number is
// reported next to the load client's CPU. Charts (Vega-Lite, rendered to SVG by Vega): deliveries/s
// against subscribers and p99 against rate, one line per system.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';

import { startNodes, startRedis, stopRedis } from './cluster.mjs';

export const COMPARE_SYSTEMS = ['stompede', 'cluster-3', 'rabbitmq', 'uws-ref'];
export const COMPARE_SCENARIOS = ['fanout', 'fixed', 'idle', 'queue'];
export const SYSTEM_LABELS = {
  stompede: 'Stompede, 1 node',
  'cluster-3': 'Stompede, 3 nodes + Redis',
  rabbitmq: 'RabbitMQ Web-STOMP',
  'uws-ref': 'bare uWS (ceiling)',
};
/** Scenarios a system takes part in: the reference server has no queues and no acks. */
const SUPPORTS = { queue: (s) => s !== 'uws-ref' };
const STOMPBENCH = 'bench/stompbench/stompbench.js';
const CLUSTER_DRIVER = 'bench/cluster.mjs';
const RABBIT_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const FIXED_SUBS = 100;
const QUEUE = { producers: 4, consumers: 4, ack: 'client-individual', prefetch: 100 };
/** A fixed rate is skipped for a system whose max publish rate to 100 subscribers was below rate / this. */
const OVERLOAD_FACTOR = 2;
export const CLIENT_BOUND_PCT = 90;

export function comparePreflight() {
  const missing = [];
  if (!fs.existsSync(RABBIT_SERVER)) missing.push(`rabbitmq-server (${RABBIT_SERVER}; apt-get install rabbitmq-server)`);
  if (spawnSync('redis-server', ['--version']).status !== 0) missing.push('redis-server (make redis-deps)');
  return missing;
}

export function compareDefaults(o) {
  const q = o.quick;
  o.compareSubs ??= q ? [10] : [10, 100, 1000, 10000];
  o.compareRates ??= q ? [100] : [10, 100, 1000, 10000];
  o.compareSystems ??= [...COMPARE_SYSTEMS];
  o.compareScenarios ??= [...COMPARE_SCENARIOS];
  o.compareProcs ??= 2;
  o.compareConns ??= q ? 200 : 10000;
  o.compareTimes ??= q ? { warmup: 0.5, duration: 1, drain: 2 } : { warmup: 2, duration: 5, drain: 5 };
  o.chartsDir ??= q ? o.out : 'docs';
  return o;
}

// ------------------------------------------------------------------ pure parts (tested)

/**
 * `total` subscribers over the cluster's node URLs, round robin, as the load driver takes them:
 * `--subs` subscribers on every `--sub-url`, so the URL list repeats nodes (10 entries, 4/3/3).
 */
export function spreadSubscribers(nodeUrls, total) {
  const entries = Math.min(10, total);
  const perUrl = total / entries;
  if (!Number.isInteger(perUrl)) throw new Error(`${total} subscribers do not split into ${entries} equal groups`);
  const subUrls = Array.from({ length: entries }, (_, i) => nodeUrls[i % nodeUrls.length]);
  return { subUrls, perUrl };
}

/** One row per measured point, the systems' runs reduced to what the tables and charts show. */
export function normalize(rec) {
  const r = rec.result;
  if (!r || rec.error) return null;
  const cpu = r.cpu_pct ? Object.entries(r.cpu_pct).filter(([k]) => /^(node-|redis)/.test(k)).reduce((a, [, v]) => a + (v ?? 0), 0) : r.broker_cpu_pct;
  return {
    system: rec.system, scenario: rec.scenario, subs: rec.subs ?? null, rate: rec.rate ?? null,
    delivered_rate: r.delivered_rate ?? null, publish_rate: r.publish_rate ?? null,
    p50: r.lat_ms?.p50 ?? null, p99: r.lat_ms?.p99 ?? null,
    broker_cpu_pct: cpu ?? null, client_cpu_pct: r.client_cpu_pct ?? r.client_cpu_pct_during_connect ?? null,
    lost: r.lost ?? 0, errors: (r.error_frames ?? 0) + (r.subs_failed ?? 0),
    bytes_per_conn: r.broker_bytes_per_conn ?? null, connect_rate: r.connect_rate ?? null, opened: r.opened ?? null,
  };
}

const medianOf = (xs) => { const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Median per (system, x) of the normalized rows of one scenario: the charts' data. */
export function chartPoints(rows, scenario, xField, yField) {
  const groups = new Map();
  for (const row of rows) {
    if (row.scenario !== scenario || row[yField] == null) continue;
    const key = `${row.system}\u0000${row[xField]}`;
    if (!groups.has(key)) groups.set(key, { system: SYSTEM_LABELS[row.system] ?? row.system, x: row[xField], ys: [], client: [] });
    groups.get(key).ys.push(row[yField]);
    groups.get(key).client.push(row.client_cpu_pct);
  }
  return [...groups.values()].map((g) => ({ system: g.system, x: g.x, y: medianOf(g.ys), clientBound: (medianOf(g.client) ?? 0) >= CLIENT_BOUND_PCT }))
    .filter((p) => p.y != null && p.y > 0).sort((a, b) => a.system.localeCompare(b.system) || a.x - b.x);
}

/** A log-log line chart, one line per system; triangles where the load client was saturated. */
export function lineChartSpec({ title, subtitle, points, xTitle, yTitle }) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    width: 620,
    height: 320,
    data: { values: points.map((p) => ({ ...p, client: p.clientBound ? `client CPU ≥ ${CLIENT_BOUND_PCT}%` : 'client below' })) },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle, scale: { type: 'log' }, axis: { format: '~s' } },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: { type: 'log' }, axis: { format: '~s' } },
      color: { field: 'system', type: 'nominal', title: 'system', sort: Object.values(SYSTEM_LABELS), legend: { labelLimit: 320 } },
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 2 } },
      { mark: { type: 'point', size: 80, filled: true }, encoding: { shape: { field: 'client', type: 'nominal', title: 'load client', scale: { domain: ['client below', `client CPU ≥ ${CLIENT_BOUND_PCT}%`], range: ['circle', 'triangle-up'] } } } },
    ],
    config: { font: 'sans-serif', background: 'white' },
  };
}

export async function renderSvg(spec) {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// ------------------------------------------------------------------ RabbitMQ, private instance

function listenerPid(port) {
  const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : null;
}

async function startRabbit(o, h) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stompede-bench-rabbitmq-'));
  const [amqp, stomp, web, dist] = [await h.freePort(), await h.freePort(), await h.freePort(), await h.freePort()];
  for (const d of ['mnesia', 'log', 'home']) fs.mkdirSync(path.join(dir, d));
  fs.writeFileSync(path.join(dir, 'rabbitmq.conf'), [
    `listeners.tcp.default = 127.0.0.1:${amqp}`, `stomp.listeners.tcp.1 = 127.0.0.1:${stomp}`,
    `web_stomp.tcp.port = ${web}`, 'web_stomp.tcp.ip = 127.0.0.1', 'loopback_users = none', ''].join('\n'));
  fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[rabbitmq_stomp,rabbitmq_web_stomp].\n');
  // Own node name, distribution port, data, logs, config, plugins and Erlang cookie (HOME): nothing is
  // shared with a system RabbitMQ except epmd, which every Erlang node on the host registers with.
  const env = { HOME: path.join(dir, 'home'), RABBITMQ_NODENAME: `stompede-bench-${process.pid}@localhost`, RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'), RABBITMQ_LOG_BASE: path.join(dir, 'log'), RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'), RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid') };
  const rec = h.start('rabbitmq', ['taskset', '-c', String(o.brokerCore), RABBIT_SERVER], env);
  h.log(`compare: starting a private RabbitMQ (web-stomp on ${web}, data in ${dir})`);
  await h.waitFor(rec, () => h.canConnect(web), 120000, 'web-stomp listening');
  rec.dir = dir;
  rec.port = web;
  rec.url = `ws://127.0.0.1:${web}/ws`;
  rec.brokerPid = listenerPid(web) ?? rec.pid;
  return rec;
}

async function stopRabbit(h, rec) {
  await h.stop(rec, 30000);
  try { fs.rmSync(rec.dir, { recursive: true, force: true }); } catch { /* ignore */ }
}

// ------------------------------------------------------------------ targets: a system ready for one run

async function openTarget(o, h, system, rabbit) {
  if (system === 'rabbitmq') return { urls: [rabbit.url], pids: [rabbit.brokerPid], cmd: { broker: rabbit.cmd }, close: async () => ({ kept_warm: true, crashed: rabbit.exited }) };
  if (system === 'cluster-3') {
    const redis = await startRedis(o, h, o.brokerCore);
    let nodes;
    try { nodes = await startNodes(o, h, 3, redis.port); } catch (e) { await stopRedis(h, redis); throw e; }
    return { urls: nodes.map((n) => n.url), pids: nodes.map((n) => n.pid), nodes, redis,
      cmd: { redis: redis.cmd, ...Object.fromEntries(nodes.map((n) => [n.name, n.cmd])) },
      close: async () => { const b = await Promise.all(nodes.map((n) => h.stopBroker(n))); const r = await stopRedis(h, redis); return { nodes: b, redis: r, crashed: b.some((x) => x.crashed) }; } };
  }
  const b = await h.startBroker(o, system === 'uws-ref' ? 'uws-ref' : 'stompede');
  return { urls: [b.url], pids: [b.pid], cmd: { broker: b.cmd }, close: () => h.stopBroker(b) };
}

const pin = (o, script, args) => ['taskset', '-c', String(o.loadCore), 'node', script, ...args.map(String)];

function flowLoad(o, t, system, { subs, rate }, label) {
  const { warmup, duration, drain } = o.compareTimes;
  const timing = ['--size', 128, '--rate', rate ?? 0, '--warmup', warmup, '--duration', duration, '--drain', drain, '--client', o.client];
  if (system === 'cluster-3') {
    const { subUrls, perUrl } = spreadSubscribers(t.urls, subs);
    return pin(o, CLUSTER_DRIVER, ['load', '--pub-url', t.urls[0], ...subUrls.flatMap((u) => ['--sub-url', u]), '--subs', perUrl, ...timing,
      ...t.nodes.flatMap((n) => ['--pid', `${n.name}=${n.pid}`]), '--pid', `redis=${t.redis.pid}`, '--label', label]);
  }
  return pin(o, STOMPBENCH, ['fanout', '--url', t.urls[0], '--subs', subs, ...timing, '--procs', stompbenchProcs(o, subs, rate), '--broker-pid', t.pids[0], '--label', label]);
}

/**
 * Worker processes only where they pay: stompbench's max-rate publisher pauses while the subscribers
 * are --backlog (50) messages behind, and worker processes report their progress every 20 ms, so
 * with workers the publisher cannot exceed about 50 messages per 20 ms (measured: a plateau near
 * 3,200 msgs/s at 10 and 100 subscribers, both cores mostly idle). Below PROCS_MIN_SUBS subscribers
 * at max rate, and for the queue, the subscribers stay in the publisher's process.
 */
const PROCS_MIN_SUBS = 1000;
export function stompbenchProcs(o, subs, rate) {
  return rate > 0 || subs >= PROCS_MIN_SUBS ? Math.min(o.compareProcs, subs) : 0;
}

function idleLoad(o, t, label) {
  return pin(o, STOMPBENCH, ['conns', '--url', t.urls[0], '--client', o.client, '--conns', o.compareConns, '--concurrency', 100, '--hold', o.quick ? 1 : 3, '--broker-pid', t.pids[0], '--label', label]);
}

function queueLoad(o, t, label) {
  const { warmup, duration, drain } = o.compareTimes;
  const queue = `/queue/bench-compare-${Math.random().toString(36).slice(2, 8)}`;
  return pin(o, STOMPBENCH, ['p2p', '--url', t.urls[0], '--client', o.client, '--queue', queue, '--producers', QUEUE.producers, '--consumers', QUEUE.consumers,
    '--ack', QUEUE.ack, '--sub-header', `prefetch-count:${QUEUE.prefetch}`, '--size', 128, '--rate', 0, '--warmup', warmup, '--duration', duration, '--drain', drain,
    '--procs', 0, '--broker-pid', t.pids[0], '--label', label]);
}

async function measure(o, h, system, rabbit, point) {
  const { scenario } = point;
  const label = `compare/${scenario}/${system}${point.subs ? `/${point.subs}subs` : ''}${point.rate ? `/${point.rate}per-s` : ''}`;
  let t = null;
  let load = null;
  let error = null;
  let closed = null;
  const loadavg1 = Math.round(os.loadavg()[0] * 100) / 100;
  try {
    t = await openTarget(o, h, system, rabbit);
    const argv = scenario === 'idle' ? idleLoad(o, t, label) : scenario === 'queue' ? queueLoad(o, t, label) : flowLoad(o, t, system, point, label);
    h.log(`${label} (round ${point.round}/${o.rounds})`);
    if (system !== 'cluster-3' && scenario !== 'idle') await h.sleep(300);
    const { warmup, duration, drain } = o.compareTimes;
    load = await h.runLoad(o, argv, (warmup + duration + 3 * drain + o.compareConns / 50 + 240) * 1000);
  } catch (e) {
    error = e.message;
  }
  if (t) closed = await t.close();
  const rec = { type: 'run', bench: 'compare', scenario, system, round: point.round, subs: point.subs ?? null, rate: point.rate ?? null, loadavg: loadavg1,
    cmd: { ...(t?.cmd ?? {}), load: load?.cmd }, result: load?.result ?? null, broker: closed, error };
  h.record(rec);
  const n = normalize(rec);
  if (error) h.log(`  ERROR ${error.split('\n')[0]}`);
  else if (scenario === 'idle') h.log(`  ${h.fmt(n.bytes_per_conn)} B/conn, ${h.fmt(n.connect_rate)} connects/s, client ${n.client_cpu_pct}%`);
  else h.log(`  delivered ${h.fmt(n.delivered_rate)}/s publish ${h.fmt(n.publish_rate)}/s p50 ${n.p50} p99 ${n.p99} ms broker ${h.fmt(n.broker_cpu_pct)}% client ${n.client_cpu_pct}% lost ${n.lost} errors ${n.errors}`);
  await h.sleep(o.pause * 1000);
  return rec;
}

const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);

/** Max publish rate per system at 100 subscribers in this run (fan-out step), for the overload skip. */
function maxPublishAt100(records, system) {
  return medianOf(records.filter((x) => x.bench === 'compare' && x.scenario === 'fanout' && x.system === system && x.subs === FIXED_SUBS && x.result).map((x) => x.result.publish_rate));
}

export async function benchCompare(o, h) {
  compareDefaults(o);
  const systems = o.compareSystems;
  h.record({ type: 'note', bench: 'compare', systems, subs: o.compareSubs, rates: o.compareRates, conns: o.compareConns, times: o.compareTimes, procs: o.compareProcs, queue: QUEUE, charts_dir: o.chartsDir });
  const rabbit = systems.includes('rabbitmq') ? await startRabbit(o, h) : null;
  try {
    const done = [];
    const want = new Set(o.compareScenarios);
    for (let r = 1; r <= o.rounds && want.has('fanout'); r++) {
      for (const subs of o.compareSubs) for (const s of rotate(systems, r)) done.push(await measure(o, h, s, rabbit, { scenario: 'fanout', subs, round: r }));
    }
    for (let r = 1; r <= o.rounds && want.has('fixed'); r++) {
      for (const rate of o.compareRates) {
        for (const s of rotate(systems, r)) {
          const max = maxPublishAt100(done, s);
          if (max != null && rate > OVERLOAD_FACTOR * max) {
            h.record({ type: 'note', bench: 'compare', scenario: 'fixed', system: s, rate, round: r, skipped: `max publish rate to ${FIXED_SUBS} subscribers was ${Math.round(max)} msgs/s` });
            continue;
          }
          await measure(o, h, s, rabbit, { scenario: 'fixed', subs: FIXED_SUBS, rate, round: r });
        }
      }
    }
    for (let r = 1; r <= o.rounds && want.has('idle'); r++) for (const s of rotate(systems, r)) await measure(o, h, s, rabbit, { scenario: 'idle', round: r });
    for (let r = 1; r <= o.rounds && want.has('queue'); r++) for (const s of rotate(systems.filter(SUPPORTS.queue), r)) await measure(o, h, s, rabbit, { scenario: 'queue', round: r });
  } finally {
    if (rabbit) await stopRabbit(h, rabbit);
  }
  await writeCharts(o, h);
}

async function writeCharts(o, h) {
  const files = await renderCharts(h.records(), o.chartsDir, o.quick ? ' (QUICK smoke run)' : '');
  files.forEach((p) => h.log(`compare: chart ${p}`));
  o.chartFiles = files;
}

/**
 * The runs of several results files, a later file's runs replacing an earlier file's for the same
 * system and point (scenario, subscribers, rate): a rerun of some cells supersedes them.
 */
export function mergeRuns(recordLists) {
  const key = (x) => [x.system, x.scenario, x.subs, x.rate].join('/');
  const byKey = new Map();
  for (const list of recordLists) {
    const runs = list.filter((x) => x.type === 'run' && x.bench === 'compare');
    for (const k of new Set(runs.map(key))) byKey.set(k, runs.filter((x) => key(x) === k));
  }
  return [...byKey.values()].flat();
}

async function renderCharts(records, dir, tag) {
  const rows = records.filter((x) => x.bench === 'compare' && x.type === 'run').map(normalize).filter(Boolean);
  const charts = {
    'compare-fanout.svg': lineChartSpec({ title: `Fan-out: deliveries/s against subscribers${tag}`, subtitle: '1 publisher, 128 B, max rate; median of rounds; triangle: load client saturated (the value is a lower bound)',
      points: chartPoints(rows, 'fanout', 'subs', 'delivered_rate'), xTitle: 'subscribers', yTitle: 'deliveries/s' }),
    'compare-p99.svg': lineChartSpec({ title: `p99 latency against publish rate, ${FIXED_SUBS} subscribers${tag}`, subtitle: '128 B; median of rounds; rates far above a system\'s maximum are skipped',
      points: chartPoints(rows, 'fixed', 'rate', 'p99'), xTitle: 'publish rate (msgs/s)', yTitle: 'p99 latency (ms)' }),
  };
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, spec] of Object.entries(charts)) fs.writeFileSync(path.join(dir, file), await renderSvg(spec));
  return Object.keys(charts).map((f) => path.join(dir, f));
}

// `node bench/compare.mjs charts --charts-dir DIR RESULTS.jsonl...`: the charts again from recorded
// runs, later files superseding earlier ones point by point (mergeRuns).
async function chartsCli(argv) {
  let dir = 'docs';
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--charts-dir') dir = argv[++i];
    else files.push(argv[i]);
  }
  if (!files.length || !dir) throw new Error('usage: node bench/compare.mjs charts [--charts-dir DIR] RESULTS.jsonl...');
  const lists = files.map((f) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)));
  for (const p of await renderCharts(mergeRuns(lists), dir, '')) process.stdout.write(`${p}\n`);
}
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === 'charts') {
  chartsCli(process.argv.slice(3)).catch((e) => { process.stderr.write(`${e.message}\n`); process.exit(2); });
}

// ------------------------------------------------------------------ report

export function compareSummary(o, records, h) {
  const L = [];
  const flags = [];
  const runs = records.filter((x) => x.type === 'run' && x.bench === 'compare');
  if (!runs.length) return { lines: L, flags };
  const rows = runs.map(normalize).filter(Boolean);
  const systems = o.compareSystems.filter((s) => runs.some((x) => x.system === s));
  const pick = (scenario, system, f) => rows.filter((r) => r.scenario === scenario && r.system === system && f(r));
  const bound = (rs) => (Math.max(0, ...rs.map((r) => r.client_cpu_pct ?? 0)) >= CLIENT_BOUND_PCT ? ' ⚠' : '');
  const lossTag = (rs) => { const l = rs.reduce((a, r) => a + r.lost + r.errors, 0); return l ? ` (lost/errors ${h.fmt(l)})` : ''; };
  const head = (first) => [`| ${first} | ${systems.map((s) => SYSTEM_LABELS[s]).join(' | ')} |`, `|---|${systems.map(() => '---').join('|')}|`];
  const skipped = (scenario, system, rate) => records.find((x) => x.type === 'note' && x.bench === 'compare' && x.scenario === scenario && x.system === system && x.rate === rate && x.skipped);
  L.push(`## Side by side: ${systems.map((s) => SYSTEM_LABELS[s]).join(', ')}${o.quick ? ' (QUICK smoke run: not for comparison)' : ''}`, '');
  L.push(`Servers on core ${o.brokerCore} (the 3 nodes and Redis share it), load on core ${o.loadCore}. Each cell: median over ${o.rounds} round(s), then \`(broker CPU % / client CPU %)\`; broker CPU of cluster-3 is its three nodes plus Redis. ⚠ = the load client reached ${CLIENT_BOUND_PCT}% of its core in some round: the number is a lower bound for the server.`, '');
  const ran = (scenario) => runs.some((x) => x.scenario === scenario);
  if (ran('fanout')) L.push(`### Fan-out, deliveries/s (1 publisher, 128 B, max rate)`, '', ...head('subscribers'));
  for (const subs of ran('fanout') ? o.compareSubs : []) {
    L.push(`| ${h.fmt(subs)} | ${systems.map((s) => { const rs = pick('fanout', s, (r) => r.subs === subs); return rs.length ? `${h.cell(rs.map((r) => r.delivered_rate))} (${h.fmt(medianOf(rs.map((r) => r.broker_cpu_pct)))} / ${h.fmt(medianOf(rs.map((r) => r.client_cpu_pct)))})${bound(rs)}${lossTag(rs)}` : '–'; }).join(' | ')} |`);
  }
  if (ran('fixed')) L.push('', `### Latency at fixed publish rates to ${FIXED_SUBS} subscribers, p50 / p99 ms`, '', ...head('msgs/s (deliveries/s)'));
  for (const rate of ran('fixed') ? o.compareRates : []) {
    L.push(`| ${h.fmt(rate)} (${h.fmt(rate * FIXED_SUBS)}) | ${systems.map((s) => {
      const rs = pick('fixed', s, (r) => r.rate === rate);
      if (!rs.length) return skipped('fixed', s, rate) ? `skipped: ${skipped('fixed', s, rate).skipped}` : '–';
      const short = rs.some((r) => r.publish_rate < 0.95 * rate) ? ` publish only ${h.fmt(medianOf(rs.map((r) => r.publish_rate)))}/s` : '';
      return `${h.fmt(medianOf(rs.map((r) => r.p50)), 2)} / ${h.cell(rs.map((r) => r.p99), 2)} (${h.fmt(medianOf(rs.map((r) => r.broker_cpu_pct)))} / ${h.fmt(medianOf(rs.map((r) => r.client_cpu_pct)))})${bound(rs)}${short}${lossTag(rs)}`;
    }).join(' | ')} |`);
  }
  if (ran('idle')) {
    L.push('', `### Idle connections (${h.fmt(o.compareConns)} STOMP connections over WebSocket; cluster-3: all on node 1)`, '', ...head('measure'));
    const idle = (f, d = 0) => systems.map((s) => { const rs = pick('idle', s, () => true); return rs.length ? `${h.cell(rs.map(f), d)}` : '–'; }).join(' | ');
    L.push(`| broker RSS per connection, bytes | ${idle((r) => r.bytes_per_conn)} |`);
    L.push(`| connects/s | ${idle((r) => r.connect_rate)} |`);
    L.push(`| client CPU % while connecting | ${idle((r) => r.client_cpu_pct)} |`);
    L.push(`| connections opened | ${idle((r) => r.opened)} |`);
  }
  if (ran('queue')) {
    L.push('', `### Queue, ${QUEUE.producers} producers × ${QUEUE.consumers} consumers, ${QUEUE.ack} acks, prefetch-count ${QUEUE.prefetch}, 128 B, max rate (cluster-3: all on node 1)`, '', ...head('measure'));
    const q = (f, d = 0) => systems.map((s) => { const rs = pick('queue', s, () => true); return rs.length ? `${h.cell(rs.map(f), d)}` : (SUPPORTS.queue(s) ? '–' : 'n/a (no queues)'); }).join(' | ');
    L.push(`| messages consumed/s | ${q((r) => r.delivered_rate)} |`, `| p99 ms | ${q((r) => r.p99, 1)} |`, `| broker CPU % | ${q((r) => r.broker_cpu_pct)} |`, `| client CPU % | ${q((r) => r.client_cpu_pct)} |`);
  }
  const loads = runs.map((x) => x.loadavg).filter((x) => x != null);
  if (loads.length) L.push('', `Load average (1 min) at the start of the runs: ${h.fmt(Math.min(...loads), 2)}–${h.fmt(Math.max(...loads), 2)}.`);
  L.push('');
  if (o.chartFiles) L.push(`Charts: ${o.chartFiles.map((f) => `\`${f}\``).join(', ')}.`, '');
  for (const x of runs) {
    const where = `compare ${x.scenario}/${x.system}${x.subs ? ` ${x.subs} subs` : ''}${x.rate ? ` ${x.rate} msgs/s` : ''} round ${x.round}`;
    if (x.error) flags.push(`${where}: ${x.error.split('\n')[0]}`);
    const n = normalize(x);
    if (n && (n.lost || n.errors)) flags.push(`${where}: ${n.lost} lost, ${n.errors} error frames/failed subscriptions. Command: \`${x.cmd.load}\``);
    if (x.broker?.crashed) flags.push(`${where}: a server exited during the run.`);
  }
  return { lines: L, flags };
}

#!/usr/bin/env node
// The `subscriptions` section of `npm run bench` (bench/run.mjs --only subscriptions), and its load
// driver: the broker's memory per subscription.
//
// Each run starts a fresh embedded broker (no STOMPEDE_REDIS_URL) with `--inspect=127.0.0.1:0`,
// pinned to the broker core, and this file's load driver on the load core. The driver opens
// --sub-conns WebSocket connections (STOMP 1.2 CONNECT); the broker's heap and RSS are read after a
// forced full GC (bench/inspector.mjs); then every connection subscribes --subs-per-conn times and
// they are read again. Per subscription = (subscribed − connections only) / subscriptions. Two ways
// of naming the destinations:
//
//   distinct  /topic/user.<n>.feed<k>: a destination per subscription (a per-user feed)
//   shared    /topic/feed<k>: every connection on the same --subs-per-conn destinations
//
// Subscription ids are sub-<k> on every connection, as stompjs names them. Before the baseline, a
// tenth as many connections subscribe the same way and disconnect: the code the subscribe path
// compiles, and the memory the compiler leaves with malloc, are then not counted per subscription.
// One more run per naming takes a heap snapshot in both states; the difference, summed by class, is
// the breakdown by object. Snapshots are kept out of the measured runs: taking one grows the RSS.
//
// As a program (`node bench/subscriptions.mjs load --help`) it is the load driver. It prints one JSON
// line per step on stdout and waits for SIGUSR2 before the next one, so that the broker is measured
// while the load is idle.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classDelta, classTotals, Inspector, inspectorUrl } from './inspector.mjs';
import { BENCH_LIMITS_ENV } from './cluster.mjs';

const require = createRequire(import.meta.url);
const SELF = 'bench/subscriptions.mjs';
const NAMINGS = ['distinct', 'shared'];
/** Targets of issue 8 for RSS per subscription after a GC, in bytes. */
const TARGET_RSS_BYTES = { distinct: 1000, shared: 300 };
/** The breakdown lists classes that grew by at least a byte per subscription, the largest first, at most this many. */
const BREAKDOWN_ROWS = 25;
/** Memory readings per state; the median is kept (sample()). */
const READINGS = 3;

// ====================================================================== load driver

const LOAD_HELP = `usage: node bench/subscriptions.mjs load --url URL [options]

  --url URL             the broker's STOMP-over-WebSocket endpoint
  --conns N             connections (default 2000)
  --subs K              subscriptions per connection (default 20)
  --naming distinct|shared   /topic/user.<n>.feed<k> or /topic/feed<k> (default distinct)
  --warmup-conns W      first W connections that subscribe the same way and disconnect (default 0)
  --client raw|ws       WebSocket client from stompbench's lib.js (default raw)

Steps, each reported as a JSON line on stdout ({"step": ...}); after "connected" and "subscribed"
it waits for SIGUSR2 before going on.
`;

function parseLoadArgs(argv) {
  const o = { url: null, conns: 2000, subs: 20, naming: 'distinct', client: 'raw', warmupConns: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    const count = () => { const v = Number(val()); if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`); return v; };
    switch (a) {
      case '-h': case '--help': process.stdout.write(LOAD_HELP); process.exit(0); break;
      case '--url': o.url = val(); break;
      case '--conns': o.conns = count(); break;
      case '--subs': o.subs = count(); break;
      case '--warmup-conns': o.warmupConns = Number(val()); if (!Number.isInteger(o.warmupConns) || o.warmupConns < 0) throw new Error('--warmup-conns needs a whole number'); break;
      case '--naming': o.naming = val(); if (!NAMINGS.includes(o.naming)) throw new Error('--naming is distinct or shared'); break;
      case '--client': o.client = val(); if (!['raw', 'ws'].includes(o.client)) throw new Error('--client is raw or ws'); break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.url) throw new Error('--url is required');
  return o;
}

const destination = (naming, n, k) => (naming === 'distinct' ? `/topic/user.${n}.feed${k}` : `/topic/feed${k}`);

async function pool(n, c, fn) {
  let next = 0;
  const errors = [];
  const lane = async () => { while (next < n) { const i = next++; try { await fn(i); } catch (e) { errors.push(e); } } };
  await Promise.all(Array.from({ length: Math.min(n, Math.max(1, c)) }, lane));
  return errors;
}

/** The driver's STOMP connections (stompbench's lib.js clients). */
class Clients {
  constructor(lib, o) {
    this.lib = lib;
    this.o = o;
    const u = lib.parseUrl(o.url);
    this.opts = { transport: o.client, url: o.url, host: u.host, port: u.port, path: u.path, login: 'guest', passcode: 'guest', vhost: '/',
      subprotocols: ['v12.stomp'], connectTimeoutMs: 30000 };
    this.errorFrames = 0;
  }

  async open(n) {
    const conns = [];
    const errors = await pool(n, 100, async () => {
      const c = new this.lib.StompConn(this.opts);
      c.onErrorFrame = () => { this.errorFrames++; };
      await c.connect();
      conns.push(c);
    });
    return { conns, errors };
  }

  /**
   * All of a connection's SUBSCRIBEs in one WebSocket message; the RECEIPT of the last one means the
   * broker processed them all (receipts are cumulative). `offset` numbers the connections' users.
   */
  subscribeAll(conns, offset) {
    const { o, lib } = this;
    return pool(conns.length, 100, async (i) => {
      const frames = [];
      for (let k = 0; k < o.subs; k++) {
        const h = { id: `sub-${k}`, destination: destination(o.naming, offset + i, k), ack: 'auto' };
        if (k === o.subs - 1) h.receipt = 'subscribed';
        frames.push(lib.encodeFrame('SUBSCRIBE', h));
      }
      const receipt = conns[i].waitReceipt('subscribed', 30000);
      conns[i].write(Buffer.concat(frames));
      await receipt;
    });
  }

  async close(conns) {
    await Promise.all(conns.map((c) => c.disconnect(2000)));
    for (const c of conns) c.destroy();
  }

  /** Runs the broker's subscribe path before the baseline; its connections leave nothing behind. */
  async warmUp(n) {
    const warm = await this.open(n);
    const errors = await this.subscribeAll(warm.conns, this.o.conns);
    await this.close(warm.conns);
    if (warm.errors.length || errors.length) throw new Error(`warm-up: ${warm.errors.length} connections and ${errors.length} subscribes failed: ${(warm.errors[0] ?? errors[0]).message}`);
  }
}

async function drive(argv) {
  const o = parseLoadArgs(argv);
  const clients = new Clients(require('./stompbench/lib.js'), o);
  const step = (obj) => process.stdout.write(JSON.stringify({ bench: 'subscriptions-load', ...obj }) + '\n');
  let go = null;
  process.on('SIGUSR2', () => go?.());
  const next = () => new Promise((resolve) => { go = resolve; });
  if (o.warmupConns > 0) await clients.warmUp(o.warmupConns);

  let t0 = Date.now();
  const { conns, errors: connectErrors } = await clients.open(o.conns);
  step({ step: 'connected', requested: o.conns, opened: conns.length, failed: connectErrors.length, first_error: connectErrors[0]?.message ?? null, seconds: (Date.now() - t0) / 1000 });
  await next();

  t0 = Date.now();
  const subscribeErrors = await clients.subscribeAll(conns, 0);
  step({ step: 'subscribed', subscriptions: (conns.length - subscribeErrors.length) * o.subs, failed: subscribeErrors.length,
    first_error: subscribeErrors[0]?.message ?? null, error_frames: clients.errorFrames, seconds: (Date.now() - t0) / 1000 });
  await next();

  await clients.close(conns);
  step({ step: 'done', error_frames: clients.errorFrames });
}

// ====================================================================== the `subscriptions` section of run.mjs

const stepLines = (rec) => rec.out.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
// node's own inspector banner is not a broker log line
// The broker's start-up warning that it is open (STOMPEDE_AUTH=anonymous) is expected here.
const brokerLog = (rec) => (rec.out + rec.err).split('\n').filter((l) => l.trim() && !/^(Debugger listening on|For help, see: |Debugger attached\.|Debugger ending on)/.test(l) && !/"msg":"STOMP authentication is OFF/.test(l));

async function startBroker(o, h) {
  const port = await h.freePort();
  // STOMPEDE_REDIS_URL explicitly empty: one in the caller's environment must not make this a cluster node
  const env = { STOMPEDE_BIND: '127.0.0.1', ...BENCH_LIMITS_ENV, STOMPEDE_WS_PORT: String(port), STOMPEDE_TCP_PORT: '0', STOMPEDE_ADMIN_PORT: '0', STOMPEDE_DRAIN_GRACE_MS: '0',
    STOMPEDE_DRAIN_WINDOW_MS: '0', STOMPEDE_LOG_LEVEL: 'warn', STOMPEDE_REDIS_URL: '' };
  const rec = h.start('broker', ['taskset', '-c', String(o.brokerCore), 'node', '--inspect=127.0.0.1:0', h.BROKER_MAIN], env);
  rec.url = `ws://127.0.0.1:${port}/ws`;
  try {
    await h.waitFor(rec, async () => inspectorUrl(rec.err) !== null && (await h.httpOk(`http://127.0.0.1:${port}/readyz`)), 20000, '/readyz and the inspector');
    rec.inspector = await Inspector.open(inspectorUrl(rec.err));
  } catch (e) {
    await h.stop(rec);
    throw e;
  }
  return rec;
}

async function waitStep(h, rec, name) {
  let found = null;
  await h.waitFor(rec, () => (found = stepLines(rec).find((s) => s.step === name) ?? null) !== null, 180000, `the load driver's "${name}" step`);
  return found;
}

/**
 * Memory after a full GC, once the turn's output has gone out. `--hold` seconds let the broker
 * settle, then enough collections to flush the code of the step that just ended (Inspector.settle),
 * so that both states hold the same compiled code. The snapshot comes before the reading: taking one
 * lets V8 drop things (feedback) that a reading before it would count. The reading is the median of
 * READINGS: what the broker's timers allocate between a collection and the reading moves heapUsed
 * by up to ~100 KB on an idle broker, more on a busy machine.
 */
async function sample(o, h, broker, snapshot) {
  await h.sleep(o.hold * 1000);
  await broker.inspector.settle();
  const classes = snapshot ? classTotals(await broker.inspector.heapSnapshot()) : null;
  const readings = [];
  for (let i = 0; i < READINGS; i++) readings.push(await broker.inspector.memoryAfterGc());
  const memory = readings.sort((a, b) => a.heapUsed - b.heapUsed)[READINGS >> 1];
  return { memory, classes };
}

/** Both states of one run, with the load driver started on the load core; fills `cmd.load`. */
async function measure(o, h, broker, naming, breakdown, cmd) {
  const argv = ['taskset', '-c', String(o.loadCore), 'node', SELF, 'load', '--url', broker.url, '--conns', String(o.subConns), '--subs', String(o.subsPerConn),
    '--naming', naming, '--client', o.client, '--warmup-conns', String(Math.ceil(o.subConns / 10))];
  const load = h.start('subscriptions-load', argv);
  cmd.load = load.cmd;
  try {
    const connected = await waitStep(h, load, 'connected');
    if (connected.failed) throw new Error(`${connected.failed} connections failed: ${connected.first_error}`);
    const before = await sample(o, h, broker, breakdown);
    process.kill(load.pid, 'SIGUSR2');
    const subscribed = await waitStep(h, load, 'subscribed');
    if (subscribed.failed || subscribed.error_frames) throw new Error(`${subscribed.failed} connections failed to subscribe (${subscribed.first_error}), ${subscribed.error_frames} ERROR frames`);
    const after = await sample(o, h, broker, breakdown);
    process.kill(load.pid, 'SIGUSR2');
    await waitStep(h, load, 'done');
    const subs = subscribed.subscriptions;
    const per = (k) => (after.memory[k] - before.memory[k]) / subs;
    return { naming, conns: connected.opened, subscriptions: subs, subscribe_s: subscribed.seconds, before: before.memory, after: after.memory,
      heap_bytes_per_sub: per('heapUsed'), rss_bytes_per_sub: per('rss'), external_bytes_per_sub: per('external'), outside_heap_bytes_per_sub: per('rss') - per('heapTotal'),
      classes: breakdown ? classDelta(before.classes, after.classes).slice(0, 60) : null };
  } finally {
    await h.stop(load);
  }
}

/** Stops the broker; what it logged at warn and above while measured, and while stopping. */
async function stopBroker(h, broker) {
  const crashed = broker.exited;
  broker.inspector.close();
  const during = brokerLog(broker).length;
  await h.stop(broker);
  const lines = brokerLog(broker);
  return { crashed, exit_code: broker.code, signal: broker.signal, log_lines: during, log_tail: lines.slice(0, during).slice(-5).map((l) => l.slice(0, 2000)),
    shutdown_log_lines: lines.length - during, shutdown_log_tail: lines.slice(during).slice(-3).map((l) => l.slice(0, 2000)) };
}

async function subscriptionRun(o, h, { naming, round, breakdown }) {
  const cmd = {};
  let broker = null;
  let result = null;
  let error = null;
  try {
    broker = await startBroker(o, h);
    cmd.broker = broker.cmd;
    h.log(`subscriptions ${breakdown ? 'breakdown (heap snapshots)' : `round ${round}/${o.rounds}`}: ${naming}, ${o.subConns} connections x ${o.subsPerConn}`);
    result = await measure(o, h, broker, naming, breakdown, cmd);
  } catch (e) {
    error = e.message;
  }
  const brokerInfo = broker ? await stopBroker(h, broker) : null;
  h.record({ type: 'run', bench: 'subscriptions', mode: breakdown ? 'breakdown' : 'measure', contender: naming, round, cmd, result, broker: brokerInfo, error });
  if (error) h.log(`subscriptions/${naming}: ERROR ${error.split('\n')[0]}`);
  else h.log(`  ${h.fmt(result.heap_bytes_per_sub)} B heap, ${h.fmt(result.rss_bytes_per_sub)} B RSS per subscription (${result.subscriptions} subscriptions)`);
  await h.sleep(o.pause * 1000);
}

export async function benchSubscriptions(o, h) {
  const limit = h.nofileSoft();
  if (limit != null && limit < o.subConns + 512) throw new Error(`ulimit -n is ${limit}: the broker and the load driver each hold ${o.subConns} sockets; raise it (ulimit -n 65536) or lower --sub-conns`);
  h.record({ type: 'note', bench: 'subscriptions', conns: o.subConns, subs_per_conn: o.subsPerConn, note: `broker (node --inspect) pinned to core ${o.brokerCore}, load driver to core ${o.loadCore}` });
  for (let r = 0; r < o.rounds; r++) {
    for (const naming of r % 2 ? [...NAMINGS].reverse() : NAMINGS) await subscriptionRun(o, h, { naming, round: r + 1, breakdown: false });
  }
  for (const naming of NAMINGS) await subscriptionRun(o, h, { naming, round: 1, breakdown: true });
}

// ---------------------------------------------------------------------- summary

export function subscriptionsSummary(o, records, h) {
  const { fmt, cell } = h;
  const L = [];
  const flags = [];
  const all = records.filter((x) => x.type === 'run' && x.bench === 'subscriptions');
  if (!all.length) return { lines: L, flags };
  const measured = (naming) => all.filter((x) => x.mode === 'measure' && x.contender === naming && x.result);
  const mb = (b) => fmt(b / 2 ** 20, 1);
  L.push(`## Memory per subscription (${fmt(o.subConns)} WebSocket connections × ${o.subsPerConn} subscriptions)`, '');
  L.push('| destinations | subscriptions | heap B/sub | RSS B/sub | RSS target | outside the V8 heap B/sub | heap MB before → after | RSS MB before → after | subscribe s |', '|---|---|---|---|---|---|---|---|---|');
  for (const naming of NAMINGS) {
    const g = measured(naming).map((x) => x.result);
    if (!g.length) continue;
    const rss = h.median(g.map((r) => r.rss_bytes_per_sub));
    const target = TARGET_RSS_BYTES[naming];
    const first = g[0];
    L.push(`| ${naming} (${naming === 'distinct' ? '/topic/user.<n>.feed<k>' : '/topic/feed<k>'}) | ${fmt(first.subscriptions)} | ${cell(g.map((r) => r.heap_bytes_per_sub))} | ${cell(g.map((r) => r.rss_bytes_per_sub))} | ≤ ${fmt(target)}: ${rss == null ? '–' : rss <= target ? 'met' : '**not met**'} | ${cell(g.map((r) => r.outside_heap_bytes_per_sub))} | ${mb(first.before.heapUsed)} → ${mb(first.after.heapUsed)} | ${mb(first.before.rss)} → ${mb(first.after.rss)} | ${cell(g.map((r) => r.subscribe_s), 2)} |`);
  }
  L.push('', 'Per subscription = (after subscribing − connections only) / subscriptions, each state read after forced full GCs (HeapProfiler.collectGarbage over the inspector, enough of them for V8 to flush the code of the step just done, then process.memoryUsage(), the median of three readings) on a fresh broker per run. Heap = V8 heapUsed. Outside the V8 heap = RSS − heapTotal (the heap\'s committed pages): mostly uWS\'s C++ topic tree (a topic per fan-out group, a node per socket and topic) and malloc.', '');
  for (const naming of NAMINGS) {
    const b = all.find((x) => x.mode === 'breakdown' && x.contender === naming && x.result?.classes);
    if (!b) continue;
    const r = b.result;
    const total = r.classes.reduce((a, c) => a + c.bytes, 0);
    L.push(`### Heap by object, ${naming} destinations (heap snapshot difference per subscription)`, '');
    L.push('| object (self size; "←": the one object that holds it) | count / sub | B / sub | share |', '|---|---|---|---|');
    for (const c of r.classes.filter((x) => Math.abs(x.bytes) >= r.subscriptions).slice(0, BREAKDOWN_ROWS)) {
      L.push(`| ${c.label.replace(/\|/g, '\\|')} | ${fmt(c.count / r.subscriptions, 2)} | ${fmt(c.bytes / r.subscriptions, 1)} | ${fmt((100 * c.bytes) / total)}% |`);
    }
    L.push('', `Sum of the ${r.classes.length} largest differences: ${fmt(total / r.subscriptions, 1)} B per subscription; heapUsed in this run grew ${fmt(r.heap_bytes_per_sub, 1)} B per subscription.`, '');
  }
  for (const x of all) {
    const where = `subscriptions ${x.mode}/${x.contender} round ${x.round}`;
    if (x.error) flags.push(`${where}: ${x.error.split('\n')[0]}`);
    h.brokerFlags(flags, where, x);
  }
  return { lines: L, flags };
}

// ====================================================================== main (load driver)
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [sub, ...rest] = process.argv.slice(2);
  if (sub !== 'load') {
    process.stderr.write(`${LOAD_HELP}\nThe benchmark itself runs from bench/run.mjs: node bench/run.mjs --only subscriptions\n`);
    process.exit(sub === '-h' || sub === '--help' ? 0 : 2);
  }
  drive(rest).catch((e) => {
    process.stderr.write(`[subscriptions-load] fatal: ${e.stack ?? e}\n`);
    process.stdout.write(JSON.stringify({ bench: 'subscriptions-load', step: 'failed', error: String(e.message ?? e) }) + '\n');
    process.exit(1);
  });
}

#!/usr/bin/env node
// The `cluster` section of `npm run bench` (bench/run.mjs --only cluster), and its load driver.
//
// Imported by bench/run.mjs: benchCluster() starts, per run, a private redis-server and the broker nodes
// (all pinned to the broker core; the machine has two cores, so Redis shares the broker's core) and runs
// this file's load driver on the load core; clusterSummary() renders the tables. Three measurements:
//
//   throughput  1 publisher on node 1 -> --cluster-subs subscribers, 128 B, max rate (RECEIPT window),
//               contenders cross-node (subscribers on node 2), same-node (subscribers on node 1, still
//               in cluster mode, node 2 idle) and embedded (one node, no Redis)
//   latency     the same three layouts with 1 subscriber at fixed rates (--cluster-rates): p50/p99 of
//               receive time - send time embedded in the body; cross-node - embedded = the Redis hop
//   commands    1, 2, 3 nodes with one subscriber each, publisher on node 1, fixed rates: Redis calls
//               (INFO commandstats after CONFIG RESETSTAT) and Redis CPU (INFO cpu) per published message
//
// As a program (`node bench/cluster.mjs load --help`) it is the load driver: one publisher on --pub-url,
// --subs subscribers on every --sub-url, one JSON line on stdout. stompbench (one URL for publisher and
// subscribers) cannot split them over nodes, so the driver reuses stompbench's lib.js (transports, STOMP
// framing, histogram) and its publishing scheme (RECEIPT window + backlog limit at max rate, 1 ms ticks
// at a fixed rate), and adds a per-message sequence number so that loss, duplicates and order are checked.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const SELF = 'bench/cluster.mjs';
const TOPIC = '/topic/bench-cluster';

// ====================================================================== load driver

const LOAD_HELP = `usage: node bench/cluster.mjs load --pub-url URL --sub-url URL [--sub-url URL ...] [options]

  --pub-url URL         the publisher's STOMP-over-WebSocket endpoint
  --sub-url URL         a subscribers' endpoint (repeatable; --subs subscribers on each)
  --subs N              subscribers per --sub-url (default 1)
  --topic DEST          destination (default ${TOPIC})
  --size S              body bytes (default 128; holds send time, run id and sequence number)
  --rate R              publish msgs/s; 0 = max: a RECEIPT on every SEND, at most --window
                        outstanding, paused while the average subscriber is --backlog behind
  --window W --backlog B   (default 100 / 50)
  --warmup S --duration S --drain S   (default 3 / 10 / 10)
  --client raw|ws       WebSocket client from stompbench's lib.js (default raw)
  --pid NAME=PID        a process whose CPU is measured over the window (repeatable)
  --redis-port P        CONFIG RESETSTAT + INFO at the window's start, INFO after the drain
  --metrics URL         a node's /metrics: stompede_cluster_* deltas over the same span (repeatable)
  --label TEXT
`;

function parseLoadArgs(argv) {
  const o = { pubUrl: null, subUrls: [], subs: 1, topic: TOPIC, size: 128, rate: 0, window: 100, backlog: 50, warmup: 3, duration: 10, drain: 10,
    client: 'raw', pids: {}, redisPort: null, metrics: [], label: '', connectTimeout: 15000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    const num = () => { const v = Number(val()); if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a non-negative number`); return v; };
    switch (a) {
      case '-h': case '--help': process.stdout.write(LOAD_HELP); process.exit(0); break;
      case '--pub-url': o.pubUrl = val(); break;
      case '--sub-url': o.subUrls.push(val()); break;
      case '--subs': o.subs = Math.round(num()); break;
      case '--topic': o.topic = val(); break;
      case '--size': o.size = Math.round(num()); break;
      case '--rate': o.rate = num(); break;
      case '--window': o.window = Math.max(1, Math.round(num())); break;
      case '--backlog': o.backlog = num(); break;
      case '--warmup': o.warmup = num(); break;
      case '--duration': o.duration = num(); break;
      case '--drain': o.drain = num(); break;
      case '--client': o.client = val(); if (!['raw', 'ws'].includes(o.client)) throw new Error('--client is raw or ws'); break;
      case '--pid': { const [k, v] = val().split('='); if (!k || !/^\d+$/.test(v ?? '')) throw new Error('--pid needs NAME=PID'); o.pids[k] = Number(v); break; }
      case '--redis-port': o.redisPort = Math.round(num()); break;
      case '--metrics': o.metrics.push(val()); break;
      case '--label': o.label = val(); break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (!o.pubUrl || !o.subUrls.length) throw new Error('--pub-url and at least one --sub-url are required');
  if (o.size < BODY_MIN) throw new Error(`--size must be at least ${BODY_MIN}`);
  return o;
}

// Body: 15-digit send time (µs, CLOCK_MONOTONIC, as stompbench) ',' 6-char run id ',' 10-digit sequence ',' 'x' padding.
const TS_DIGITS = 15;
const SEQ_OFF = TS_DIGITS + 1 + 6 + 1;
const SEQ_DIGITS = 10;
const BODY_MIN = SEQ_OFF + SEQ_DIGITS + 1;

class Builder {
  constructor(destination, size, runId) {
    this.head = Buffer.from(`SEND\ndestination:${destination}\ncontent-length:${size}\n`);
    this.body = Buffer.alloc(size, 'x');
    this.body.write(`${'0'.repeat(TS_DIGITS)},${runId},${'0'.repeat(SEQ_DIGITS)},`, 0, 'latin1');
    this.size = size;
  }
  build(seq, receipt, nowUs) {
    const r = receipt ? Buffer.from(`receipt:${receipt}\n`) : null;
    const hl = this.head.length + (r ? r.length : 0) + 1;
    const out = Buffer.allocUnsafe(hl + this.size + 1);
    this.head.copy(out, 0);
    if (r) r.copy(out, this.head.length);
    out[hl - 1] = 10;
    this.body.copy(out, hl);
    let ts = Math.floor(nowUs());
    for (let k = TS_DIGITS - 1; k >= 0; k--) { out[hl + k] = 48 + (ts % 10); ts = Math.floor(ts / 10); }
    let s = seq;
    for (let k = SEQ_DIGITS - 1; k >= 0; k--) { out[hl + SEQ_OFF + k] = 48 + (s % 10); s = Math.floor(s / 10); }
    out[out.length - 1] = 0;
    return out;
  }
}

function readDigits(buf, at, n, end) {
  if (at + n > end) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = buf[at + k] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function procCpuTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}
function coreTimes() {
  const out = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((x, y) => x + y, 0);
    out[m[1]] = [total - v[3] - v[4], total];
  }
  return out;
}

// A minimal RESP client on one connection (what `redis-cli -p PORT CONFIG RESETSTAT` / `INFO ...`
// send): the driver notes its published count when the RESETSTAT reply arrives, within a
// millisecond of the reset, which a redis-cli child process (tens of ms to start and exit) would blur.
class RedisClient {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      sock.once('connect', () => { sock.removeListener('error', reject); resolve(new RedisClient(sock)); });
      sock.once('error', reject);
    });
  }
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.waiting = [];
    sock.setNoDelay(true);
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    sock.on('error', (e) => { for (const w of this.waiting.splice(0)) w.reject(e); });
  }
  command(...args) {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) parts.push(`$${Buffer.byteLength(String(a))}\r\n${a}\r\n`);
    return new Promise((resolve, reject) => { this.waiting.push({ resolve, reject }); this.sock.write(parts.join('')); });
  }
  parse() {
    while (this.waiting.length && this.buf.length) {
      const nl = this.buf.indexOf('\r\n');
      if (nl < 0) return;
      const type = String.fromCharCode(this.buf[0]);
      const line = this.buf.toString('latin1', 1, nl);
      let value;
      let used;
      if (type === '$') {
        const n = Number(line);
        if (n < 0) { value = null; used = nl + 2; } else {
          if (this.buf.length < nl + 2 + n + 2) return;
          value = this.buf.toString('utf8', nl + 2, nl + 2 + n);
          used = nl + 2 + n + 2;
        }
      } else if (type === '+' || type === ':' || type === '-') { value = line; used = nl + 2; } else {
        this.waiting.shift().reject(new Error(`unexpected RESP reply type ${type}`));
        this.buf = Buffer.alloc(0);
        return;
      }
      this.buf = this.buf.subarray(used);
      const w = this.waiting.shift();
      if (type === '-') w.reject(new Error(`redis: ${value}`)); else w.resolve(value);
    }
  }
  close() { this.sock.destroy(); }
}
const INFO_ARGS = ['INFO', 'commandstats', 'cpu', 'stats', 'clients'];
function parseInfo(text) {
  const cmds = {};
  const vals = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) { cmds[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) }; continue; }
    const kv = /^(used_cpu_sys|used_cpu_user|total_net_input_bytes|total_net_output_bytes|total_commands_processed|connected_clients|instantaneous_ops_per_sec):([\d.]+)$/.exec(line);
    if (kv) vals[kv[1]] = Number(kv[2]);
  }
  return { cmds, vals };
}
// Commands the driver itself sends: left out of the per-message counts.
const OWN_COMMANDS = new Set(['info', 'config|resetstat', 'ping', 'command', 'command|docs']);
// Calls: everything since CONFIG RESETSTAT (b's commandstats) per message published since its reply.
// Redis CPU and network bytes: b - a (a = INFO right after the reset) per message published since a.
function redisDelta(a, b, { sentReset, sentInfo, sentEnd }) {
  const messages = sentEnd - sentReset;
  const cmds = b.cmds;
  let total = 0;
  for (const [k, v] of Object.entries(cmds)) if (!OWN_COMMANDS.has(k)) total += v.calls;
  const calls = (k) => cmds[k]?.calls ?? 0;
  // Topic messages are written by XADD, or batched into one EVAL of the publish script per stream
  // and turn (the few other scripts, trims and announcements, count here too); read by XREADGROUP.
  const writes = calls('xadd') + calls('eval');
  const reads = calls('xread') + calls('xreadgroup');
  const cpuS = b.vals.used_cpu_sys + b.vals.used_cpu_user - a.vals.used_cpu_sys - a.vals.used_cpu_user;
  const per = (x) => (messages > 0 ? x / messages : null);
  const cpuMessages = sentEnd - sentInfo;
  return {
    messages,
    messages_cpu_span: cpuMessages,
    calls_total: total,
    xadd: writes,
    xread: reads,
    other: total - writes - reads,
    per_msg: { total: per(total), xadd: per(writes), xread: per(reads), other: per(total - writes - reads) },
    cpu_s: Math.round(cpuS * 1e6) / 1e6,
    cpu_us_per_msg: cpuMessages > 0 ? (cpuS * 1e6) / cpuMessages : null,
    net_in_bytes: b.vals.total_net_input_bytes - a.vals.total_net_input_bytes,
    net_out_bytes: b.vals.total_net_output_bytes - a.vals.total_net_output_bytes,
    connected_clients: b.vals.connected_clients,
    commands: cmds,
  };
}

async function scrapeMetrics(url) {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(3000) })).text();
    const out = {};
    for (const line of text.split('\n')) {
      const m = /^(stompede_cluster_\w+|stompede_connections|stompede_messages_\w+)(\{[^}]*\})? ([\d.eE+-]+)$/.exec(line);
      if (m) out[m[1] + (m[2] ?? '')] = Number(m[3]);
    }
    return out;
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}
function metricsDelta(a, b) {
  if (a.error || b.error) return { error: a.error ?? b.error };
  const out = {};
  for (const [k, v] of Object.entries(b)) {
    // gauges as they are at the end, counters as deltas
    out[k] = /_total/.test(k) ? v - (a[k] ?? 0) : v;
  }
  return out;
}

async function pool(n, c, fn) {
  let next = 0;
  const errors = [];
  const lane = async () => { while (next < n) { const i = next++; try { await fn(i); } catch (e) { errors.push(e); } } };
  await Promise.all(Array.from({ length: Math.min(n, Math.max(1, c)) }, lane));
  return errors;
}

async function drive(argv) {
  const lib = require('./stompbench/lib.js');
  const { StompConn, Hist, nowUs } = lib;
  const o = parseLoadArgs(argv);
  const log = (...a) => process.stderr.write(`[cluster-load] ${a.join(' ')}\n`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const connOpts = (url) => {
    const u = lib.parseUrl(url);
    return { transport: o.client, url, host: u.host, port: u.port, path: u.path, login: 'guest', passcode: 'guest', vhost: '/',
      subprotocols: ['v12.stomp', 'v11.stomp', 'v10.stomp'], connectTimeoutMs: o.connectTimeout, target: url };
  };
  const runId = Math.random().toString(36).slice(2, 8).padEnd(6, '0');
  const rid = Buffer.from(runId, 'latin1');

  // ---- subscribers
  let measuring = false;
  let hist = new Hist();
  let win = 0;
  let distinct = 0;
  let delivered = 0;
  let stale = 0;
  let unparsable = 0;
  let errorFrames = 0;
  const states = [];
  const gapSamples = []; // the first few forward jumps in a subscriber's sequence: where messages went missing
  let tPub = 0; // when publishing started (nowUs)
  const gapRanges = []; // flat [from, to] pairs of sequence numbers a subscriber skipped
  let subsFailed = 0;
  const tOpen = nowUs();
  for (const url of o.subUrls) {
    const errs = await pool(o.subs, 50, async () => {
      const st = { url, last: 0, count: 0, dups: 0, gaps: 0 };
      const c = new StompConn(connOpts(url));
      c.onMessage = (buf, s, e) => {
        const b = lib.bodyStart(buf, s, e);
        if (b < 0 || !lib.runIdMatches(buf, b, e, rid)) { stale++; return; }
        const seq = readDigits(buf, b + SEQ_OFF, SEQ_DIGITS, e);
        if (seq < 0) { unparsable++; return; }
        delivered++;
        st.count++;
        if (seq <= st.last) st.dups++;
        else {
          if (seq !== st.last + 1) {
            st.gaps++;
            if (gapRanges.length < 100000) gapRanges.push(st.last + 1, seq - 1);
            if (gapSamples.length < 20) gapSamples.push({ url, after: st.last, next: seq, missing: seq - st.last - 1, at_s: Math.round((nowUs() - tPub) / 1e3) / 1e3, sent_then: sent });
          }
          st.last = seq;
          distinct++;
        }
        if (measuring) {
          win++;
          const ts = lib.readTs(buf, b, e);
          if (ts >= 0) hist.record(nowUs() - ts); else unparsable++;
        }
      };
      c.onErrorFrame = (f) => { errorFrames++; if (errorFrames <= 5) log('ERROR frame on a subscriber:', f.headers.message || '', f.body.toString().slice(0, 200)); };
      await c.connect();
      await c.subscribe(o.topic, 0, 'auto', {});
      st.conn = c;
      states.push(st);
    });
    subsFailed += errs.length;
    if (errs.length) log(`${errs.length}/${o.subs} subscribers on ${url} failed, first: ${errs[0].message}`);
  }
  const nSubs = states.length;
  const subscribeS = (nowUs() - tOpen) / 1e6;
  log(`${nSubs} subscribers ready in ${subscribeS.toFixed(2)}s on ${o.subUrls.join(' ')}`);
  if (!nSubs) throw new Error('no subscriber could connect');

  // First use of fetch() loads undici synchronously (tens of ms): do it now, not inside the window.
  const metrics0 = await Promise.all(o.metrics.map(scrapeMetrics)); // also the baseline of metrics_run
  const rc = o.redisPort ? await RedisClient.connect(o.redisPort) : null;
  if (rc) await rc.command('PING');

  // ---- publisher
  const pub = new StompConn(connOpts(o.pubUrl));
  pub.onErrorFrame = (f) => { errorFrames++; log('ERROR frame on the publisher:', f.headers.message || '', f.body.toString().slice(0, 200)); };
  await pub.connect();
  const builder = new Builder(o.topic, o.size, runId);
  let sent = 0;
  let inflight = 0;
  let receipts = 0;
  let backlogWaits = 0;
  let capped = 0;
  let stopped = false;
  let timer = null;
  let pumpQueued = false;
  const pump = () => {
    if (stopped) return;
    pub.t.cork();
    let k = 0;
    while (inflight < o.window && k < 2000) {
      if (sent - distinct / nSubs >= o.backlog) { backlogWaits++; break; }
      sent++;
      inflight++;
      pub.write(builder.build(sent, `p${sent}`, nowUs));
      k++;
    }
    pub.t.uncork();
  };
  tPub = nowUs();
  if (o.rate > 0) {
    const t0 = nowUs();
    let due0 = 0;
    const maxBurst = Math.max(1, Math.ceil(o.rate * 0.05)); // at most 50 ms worth per tick, as stompbench
    timer = setInterval(() => {
      if (stopped) return;
      let due = Math.floor(((nowUs() - t0) / 1e6) * o.rate) - due0;
      if (due > maxBurst) { capped += due - maxBurst; due0 += due - maxBurst; due = maxBurst; }
      if (due <= 0) return;
      pub.t.cork();
      for (let k = 0; k < due; k++) { sent++; pub.write(builder.build(sent, null, nowUs)); }
      pub.t.uncork();
      due0 += due;
    }, 1);
  } else {
    pub.onReceipt = () => {
      inflight--;
      receipts++;
      if (!pumpQueued) { pumpQueued = true; setImmediate(() => { pumpQueued = false; pump(); }); }
    };
    timer = setInterval(pump, 1);
    pump();
  }

  await sleep(o.warmup * 1000);

  // ---- measurement window. Redis and metrics baselines first (their span ends after the drain);
  // rates, latency and CPU are measured over the following --duration seconds.
  let redisA = null;
  const marks = {};
  if (rc) {
    await rc.command('CONFIG', 'RESETSTAT');
    marks.sentReset = sent;
    redisA = parseInfo(await rc.command(...INFO_ARGS));
    marks.sentInfo = sent;
  }
  const metricsA = await Promise.all(o.metrics.map(scrapeMetrics));
  hist = new Hist();
  win = 0;
  measuring = true;
  const sent0 = sent;
  const t0 = nowUs();
  const self0 = process.cpuUsage();
  const cores0 = coreTimes();
  const pids0 = Object.fromEntries(Object.entries(o.pids).map(([k, p]) => [k, procCpuTicks(p)]));
  await sleep(o.duration * 1000);
  measuring = false;
  const el = (nowUs() - t0) / 1e6;
  const sent1 = sent;
  const win1 = win;
  const self = process.cpuUsage(self0);
  const cores1 = coreTimes();
  const cpu = {};
  for (const [k, p] of Object.entries(o.pids)) {
    const v = procCpuTicks(p);
    cpu[k] = v != null && pids0[k] != null ? Math.round((1000 * ((v - pids0[k]) / 100) * 1e6) / (el * 1e6)) / 10 : null;
  }
  const coreBusy = {};
  for (const k of Object.keys(cores1)) {
    const a = cores0[k];
    const b = cores1[k];
    if (a && b[1] > a[1]) coreBusy[`cpu${k}`] = Math.round((1000 * (b[0] - a[0])) / (b[1] - a[1])) / 10;
  }
  stopped = true;
  clearInterval(timer);
  const sentEnd = sent;

  // ---- drain: until every subscriber has every message, or no progress for --drain seconds
  const expected = sentEnd * nSubs;
  let lastD = -1;
  let lastChange = Date.now();
  const tDrain = Date.now();
  while (distinct < expected) {
    if (distinct !== lastD) { lastD = distinct; lastChange = Date.now(); }
    if (Date.now() - lastChange > o.drain * 1000) break;
    await sleep(20);
  }
  const drainS = (Date.now() - tDrain) / 1000;
  let redis;
  if (rc) {
    redis = redisDelta(redisA, parseInfo(await rc.command(...INFO_ARGS)), { ...marks, sentEnd });
    rc.close();
  }
  const mA = metricsA;
  const mB = await Promise.all(o.metrics.map(scrapeMetrics));
  const metrics = Object.fromEntries(o.metrics.map((u, i) => [u, metricsDelta(mA[i], mB[i])]));
  const metricsRun = Object.fromEntries(o.metrics.map((u, i) => [u, metricsDelta(metrics0[i], mB[i])]));
  const sumRun = (name) => Object.values(metricsRun).reduce((a, m) => a + (m[name] ?? 0), 0);

  const perUrl = o.subUrls.map((url) => {
    const ss = states.filter((s) => s.url === url);
    return { url, subs: ss.length, delivered: ss.reduce((x, s) => x + s.count, 0), lost: ss.reduce((x, s) => x + Math.max(0, sentEnd - (s.count - s.dups)), 0),
      duplicates: ss.reduce((x, s) => x + s.dups, 0), gaps: ss.reduce((x, s) => x + s.gaps, 0) };
  });
  const res = {
    bench: 'cluster-load', label: o.label || undefined, pub_url: o.pubUrl, sub_urls: o.subUrls, client: o.client, size: o.size, rate: o.rate,
    mode: o.rate > 0 ? 'fixed-rate' : 'max', warmup_s: o.warmup, duration_s: o.duration, subs: nSubs, subs_failed: subsFailed,
    subscribe_s: Math.round(subscribeS * 100) / 100, measured_s: Math.round(el * 1000) / 1000,
    publish_rate: Math.round((sent1 - sent0) / el),
    delivered_rate: Math.round(win1 / el),
    lat_ms: hist.summaryMs(),
    published_total: sentEnd, expected_total: expected, delivered_total: delivered, distinct_total: distinct,
    lost: Math.max(0, expected - distinct),
    // skipped (never delivered) messages whose SEND fell inside the measured window, all subscribers
    lost_in_window: (() => { let n = 0; for (let i = 0; i < gapRanges.length; i += 2) n += Math.max(0, Math.min(gapRanges[i + 1], sent1) - Math.max(gapRanges[i], sent0 + 1) + 1); return n; })(),
    duplicates: perUrl.reduce((x, u) => x + u.duplicates, 0),
    out_of_order: perUrl.reduce((x, u) => x + u.gaps, 0),
    drain_s: Math.round(drainS * 100) / 100,
    stale_skipped: stale, unparsable, error_frames: errorFrames + pub.errors,
    receipts: o.rate > 0 ? undefined : receipts, backlog_waits: o.rate > 0 ? undefined : backlogWaits, rate_shortfall: o.rate > 0 ? capped : undefined,
    cpu_pct: cpu, client_cpu_pct: Math.round((1000 * (self.user + self.system)) / (el * 1e6)) / 10, core_busy_pct: coreBusy,
    // what the nodes themselves counted over the whole run (from before publishing to after the drain)
    node_gaps_total: o.metrics.length ? sumRun('stompede_cluster_gaps_total') : undefined,
    node_publish_failures_total: o.metrics.length ? sumRun('stompede_cluster_publish_failures_total') : undefined,
    node_outbox_dropped_total: o.metrics.length ? sumRun('stompede_cluster_outbox_dropped_total') : undefined,
    per_url: perUrl, gap_samples: gapSamples.length ? gapSamples : undefined, window_s: [Math.round((t0 - tPub) / 1e3) / 1e3, Math.round((t0 - tPub) / 1e3 + el * 1e3) / 1e3], redis, metrics,
  };
  await Promise.all([pub, ...states.map((s) => s.conn)].map((c) => c.disconnect(1500)));
  for (const c of [pub, ...states.map((s) => s.conn)]) c.destroy();
  process.stdout.write(JSON.stringify(res) + '\n');
  setTimeout(() => process.exit(0), 100);
}

// ====================================================================== the `cluster` section of run.mjs

export const CLUSTER_LAYOUTS = {
  'cross-node': { nodes: 2, redis: true, pub: 0, subs: [1], label: 'cluster of 2, publisher on node 1, subscribers on node 2' },
  'same-node': { nodes: 2, redis: true, pub: 0, subs: [0], label: 'cluster of 2, publisher and subscribers on node 1 (node 2 idle)' },
  embedded: { nodes: 1, redis: false, pub: 0, subs: [0], label: 'one node, embedded broker (no STOMPEDE_REDIS_URL)' },
};
const FLOW = ['cross-node', 'same-node', 'embedded'];
const INTEREST_NODES = [1, 2, 3];

function haveRedis() {
  const ok = (bin) => { try { return fs.existsSync(bin) || process.env.PATH.split(':').some((d) => fs.existsSync(path.join(d, bin))); } catch { return false; } };
  return ok('redis-server');
}
export function clusterPreflight() {
  return haveRedis() ? null : 'redis-server is needed for the cluster section (`make redis-deps`, or apt-get install redis-server)';
}

async function startRedis(o, h) {
  const port = await h.freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stompede-bench-redis-'));
  const argv = ['taskset', '-c', String(o.brokerCore), 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const rec = h.start('redis', argv);
  rec.port = port;
  rec.dir = dir;
  await h.waitFor(rec, async () => /Ready to accept connections/.test(rec.out) && (await h.canConnect(port)), 15000, 'redis-server ready');
  return rec;
}
async function stopRedis(h, rec) {
  await h.stop(rec);
  try { fs.rmSync(rec.dir, { recursive: true, force: true }); } catch { /* ignore */ }
  const warn = (rec.out + rec.err).split('\n').filter((l) => /# (WARNING|Error)|Background|Killed|assert/i.test(l) && !/WARNING Memory overcommit|overcommit_memory|vm\.overcommit/.test(l));
  return { exit_code: rec.code, signal: rec.signal, warn_lines: warn.slice(-5) };
}

async function startNodes(o, h, n, redisPort) {
  const recs = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const port = await h.freePort();
    const env = { STOMPEDE_BIND: '127.0.0.1', STOMPEDE_WS_PORT: String(port), STOMPEDE_TCP_PORT: '0', STOMPEDE_ADMIN_PORT: '0', STOMPEDE_DRAIN_GRACE_MS: '0', STOMPEDE_DRAIN_WINDOW_MS: '0', STOMPEDE_LOG_LEVEL: 'warn', STOMPEDE_NODE_ID: `bench-${i + 1}`,
      // explicit either way: a STOMPEDE_REDIS_URL in the caller's environment must not reach the embedded contender
      STOMPEDE_REDIS_URL: redisPort ? `redis://127.0.0.1:${redisPort}` : '' };
    const rec = h.start(`node-${i + 1}`, ['taskset', '-c', String(o.brokerCore), 'node', h.BROKER_MAIN], env);
    rec.port = port;
    rec.url = `ws://127.0.0.1:${port}/ws`;
    return rec;
  }));
  try {
    await Promise.all(recs.map((rec) => h.waitFor(rec, () => h.httpOk(`http://127.0.0.1:${rec.port}/readyz`), 20000, '/readyz')));
  } catch (e) {
    await Promise.all(recs.map((r) => h.stop(r)));
    throw e;
  }
  return recs;
}

function layoutOf(contender) {
  if (CLUSTER_LAYOUTS[contender]) return CLUSTER_LAYOUTS[contender];
  const m = /^(\d+)-nodes?$/.exec(contender);
  const n = Number(m[1]);
  return { nodes: n, redis: true, pub: 0, subs: Array.from({ length: n }, (_, i) => i), label: `cluster of ${n}, one subscriber on every node, publisher on node 1` };
}

async function clusterRun(o, h, { mode, contender, round, subs, rate, warmup, duration, drain }) {
  const L = layoutOf(contender);
  let redis = null;
  let nodes = [];
  let load = null;
  let error = null;
  const cmd = {};
  try {
    if (L.redis) { redis = await startRedis(o, h); cmd.redis = redis.cmd; }
    nodes = await startNodes(o, h, L.nodes, redis?.port);
    nodes.forEach((n) => { cmd[n.name] = n.cmd; });
    const args = ['load', '--pub-url', nodes[L.pub].url, ...L.subs.flatMap((i) => ['--sub-url', nodes[i].url]), '--subs', subs, '--size', 128, '--rate', rate,
      '--warmup', warmup, '--duration', duration, '--drain', drain, '--client', o.client,
      ...nodes.flatMap((n) => ['--pid', `${n.name}=${n.pid}`, ...(redis ? ['--metrics', `http://127.0.0.1:${n.port}/metrics`] : [])]),
      ...(redis ? ['--pid', `redis=${redis.pid}`, '--redis-port', redis.port] : []), '--label', `cluster/${mode}/${contender}`];
    const argv = ['taskset', '-c', String(o.loadCore), 'node', SELF, ...args.map(String)];
    h.log(`cluster ${mode}${rate ? ` ${rate} msgs/s` : ' max rate'} round ${round}/${o.rounds}: ${contender} (${L.subs.length * subs} subs)`);
    load = await h.runLoad(o, argv, (warmup + duration + drain + 120) * 1000);
    cmd.load = load.cmd;
  } catch (e) {
    error = e.message;
  }
  const brokers = await Promise.all(nodes.map((n) => h.stopBroker(n)));
  const redisInfo = redis ? await stopRedis(h, redis) : null;
  const rec = { type: 'run', bench: 'cluster', mode, contender, round, rate, subs_per_node: subs, layout: L.label, cmd, result: load?.result ?? null,
    brokers: Object.fromEntries(nodes.map((n, i) => [n.name, brokers[i]])), redis: redisInfo, error };
  h.record(rec);
  if (error) h.log(`cluster ${mode}/${contender}: ERROR ${error.split('\n')[0]}`);
  else {
    const r = load.result;
    const rd = r.redis;
    h.log(`  publish ${h.fmt(r.publish_rate)}/s delivered ${h.fmt(r.delivered_rate)}/s p50 ${r.lat_ms.p50} ms p99 ${r.lat_ms.p99} ms lost ${r.lost} dup ${r.duplicates} ooo ${r.out_of_order} errors ${r.error_frames}` +
      ` cpu ${Object.entries(r.cpu_pct).map(([k, v]) => `${k} ${v}%`).join(' ')}` + (rd ? ` | redis ${h.fmt(rd.per_msg.total, 2)} calls/msg (xadd ${h.fmt(rd.per_msg.xadd, 2)}, xread ${h.fmt(rd.per_msg.xread, 2)}), ${h.fmt(rd.cpu_us_per_msg, 1)} µs CPU/msg` : ''));
  }
  await h.sleep(o.pause * 1000);
  return rec;
}

export async function benchCluster(o, h) {
  const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);
  const base = { warmup: o.warmup, duration: o.duration, drain: o.drain };
  // fixed-rate runs only need a few seconds for tens of thousands of samples
  const short = { warmup: Math.min(o.warmup, 2), duration: Math.min(o.duration, 5), drain: o.drain };
  h.record({ type: 'note', bench: 'cluster', subs: o.clusterSubs, rates: o.clusterRates, nodes: INTEREST_NODES, throughput: base, fixed: short,
    note: `broker nodes and redis-server pinned to core ${o.brokerCore}, load to core ${o.loadCore}` });
  const modes = new Set(o.clusterModes);
  for (let r = 0; r < o.rounds && modes.has('throughput'); r++) {
    for (const c of rotate(FLOW, r)) await clusterRun(o, h, { mode: 'throughput', contender: c, round: r + 1, subs: o.clusterSubs, rate: 0, ...base });
  }
  for (const rate of modes.has('latency') ? o.clusterRates : []) {
    for (let r = 0; r < o.rounds; r++) {
      for (const c of rotate(FLOW, r)) await clusterRun(o, h, { mode: 'latency', contender: c, round: r + 1, subs: 1, rate, ...short });
    }
  }
  for (const rate of modes.has('commands') ? o.clusterRates : []) {
    for (let r = 0; r < o.rounds; r++) {
      for (const n of rotate(INTEREST_NODES, r)) await clusterRun(o, h, { mode: 'commands', contender: `${n}-node${n > 1 ? 's' : ''}`, round: r + 1, subs: 1, rate, ...short });
    }
  }
}

// ---------------------------------------------------------------------- summary

export function clusterSummary(o, records, h) {
  const { fmt, cell, median, nums } = h;
  const L = [];
  const flags = [];
  const all = records.filter((x) => x.type === 'run' && x.bench === 'cluster' && x.mode);
  if (!all.length) return { lines: L, flags };
  const runs = (mode, contender, rate) => all.filter((x) => x.mode === mode && (contender == null || x.contender === contender) && (rate == null || x.rate === rate));
  const ok = (xs) => xs.filter((x) => x.result && !x.error);
  const nodeCpu = (r) => Object.entries(r.cpu_pct ?? {}).filter(([k]) => k.startsWith('node-')).reduce((a, [, v]) => a + (v ?? 0), 0);
  const redisCpu = (r) => r.cpu_pct?.redis ?? null;
  const cpuPerDelivery = (r) => (r.delivered_rate > 0 ? (((nodeCpu(r) + (redisCpu(r) ?? 0)) / 100) / r.delivered_rate) * 1e6 : null);
  const core0 = (r) => r.core_busy_pct?.[`cpu${o.brokerCore}`] ?? null;
  const pct = (v) => (v == null ? '–' : `${fmt(v * 100)}%`);
  const check = (mode, x) => {
    const where = `cluster ${mode}${x.rate ? ` ${x.rate}/s` : ''}/${x.contender} round ${x.round}`;
    if (x.error) flags.push(`${where}: ${x.error.split('\n')[0]}`);
    const r = x.result;
    if (r && (r.lost || r.duplicates || r.out_of_order || r.error_frames || r.subs_failed || r.unparsable)) {
      flags.push(`${where}: lost ${r.lost}, duplicates ${r.duplicates}, out of order ${r.out_of_order}, error frames ${r.error_frames}, failed subscriptions ${r.subs_failed}, unparsable ${r.unparsable} ` +
        `${r.lost_in_window != null ? `(${r.lost_in_window} of them published inside the measured window) ` : ''}(published ${r.published_total}, expected ${r.expected_total} deliveries, got ${r.distinct_total} distinct after a ${r.drain_s} s drain)` +
        (r.gap_samples?.length ? `; first gaps (s after the publisher started; the measured window is ${r.window_s?.join('–')} s): ${r.gap_samples.slice(0, 4).map((gp) => `${gp.missing} missing after #${gp.after} at ${gp.at_s} s (${gp.sent_then - gp.after} behind the publisher)`).join(', ')}` : '') +
        `. Command: \`${x.cmd.load}\``);
    }
    if (r && r.lost && r.node_gaps_total != null) {
      flags.push(`${where}: the nodes counted ${r.node_gaps_total} messages they never read (stompede_cluster_gaps_total over the whole run, per message per node, not per subscriber; ${r.subs} subscriber(s) lost ${r.lost} deliveries${r.node_publish_failures_total ? `; publish failures ${r.node_publish_failures_total}` : ''}${r.node_outbox_dropped_total ? `; outbox drops ${r.node_outbox_dropped_total}` : ''}).`);
    }
    if (r && r.client_cpu_pct >= 90) flags.push(`${where}: the load client used ${r.client_cpu_pct}% of its core: it may be the bottleneck.`);
    if (r && r.rate > 0 && (r.rate_shortfall > 0 || r.publish_rate < 0.95 * r.rate)) flags.push(`${where}: the publisher did not keep to ${r.rate} msgs/s: ${r.publish_rate}/s in the window, ${r.rate_shortfall} sends skipped after the load driver's event loop stalled > 50 ms (the load core was busy, or GC).`);
    for (const [name, b] of Object.entries(x.brokers ?? {})) h.brokerFlags(flags, `${where} ${name}`, { broker: b });
    if (x.redis && (x.redis.exit_code !== 0 || x.redis.warn_lines?.length)) flags.push(`${where}: redis-server exit code ${x.redis.exit_code}${x.redis.warn_lines?.length ? `, log: \`${x.redis.warn_lines.slice(-1)[0]}\`` : ''}`);
  };
  const lost = (g) => g.reduce((a, r) => a + (r.lost || 0) + (r.duplicates || 0) + (r.out_of_order || 0), 0);
  const errs = (g) => g.reduce((a, r) => a + (r.error_frames || 0) + (r.subs_failed || 0), 0);

  L.push(`## Cluster (Redis Streams): cross-node vs same-node vs embedded`, '');
  L.push(`Every run starts a private \`redis-server\` (no persistence) and fresh broker nodes, all pinned to core ${o.brokerCore} — **Redis shares the broker core** on this ${os.cpus().length}-core machine — and the load driver (\`${SELF} load\`, stompbench's lib.js, client \`${o.client}\`) on core ${o.loadCore}. ` +
    `cross-node: cluster of 2, publisher on node 1, subscribers on node 2. same-node: cluster of 2, publisher and subscribers on node 1 (every delivery still goes through the Redis stream). embedded: one node, no Redis.`, '');

  // throughput
  const tp = runs('throughput');
  if (tp.length) {
    const subs = tp[0].subs_per_node;
    L.push(`### Throughput: 1 publisher → ${subs} subscribers, 128 B, max rate (RECEIPT window 100)`, '');
    L.push(`| contender | published msgs/s | deliveries/s | vs same-node | vs embedded | p50 ms | p99 ms | nodes CPU % | Redis CPU % | core ${o.brokerCore} busy % | CPU µs/delivery (nodes+Redis) | Redis calls/msg | client CPU % | lost/dup/ooo | errors |`, '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const med = (c) => median(ok(runs('throughput', c)).map((x) => x.result.publish_rate));
    for (const c of FLOW) {
      const rs = runs('throughput', c);
      if (!rs.length) continue;
      const g = ok(rs).map((x) => x.result);
      const m = med(c);
      const same = med('same-node');
      const emb = med('embedded');
      L.push(`| ${c} | ${cell(g.map((r) => r.publish_rate))} | ${cell(g.map((r) => r.delivered_rate))} | ${m != null && same ? pct(m / same) : '–'} | ${m != null && emb ? pct(m / emb) : '–'} | ${cell(g.map((r) => r.lat_ms.p50), 2)} | ${cell(g.map((r) => r.lat_ms.p99), 2)} | ${cell(g.map(nodeCpu))} | ${cell(g.map(redisCpu))} | ${cell(g.map(core0))} | ${cell(g.map(cpuPerDelivery), 2)} | ${cell(g.map((r) => r.redis?.per_msg.total), 2)} | ${cell(g.map((r) => r.client_cpu_pct))} | ${lost(g)}${lost(g) ? ' ⚠' : ''} | ${errs(g)}${errs(g) ? ' ⚠' : ''}${rs.length > g.length ? ` (${rs.length - g.length} run(s) failed)` : ''} |`);
      rs.forEach((x) => check('throughput', x));
    }
    // per-round ratios (the contenders of one round ran back to back)
    const rounds = [...new Set(tp.map((x) => x.round))];
    const ratio = (a, b) => rounds.map((r) => {
      const x = ok(tp.filter((t) => t.round === r && t.contender === a))[0];
      const y = ok(tp.filter((t) => t.round === r && t.contender === b))[0];
      return x && y && y.result.publish_rate > 0 ? x.result.publish_rate / y.result.publish_rate : null;
    });
    const cs = ratio('cross-node', 'same-node');
    const rm = med('same-node') ? med('cross-node') / med('same-node') : null;
    const rr = median(nums(cs));
    const verdict = (v) => (v == null ? '–' : v >= 0.5 ? 'met' : '**not met**');
    L.push('', `**cross-node / same-node = ${pct(rm)}** (ratio of the medians; target ≥ 50%: ${verdict(rm)}). Per round, the two ran back to back: ${cs.map((v) => (v == null ? '–' : pct(v))).join(', ')} (median ${pct(rr)}; ${nums(cs).filter((v) => v < 0.5).length} of ${nums(cs).length} rounds below 50%). ` +
      `same-node / embedded = ${pct(med('embedded') ? med('same-node') / med('embedded') : null)}, cross-node / embedded = ${pct(med('embedded') ? med('cross-node') / med('embedded') : null)}. Ratios of published msgs/s (deliveries/s = msgs/s × subscribers).`, '');
  }

  // latency
  const lat = runs('latency');
  if (lat.length) {
    L.push('### Added latency of the Redis hop: 1 publisher → 1 subscriber, 128 B, fixed rate', '');
    L.push(`| rate msgs/s | contender | published msgs/s | p50 ms | p95 ms | p99 ms | max ms | p50 − embedded | p99 − embedded | target (p99 hop < 5 ms at 10k) | nodes CPU % | Redis CPU % | core ${o.brokerCore} busy % | lost/dup/ooo |`, '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const rates = [...new Set(lat.map((x) => x.rate))].sort((a, b) => a - b);
    for (const rate of rates) {
      const embP = (p) => median(ok(runs('latency', 'embedded', rate)).map((x) => x.result.lat_ms[p]));
      for (const c of FLOW) {
        const rs = runs('latency', c, rate);
        if (!rs.length) continue;
        const g = ok(rs).map((x) => x.result);
        const d = (p) => { const v = median(g.map((r) => r.lat_ms[p])); const e = embP(p); return v == null || e == null || c === 'embedded' ? null : v - e; };
        const hop99 = d('p99');
        const target = c !== 'cross-node' ? '' : rate >= 10000 ? (hop99 == null ? '–' : hop99 < 5 ? 'met' : '**not met**') : '(at 10k)';
        L.push(`| ${fmt(rate)} | ${c} | ${cell(g.map((r) => r.publish_rate))} | ${cell(g.map((r) => r.lat_ms.p50), 3)} | ${cell(g.map((r) => r.lat_ms.p95), 3)} | ${cell(g.map((r) => r.lat_ms.p99), 3)} | ${cell(g.map((r) => r.lat_ms.max), 2)} | ${d('p50') == null ? '–' : fmt(d('p50'), 3)} | ${hop99 == null ? '–' : fmt(hop99, 3)} | ${target} | ${cell(g.map(nodeCpu))} | ${cell(g.map(redisCpu))} | ${cell(g.map(core0))} | ${lost(g)}${lost(g) ? ' ⚠' : ''} |`);
        rs.forEach((x) => check(`latency`, x));
      }
    }
    L.push('', 'Latency = receive time − send time written into the body by the publisher (same process, CLOCK_MONOTONIC). "− embedded" = median p50/p99 of the row minus that of the embedded single node at the same rate: the cost of the Redis round trip (XADD, then the blocking XREAD that returns it). The publisher sends in 1 ms ticks, so at 10k msgs/s about 10 SENDs leave together.', '');
  }

  // commands
  const cm = runs('commands');
  if (cm.length) {
    L.push('### Redis commands per published message as interested nodes grow (1 subscriber per node, publisher on node 1)', '');
    L.push('| rate msgs/s | interested nodes | SENDs published | messages stored | writes/msg (XADD, publish EVAL) | reads/msg (XREADGROUP) | other/msg | total calls/msg | entries per read | Redis CPU µs/msg | Redis CPU % | Redis bytes out/msg | p99 ms (all subs) | lost/dup/ooo |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const rates = [...new Set(cm.map((x) => x.rate))].sort((a, b) => a - b);
    for (const rate of rates) {
      for (const n of INTEREST_NODES) {
        const c = `${n}-node${n > 1 ? 's' : ''}`;
        const rs = runs('commands', c, rate);
        if (!rs.length) continue;
        const g = ok(rs).map((x) => x.result).filter((r) => r.redis);
        // Messages node 1 stored in Redis over the span (its XADDs acknowledged): the denominator. It is
        // the SENDs published over the span unless node 1 was behind (SENDs from before the reset still
        // being XADDed after it), which happens when the broker core is overloaded.
        const stored = (r) => {
          const v = Object.values(r.metrics ?? {}).reduce((a, m) => a + (m['stompede_cluster_published_total'] ?? 0), 0);
          return v > 0 ? v : r.redis.messages;
        };
        const per = (r, calls) => calls / stored(r);
        const entriesPerRead = (r) => {
          const read = Object.values(r.metrics ?? {}).reduce((a, m) => a + (m['stompede_cluster_entries_read_total'] ?? 0), 0);
          return r.redis.xread > 0 ? read / r.redis.xread : null;
        };
        L.push(`| ${fmt(rate)} | ${n} | ${cell(g.map((r) => r.redis.messages))} | ${cell(g.map(stored))} | ${cell(g.map((r) => per(r, r.redis.xadd)), 3)} | ${cell(g.map((r) => per(r, r.redis.xread)), 3)} | ${cell(g.map((r) => per(r, r.redis.other)), 3)} | **${cell(g.map((r) => per(r, r.redis.calls_total)), 3)}** | ${cell(g.map(entriesPerRead), 2)} | ${cell(g.map((r) => (r.redis.cpu_s * 1e6) / stored(r)), 1)} | ${cell(g.map(redisCpu))} | ${cell(g.map((r) => r.redis.net_out_bytes / stored(r)))} | ${cell(g.map((r) => r.lat_ms.p99), 2)} | ${lost(g.length ? g : [])}${lost(g) ? ' ⚠' : ''} |`);
        rs.forEach((x) => check('commands', x));
      }
    }
    const others = {};
    for (const x of ok(cm)) for (const [k, v] of Object.entries(x.result.redis?.commands ?? {})) if (!['xadd', 'eval', 'xread', 'xreadgroup', ...OWN_COMMANDS].includes(k)) others[k] = (others[k] ?? 0) + v.calls;
    L.push('', `Calls: \`INFO commandstats\` after the last message was delivered, counting from a \`CONFIG RESETSTAT\` just before the measured window (both sent by the driver on one connection of its own), divided by the messages node 1 stored in Redis over the span (its \`stompede_cluster_published_total\` delta; equal to the SENDs published after the reset's reply unless node 1 was behind); the driver's own INFO/CONFIG/PING calls are left out. Redis CPU = \`used_cpu_sys + used_cpu_user\` (INFO cpu) delta over the same span. Entries per XREAD = the nodes' \`stompede_cluster_entries_read_total\` delta / XREAD calls. ` +
      `"Other" commands over all these runs: ${Object.entries(others).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}.`, '');
  }
  return { lines: L, flags };
}

// ====================================================================== main (load driver)
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [sub, ...rest] = process.argv.slice(2);
  if (sub !== 'load') {
    process.stderr.write(`${LOAD_HELP}\nThe cluster benchmark itself runs from bench/run.mjs: node bench/run.mjs --only cluster\n`);
    process.exit(sub === '-h' || sub === '--help' ? 0 : 2);
  }
  drive(rest).catch((e) => {
    process.stderr.write(`[cluster-load] fatal: ${e.stack ?? e}\n`);
    process.stdout.write(JSON.stringify({ bench: 'cluster-load', error: String(e.message ?? e) }) + '\n');
    process.exit(1);
  });
}

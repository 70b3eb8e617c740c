#!/usr/bin/env node
// The `cluster` section of `npm run bench` (bench/run.mjs --only cluster), and its load driver.
//
// Imported by bench/run.mjs: benchCluster() starts, per run, a private redis-server and the broker nodes
// (all pinned to the broker core; the machine has two cores, so Redis shares the broker's core) and runs
// this file's load driver on the load core; clusterSummary() renders the tables. Measurements
// (--cluster-modes):
//
//   throughput  1 publisher on node 1 -> --cluster-subs subscribers, 128 B, max rate (RECEIPT window),
//               contenders cross-node (subscribers on node 2), same-node (subscribers on node 1, still
//               in cluster mode, node 2 idle) and embedded (one node, no Redis)
//   latency     the same three layouts with 1 subscriber at fixed rates (--cluster-rates): p50/p99 of
//               receive time - send time embedded in the body; cross-node - embedded = the Redis hop.
//               With --redis-core C the Redis layouts run again with redis-server pinned to core C
//   commands    1, 2, 3 nodes with one subscriber each, publisher on node 1, fixed rates: Redis calls
//               (INFO commandstats after CONFIG RESETSTAT) and Redis CPU (INFO cpu) per published message
//   overload    3 nodes, a subscriber on each, publisher on node 1 without RECEIPTs, at --overload-rate
//               and flooding: published / accepted / refused (ERROR + x-sends-accepted) / delivered /
//               told gaps (x-resume-gap, x-gap-messages) / silent loss per run
//   overload-2x one --overload-seconds run of the same layout at twice the accepted rate of the flood runs
//   linger      cross-node 1 -> 1 at 1000 msgs/s with STOMPEDE_REDIS_READ_LINGER_MS and
//               STOMPEDE_REDIS_PUBLISH_LINGER_MS both 0, 1, 2 (--linger-ms), embedded and the floors:
//               node CPU per message, latency
//
// As a program (`node bench/cluster.mjs load --help`) it is the load driver: one publisher on --pub-url,
// --subs subscribers on every --sub-url, one JSON line on stdout. stompbench (one URL for publisher and
// subscribers) cannot split them over nodes, so the driver reuses stompbench's lib.js (transports, STOMP
// framing, histogram) and its publishing scheme (RECEIPT window + backlog limit at max rate, 1 ms ticks
// at a fixed rate), and adds a per-message sequence number so that loss, duplicates and order are checked.
// A publisher refused by the broker (ERROR with x-sends-accepted) reconnects and numbers on; what was
// refused, lost, told and silently lost is worked out by cluster-accounting.mjs (pure functions, tested
// in bench/test/cluster-accounting.test.ts).
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { accountRun, countInRanges, gapHeaders, publisherTotals, REFUSAL_REASONS, refusedRange, SeqTracker } from './cluster-accounting.mjs';

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
  --no-receipts         with --rate 0: flood, no RECEIPTs: write as fast as the socket takes it,
                        paused while more than --max-buffered bytes wait in the socket (resumed on
                        'drain'); a fixed-rate publisher skips (and counts) the SENDs that find it full
  --max-buffered BYTES  (default 262144)
  --reconnect-delay MS  after an ERROR (refusal) or a close, wait this long, then publish on a new
                        connection, numbering on (default 50)
  --warmup S --duration S --drain S   (default 3 / 10 / 10)
  --client raw|ws       WebSocket client from stompbench's lib.js (default raw)
  --pid NAME=PID        a process whose CPU is measured over the window (repeatable)
  --redis-port P        CONFIG RESETSTAT + INFO at the window's start, INFO after the drain
  --metrics URL         a node's /metrics: stompede_cluster_* deltas over the same span (repeatable)
  --label TEXT
`;

function parseLoadArgs(argv) {
  const o = { pubUrl: null, subUrls: [], subs: 1, topic: TOPIC, size: 128, rate: 0, window: 100, backlog: 50, warmup: 3, duration: 10, drain: 10,
    client: 'raw', pids: {}, redisPort: null, metrics: [], label: '', connectTimeout: 15000, receipts: true, maxBuffered: 262144, reconnectDelay: 50 };
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
      case '--no-receipts': o.receipts = false; break;
      case '--max-buffered': o.maxBuffered = Math.max(16384, Math.round(num())); break;
      case '--reconnect-delay': o.reconnectDelay = num(); break;
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
// A MESSAGE to subscription "0" starts "MESSAGE\nsubscription:0\n"; the next byte is the 'm' of
// message-id unless the broker put gap headers (x-resume-gap, x-gap-messages) first.
const GAP_PROBE = 'MESSAGE\nsubscription:0\n'.length;
const SENDS_ACCEPTED = 'x-sends-accepted';

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
  const flood = o.rate === 0 && !o.receipts;
  const withReceipts = o.rate === 0 && o.receipts;

  // ---- subscribers
  let measuring = false;
  let hist = new Hist();
  let win = 0;
  let distinct = 0;
  let delivered = 0;
  let stale = 0;
  let unparsable = 0;
  let subErrorFrames = 0;
  let gapScans = 0; // MESSAGE frames whose headers were scanned for x-resume-gap
  const states = [];
  const gapSamples = []; // the first few forward jumps in a subscriber's sequence: where messages went missing (or were refused)
  let tPub = 0; // when publishing started (nowUs)
  let sent = 0; // SENDs written, all connections: the last sequence number
  let subsFailed = 0;
  const tOpen = nowUs();
  const scanGap = (buf, s, b) => { gapScans++; return gapHeaders(buf, s, b - 1); };
  for (const url of o.subUrls) {
    const errs = await pool(o.subs, 50, async () => {
      const t = new SeqTracker();
      const st = { url, t, conn: null };
      const c = new StompConn(connOpts(url));
      c.onMessage = (buf, s, e) => {
        const b = lib.bodyStart(buf, s, e);
        if (b < 0 || !lib.runIdMatches(buf, b, e, rid)) { stale++; return; }
        const seq = readDigits(buf, b + SEQ_OFF, SEQ_DIGITS, e);
        if (seq < 0) { unparsable++; return; }
        // The broker puts the gap headers right after the subscription line (message-frame.ts), so one
        // byte says whether to look; on a jump the whole header block is scanned anyway, wherever they are.
        let told = buf[s + GAP_PROBE] === 0x6d ? -1 : scanGap(buf, s, b);
        if (told < 0 && seq > t.last + 1) told = scanGap(buf, s, b);
        delivered++;
        const before = t.last;
        const k = t.deliver(seq, told);
        if (k < 3) distinct++;
        if (k === 1 && gapSamples.length < 20) {
          gapSamples.push({ url, after: before, next: seq, missing: seq - before - 1, told: told < 0 ? null : told === Infinity ? 'no count' : told,
            at_s: Math.round((nowUs() - tPub) / 1e3) / 1e3, sent_then: sent });
        }
        if (measuring) {
          win++;
          const ts = lib.readTs(buf, b, e);
          if (ts >= 0) hist.record(nowUs() - ts); else unparsable++;
        }
      };
      c.onErrorFrame = (f) => { subErrorFrames++; if (subErrorFrames <= 5) log('ERROR frame on a subscriber:', f.headers.message || '', f.body.toString().slice(0, 200)); };
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

  // ---- publisher: one connection at a time. One that gets an ERROR (x-sends-accepted: how many of its
  // SENDs were accepted; the rest are refused) or closes is replaced after --reconnect-delay, and the
  // numbering goes on.
  const builder = new Builder(o.topic, o.size, runId);
  const refusals = []; // { reason, range, accepted, written, problem, at_s, conn }
  const pubCloses = []; // connections that closed without an ERROR: { conn, written, at_s }
  let refusedKnown = 0;
  let pubErrorFrames = 0;
  let pubOtherErrors = 0; // ERROR frames that are not a refusal with x-sends-accepted
  let reconnects = 0;
  let connectFailures = 0;
  let connSeq = 0;
  let pub = null; // the current connection: { c, base, last, id, connected, done, errored, closed }
  let stopped = false;
  let inflight = 0;
  let receipts = 0;
  let backlogWaits = 0;
  let capped = 0;
  let skippedReconnect = 0;
  let skippedFull = 0;
  let bufferWaits = 0;
  let timer = null;
  let pumpQueued = false;
  let floodQueued = false;
  let fatal = null;
  const atS = () => Math.round((nowUs() - tPub) / 1e3) / 1e3;
  const detach = (p) => {
    if (pub === p) { pub = null; inflight = 0; }
    p.last ??= sent;
    p.done = true;
  };
  const reconnect = () => {
    if (stopped) return;
    setTimeout(async () => {
      if (stopped) return;
      reconnects++;
      try {
        const p = await openPub();
        if (stopped) { p.done = true; await p.c.disconnect(1000); p.c.destroy(); return; }
        pub = p;
        kick();
      } catch (e) {
        fatal = e;
        log('the publisher could not reconnect:', e.message);
      }
    }, o.reconnectDelay);
  };
  const onPubError = (p, f) => {
    pubErrorFrames++;
    if (!p.connected) { pubOtherErrors++; log('ERROR frame in reply to the publisher\'s CONNECT:', f.headers.message || ''); return; } // connect() fails and is retried there
    if (p.done) return;
    detach(p);
    p.errored = true;
    const reason = f.headers.message || '';
    const r = refusedRange(p.base, p.last, f.headers[SENDS_ACCEPTED]);
    if (r.range) refusedKnown += r.range[1] - r.range[0] + 1;
    refusals.push({ reason, range: r.range, accepted: r.accepted, written: r.written, problem: r.problem ?? undefined, at_s: atS(), conn: p.id });
    if (r.problem || !REFUSAL_REASONS.includes(reason)) pubOtherErrors++;
    if (refusals.length <= 5 || r.problem) log(`publisher connection ${p.id}: ERROR ${reason} (${SENDS_ACCEPTED} ${f.headers[SENDS_ACCEPTED] ?? 'missing'} of ${r.written} written)${r.problem ? `: ${r.problem}` : ''}${r.problem || !REFUSAL_REASONS.includes(reason) ? ` ${f.body.toString().slice(0, 200)}` : ''}`);
    p.c.destroy();
    reconnect();
  };
  const onPubClosed = (p) => {
    if (p.done) return;
    detach(p);
    p.closed = true;
    pubCloses.push({ conn: p.id, written: p.last - p.base, at_s: atS() });
    log(`publisher connection ${p.id} closed without an ERROR after ${p.last - p.base} SENDs`);
    reconnect();
  };
  const openPub = async () => {
    for (let attempt = 1; ; attempt++) {
      const c = new StompConn(connOpts(o.pubUrl));
      const p = { c, base: sent, last: null, id: ++connSeq, connected: false, done: false, errored: false, closed: false };
      c.onErrorFrame = (f) => onPubError(p, f);
      c.onReceipt = () => { if (pub !== p) return; inflight--; receipts++; if (!pumpQueued) { pumpQueued = true; setImmediate(() => { pumpQueued = false; pump(); }); } };
      try {
        await c.connect();
      } catch (e) {
        connectFailures++;
        c.destroy();
        if (attempt >= 10 || stopped) throw e;
        await sleep(100 * attempt);
        continue;
      }
      p.base = sent; // nothing is written while no connection is current
      p.connected = true;
      c.t.socket.once('close', () => onPubClosed(p));
      return p;
    }
  };
  // --rate 0 with RECEIPTs: at most --window outstanding, paused while subscribers are --backlog behind
  const pump = () => {
    const p = pub;
    if (stopped || !p || !withReceipts) return;
    p.c.t.cork();
    let k = 0;
    while (inflight < o.window && k < 2000) {
      if (sent - refusedKnown - distinct / nSubs >= o.backlog) { backlogWaits++; break; }
      sent++;
      inflight++;
      p.c.write(builder.build(sent, `p${sent}`, nowUs));
      k++;
    }
    p.c.t.uncork();
  };
  // --rate 0 --no-receipts: as fast as the socket takes it, at most --max-buffered bytes waiting in it
  const scheduleFlood = () => { if (!floodQueued) { floodQueued = true; setImmediate(floodTick); } };
  const floodTick = () => {
    floodQueued = false;
    const p = pub;
    if (stopped || !p) return;
    const sock = p.c.t.socket;
    if (sock.writableLength < o.maxBuffered) {
      p.c.t.cork();
      for (let k = 0; k < 500 && sock.writableLength < o.maxBuffered; k++) { sent++; p.c.write(builder.build(sent, null, nowUs)); }
      p.c.t.uncork();
    }
    if (sock.writableLength < o.maxBuffered) { scheduleFlood(); return; }
    bufferWaits++;
    sock.once('drain', () => { if (pub === p) scheduleFlood(); });
  };
  const kick = () => { if (flood) scheduleFlood(); else if (withReceipts) pump(); };

  pub = await openPub();
  tPub = nowUs();
  if (o.rate > 0) {
    const t0 = nowUs();
    let due0 = 0;
    const maxBurst = Math.max(1, Math.ceil(o.rate * 0.05)); // at most 50 ms worth per tick, as stompbench
    timer = setInterval(() => {
      if (stopped) return;
      let due = Math.floor(((nowUs() - t0) / 1e6) * o.rate) - due0;
      if (due <= 0) return;
      const p = pub;
      if (!p) { skippedReconnect += due; due0 += due; return; }
      if (due > maxBurst) { capped += due - maxBurst; due0 += due - maxBurst; due = maxBurst; }
      if (p.c.t.socket.writableLength >= o.maxBuffered) { skippedFull += due; due0 += due; return; }
      p.c.t.cork();
      for (let k = 0; k < due; k++) { sent++; p.c.write(builder.build(sent, null, nowUs)); }
      p.c.t.uncork();
      due0 += due;
    }, 1);
  } else if (withReceipts) {
    timer = setInterval(pump, 1);
    pump();
  } else {
    scheduleFlood();
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
  const cpuS = {};
  for (const [k, p] of Object.entries(o.pids)) {
    const v = procCpuTicks(p);
    cpuS[k] = v != null && pids0[k] != null ? (v - pids0[k]) / 100 : null;
    cpu[k] = cpuS[k] != null ? Math.round((1000 * cpuS[k] * 1e6) / (el * 1e6)) / 10 : null;
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

  // ---- the last publisher connection: DISCONNECT with a receipt. Its RECEIPT comes after every SEND
  // before it was handled, so all of them were accepted; an ERROR says how many were.
  const tDrain = Date.now();
  let finalPub = 'none (reconnecting)';
  let unconfirmed = 0;
  const last = pub;
  if (last) {
    const bye = last.c.waitReceipt('bye', Math.max(1000, o.drain * 1000)).then(() => true, () => false);
    last.c.write(lib.encodeFrame('DISCONNECT', { receipt: 'bye' }));
    const ok = await bye;
    if (ok) { finalPub = 'receipt'; detach(last); last.c.t.close(); } else if (last.errored) finalPub = 'error'; else if (last.closed) finalPub = 'closed without receipt'; else {
      finalPub = 'no receipt (timeout)';
      detach(last);
      unconfirmed = last.last - last.base;
      last.c.destroy();
    }
  }
  const pubTotals = publisherTotals(sentEnd, refusals);
  // connections refused at their first or second SEND (under pressure the first is accepted, then the
  // input is held), back from the end of the run: the cluster no longer took publishing
  let streak = 0;
  for (let i = refusals.length - 1; i >= 0 && refusals[i].accepted != null && refusals[i].accepted <= 1; i--) streak++;
  const refusedToTheEnd = streak && (finalPub === 'error' || !last) ? { connections: streak, since_s: refusals[refusals.length - streak].at_s, reasons: [...new Set(refusals.slice(-streak).map((x) => x.reason))] } : undefined;

  // ---- drain: until every subscriber has every accepted message, or no progress for --drain seconds
  const expected = pubTotals.accepted * nSubs;
  let lastD = -1;
  let lastChange = Date.now();
  while (distinct < expected) {
    if (distinct !== lastD) { lastD = distinct; lastChange = Date.now(); }
    if (Date.now() - lastChange > o.drain * 1000) break;
    await sleep(20);
  }
  const drainS = (Date.now() - tDrain) / 1000;
  let redis;
  let streams;
  if (rc) {
    redis = redisDelta(redisA, parseInfo(await rc.command(...INFO_ARGS)), { ...marks, sentEnd });
    rc.close();
    streams = streamsSnapshot(o.redisPort); // while the subscribers (and so the nodes' groups) are still there
  }
  const mA = metricsA;
  const mB = await Promise.all(o.metrics.map(scrapeMetrics));
  const metrics = Object.fromEntries(o.metrics.map((u, i) => [u, metricsDelta(mA[i], mB[i])]));
  const metricsRun = Object.fromEntries(o.metrics.map((u, i) => [u, metricsDelta(metrics0[i], mB[i])]));
  const sumRun = (name) => Object.values(metricsRun).reduce((a, m) => a + (m[name] ?? 0), 0);

  const acc = accountRun({ sent: sentEnd, refusals, trackers: states.map((s) => s.t), window: [sent0 + 1, sent1] });
  const perUrl = o.subUrls.map((url) => {
    const idx = states.map((s, i) => (s.url === url ? i : -1)).filter((i) => i >= 0);
    const sum = (k) => idx.reduce((x, i) => x + acc.per_sub[i][k], 0);
    return { url, subs: idx.length, delivered: sum('delivered'), lost: sum('lost'), silent_loss: sum('silent'), told_gap_sum: sum('told_sum'), duplicates: sum('duplicates'), out_of_order: sum('out_of_order'), gaps: sum('jumps') };
  });
  const acceptedInWindow = sent1 - sent0 - countInRanges(pubTotals.refused_ranges, sent0 + 1, sent1);
  const res = {
    bench: 'cluster-load', label: o.label || undefined, pub_url: o.pubUrl, sub_urls: o.subUrls, client: o.client, size: o.size, rate: o.rate,
    mode: o.rate > 0 ? 'fixed-rate' : flood ? 'flood' : 'max', receipts: withReceipts, warmup_s: o.warmup, duration_s: o.duration, subs: nSubs, subs_failed: subsFailed,
    subscribe_s: Math.round(subscribeS * 100) / 100, measured_s: Math.round(el * 1000) / 1000,
    publish_rate: Math.round((sent1 - sent0) / el),
    accepted_rate: Math.round(acceptedInWindow / el),
    delivered_rate: Math.round(win1 / el),
    lat_ms: hist.summaryMs(),
    published_in_window: sent1 - sent0, accepted_in_window: acceptedInWindow,
    published_total: sentEnd, accepted_total: acc.accepted_total, refused_total: acc.refused_total, refused_by_reason: acc.refused_by_reason,
    expected_total: acc.expected_total, delivered_total: delivered, distinct_total: acc.distinct_total,
    delivered_distinct_per_sub: acc.delivered_distinct_per_sub,
    lost: acc.lost,
    delivered_refused: acc.delivered_refused,
    // lost numbers published inside the measured window, all subscribers
    lost_in_window: acc.lost_in_window,
    duplicates: acc.duplicates,
    out_of_order: acc.out_of_order,
    gaps: acc.jumps,
    told_gap_messages: acc.told_gap_messages, told_gap_sum: acc.told_gap_sum, told_covered: acc.told_covered, told_excess: acc.told_excess,
    silent_loss: acc.silent_loss, lost_tail: acc.lost_tail,
    publisher_reconnects: reconnects, publisher_connect_failures: connectFailures, publisher_closed_without_error: pubCloses.length, publisher_final: finalPub, publisher_unconfirmed: unconfirmed,
    refusals: refusals.length > 60 ? [...refusals.slice(0, 50), ...refusals.slice(-10)] : refusals, refusals_count: refusals.length, publisher_closes: pubCloses.slice(0, 20),
    refused_to_the_end: refusedToTheEnd,
    drain_s: Math.round(drainS * 100) / 100,
    stale_skipped: stale, unparsable, error_frames: subErrorFrames + pubErrorFrames, sub_error_frames: subErrorFrames, pub_error_frames: pubErrorFrames, pub_other_errors: pubOtherErrors,
    gap_header_scans: gapScans, holes_dropped: acc.holes_dropped || undefined,
    receipts_received: withReceipts ? receipts : undefined, backlog_waits: withReceipts ? backlogWaits : undefined,
    rate_shortfall: o.rate > 0 ? capped : undefined, skipped_reconnecting: o.rate > 0 ? skippedReconnect : undefined,
    skipped_buffer_full: o.rate > 0 ? skippedFull : undefined, buffer_waits: flood ? bufferWaits : undefined, max_buffered: o.rate > 0 || flood ? o.maxBuffered : undefined,
    cpu_pct: cpu, cpu_s: cpuS, client_cpu_pct: Math.round((1000 * (self.user + self.system)) / (el * 1e6)) / 10, core_busy_pct: coreBusy,
    // what the nodes themselves counted over the whole run (from before publishing to after the drain)
    node_gaps_total: o.metrics.length ? sumRun('stompede_cluster_gaps_total') : undefined,
    node_publish_failures_total: o.metrics.length ? sumRun('stompede_cluster_publish_failures_total') : undefined,
    node_outbox_dropped_total: o.metrics.length ? sumRun('stompede_cluster_outbox_dropped_total') : undefined,
    per_url: perUrl, per_sub: nSubs <= 10 ? acc.per_sub : undefined, redis_streams: streams,
    gap_samples: gapSamples.length ? gapSamples : undefined, window_s: [Math.round((t0 - tPub) / 1e3) / 1e3, Math.round((t0 - tPub) / 1e3 + el * 1e3) / 1e3], redis, metrics,
    fatal: fatal ? String(fatal.message ?? fatal) : undefined,
  };
  await Promise.all(states.map((s) => s.conn.disconnect(1500)));
  for (const s of states) s.conn.destroy();
  process.stdout.write(JSON.stringify(res) + '\n');
  setTimeout(() => process.exit(0), 100);
}

// ====================================================================== the `cluster` section of run.mjs

export const CLUSTER_LAYOUTS = {
  'cross-node': { nodes: 2, redis: true, pub: 0, subs: [1], label: 'cluster of 2, publisher on node 1, subscribers on node 2' },
  'same-node': { nodes: 2, redis: true, pub: 0, subs: [0], label: 'cluster of 2, publisher and subscribers on node 1 (node 2 idle)' },
  embedded: { nodes: 1, redis: false, pub: 0, subs: [0], label: 'one node, embedded broker (no STOMPEDE_REDIS_URL)' },
  // The floors: what carrying a message costs on this machine with none of Stompede's work.
  'bare-hop': { nodes: 2, redis: true, bare: true, pub: 0, subs: [1], label: 'floor: two bench/ref-hop-server.mjs over one Redis (raw XADD / XREAD, no Stompede), publisher on server 1, subscribers on server 2' },
  'bare-embedded': { nodes: 1, redis: false, bare: true, pub: 0, subs: [0], label: 'floor: one bench/ref-hop-server.mjs without Redis (bare uWS publish)' },
};
const FLOW = ['cross-node', 'same-node', 'embedded'];
const FLOORS = ['bare-hop', 'bare-embedded'];
// Not bare-embedded at max rate: it sends one WebSocket message per SEND and subscriber where the
// broker coalesces a turn's MESSAGE frames, so it is no floor there (about 5x the broker's cost).
const THROUGHPUT = [...FLOW, 'bare-hop'];
const REF_HOP_SERVER = 'bench/ref-hop-server.mjs';
const LINGER_LABELS = { embedded: 'embedded (one node, no Redis)', 'bare-hop': 'floor: bare hop (ref-hop-server ×2 + Redis)', 'bare-embedded': 'floor: bare embedded (ref-hop-server, no Redis)' };
const INTEREST_NODES = [1, 2, 3];

function haveRedis() {
  const ok = (bin) => { try { return fs.existsSync(bin) || process.env.PATH.split(':').some((d) => fs.existsSync(path.join(d, bin))); } catch { return false; } };
  return ok('redis-server');
}
export function clusterPreflight() {
  return haveRedis() ? null : 'redis-server is needed for the cluster section (`make redis-deps`, or apt-get install redis-server)';
}

export async function startRedis(o, h, core) {
  const port = await h.freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stompede-bench-redis-'));
  const argv = ['taskset', '-c', String(core), 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const rec = h.start('redis', argv);
  rec.port = port;
  rec.dir = dir;
  await h.waitFor(rec, async () => /Ready to accept connections/.test(rec.out) && (await h.canConnect(port)), 15000, 'redis-server ready');
  return rec;
}
export async function stopRedis(h, rec) {
  await h.stop(rec);
  try { fs.rmSync(rec.dir, { recursive: true, force: true }); } catch { /* ignore */ }
  const warn = (rec.out + rec.err).split('\n').filter((l) => /# (WARNING|Error)|Background|Killed|assert/i.test(l) && !/WARNING Memory overcommit|overcommit_memory|vm\.overcommit/.test(l));
  return { exit_code: rec.code, signal: rec.signal, warn_lines: warn.slice(-5) };
}

// Abuse limits off: a benchmark client is one address playing many clients and publishing as fast
// as it can; these measure capacity, not limits (--node-env can still set them).
export const BENCH_LIMITS_ENV = { STOMPEDE_MAX_CONNECTIONS_PER_IP: '0', STOMPEDE_CONNECTION_RATE_PER_IP: '0', STOMPEDE_MAX_SENDS_PER_SECOND: '0' };

// Variables every node gets from the bench itself; --node-env cannot change them.
export const RUN_ENV_KEYS = ['STOMPEDE_BIND', 'STOMPEDE_WS_PORT', 'STOMPEDE_TCP_PORT', 'STOMPEDE_ADMIN_PORT', 'STOMPEDE_DRAIN_GRACE_MS', 'STOMPEDE_DRAIN_WINDOW_MS', 'STOMPEDE_LOG_LEVEL', 'STOMPEDE_NODE_ID', 'STOMPEDE_REDIS_URL'];

// extraEnv: --node-env, then what the run itself sets (the linger runs' STOMPEDE_REDIS_READ_LINGER_MS).
export async function startNodes(o, h, n, redisPort, extraEnv = {}, bare = false) {
  const recs = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const port = await h.freePort();
    if (bare) return startBare(o, h, i, port, redisPort);
    const env = { ...BENCH_LIMITS_ENV, ...extraEnv, STOMPEDE_BIND: '127.0.0.1', STOMPEDE_WS_PORT: String(port), STOMPEDE_TCP_PORT: '0', STOMPEDE_ADMIN_PORT: '0', STOMPEDE_DRAIN_GRACE_MS: '0', STOMPEDE_DRAIN_WINDOW_MS: '0', STOMPEDE_LOG_LEVEL: 'warn', STOMPEDE_NODE_ID: `bench-${i + 1}`,
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

function startBare(o, h, i, port, redisPort) {
  const argv = ['taskset', '-c', String(o.brokerCore), 'node', REF_HOP_SERVER, '--port', String(port), ...(redisPort ? ['--redis-port', String(redisPort)] : [])];
  const rec = h.start(`node-${i + 1}`, argv, {});
  rec.port = port;
  rec.url = `ws://127.0.0.1:${port}/ws`;
  return rec;
}

// The topic streams and their consumer groups (one per node) as Redis reports them after the drain
// (redis-cli --json XINFO STREAM / GROUPS): where every node's reading ended, and the lag Redis
// computes for it, which is what publish pressure is based on.
function streamsSnapshot(port) {
  const cli = (...args) => {
    const r = spawnSync('redis-cli', ['-p', String(port), '--json', ...args], { encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr || r.error?.message}`);
    return r.stdout;
  };
  try {
    const keys = cli('--scan', '--pattern', '*:t:*').split('\n').map((k) => k.trim()).filter(Boolean).map((k) => (k.startsWith('"') ? JSON.parse(k) : k));
    return keys.slice(0, 10).map((key) => {
      const st = JSON.parse(cli('XINFO', 'STREAM', key));
      return { key, length: st.length, entries_added: st['entries-added'], last_id: st['last-generated-id'], first_id: st['recorded-first-entry-id'],
        groups: JSON.parse(cli('XINFO', 'GROUPS', key)).map((g) => ({ name: g.name, last_delivered_id: g['last-delivered-id'], entries_read: g['entries-read'], lag: g.lag, pending: g.pending })) };
    });
  } catch (e) {
    return { error: String(e.message ?? e).slice(0, 300) };
  }
}

function layoutOf(contender) {
  if (CLUSTER_LAYOUTS[contender]) return CLUSTER_LAYOUTS[contender];
  const m = /^(\d+)-nodes?$/.exec(contender);
  const n = Number(m[1]);
  return { nodes: n, redis: true, pub: 0, subs: Array.from({ length: n }, (_, i) => i), label: `cluster of ${n}, one subscriber on every node, publisher on node 1` };
}

async function clusterRun(o, h, { mode, contender, layout = contender, round, subs, rate, warmup, duration, drain, flood = false, env = {}, redisCore = o.brokerCore, extra = {} }) {
  const L = layoutOf(layout);
  const nodeEnv = { ...(o.nodeEnv ?? {}), ...env };
  let redis = null;
  let nodes = [];
  let load = null;
  let error = null;
  const cmd = {};
  try {
    if (L.redis) { redis = await startRedis(o, h, redisCore); cmd.redis = redis.cmd; }
    nodes = await startNodes(o, h, L.nodes, redis?.port, nodeEnv, L.bare);
    nodes.forEach((n) => { cmd[n.name] = n.cmd; });
    const args = ['load', '--pub-url', nodes[L.pub].url, ...L.subs.flatMap((i) => ['--sub-url', nodes[i].url]), '--subs', subs, '--size', 128, '--rate', rate,
      ...(flood ? ['--no-receipts'] : []),
      '--warmup', warmup, '--duration', duration, '--drain', drain, '--client', o.client,
      ...nodes.flatMap((n) => ['--pid', `${n.name}=${n.pid}`, ...(redis ? ['--metrics', `http://127.0.0.1:${n.port}/metrics`] : [])]),
      ...(redis ? ['--pid', `redis=${redis.pid}`, '--redis-port', redis.port] : []), '--label', `cluster/${mode}/${contender}`];
    const argv = ['taskset', '-c', String(o.loadCore), 'node', SELF, ...args.map(String)];
    h.log(`cluster ${mode}${rate ? ` ${rate} msgs/s` : flood ? ' max rate (flood, no RECEIPTs)' : ' max rate'} round ${round}/${o.rounds}: ${contender} (${L.subs.length * subs} subs${redis && redisCore !== o.brokerCore ? `, redis on core ${redisCore}` : ''}${Object.keys(nodeEnv).length ? `, ${Object.entries(nodeEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''})`);
    // the last publisher's confirmation and the subscribers' drain may each take up to --drain
    load = await h.runLoad(o, argv, (warmup + duration + 3 * drain + 120) * 1000);
    cmd.load = load.cmd;
  } catch (e) {
    error = e.message;
  }
  const brokers = await Promise.all(nodes.map((n) => h.stopBroker(n)));
  const redisInfo = redis ? await stopRedis(h, redis) : null;
  const rec = { type: 'run', bench: 'cluster', mode, contender, round, rate, publisher: rate > 0 ? 'fixed-rate' : flood ? 'flood' : 'receipts', subs_per_node: subs, layout: L.label,
    node_env: nodeEnv, redis_core: redis ? redisCore : null, ...extra, cmd, result: load?.result ?? null,
    brokers: Object.fromEntries(nodes.map((n, i) => [n.name, brokers[i]])), redis: redisInfo, error };
  h.record(rec);
  if (error) h.log(`cluster ${mode}/${contender}: ERROR ${error.split('\n')[0]}`);
  else {
    const r = load.result;
    const rd = r.redis;
    h.log(`  publish ${h.fmt(r.publish_rate)}/s (accepted ${h.fmt(r.accepted_rate)}/s) delivered ${h.fmt(r.delivered_rate)}/s p50 ${r.lat_ms.p50} ms p99 ${r.lat_ms.p99} ms` +
      ` | published ${r.published_total} accepted ${r.accepted_total} refused ${r.refused_total} (${Object.entries(r.refused_by_reason).map(([k, v]) => `${k} ${v}`).join(', ')}) reconnects ${r.publisher_reconnects}` +
      ` | lost ${r.lost} told ${r.told_gap_messages}/${r.told_gap_sum} silent ${r.silent_loss} delivered-refused ${r.delivered_refused} dup ${r.duplicates} ooo ${r.out_of_order} errors ${r.error_frames}` +
      ` | cpu ${Object.entries(r.cpu_pct).map(([k, v]) => `${k} ${v}%`).join(' ')} client ${r.client_cpu_pct}%` + (rd ? ` | redis ${h.fmt(rd.per_msg.total, 2)} calls/msg (xadd ${h.fmt(rd.per_msg.xadd, 2)}, xread ${h.fmt(rd.per_msg.xread, 2)}), ${h.fmt(rd.cpu_us_per_msg, 1)} µs CPU/msg` : ''));
  }
  await h.sleep(o.pause * 1000);
  return rec;
}

export const CLUSTER_MODES = ['throughput', 'latency', 'commands', 'overload', 'overload-2x', 'linger'];
const OVERLOAD_LAYOUT = '3-nodes';
const LINGER_RATE = 1000;
const medianOf = (xs) => { const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

export async function benchCluster(o, h) {
  const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);
  const base = { warmup: o.warmup, duration: o.duration, drain: o.drain };
  // fixed-rate runs only need a few seconds for tens of thousands of samples
  const short = { warmup: Math.min(o.warmup, 2), duration: Math.min(o.duration, 5), drain: o.drain };
  const redisCore = o.redisCore ?? o.brokerCore;
  const overloadRate = o.overloadRate ?? 10000;
  const overloadSeconds = o.overloadSeconds ?? 60;
  const lingerMs = o.lingerMs ?? [0, 1, 2];
  h.record({ type: 'note', bench: 'cluster', subs: o.clusterSubs, rates: o.clusterRates, nodes: INTEREST_NODES, throughput: base, fixed: short, modes: o.clusterModes,
    node_env: o.nodeEnv ?? {}, redis_core: redisCore, overload: { layout: OVERLOAD_LAYOUT, rate: overloadRate, seconds_2x: overloadSeconds }, linger: { ms: lingerMs, rate: LINGER_RATE },
    note: `broker nodes and redis-server pinned to core ${o.brokerCore}, load to core ${o.loadCore}${redisCore !== o.brokerCore ? `; the latency variant pins redis-server to core ${redisCore}` : ''}` });
  const modes = new Set(o.clusterModes);
  for (let r = 0; r < o.rounds && modes.has('throughput'); r++) {
    for (const c of rotate(THROUGHPUT, r)) await clusterRun(o, h, { mode: 'throughput', contender: c, round: r + 1, subs: o.clusterSubs, rate: 0, ...base });
  }
  // latency; with --redis-core C (≠ the broker core) also the Redis layouts with redis-server on core C
  const latencySpecs = [...FLOW.map((c) => ({ contender: c, redisCore: o.brokerCore })),
    ...(redisCore !== o.brokerCore ? FLOW.filter((c) => CLUSTER_LAYOUTS[c].redis).map((c) => ({ contender: c, redisCore })) : [])];
  for (const rate of modes.has('latency') ? o.clusterRates : []) {
    for (let r = 0; r < o.rounds; r++) {
      for (const s of rotate(latencySpecs, r)) await clusterRun(o, h, { mode: 'latency', contender: s.contender, redisCore: s.redisCore, round: r + 1, subs: 1, rate, ...short });
    }
  }
  for (const rate of modes.has('commands') ? o.clusterRates : []) {
    for (let r = 0; r < o.rounds; r++) {
      for (const n of rotate(INTEREST_NODES, r)) await clusterRun(o, h, { mode: 'commands', contender: `${n}-node${n > 1 ? 's' : ''}`, round: r + 1, subs: 1, rate, ...short });
    }
  }
  // overload: 3 nodes, a subscriber on each, publisher on node 1 without RECEIPTs, at a fixed rate and flooding
  const floodRuns = [];
  for (let r = 0; r < o.rounds && modes.has('overload'); r++) {
    for (const p of rotate(['fixed-rate', 'flood'], r)) {
      const flood = p === 'flood';
      const rec = await clusterRun(o, h, { mode: 'overload', contender: p, layout: OVERLOAD_LAYOUT, round: r + 1, subs: 1, rate: flood ? 0 : overloadRate, flood, ...base });
      if (flood) floodRuns.push(rec);
    }
  }
  if (modes.has('overload-2x')) {
    // capacity: the median accepted publish rate of this invocation's flood runs, else one short flood run
    let used = floodRuns.filter((x) => x.result && !x.error);
    let source = `median accepted msgs/s of the ${used.length} overload flood run(s) of this invocation`;
    if (!used.length) {
      const rec = await clusterRun(o, h, { mode: 'overload-capacity', contender: 'flood', layout: OVERLOAD_LAYOUT, round: 1, subs: 1, rate: 0, flood: true, ...short });
      used = rec.result && !rec.error ? [rec] : [];
      source = `accepted msgs/s of one ${short.duration} s flood run (mode overload-capacity)`;
    }
    const capacity = medianOf(used.map((x) => x.result.accepted_rate));
    if (!(capacity > 0)) {
      const why = capacity == null ? 'the flood run failed' : `the flood run(s) had ${capacity} accepted msgs/s in their window (every SEND refused; see the warnings)`;
      h.log(`cluster overload-2x: no capacity measured (${why}): skipped`);
      h.record({ type: 'run', bench: 'cluster', mode: 'overload-2x', contender: '2x', round: 1, rate: null, layout: layoutOf(OVERLOAD_LAYOUT).label, error: `no capacity measured: ${why}`, cmd: {}, result: null });
    } else {
      const rate = Math.round(2 * capacity);
      await clusterRun(o, h, { mode: 'overload-2x', contender: '2x', layout: OVERLOAD_LAYOUT, round: 1, subs: 1, rate, warmup: o.warmup, duration: overloadSeconds, drain: o.drain,
        extra: { capacity: { rate: capacity, source, runs: used.map((x) => ({ mode: x.mode, round: x.round, accepted_rate: x.result.accepted_rate })) } } });
    }
  }
  // linger: cross-node 1 -> 1 at 1000 msgs/s, read and publish linger interleaved, embedded for reference
  const lingerEnv = (ms) => ({ STOMPEDE_REDIS_READ_LINGER_MS: String(ms), STOMPEDE_REDIS_PUBLISH_LINGER_MS: String(ms) });
  const lingerSpecs = [...lingerMs.map((ms) => ({ contender: `linger-${ms}`, layout: 'cross-node', env: lingerEnv(ms), extra: { linger_ms: ms } })),
    { contender: 'embedded', layout: 'embedded', env: {}, extra: {} }, ...FLOORS.map((c) => ({ contender: c, layout: c, env: {}, extra: {} }))];
  for (let r = 0; r < o.rounds && modes.has('linger'); r++) {
    for (const s of rotate(lingerSpecs, r)) await clusterRun(o, h, { mode: 'linger', ...s, round: r + 1, subs: 1, rate: LINGER_RATE, ...short });
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
    const where = `cluster ${mode}${x.rate ? ` ${x.rate}/s` : ''}/${x.contender}${x.redis_core != null && x.redis_core !== o.brokerCore ? ` (redis on core ${x.redis_core})` : ''} round ${x.round}`;
    if (x.error) flags.push(`${where}: ${x.error.split('\n')[0]}`);
    const r = x.result;
    // Overload runs expect refusals (ERROR with x-sends-accepted) and may have told gaps; nothing else.
    const overload = mode.startsWith('overload');
    const pubErrors = r ? (overload ? (r.pub_other_errors ?? 0) : (r.pub_error_frames ?? 0)) : 0;
    const subErrors = r ? (r.sub_error_frames ?? r.error_frames ?? 0) : 0;
    if (r && (r.silent_loss || r.delivered_refused || r.duplicates || r.out_of_order || subErrors || pubErrors || r.subs_failed || r.unparsable || (!overload && (r.lost || r.refused_total)) ||
      r.publisher_unconfirmed || r.publisher_closed_without_error || r.fatal || r.holes_dropped)) {
      flags.push(`${where}: silent loss ${r.silent_loss}, lost ${r.lost} (told gaps cover ${r.told_covered}; ${r.told_gap_messages} MESSAGE(s) with x-resume-gap, x-gap-messages sum ${r.told_gap_sum}), delivered but refused ${r.delivered_refused}, duplicates ${r.duplicates}, out of order ${r.out_of_order}, ` +
        `refused ${r.refused_total}, ERROR frames: subscribers ${subErrors}, publisher ${r.pub_error_frames}${overload ? ` (${pubErrors} not a refusal with x-sends-accepted)` : ''}, failed subscriptions ${r.subs_failed}, unparsable ${r.unparsable}` +
        `${r.publisher_closed_without_error ? `, publisher connections closed without ERROR ${r.publisher_closed_without_error}` : ''}${r.publisher_unconfirmed ? `, last publisher connection unconfirmed (${r.publisher_final}): ${r.publisher_unconfirmed} SENDs` : ''}${r.fatal ? `, publisher failed: ${r.fatal}` : ''}${r.holes_dropped ? `, ${r.holes_dropped} gaps not recorded (too many): counts are incomplete` : ''} ` +
        `${r.lost_in_window != null ? `(${r.lost_in_window} lost published inside the measured window) ` : ''}(published ${r.published_total}, accepted ${r.accepted_total}, expected ${r.expected_total} deliveries, got ${r.distinct_total} distinct after a ${r.drain_s} s drain)` +
        (r.gap_samples?.length ? `; first jumps (s after the publisher started; the measured window is ${r.window_s?.join('–')} s): ${r.gap_samples.slice(0, 4).map((gp) => `${gp.missing} skipped after #${gp.after} at ${gp.at_s} s (${gp.sent_then - gp.after} behind the publisher${gp.told != null ? `, told ${gp.told}` : ''})`).join(', ')}` : '') +
        `. Command: \`${x.cmd.load}\``);
    }
    if (r && r.lost && r.node_gaps_total != null && !overload) {
      flags.push(`${where}: the nodes counted ${r.node_gaps_total} messages they never read (stompede_cluster_gaps_total over the whole run, per message per node, not per subscriber; ${r.subs} subscriber(s) lost ${r.lost} deliveries${r.node_publish_failures_total ? `; publish failures ${r.node_publish_failures_total}` : ''}${r.node_outbox_dropped_total ? `; outbox drops ${r.node_outbox_dropped_total}` : ''}).`);
    }
    if (r && r.refused_to_the_end && r.refused_to_the_end.connections >= 3) {
      const gs = Array.isArray(r.redis_streams) ? r.redis_streams.flatMap((st) => st.groups.map((g) => `${g.name}: entries-read ${g.entries_read}, lag ${g.lag}, last-delivered ${g.last_delivered_id === st.last_id ? '= the last entry' : g.last_delivered_id}`)) : [];
      flags.push(`${where}: from ${r.refused_to_the_end.since_s} s to the end of publishing, every one of ${r.refused_to_the_end.connections} publisher connections was refused after at most one accepted SEND (${r.refused_to_the_end.reasons.join(', ')}): the cluster never took publishing again in this run (the subscribers had ${r.lost_tail ? `${r.lost_tail} accepted deliveries still missing at the end` : 'caught up with the last accepted message'})${gs.length ? `; consumer groups after the run: ${gs.join('; ')}` : ''}.`);
    }
    // Redis's consumer-group lag is what publish pressure is computed from: a group that has read the
    // stream's last entry has nothing left to read, whatever lag Redis reports for it
    for (const st of Array.isArray(r?.redis_streams) ? r.redis_streams : []) {
      for (const g of st.groups ?? []) {
        if (g.last_delivered_id === st.last_id && typeof g.lag === 'number' && g.lag > 0) {
          flags.push(`${where}: after the run, Redis reports lag ${g.lag} for consumer group ${g.name} of ${st.key} although it has read the last entry (last-delivered-id ${g.last_delivered_id} = the stream's last id; entries-read ${g.entries_read}, entries-added ${st.entries_added}): publish pressure computed from that lag does not go away.`);
        }
      }
    }
    if (r && r.told_excess) flags.push(`${where}: the nodes told of ${r.told_excess} more missing messages (x-gap-messages) than the subscribers missed there.`);
    if (r && r.client_cpu_pct >= 90) flags.push(`${where}: the load client used ${r.client_cpu_pct}% of its core: it may be the bottleneck.`);
    if (r && r.rate > 0 && !overload && (r.rate_shortfall > 0 || r.publish_rate < 0.95 * r.rate)) flags.push(`${where}: the publisher did not keep to ${r.rate} msgs/s: ${r.publish_rate}/s in the window, ${r.rate_shortfall} sends skipped after the load driver's event loop stalled > 50 ms (the load core was busy, or GC)${r.skipped_reconnecting || r.skipped_buffer_full ? `, ${r.skipped_reconnecting} while reconnecting, ${r.skipped_buffer_full} with the socket full` : ''}.`);
    if (r && r.rate > 0 && overload && r.rate_shortfall > 0.01 * r.rate * r.duration_s) flags.push(`${where}: the load driver itself fell short of ${r.rate} msgs/s: ${r.rate_shortfall} sends skipped after its event loop stalled > 50 ms (the offered load was lower than intended).`);
    for (const [name, b] of Object.entries(x.brokers ?? {})) h.brokerFlags(flags, `${where} ${name}`, { broker: b });
    if (x.redis && (x.redis.exit_code !== 0 || x.redis.warn_lines?.length)) flags.push(`${where}: redis-server exit code ${x.redis.exit_code}${x.redis.warn_lines?.length ? `, log: \`${x.redis.warn_lines.slice(-1)[0]}\`` : ''}`);
  };
  const lost = (g) => g.reduce((a, r) => a + (r.lost || 0) + (r.duplicates || 0) + (r.out_of_order || 0) + (r.delivered_refused || 0), 0);
  const errs = (g) => g.reduce((a, r) => a + (r.error_frames || 0) + (r.subs_failed || 0), 0);

  L.push(`## Cluster (Redis Streams): cross-node vs same-node vs embedded`, '');
  L.push(`Every run starts a private \`redis-server\` (no persistence) and fresh broker nodes, all pinned to core ${o.brokerCore} — **Redis shares the broker core** on this ${os.cpus().length}-core machine — and the load driver (\`${SELF} load\`, stompbench's lib.js, client \`${o.client}\`) on core ${o.loadCore}. ` +
    `cross-node: cluster of 2, publisher on node 1, subscribers on node 2. same-node: cluster of 2, publisher and subscribers on node 1 (every delivery still goes through the Redis stream). embedded: one node, no Redis.`, '');
  const common = Object.entries(o.nodeEnv ?? {});
  if (common.length) L.push(`**Extra node environment (\`--node-env\`) on every node of every run: ${common.map(([k, v]) => `\`${k}=${v}\``).join(', ')}**; the numbers below are not those of the defaults.`, '');

  // throughput
  const tp = runs('throughput');
  if (tp.length) {
    const subs = tp[0].subs_per_node;
    L.push(`### Throughput: 1 publisher → ${subs} subscribers, 128 B, max rate (RECEIPT window 100)`, '');
    L.push(`| contender | published msgs/s | deliveries/s | vs same-node | vs embedded | p50 ms | p99 ms | nodes CPU % | Redis CPU % | core ${o.brokerCore} busy % | CPU µs/delivery (nodes+Redis) | Redis calls/msg | client CPU % | lost/dup/ooo | errors |`, '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const med = (c) => median(ok(runs('throughput', c)).map((x) => x.result.publish_rate));
    for (const c of THROUGHPUT) {
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
    const perDelivery = (c) => median(ok(runs('throughput', c)).map((x) => cpuPerDelivery(x.result)));
    const cpuRatio = (a, b) => (perDelivery(a) != null && perDelivery(b) > 0 ? `${fmt(perDelivery(a) / perDelivery(b), 2)}×` : '–');
    L.push(`**CPU per delivery, cross-node / embedded = ${cpuRatio('cross-node', 'embedded')}** (target ≤ 1.5×)` +
      (runs('throughput', 'bare-hop').length ? `; bare hop / embedded = ${cpuRatio('bare-hop', 'embedded')}: two servers with no broker work at all (one MESSAGE per entry, no coalescing) carrying the same load through Redis on this machine's one shared core` : '') +
      '. Medians of µs per delivery (nodes + Redis).', '');
  }

  // latency
  const lat = runs('latency');
  if (lat.length) {
    // where redis-server ran: the broker core (with the nodes, as always) or --redis-core
    const rcore = (x) => (x.contender === 'embedded' ? null : x.redis_core ?? o.brokerCore);
    const where = (c) => (c == null ? '–' : c === o.brokerCore ? `core ${c} (with the nodes)` : c === o.loadCore ? `core ${c} (own; shared with the load driver)` : `core ${c} (own)`);
    const cores = [...new Set(lat.map(rcore).filter((c) => c != null))].sort((a, b) => (a === o.brokerCore ? -1 : b === o.brokerCore ? 1 : a - b));
    L.push('### Added latency of the Redis hop: 1 publisher → 1 subscriber, 128 B, fixed rate', '');
    L.push(`| rate msgs/s | contender | redis-server on | published msgs/s | p50 ms | p95 ms | p99 ms | max ms | p50 − embedded | p99 − embedded | target (p99 hop < 5 ms at 10k) | nodes CPU % | Redis CPU % | core ${o.brokerCore} busy % | core ${o.loadCore} busy % | client CPU % | lost/dup/ooo |`, '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const rates = [...new Set(lat.map((x) => x.rate))].sort((a, b) => a - b);
    for (const rate of rates) {
      const embP = (p) => median(ok(runs('latency', 'embedded', rate)).map((x) => x.result.lat_ms[p]));
      for (const core of [null, ...cores]) {
        for (const c of FLOW) {
          if ((c === 'embedded') !== (core === null)) continue;
          const rs = runs('latency', c, rate).filter((x) => rcore(x) === core);
          if (!rs.length) continue;
          const g = ok(rs).map((x) => x.result);
          const d = (p) => { const v = median(g.map((r) => r.lat_ms[p])); const e = embP(p); return v == null || e == null || c === 'embedded' ? null : v - e; };
          const hop99 = d('p99');
          const target = c !== 'cross-node' ? '' : rate >= 10000 ? (hop99 == null ? '–' : hop99 < 5 ? 'met' : '**not met**') : '(at 10k)';
          const client = cell(g.map((r) => r.client_cpu_pct));
          L.push(`| ${fmt(rate)} | ${c} | ${where(core)} | ${cell(g.map((r) => r.publish_rate))} | ${cell(g.map((r) => r.lat_ms.p50), 3)} | ${cell(g.map((r) => r.lat_ms.p95), 3)} | ${cell(g.map((r) => r.lat_ms.p99), 3)} | ${cell(g.map((r) => r.lat_ms.max), 2)} | ${d('p50') == null ? '–' : fmt(d('p50'), 3)} | ${hop99 == null ? '–' : fmt(hop99, 3)} | ${target} | ${cell(g.map(nodeCpu))} | ${cell(g.map(redisCpu))} | ${cell(g.map(core0))} | ${cell(g.map((r) => r.core_busy_pct?.[`cpu${o.loadCore}`]))} | ${core === o.loadCore ? `**${client}**` : client} | ${lost(g)}${lost(g) ? ' ⚠' : ''} |`);
          rs.forEach((x) => check(`latency`, x));
        }
      }
    }
    L.push('', 'Latency = receive time − send time written into the body by the publisher (same process, CLOCK_MONOTONIC). "− embedded" = median p50/p99 of the row minus that of the embedded single node at the same rate: the cost of the Redis round trip (XADD, then the blocking XREAD that returns it). The publisher sends in 1 ms ticks, so at 10k msgs/s about 10 SENDs leave together.' +
      (cores.some((c) => c !== o.brokerCore) ? ` Rows with redis-server on core ${cores.filter((c) => c !== o.brokerCore).join(', ')} (\`--redis-core\`) take Redis off the nodes' core${cores.includes(o.loadCore) ? `; on the load core it shares that core with the load driver, whose CPU (client CPU %, in bold) is shown beside: the driver's own delays are in those latencies too` : ''}.` : ''), '');
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
  // overload and overload-2x: per-run accounting
  const acct = (x, label) => {
    const r = x.result;
    if (!r) return `| ${label} | ${x.round} | – | – | – | – | – | – | – | – | – | – | – | – | – | – | – | – | failed: ${(x.error ?? '').split('\n')[0].slice(0, 120)} |`;
    const rb = r.refused_by_reason ?? {};
    const per = r.delivered_distinct_per_sub ?? [];
    const skipped = r.rate > 0 ? `${fmt((r.skipped_reconnecting ?? 0) + (r.skipped_buffer_full ?? 0))}` : '–';
    const bad = (v) => (v ? `**${fmt(v)}** ⚠` : '0');
    return `| ${label} | ${x.round} | ${r.rate > 0 ? fmt(r.rate) : 'max'} | ${fmt(r.publish_rate)} | ${fmt(r.accepted_rate)} | ${fmt(r.published_total)} | ${fmt(r.accepted_total)} | ${fmt(r.refused_total)} (${fmt(rb['publisher too fast'] ?? 0)} / ${fmt(rb['destination overloaded'] ?? 0)} / ${fmt(rb.other ?? 0)}) | ${fmt(r.publisher_reconnects)} | ${skipped} | ${per.length <= 4 ? per.map((v) => fmt(v)).join(' / ') : `${fmt(Math.min(...per))}–${fmt(Math.max(...per))}`} | ${fmt(r.lost)} | ${fmt(r.told_gap_messages)} / ${fmt(r.told_gap_sum)} | ${bad(r.silent_loss)} | ${bad(r.delivered_refused)} | ${bad(r.duplicates)} / ${bad(r.out_of_order)} | ${fmt(r.lat_ms.p50, 1)} / ${fmt(r.lat_ms.p99, 1)} | ${fmt(nodeCpu(r))} / ${fmt(redisCpu(r))} / ${fmt(r.client_cpu_pct)} | ${x.error ? x.error.split('\n')[0].slice(0, 120) : ''} |`;
  };
  const acctHead = ['| publisher | round | offered msgs/s | sent msgs/s (window) | accepted msgs/s (window) | published | accepted | refused (too fast / overloaded / other) | reconnects | sends skipped (reconnecting, socket full) | delivered distinct per subscriber | lost | told gaps (MESSAGEs / x-gap-messages sum) | silent loss | delivered but refused | dup / ooo | p50 / p99 ms | CPU %: nodes / Redis / client | |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  const acctMedian = (label, xs) => {
    const g = ok(xs).map((x) => x.result);
    if (g.length < 2) return null;
    const sum = (k) => g.reduce((a, r) => a + (r[k] || 0), 0);
    return `| **${label}: median of ${g.length}** | | | ${cell(g.map((r) => r.publish_rate))} | ${cell(g.map((r) => r.accepted_rate))} | ${cell(g.map((r) => r.published_total))} | ${cell(g.map((r) => r.accepted_total))} | ${cell(g.map((r) => r.refused_total))} | ${cell(g.map((r) => r.publisher_reconnects))} | | | ${cell(g.map((r) => r.lost))} | ${cell(g.map((r) => r.told_gap_sum))} | total ${fmt(sum('silent_loss'))} | total ${fmt(sum('delivered_refused'))} | total ${fmt(sum('duplicates'))} / ${fmt(sum('out_of_order'))} | ${cell(g.map((r) => r.lat_ms.p50), 1)} / ${cell(g.map((r) => r.lat_ms.p99), 1)} | ${cell(g.map(nodeCpu))} / ${cell(g.map(redisCpu))} / ${cell(g.map((r) => r.client_cpu_pct))} | |`;
  };
  const acctNote = 'Per run: published = SENDs written (numbered across the publisher\'s connections), refused = those after `x-sends-accepted` on a connection that got an ERROR (by its `message`), accepted = published − refused. Lost = accepted × subscribers − distinct accepted deliveries; told gaps = MESSAGE frames with `x-resume-gap:true` and the sum of their `x-gap-messages`; silent loss = lost deliveries no told gap covers (each gap covers at most the accepted messages missing right before its MESSAGE; messages missing after a subscriber\'s last delivery are never told). Delivered but refused, duplicates and out of order (a skipped number delivered late) must be 0. After a refusal or a close the publisher waits 50 ms and publishes on a new connection; the rates are over the measured window, the counts over the whole run. The last connection is closed with DISCONNECT + receipt, so its SENDs are confirmed accepted (or refused by an ERROR).';
  const ov = runs('overload');
  if (ov.length) {
    L.push(`### Overload: ${ov[0].layout}, publisher without RECEIPTs, ${fmt(ov.find((x) => x.rate > 0)?.rate)} msgs/s and max rate (flood)`, '');
    L.push(...acctHead);
    for (const p of ['fixed-rate', 'flood']) {
      const xs = runs('overload', p).sort((a, b) => a.round - b.round);
      for (const x of xs) { L.push(acct(x, p === 'flood' ? 'flood' : `${fmt(x.rate)}/s`)); check('overload', x); }
      const m = acctMedian(p === 'flood' ? 'flood' : 'fixed rate', xs);
      if (m) L.push(m);
    }
    L.push('', acctNote + ' Flood = `--rate 0 --no-receipts`: SENDs written as fast as the socket takes them, at most 256 KiB waiting in it.', '');
  }
  const o2 = runs('overload-2x');
  if (o2.length) {
    const x = o2[0];
    L.push(`### Twice what the cluster carries: ${x.result?.duration_s ?? o.overloadSeconds ?? 60} s at ${fmt(x.rate)} msgs/s (${x.layout ?? OVERLOAD_LAYOUT}, no RECEIPTs)`, '');
    if (x.capacity) L.push(`Capacity ${fmt(x.capacity.rate)} msgs/s: ${x.capacity.source}${x.capacity.runs?.length ? ` (${x.capacity.runs.map((c) => fmt(c.accepted_rate)).join(', ')})` : ''}; offered 2× that.`, '');
    L.push(...acctHead);
    for (const c of runs('overload-capacity')) { L.push(acct(c, 'capacity (flood)')); check('overload-capacity', c); }
    for (const y of o2) { L.push(acct(y, '2× capacity')); check('overload-2x', y); }
    const r = x.result;
    if (r) {
      const verdict = r.silent_loss === 0 && r.delivered_refused === 0 && r.duplicates === 0 && r.out_of_order === 0 ? 'met' : '**not met**';
      L.push('', `**Silent loss ${fmt(r.silent_loss)}** (target 0: ${verdict}); ${fmt(r.accepted_total)} of ${fmt(r.published_total)} SENDs accepted, ${fmt(r.refused_total)} refused with an ERROR; ${fmt(r.lost)} accepted deliveries lost, ${fmt(r.told_covered)} of them told (${fmt(r.told_gap_messages)} MESSAGE(s) with x-resume-gap). ${r.lost === 0 ? 'Every message was delivered or refused.' : `**${fmt(r.lost)} deliveries were neither delivered nor refused.**`}`);
    }
    L.push('', acctNote, '');
  }

  // read and publish linger
  const lg = runs('linger');
  if (lg.length) {
    const rate = lg[0].rate;
    const us = (r, k) => (r.cpu_s?.[k] != null && r.published_in_window > 0 ? (r.cpu_s[k] * 1e6) / r.published_in_window : null);
    const nodesUs = (r) => { const ks = Object.keys(r.cpu_s ?? {}).filter((k) => k.startsWith('node-')); return ks.length && r.published_in_window > 0 ? (ks.reduce((a, k) => a + (r.cpu_s[k] ?? 0), 0) * 1e6) / r.published_in_window : null; };
    const interested = (r) => new Set(r.sub_urls ?? []).size || 1;
    const entriesPerRead = (r) => {
      const read = Object.values(r.metrics ?? {}).reduce((a, m) => a + (m['stompede_cluster_entries_read_total'] ?? 0), 0);
      return r.redis?.xread > 0 ? read / r.redis.xread : null;
    };
    // a floor's hop is measured against the embedded floor
    const embP = (p, c) => median(ok(runs('linger', FLOORS.includes(c) ? 'bare-embedded' : 'embedded')).map((x) => x.result.lat_ms[p]));
    L.push(`### Linger (STOMPEDE_REDIS_READ_LINGER_MS and STOMPEDE_REDIS_PUBLISH_LINGER_MS, both) at ${fmt(rate)} msgs/s: 1 publisher → 1 subscriber, cross-node`, '');
    L.push('| contender | published msgs/s | node CPU µs/msg per interested node | node 1 (publishes) µs/msg | node 2 (reads, delivers) µs/msg | Redis µs/msg | entries per read | p50 ms | p99 ms | p50 − embedded | p99 − embedded | target (≤ 100 µs/msg per interested node) | lost/dup/ooo |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    const order = (c) => (c.startsWith('linger-') ? Number(c.split('-')[1]) : 1e6 + [...FLOW, ...FLOORS].indexOf(c));
    const cs = [...new Set(lg.map((x) => x.contender))].sort((a, b) => order(a) - order(b));
    for (const c of cs) {
      const rs = runs('linger', c);
      const g = ok(rs).map((x) => x.result);
      const perNode = g.map((r) => { const v = nodesUs(r); return v == null ? null : v / interested(r); });
      const m = median(perNode);
      const oneNode = !layoutOf(c.startsWith('linger-') ? 'cross-node' : c).redis;
      const d = (p) => { const v = median(g.map((r) => r.lat_ms[p])); const e = embP(p, c); return v == null || e == null || oneNode ? null : v - e; };
      const label = LINGER_LABELS[c] ?? `linger ${c.split('-')[1]} ms`;
      L.push(`| ${label} | ${cell(g.map((r) => r.publish_rate))} | **${cell(perNode, 1)}** | ${cell(g.map((r) => us(r, 'node-1')), 1)} | ${oneNode ? '–' : cell(g.map((r) => us(r, 'node-2')), 1)} | ${cell(g.map((r) => us(r, 'redis')), 1)} | ${cell(g.map(entriesPerRead), 2)} | ${cell(g.map((r) => r.lat_ms.p50), 3)} | ${cell(g.map((r) => r.lat_ms.p99), 3)} | ${d('p50') == null ? '–' : fmt(d('p50'), 3)} | ${d('p99') == null ? '–' : fmt(d('p99'), 3)} | ${oneNode || FLOORS.includes(c) ? '' : m == null ? '–' : m <= 100 ? 'met' : '**not met**'} | ${lost(g)}${lost(g) ? ' ⚠' : ''}${rs.length > g.length ? ` (${rs.length - g.length} run(s) failed)` : ''} |`);
      rs.forEach((x) => check('linger', x));
    }
    L.push('', `CPU µs/msg = the process's CPU time over the measured window (utime + stime from /proc, 10 ms ticks) / SENDs published in it. Per interested node = all nodes' CPU / messages / nodes with a subscriber (1 here: node 2; node 1 only ingests and XADDs, its CPU is in the sum). Entries per read = the nodes' \`stompede_cluster_entries_read_total\` / XREAD(GROUP) calls over the Redis span. Contenders interleaved per round, order rotated.`, '');
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

#!/usr/bin/env node
// Vendored unchanged from /work/shared/tools/stompbench/stompbench.js (2026-11-25 snapshot); see bench/README.md.
'use strict';
// stompbench: generic STOMP 1.2 broker benchmark (STOMP over WebSocket, or STOMP over TCP).
// Scenarios: fanout | p2p | conns.  One JSON line per run on stdout (+ a summary line when --runs > 1).
// Run `node stompbench.js --help` for options.
const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');
const lib = require('./lib');
const { StompConn, Hist, SendBuilder, nowUs } = lib;

const HELP = `usage: node stompbench.js <fanout|p2p|conns> [options]

target
  --url URL             STOMP-over-WebSocket endpoint (default ws://127.0.0.1:15674/ws)
  --tcp HOST:PORT       use STOMP over plain TCP instead of --url
  --client ws|raw       WebSocket client: 'ws' npm package (default) or 'raw' (built-in minimal
                        RFC 6455 client with zero-copy receive; cheaper per message)
  --login L --passcode P --vhost V   CONNECT login/passcode/host headers (default guest/guest, host '/')
  --topic DEST          fanout destination (default /topic/bench)
  --queue DEST          p2p destination (default /queue/bench)
  --sub-header K:V      extra SUBSCRIBE header (repeatable), e.g. prefetch-count:1000
  --send-header K:V     extra SEND header (repeatable)
  --broker-pid PID[,PID]|auto  broker process(es) for RSS and CPU (auto = whoever listens on the port)

load
  --subs N              fanout subscribers (default 100)
  --producers P --consumers C   p2p (default 1 / 1)
  --size S              message body bytes (default 128, min ${lib.MIN_BODY})
  --rate R              total publish rate msgs/s; 0 = as fast as acknowledged (default 0)
  --window W            rate 0: max outstanding RECEIPTs per publisher (default 100)
  --receipt-every K     rate 0: request a RECEIPT every K SENDs (default 1)
  --backlog B           rate 0: pause publishing while undelivered msgs per subscriber (fanout)
                        or per consumer (p2p) exceed B (default 50)
  --ack MODE            auto | client | client-individual (default auto)
  --warmup S --duration S --drain S   seconds (default 3 / 10 / 10)
  --lat-every K         record latency for every K-th message per connection (default 1)
  --procs N             subscriber/consumer worker processes (default 0 = in the main process)
  --conns K             conns: connections to open (default 10000)
  --concurrency C       conns/subscriber connects in flight (default 100)
  --hold S              conns: seconds to wait before sampling RSS (default 3)
  --sub-each            conns: also SUBSCRIBE each connection to --topic
  --runs N --pause S    repeat N times (default 1), pausing S seconds in between (default 3)
  --label TEXT          copied into the JSON output
  --out FILE            also append JSON lines to FILE
  --connect-timeout MS  (default 15000)
`;

// ------------------------------------------------------------------ args
function parseArgs(argv) {
  const o = {
    scenario: null, url: 'ws://127.0.0.1:15674/ws', tcp: null, client: 'ws', login: 'guest', passcode: 'guest', vhost: '/',
    topic: '/topic/bench', queue: '/queue/bench', subHeaders: {}, sendHeaders: {}, brokerPid: null,
    subs: 100, producers: 1, consumers: 1, size: 128, rate: 0, window: 100, receiptEvery: 1, backlog: 50, ack: 'auto',
    warmup: 3, duration: 10, drain: 10, latEvery: 1, procs: 0, conns: 10000, concurrency: 100, hold: 3, subEach: false,
    runs: 1, pause: 3, label: '', out: null, connectTimeout: 15000,
  };
  const num = (v, k) => { const n = Number(v); if (!Number.isFinite(n)) throw new Error(`--${k} needs a number`); return n; };
  const kv = (v, obj) => { const i = v.indexOf(':'); if (i < 1) throw new Error('header must be K:V'); obj[v.slice(0, i)] = v.slice(i + 1); };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) throw new Error(a + ' needs a value'); return argv[++i]; };
    switch (a) {
      case '-h': case '--help': o.help = true; break;
      case '--worker': o.worker = true; break;
      case '--url': o.url = next(); break;
      case '--tcp': o.tcp = next(); break;
      case '--client': o.client = next(); break;
      case '--login': o.login = next(); break;
      case '--passcode': o.passcode = next(); break;
      case '--vhost': o.vhost = next(); break;
      case '--topic': o.topic = next(); break;
      case '--queue': o.queue = next(); break;
      case '--sub-header': kv(next(), o.subHeaders); break;
      case '--send-header': kv(next(), o.sendHeaders); break;
      case '--broker-pid': o.brokerPid = next(); break;
      case '--subs': o.subs = num(next(), 'subs'); break;
      case '--producers': o.producers = num(next(), 'producers'); break;
      case '--consumers': o.consumers = num(next(), 'consumers'); break;
      case '--size': o.size = num(next(), 'size'); break;
      case '--rate': o.rate = num(next(), 'rate'); break;
      case '--window': o.window = num(next(), 'window'); break;
      case '--receipt-every': o.receiptEvery = num(next(), 'receipt-every'); break;
      case '--backlog': o.backlog = num(next(), 'backlog'); break;
      case '--ack': o.ack = next(); break;
      case '--warmup': o.warmup = num(next(), 'warmup'); break;
      case '--duration': o.duration = num(next(), 'duration'); break;
      case '--drain': o.drain = num(next(), 'drain'); break;
      case '--lat-every': o.latEvery = num(next(), 'lat-every'); break;
      case '--procs': o.procs = num(next(), 'procs'); break;
      case '--conns': o.conns = num(next(), 'conns'); break;
      case '--concurrency': o.concurrency = num(next(), 'concurrency'); break;
      case '--hold': o.hold = num(next(), 'hold'); break;
      case '--sub-each': o.subEach = true; break;
      case '--runs': o.runs = num(next(), 'runs'); break;
      case '--pause': o.pause = num(next(), 'pause'); break;
      case '--label': o.label = next(); break;
      case '--out': o.out = next(); break;
      case '--connect-timeout': o.connectTimeout = num(next(), 'connect-timeout'); break;
      default:
        if (a.startsWith('-')) throw new Error('unknown option ' + a);
        if (o.scenario) throw new Error('unexpected argument ' + a);
        o.scenario = a;
    }
  }
  return o;
}

function connOpts(o) {
  if (o.tcp) {
    const i = o.tcp.lastIndexOf(':');
    return { transport: 'tcp', host: o.tcp.slice(0, i), port: Number(o.tcp.slice(i + 1)), login: o.login, passcode: o.passcode, vhost: o.vhost, connectTimeoutMs: o.connectTimeout, target: 'tcp://' + o.tcp };
  }
  const u = lib.parseUrl(o.url);
  return { transport: o.client === 'raw' ? 'raw' : 'ws', url: o.url, host: u.host, port: u.port, path: u.path, login: o.login, passcode: o.passcode, vhost: o.vhost,
    subprotocols: ['v12.stomp', 'v11.stomp', 'v10.stomp'], connectTimeoutMs: o.connectTimeout, target: o.url };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let PHASE = 'start';
const phase = (p) => { PHASE = p; };
const log = (...a) => process.stderr.write('[stompbench] ' + a.join(' ') + '\n');

// run async fn(i) for i in [0,n) with at most c in flight
async function pool(n, c, fn) {
  let next = 0; const errors = [];
  async function lane() { while (next < n) { const i = next++; try { await fn(i); } catch (e) { errors.push(e); } } }
  await Promise.all(Array.from({ length: Math.min(n, Math.max(1, c)) }, lane));
  return errors;
}

// ------------------------------------------------------------------ /proc helpers
function readRssKb(pid) {
  try { const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); return m ? Number(m[1]) : null; } catch (e) { return null; }
}
function procCpuTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch (e) { return null; }
}
function coreTimes() { // per-core [busy, total] jiffies
  const out = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[m[1]] = [total - v[3] - v[4], total];
  }
  return out;
}
function listenerPids(port) {
  const inodes = new Set();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let txt = ''; try { txt = fs.readFileSync(f, 'utf8'); } catch (e) { continue; }
    for (const line of txt.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10) continue;
      if (c[3] === '0A' && parseInt(c[1].split(':')[1], 16) === port) inodes.add(c[9]);
    }
  }
  const pids = new Set();
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let fds; try { fds = fs.readdirSync(`/proc/${p}/fd`); } catch (e) { continue; }
    for (const fd of fds) {
      let l; try { l = fs.readlinkSync(`/proc/${p}/fd/${fd}`); } catch (e) { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(l);
      if (m && inodes.has(m[1])) { pids.add(Number(p)); break; }
    }
  }
  return [...pids];
}
function resolveBrokerPids(o, co) {
  if (!o.brokerPid) return [];
  if (o.brokerPid === 'auto') return listenerPids(co.port);
  return String(o.brokerPid).split(',').map(Number).filter(Boolean);
}
function nofileLimit() {
  try { const m = /Max open files\s+(\d+|unlimited)\s+/.exec(fs.readFileSync('/proc/self/limits', 'utf8')); return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null; } catch (e) { return null; }
}

class CpuProbe {
  constructor(pids) { this.pids = pids; }
  start() {
    this.t0 = nowUs(); this.self0 = process.cpuUsage(); this.cores0 = coreTimes();
    this.b0 = this.pids.map(procCpuTicks);
  }
  stop(extraClientUs = 0) {
    const wallUs = nowUs() - this.t0; const u = process.cpuUsage(this.self0);
    const cores1 = coreTimes(); const cores = {};
    for (const k of Object.keys(cores1)) {
      const a = this.cores0[k]; const b = cores1[k];
      if (a && b[1] > a[1]) cores['cpu' + k] = Math.round((1000 * (b[0] - a[0])) / (b[1] - a[1])) / 10;
    }
    let broker = null;
    if (this.pids.length) {
      const hz = 100; let t = 0;
      this.pids.forEach((p, i) => { const v = procCpuTicks(p); if (v != null && this.b0[i] != null) t += v - this.b0[i]; });
      broker = Math.round((1000 * (t / hz) * 1e6) / wallUs) / 10;
    }
    return { client_cpu_pct: Math.round((1000 * (u.user + u.system + extraClientUs)) / wallUs) / 10, broker_cpu_pct: broker, core_busy_pct: cores };
  }
}

// ------------------------------------------------------------------ subscriber group (in-process or worker)
class SubGroup {
  // role: 'fanout' | 'p2p'
  constructor(o, role, runId) {
    this.o = o; this.role = role; this.co = connOpts(o);
    this.rid = Buffer.from(runId, 'latin1');
    this.conns = []; this.delivered = 0; this.win = 0; this.stale = 0; this.bad = 0; this.errors = 0;
    this.hist = new Hist(); this.measuring = false; this.failed = 0;
  }
  async open(n) {
    const o = this.o; const g = this;
    const dest = this.role === 'fanout' ? o.topic : o.queue;
    const checkRun = this.role === 'p2p';
    const latEvery = Math.max(1, o.latEvery);
    const needAck = o.ack !== 'auto';
    const errs = await pool(n, o.concurrency, async () => {
      const c = new StompConn(this.co);
      let cnt = 1;
      c.onMessage = (buf, s, e) => {
        if (checkRun) {
          const b = lib.bodyStart(buf, s, e);
          if (b < 0 || !lib.runIdMatches(buf, b, e, g.rid)) { g.stale++; if (needAck) ackIt(buf, s, e); return; }
        }
        g.delivered++;
        if (g.measuring) {
          g.win++;
          if (--cnt <= 0) {
            cnt = latEvery;
            const b = lib.bodyStart(buf, s, e);
            const ts = b < 0 ? -1 : lib.readTs(buf, b, e);
            if (ts >= 0) g.hist.record(nowUs() - ts); else g.bad++;
          }
        }
        if (needAck) ackIt(buf, s, e);
      };
      const ackIt = (buf, s, e) => { const f = lib.parseFrame(buf, s, e); const id = f.headers.ack || f.headers['message-id']; if (id) c.ack(id); };
      c.onErrorFrame = (f) => { g.errors++; if (g.errors <= 5) log('ERROR frame on subscriber:', f.headers.message || '', f.body.toString().slice(0, 160)); };
      await c.connect();
      // every connection uses subscription id "0" (lets a reference server pre-encode one MESSAGE frame for all)
      await c.subscribe(dest, 0, o.ack, o.subHeaders);
      this.conns.push(c);
    });
    this.failed = errs.length;
    if (errs.length) log(`${errs.length}/${n} subscriber connections failed, first: ${errs[0].message}`);
    return this.conns.length;
  }
  measureStart() { this.win = 0; this.hist = new Hist(); this.measuring = true; this.cpu0 = process.cpuUsage(); }
  measureStop() { this.measuring = false; const u = process.cpuUsage(this.cpu0); return { win: this.win, hist: this.hist, cpuUs: u.user + u.system, bad: this.bad }; }
  totals() { return { delivered: this.delivered, stale: this.stale, errors: this.errors }; }
  async close() {
    await Promise.all(this.conns.map((c) => c.disconnect(1500)));
    for (const c of this.conns) c.destroy();
    this.conns = [];
  }
}

// proxy for a SubGroup living in a worker process
class RemoteGroup {
  constructor(o, role, runId) {
    this.child = fork(__filename, ['--worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.cfg = { o, role, runId }; this.delivered = 0; this.stale = 0; this.errors = 0; this.pending = new Map(); this.failed = 0;
    this.child.on('message', (m) => {
      if (m.type === 'tick') { this.delivered = m.delivered; this.stale = m.stale; this.errors = m.errors; return; }
      const p = this.pending.get(m.type); if (p) { this.pending.delete(m.type); p(m); }
    });
  }
  call(cmd, payload, reply) { return new Promise((res) => { this.pending.set(reply, res); this.child.send(Object.assign({ cmd }, payload || {})); }); }
  async open(n) { const m = await this.call('open', { cfg: this.cfg, n }, 'opened'); this.failed = m.failed; return m.count; }
  measureStart() { this.child.send({ cmd: 'mstart' }); }
  async measureStop() { const m = await this.call('mstop', null, 'mstopped'); return { win: m.win, hist: Hist.fromSparse(m.hist), cpuUs: m.cpuUs, bad: m.bad }; }
  async syncTotals() { const m = await this.call('totals', null, 'totals'); this.delivered = m.delivered; this.stale = m.stale; this.errors = m.errors; }
  totals() { return { delivered: this.delivered, stale: this.stale, errors: this.errors }; }
  async close() { await this.call('close', null, 'closed'); }
}

function workerMain() {
  let g = null; let tick = null;
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'open') {
        g = new SubGroup(m.cfg.o, m.cfg.role, m.cfg.runId);
        const count = await g.open(m.n);
        tick = setInterval(() => process.send(Object.assign({ type: 'tick' }, g.totals())), 20);
        process.send({ type: 'opened', count, failed: g.failed });
      } else if (m.cmd === 'mstart') g.measureStart();
      else if (m.cmd === 'mstop') { const r = g.measureStop(); process.send({ type: 'mstopped', win: r.win, hist: r.hist.toSparse(), cpuUs: r.cpuUs, bad: r.bad }); }
      else if (m.cmd === 'totals') process.send(Object.assign({ type: 'totals' }, g.totals()));
      else if (m.cmd === 'close') { clearInterval(tick); await g.close(); process.send({ type: 'closed' }); setTimeout(() => process.exit(0), 50); }
    } catch (e) { log('worker error', e.stack); process.exit(1); }
  });
}

async function makeGroups(o, role, n, runId) {
  const k = o.procs > 0 ? Math.min(o.procs, n) : 0;
  const groups = [];
  if (k === 0) groups.push({ g: new SubGroup(o, role, runId), n });
  else for (let i = 0; i < k; i++) groups.push({ g: new RemoteGroup(o, role, runId), n: Math.floor(n / k) + (i < n % k ? 1 : 0) });
  const counts = await Promise.all(groups.map(({ g, n: m }) => g.open(m)));
  return { groups: groups.map((x) => x.g), count: counts.reduce((a, b) => a + b, 0), failed: groups.reduce((a, x) => a + x.g.failed, 0) };
}
const sumDelivered = (groups) => groups.reduce((a, g) => a + g.totals().delivered, 0);
const sumStale = (groups) => groups.reduce((a, g) => a + g.totals().stale, 0);
const sumErrors = (groups) => groups.reduce((a, g) => a + g.totals().errors, 0);

// ------------------------------------------------------------------ publishers
class Pacer {
  constructor(o, conns, builder, backlogFn) {
    this.o = o; this.conns = conns; this.b = builder; this.backlogFn = backlogFn;
    this.sent = 0; this.stopped = false; this.inflight = conns.map(() => 0); this.seq = conns.map(() => 0);
    this.pumpQueued = conns.map(() => false); this.receipts = 0; this.blockedBacklog = 0; this.lastProgress = Date.now();
    this.capped = 0;
  }
  start() {
    const o = this.o;
    if (o.rate > 0) {
      const per = o.rate / this.conns.length; const t0 = nowUs(); const done = this.conns.map(() => 0);
      const maxBurst = Math.max(1, Math.ceil(per * 0.05)); // at most 50 ms worth per tick
      this.timer = setInterval(() => {
        if (this.stopped) return;
        const el = (nowUs() - t0) / 1e6;
        this.conns.forEach((c, i) => {
          let due = Math.floor(el * per) - done[i];
          if (due > maxBurst) { this.capped += due - maxBurst; done[i] += due - maxBurst; due = maxBurst; }
          if (due <= 0) return;
          c.t.cork();
          for (let k = 0; k < due; k++) { this.seq[i]++; c.write(this.b.build(null)); }
          c.t.uncork();
          done[i] += due; this.sent += due;
        });
      }, 1);
    } else {
      this.conns.forEach((c, i) => { c.onReceipt = () => { this.inflight[i]--; this.receipts++; this.lastProgress = Date.now(); this.schedule(i); }; });
      this.timer = setInterval(() => this.conns.forEach((c, i) => this.pump(i)), 1);
      this.conns.forEach((c, i) => this.pump(i));
    }
  }
  schedule(i) { if (this.pumpQueued[i]) return; this.pumpQueued[i] = true; setImmediate(() => { this.pumpQueued[i] = false; this.pump(i); }); }
  pump(i) {
    if (this.stopped) return;
    const o = this.o; const c = this.conns[i]; let k = 0;
    c.t.cork();
    while (this.inflight[i] < o.window && k < 2000) {
      if (this.backlogFn() >= o.backlog) { this.blockedBacklog++; break; }
      const s = ++this.seq[i];
      let r = null;
      if (s % o.receiptEvery === 0) { r = 'p' + i + '-' + s; this.inflight[i]++; }
      c.write(this.b.build(r));
      this.sent++; k++;
    }
    c.t.uncork();
  }
  stop() { this.stopped = true; clearInterval(this.timer); }
}

function newRunId() { return Math.random().toString(36).slice(2, 8).padEnd(6, '0'); }

function emit(o, obj) {
  const line = JSON.stringify(obj);
  process.stdout.write(line + '\n');
  if (o.out) fs.appendFileSync(o.out, line + '\n');
}

function baseInfo(o, co) {
  return { label: o.label || undefined, scenario: o.scenario, target: co.target, transport: co.transport, size: o.size, rate: o.rate,
    warmup_s: o.warmup, duration_s: o.duration, ts: new Date().toISOString() };
}

// ------------------------------------------------------------------ scenarios
async function runFlow(o, role) {
  const co = connOpts(o); const runId = newRunId();
  const brokerPids = resolveBrokerPids(o, co);
  const nSubs = role === 'fanout' ? o.subs : o.consumers;
  const nPubs = role === 'fanout' ? 1 : o.producers;
  const limit = nofileLimit();
  if (limit && nSubs + nPubs + 64 > limit) throw new Error(`ulimit -n is ${limit}; need > ${nSubs + nPubs + 64}: raise it (ulimit -n 65536)`);
  const rssBefore = brokerPids.length ? brokerPids.reduce((a, p) => a + (readRssKb(p) || 0), 0) : null;

  const tOpen = nowUs();
  phase('subscribe');
  const { groups, count, failed } = await makeGroups(o, role, nSubs, runId);
  const openS = (nowUs() - tOpen) / 1e6;
  log(`${role}: ${count} ${role === 'fanout' ? 'subscribers' : 'consumers'} ready in ${openS.toFixed(2)}s${failed ? ` (${failed} failed)` : ''}`);
  if (count === 0) throw new Error('no subscriber could connect');

  const pubs = [];
  phase('publisher-connect');
  for (let i = 0; i < nPubs; i++) {
    const c = new StompConn(co);
    c.onErrorFrame = (f) => { log('ERROR frame on publisher:', f.headers.message || '', f.body.toString().slice(0, 200)); };
    await c.connect(); pubs.push(c);
  }
  if (role === 'p2p') { // let stale messages from earlier runs drain before publishing
    let last = -1; const t0 = Date.now();
    while (Date.now() - t0 < 30000) { if (groups.some((g) => g.syncTotals)) await Promise.all(groups.map((g) => g.syncTotals && g.syncTotals())); await sleep(300); const s = sumStale(groups); if (s === last) break; last = s; }
    if (last > 0) log(`p2p: drained ${last} stale messages from ${o.queue}`);
  }
  const staleBefore = sumStale(groups);
  const builder = new SendBuilder(role === 'fanout' ? o.topic : o.queue, o.size, runId, o.sendHeaders);
  const backlogFn = role === 'fanout' ? () => pacer.sent - sumDelivered(groups) / count : () => (pacer.sent - sumDelivered(groups)) / count;
  const pacer = new Pacer(o, pubs, builder, backlogFn);
  const probe = new CpuProbe(brokerPids);

  phase('warmup');
  pacer.start();
  await sleep(o.warmup * 1000);
  phase('measure');
  groups.forEach((g) => g.measureStart());
  const sent0 = pacer.sent; const t0 = nowUs(); probe.start();
  await sleep(o.duration * 1000);
  const rs = await Promise.all(groups.map((g) => g.measureStop()));
  const sent1 = pacer.sent; const el = (nowUs() - t0) / 1e6;
  const workerCpu = o.procs > 0 ? rs.reduce((a, r) => a + r.cpuUs, 0) : 0;
  const cpu = probe.stop(workerCpu);
  pacer.stop();

  phase('drain');
  // drain: wait until everything published has been delivered, or no progress for --drain seconds
  const expected = () => (role === 'fanout' ? pacer.sent * count : pacer.sent);
  let lastD = -1; let lastChange = Date.now();
  for (;;) {
    if (o.procs > 0) await Promise.all(groups.map((g) => g.syncTotals()));
    const d = sumDelivered(groups);
    if (d >= expected()) break;
    if (d !== lastD) { lastD = d; lastChange = Date.now(); }
    if (Date.now() - lastChange > o.drain * 1000) break;
    await sleep(50);
  }
  if (o.procs > 0) await Promise.all(groups.map((g) => g.syncTotals()));
  const delivered = sumDelivered(groups);
  const hist = new Hist(); rs.forEach((r) => hist.merge(r.hist));
  const win = rs.reduce((a, r) => a + r.win, 0);
  const rssAfter = brokerPids.length ? brokerPids.reduce((a, p) => a + (readRssKb(p) || 0), 0) : null;
  const res = Object.assign(baseInfo(o, co), role === 'fanout' ? { subs: count, subs_failed: failed } : { producers: nPubs, consumers: count, consumers_failed: failed }, {
    mode: o.rate > 0 ? 'fixed-rate' : 'max',
    publish_rate: Math.round((sent1 - sent0) / el),
    delivered_rate: Math.round(win / el),
    lat_ms: hist.summaryMs(),
    published_total: pacer.sent,
    expected_total: expected(),
    delivered_total: delivered,
    lost: Math.max(0, expected() - delivered),
    duplicates_or_extra: Math.max(0, delivered - expected()),
    stale_skipped: role === 'p2p' ? sumStale(groups) - staleBefore : undefined,
    rate_shortfall: o.rate > 0 ? pacer.capped : undefined,
    backlog_waits: o.rate > 0 ? undefined : pacer.blockedBacklog,
    error_frames: sumErrors(groups) + pubs.reduce((a, c) => a + c.errors, 0),
    unparsable: rs.reduce((a, r) => a + r.bad, 0),
    broker_pids: brokerPids.length ? brokerPids : undefined,
    broker_rss_mb: rssAfter != null ? Math.round(rssAfter / 102.4) / 10 : undefined,
    broker_rss_before_mb: rssBefore != null ? Math.round(rssBefore / 102.4) / 10 : undefined,
    subscribe_s: Math.round(openS * 100) / 100,
  }, cpu, { client_procs: o.procs > 0 ? o.procs + 1 : 1, client: co.transport });
  phase('close');
  await Promise.all(pubs.map((c) => c.disconnect(1500)));
  pubs.forEach((c) => c.destroy());
  await Promise.all(groups.map((g) => g.close()));
  phase('done');
  return res;
}

async function runConns(o) {
  const co = connOpts(o);
  const brokerPids = resolveBrokerPids(o, co);
  const limit = nofileLimit();
  if (limit && o.conns + 64 > limit) throw new Error(`ulimit -n is ${limit}; need > ${o.conns + 64}: raise it first (e.g. ulimit -n 65536)`);
  if (!brokerPids.length) log('conns: no --broker-pid given, broker RSS will not be reported');
  const rss0 = brokerPids.reduce((a, p) => a + (readRssKb(p) || 0), 0);
  const selfRss0 = process.memoryUsage().rss;
  const conns = []; const probe = new CpuProbe(brokerPids); probe.start();
  const t0 = nowUs();
  const errs = await pool(o.conns, o.concurrency, async () => {
    const c = new StompConn(co);
    c.onErrorFrame = () => {};
    await c.connect();
    if (o.subEach) await c.subscribe(o.topic, 0, 'auto', o.subHeaders);
    conns.push(c);
  });
  const el = (nowUs() - t0) / 1e6;
  const cpu = probe.stop();
  if (errs.length) log(`conns: ${errs.length} failed, first: ${errs[0].message}`);
  await sleep(o.hold * 1000);
  const alive = conns.filter((c) => !c.closed).length;
  const rss1 = brokerPids.reduce((a, p) => a + (readRssKb(p) || 0), 0);
  const res = Object.assign(baseInfo(o, co), {
    requested: o.conns, opened: conns.length, alive_after_hold: alive, failed: errs.length, first_error: errs[0] ? errs[0].message : undefined,
    subscribe_each: o.subEach, concurrency: o.concurrency,
    connect_s: Math.round(el * 1000) / 1000, connect_rate: Math.round(conns.length / el),
    broker_pids: brokerPids.length ? brokerPids : undefined,
    broker_rss_before_mb: brokerPids.length ? Math.round(rss0 / 102.4) / 10 : undefined,
    broker_rss_after_mb: brokerPids.length ? Math.round(rss1 / 102.4) / 10 : undefined,
    broker_bytes_per_conn: brokerPids.length && conns.length ? Math.round(((rss1 - rss0) * 1024) / conns.length) : undefined,
    client_bytes_per_conn: conns.length ? Math.round((process.memoryUsage().rss - selfRss0) / conns.length) : undefined,
  }, { client_cpu_pct_during_connect: cpu.client_cpu_pct, broker_cpu_pct_during_connect: cpu.broker_cpu_pct, core_busy_pct: cpu.core_busy_pct, client: co.transport });
  delete res.size; delete res.rate; delete res.warmup_s; delete res.duration_s;
  for (const c of conns) c.destroy();
  await sleep(500);
  return res;
}

// ------------------------------------------------------------------ summary
function median(xs) { const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; }
function summarize(o, results) {
  const pick = {
    delivered_rate: (r) => r.delivered_rate, publish_rate: (r) => r.publish_rate, p50_ms: (r) => r.lat_ms && r.lat_ms.p50,
    p95_ms: (r) => r.lat_ms && r.lat_ms.p95, p99_ms: (r) => r.lat_ms && r.lat_ms.p99, lost: (r) => r.lost,
    client_cpu_pct: (r) => r.client_cpu_pct, broker_cpu_pct: (r) => r.broker_cpu_pct,
    connect_rate: (r) => r.connect_rate, broker_bytes_per_conn: (r) => r.broker_bytes_per_conn, opened: (r) => r.opened,
  };
  const out = { summary: true, label: o.label || undefined, scenario: o.scenario, target: results[0] && results[0].target, runs: results.length, median: {}, min: {}, max: {} };
  for (const [k, f] of Object.entries(pick)) {
    const v = results.map(f).filter((x) => typeof x === 'number');
    if (!v.length) continue;
    out.median[k] = median(v); out.min[k] = Math.min(...v); out.max[k] = Math.max(...v);
  }
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.worker) return workerMain();
  if (o.help || !o.scenario) { process.stdout.write(HELP); process.exit(o.help ? 0 : 2); }
  if (!['fanout', 'p2p', 'conns'].includes(o.scenario)) throw new Error('unknown scenario ' + o.scenario);
  const results = [];
  // watchdog: a run that takes far longer than planned is reported and aborted instead of hanging a matrix
  const perRun = o.scenario === 'conns' ? o.conns / 50 + o.hold + 120 : o.warmup + o.duration + o.drain + 120;
  const wd = setTimeout(() => {
    log(`watchdog: still in phase '${PHASE}' after ${Math.round(perRun * o.runs)} s, aborting`);
    emit(o, { label: o.label || undefined, scenario: o.scenario, error: 'watchdog', phase: PHASE });
    process.exit(3);
  }, perRun * o.runs * 1000 + o.pause * 1000 * o.runs);
  wd.unref();
  process.on('SIGUSR2', () => log(`phase: ${PHASE}`));
  for (let r = 0; r < o.runs; r++) {
    if (r > 0) await sleep(o.pause * 1000);
    const res = o.scenario === 'conns' ? await runConns(o) : await runFlow(o, o.scenario);
    res.run = r + 1;
    emit(o, res); results.push(res);
  }
  if (o.runs > 1) emit(o, summarize(o, results));
  setTimeout(() => process.exit(0), 100);
}

main().catch((e) => { log('fatal:', e && e.stack ? e.stack : e); process.exit(1); });

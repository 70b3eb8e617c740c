#!/usr/bin/env node
// `npm run bench` / `make bench`: the whole Stompede benchmark in one run. See bench/README.md.
//
// Broker (Stompede or the bare uWS reference server) on core 0, load (stompbench) on core 1, each
// measurement interleaved over N rounds (contender order rotates per round) with a fresh broker process
// per run; the report shows the median [min-max]. JSON lines go to bench/results/<timestamp>.jsonl and
// a markdown summary to stdout and bench/results/latest.md.
//
//   parser    bench/parser.mjs (Stompede FrameParser vs @stomp/stompjs Parser), pinned to one core
//   fanout    1 publisher -> S WebSocket subscribers on one topic, 128 B bodies, --rate 0 (max)
//   fixed     the same fan-out at a fixed publish rate below every contender's ceiling
//   idle      K idle STOMP connections: broker RSS per connection
//   syscalls  the broker's send syscalls per published SEND (perf stat tracepoints, or strace -c),
//             at a fixed rate and (full runs) at max rate
//   cluster   bench/cluster.mjs: nodes sharing a private redis-server: cross-node vs same-node vs
//             embedded throughput, the Redis hop's latency, Redis commands per message (1-3 nodes)
//   subscriptions  bench/subscriptions.mjs: broker heap and RSS per subscription (distinct and shared
//             destinations) after a forced GC, and the heap by object
//   compare   bench/compare.mjs (only with --only compare): Stompede, 3 nodes + Redis, a private RabbitMQ
//             Web-STOMP and the bare uWS server side by side, with SVG charts
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_LIMITS_ENV, benchCluster, CLUSTER_MODES, clusterPreflight, clusterSummary, RUN_ENV_KEYS } from './cluster.mjs';
import { benchSubscriptions, subscriptionsSummary } from './subscriptions.mjs';
import { benchCompare, COMPARE_SCENARIOS, COMPARE_SYSTEMS, compareDefaults, comparePreflight, compareSummary } from './compare.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT); // every recorded command is relative to the repository root

const BROKER_MAIN = 'services/broker/dist/main.js';
const STOMPBENCH = 'bench/stompbench/stompbench.js';
const REF_SERVER = 'bench/stompbench/ref-uws-server.js';
const PARSER = 'bench/parser.mjs';
const STRACE = fs.existsSync('/usr/bin/strace') ? '/usr/bin/strace' : 'strace';
// --seccomp-bpf (strace >= 5.3) stops the tracee only on the traced syscalls, not on epoll_wait/recv.
let STRACE_EXTRA = [];
const ALL = ['parser', 'fanout', 'fixed', 'idle', 'syscalls', 'cluster', 'subscriptions', 'compare'];
/** Run only when named in --only (needs rabbitmq-server; `npm run bench:compare`). */
const OPT_IN_STEPS = ['compare'];

const CONTENDERS = {
  stompede: { label: 'Stompede (default: native uWS publish + end-of-turn coalescing)', env: {} },
  'stompede-per-socket': { label: 'Stompede STOMPEDE_FANOUT_MODE=per-socket', env: { STOMPEDE_FANOUT_MODE: 'per-socket' } },
  'stompede-no-coalesce': { label: 'Stompede STOMPEDE_COALESCE=false (one app.publish per message)', env: { STOMPEDE_COALESCE: 'false' } },
  'uws-ref': { label: 'bare uWS reference (ceiling)', ref: true },
  // Opt-in (--contenders): the default broker with an ACL file, to show fan-out does not move with ACLs on.
  'stompede-acl': { label: 'Stompede with STOMPEDE_ACL_FILE=bench/acl-fanout.yaml', env: { STOMPEDE_ACL_FILE: 'bench/acl-fanout.yaml' } },
};
/** Flow contenders run only when named in --contenders. */
const OPT_IN_FLOW = ['stompede-acl'];
let FLOW_CONTENDERS = ['stompede', 'stompede-per-socket', 'stompede-no-coalesce', 'uws-ref'];
let IDLE_CONTENDERS = ['stompede', 'uws-ref'];
let SYSCALL_CONTENDERS = ['stompede', 'stompede-no-coalesce', 'stompede-per-socket', 'uws-ref'];

const HELP = `usage: node bench/run.mjs [options]      (npm run bench -- [options], make bench ARGS="...")

  --quick               smoke run: 1 round, short durations, 100 subscribers, 1000 idle connections
  --only LIST           comma-separated subset of ${ALL.join(',')} (default: all but
                        ${OPT_IN_STEPS.join(',')}, which runs only when named: npm run bench:compare)
  --rounds N            rounds per measurement, median reported (default 3; --quick 1)
  --contenders LIST     subset of ${Object.keys(CONTENDERS).join(',')} (default: all but
                        ${OPT_IN_FLOW.join(',')}, which run in fanout/fixed only when named)
  --subs N              fan-out subscribers (default 1000; --quick 100)
  --warmup S --duration S --drain S   per fan-out run (default 3 / 10 / 10; --quick 1 / 2 / 3)
  --fixed-rate R|auto   publish msgs/s for 'fixed' (default auto: 200, or half the slowest
                        contender's max publish rate from 'fanout' if that is lower)
  --conns N             idle connections (default 10000; --quick 1000)
  --hold S              idle, subscriptions: seconds before sampling RSS (default 3; --quick 1)
  --client raw|ws       stompbench WebSocket client (default raw: cheapest per message)
  --procs N             stompbench subscriber worker processes, all on the load core (default 0)
  --syscall-subs N --syscall-rate R --syscall-seconds S   (default 50 / 2000 / 5; --quick 50 / 2000 / 2)
  --syscall-tool auto|perf|strace   syscall counter (default auto: perf if its syscall
                        tracepoints work, else strace -c)
  --cluster-subs N      cluster throughput: subscribers (default 100; --quick 20)
  --cluster-rates LIST  cluster latency and Redis-command runs: msgs/s (default 1000,10000; --quick 1000)
  --cluster-modes LIST  cluster measurements to run, of ${CLUSTER_MODES.join(',')}
                        (default all; --quick throughput,latency,commands)
  --overload-rate R     cluster overload: the fixed publish rate beside the flood (default 10000)
  --overload-seconds S  cluster overload-2x: length of the run at twice the capacity (default 60)
  --linger-ms LIST      cluster linger: values for STOMPEDE_REDIS_READ_LINGER_MS and
                        STOMPEDE_REDIS_PUBLISH_LINGER_MS, set together (default 0,1,2)
  --redis-core C        cluster latency: also run the Redis layouts with redis-server pinned to core C
                        (default: the broker core, as every other cluster run)
  --node-env KEY=VALUE  extra environment for every cluster node (repeatable; recorded in every run
                        and shown in the report), e.g. STOMPEDE_REDIS_LAG_PRESSURE_ENTRIES=2000
  --sub-conns N --subs-per-conn K   subscriptions: connections and subscriptions on each
                        (default 2000 / 20; --quick 500 / 20)
  --compare-systems LIST  compare: subset of ${COMPARE_SYSTEMS.join(',')} (default all)
  --compare-scenarios LIST  compare: subset of ${COMPARE_SCENARIOS.join(',')} (default all)
  --compare-subs LIST   compare: fan-out subscriber counts (default 10,100,1000,10000; --quick 10)
  --compare-rates LIST  compare: fixed publish rates to 100 subscribers, msgs/s (default 10,100,1000,10000;
                        --quick 100)
  --compare-conns N     compare: idle connections (default 10000; --quick 200)
  --compare-procs N     compare: stompbench worker processes at 1,000+ subscribers and at fixed rates
                        (default 2; at max rate below 1,000 subscribers and for the queue: none)
  --compare-seconds W,D,R   compare: warmup, duration, drain per run (default 2,5,5; --quick 0.5,1,2)
  --charts-dir DIR      compare: where the SVG charts go (default docs; --quick: the --out directory)
  --broker-core C --load-core C       (default 0 / 1; the cluster section pins Redis with the broker)
  --pause S             pause between runs (default 2; --quick 0.5)
  --out DIR             results directory (default bench/results)
`;

// ------------------------------------------------------------------ options
function parseArgs(argv) {
  const o = { quick: false, only: [...ALL], rounds: null, subs: null, warmup: null, duration: null, drain: null, fixedRate: 'auto',
    conns: null, hold: null, client: 'raw', procs: 0, syscallSubs: null, syscallRate: null, syscallSeconds: null, syscallTool: 'auto',
    brokerCore: 0, loadCore: 1, pause: null, out: 'bench/results', parserRounds: null, clusterSubs: null, clusterRates: null, clusterModes: null,
    overloadRate: 10000, overloadSeconds: 60, lingerMs: [0, 1, 2], redisCore: null, nodeEnv: {},
    subConns: null, subsPerConn: null };
  o.only = o.only.filter((x) => !OPT_IN_STEPS.includes(x));
  const list = (a, v) => { const xs = v.split(',').map(Number); if (!xs.length || xs.some((x) => !(x > 0))) throw new UsageError(`${a} needs positive numbers, comma-separated`); return xs; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`); return argv[++i]; };
    const num = () => { const v = Number(val()); if (!Number.isFinite(v) || v < 0) throw new UsageError(`${a} needs a non-negative number`); return v; };
    switch (a) {
      case '-h': case '--help': process.stdout.write(HELP); process.exit(0); break;
      case '--quick': o.quick = true; break;
      case '--only': o.only = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--contenders': o.contenders = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--rounds': o.rounds = Math.max(1, Math.round(num())); o.parserRounds = o.rounds; break;
      case '--subs': o.subs = Math.round(num()); break;
      case '--warmup': o.warmup = num(); break;
      case '--duration': o.duration = num(); break;
      case '--drain': o.drain = num(); break;
      case '--fixed-rate': { const v = val(); o.fixedRate = v === 'auto' ? 'auto' : Number(v); if (o.fixedRate !== 'auto' && !(o.fixedRate > 0)) throw new UsageError('--fixed-rate needs a positive number or auto'); break; }
      case '--conns': o.conns = Math.round(num()); break;
      case '--hold': o.hold = num(); break;
      case '--client': o.client = val(); if (!['raw', 'ws'].includes(o.client)) throw new UsageError('--client is raw or ws'); break;
      case '--procs': o.procs = Math.round(num()); break;
      case '--syscall-subs': o.syscallSubs = Math.round(num()); break;
      case '--syscall-rate': o.syscallRate = num(); break;
      case '--syscall-seconds': o.syscallSeconds = num(); break;
      case '--syscall-tool': o.syscallTool = val(); if (!['auto', 'perf', 'strace'].includes(o.syscallTool)) throw new UsageError('--syscall-tool is auto, perf or strace'); break;
      case '--cluster-subs': o.clusterSubs = Math.max(1, Math.round(num())); break;
      case '--cluster-rates': o.clusterRates = val().split(',').map(Number); if (!o.clusterRates.length || o.clusterRates.some((x) => !(x > 0))) throw new UsageError('--cluster-rates needs positive msgs/s, comma-separated'); break;
      case '--cluster-modes': o.clusterModes = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--overload-rate': o.overloadRate = num(); if (!(o.overloadRate > 0)) throw new UsageError('--overload-rate needs a positive msgs/s'); break;
      case '--overload-seconds': o.overloadSeconds = num(); if (!(o.overloadSeconds > 0)) throw new UsageError('--overload-seconds needs a positive number'); break;
      case '--linger-ms': o.lingerMs = val().split(',').map(Number); if (!o.lingerMs.length || o.lingerMs.some((x) => !Number.isInteger(x) || x < 0)) throw new UsageError('--linger-ms needs whole milliseconds >= 0, comma-separated'); break;
      case '--redis-core': o.redisCore = Math.round(num()); break;
      case '--node-env': {
        const v = val();
        const eq = v.indexOf('=');
        const k = eq > 0 ? v.slice(0, eq) : '';
        if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new UsageError(`--node-env needs KEY=VALUE, got ${JSON.stringify(v)}`);
        if (RUN_ENV_KEYS.includes(k)) throw new UsageError(`--node-env: ${k} is set by the benchmark for every node`);
        o.nodeEnv[k] = v.slice(eq + 1);
        break;
      }
      case '--sub-conns': o.subConns = Math.max(1, Math.round(num())); break;
      case '--subs-per-conn': o.subsPerConn = Math.max(1, Math.round(num())); break;
      case '--compare-systems': o.compareSystems = val().split(',').map((s) => s.trim()).filter(Boolean); if (o.compareSystems.some((x) => !COMPARE_SYSTEMS.includes(x))) throw new UsageError(`--compare-systems: known are ${COMPARE_SYSTEMS.join(',')}`); break;
      case '--compare-scenarios': o.compareScenarios = val().split(',').map((s) => s.trim()).filter(Boolean); if (o.compareScenarios.some((x) => !COMPARE_SCENARIOS.includes(x))) throw new UsageError(`--compare-scenarios: known are ${COMPARE_SCENARIOS.join(',')}`); break;
      case '--compare-subs': o.compareSubs = list(a, val()); break;
      case '--compare-rates': o.compareRates = list(a, val()); break;
      case '--compare-conns': o.compareConns = Math.round(num()); break;
      case '--compare-procs': o.compareProcs = Math.round(num()); break;
      case '--compare-seconds': { const [warmup, duration, drain] = list(a, val()); if (drain == null) throw new UsageError('--compare-seconds needs WARMUP,DURATION,DRAIN'); o.compareTimes = { warmup, duration, drain }; break; }
      case '--charts-dir': o.chartsDir = val(); break;
      case '--broker-core': o.brokerCore = Math.round(num()); break;
      case '--load-core': o.loadCore = Math.round(num()); break;
      case '--pause': o.pause = num(); break;
      case '--out': o.out = val(); break;
      default: throw new UsageError(`unknown option ${a} (see --help)`);
    }
  }
  for (const x of o.only) if (!ALL.includes(x)) throw new UsageError(`--only: unknown measurement '${x}' (known: ${ALL.join(',')})`);
  for (const x of o.clusterModes ?? []) if (!CLUSTER_MODES.includes(x)) throw new UsageError(`--cluster-modes: unknown mode '${x}' (known: ${CLUSTER_MODES.join(',')})`);
  if (o.contenders) {
    for (const x of o.contenders) if (!CONTENDERS[x]) throw new UsageError(`--contenders: unknown '${x}' (known: ${Object.keys(CONTENDERS).join(',')})`);
    const keep = (xs) => xs.filter((x) => o.contenders.includes(x));
    FLOW_CONTENDERS = o.contenders.filter((x) => FLOW_CONTENDERS.includes(x) || OPT_IN_FLOW.includes(x));
    IDLE_CONTENDERS = keep(IDLE_CONTENDERS);
    SYSCALL_CONTENDERS = keep(SYSCALL_CONTENDERS);
  }
  const q = o.quick;
  o.rounds ??= q ? 1 : 3;
  o.subs ??= q ? 100 : 1000;
  o.warmup ??= q ? 1 : 3;
  o.duration ??= q ? 2 : 10;
  o.drain ??= q ? 3 : 10;
  o.conns ??= q ? 1000 : 10000;
  o.hold ??= q ? 1 : 3;
  o.syscallSubs ??= 50;
  o.syscallRate ??= 2000;
  o.syscallSeconds ??= q ? 2 : 5;
  o.pause ??= q ? 0.5 : 2;
  o.clusterSubs ??= q ? 20 : 100;
  o.clusterRates ??= q ? [1000] : [1000, 10000];
  o.clusterModes ??= q ? ['throughput', 'latency', 'commands'] : [...CLUSTER_MODES];
  o.redisCore ??= o.brokerCore;
  o.subConns ??= q ? 500 : 2000;
  o.subsPerConn ??= 20;
  if (o.only.includes('compare')) compareDefaults(o);
  return o;
}
class UsageError extends Error {}

// ------------------------------------------------------------------ logging, helpers
const T0 = Date.now();
const log = (...a) => process.stderr.write(`[bench +${((Date.now() - T0) / 1000).toFixed(1).padStart(6)}s] ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b); if (!s.length) return null; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const nums = (xs) => xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
const fmt = (v, d = 0) => (v == null || !Number.isFinite(v) ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
function cell(xs, d = 0) {
  const v = nums(xs);
  if (!v.length) return '–';
  const m = median(v);
  return v.length === 1 ? fmt(m, d) : `${fmt(m, d)} [${fmt(Math.min(...v), d)}–${fmt(Math.max(...v), d)}]`;
}
const shq = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`);
const cmdline = (env, argv) => [...Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`), ...argv.map(shq)].join(' ');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}
function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}
async function httpOk(url) {
  try { const r = await fetch(url, { signal: AbortSignal.timeout(1000) }); return r.ok; } catch { return false; }
}
function nofileSoft() {
  const m = /Max open files\s+(\d+|unlimited)\s+/.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : null;
}
function readRssKb(pid) {
  try { const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8')); return m ? Number(m[1]) : null; } catch { return null; }
}

// ------------------------------------------------------------------ child processes
// Every child is started in its own process group (detached) so that it and whatever it forks
// (stompbench --procs workers) can be ended by that group id, which is the pid we started.
const children = new Set();
function start(name, argv, env = {}) {
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const rec = { name, child, pid: child.pid, out: '', err: '', exited: false, code: null, signal: null, cmd: cmdline(env, argv) };
  const keep = (k, d) => { rec[k] += d.toString(); if (rec[k].length > 1 << 20) rec[k] = rec[k].slice(-(1 << 19)); };
  child.stdout.on('data', (d) => keep('out', d));
  child.stderr.on('data', (d) => keep('err', d));
  rec.done = new Promise((resolve) => {
    child.on('error', (e) => { rec.err += `\nspawn error: ${e.message}`; rec.exited = true; children.delete(rec); resolve(rec); });
    child.on('close', (code, signal) => { rec.exited = true; rec.code = code; rec.signal = signal; children.delete(rec); resolve(rec); });
  });
  children.add(rec);
  return rec;
}
function signalGroup(rec, sig) {
  if (rec.exited) return;
  try { process.kill(-rec.pid, sig); } catch { try { process.kill(rec.pid, sig); } catch { /* gone */ } }
}
async function stop(rec, graceMs = 5000) {
  if (rec.exited) return rec;
  signalGroup(rec, 'SIGTERM');
  const t = setTimeout(() => signalGroup(rec, 'SIGKILL'), graceMs);
  await rec.done;
  clearTimeout(t);
  return rec;
}
function killAllSync() {
  for (const rec of children) signalGroup(rec, 'SIGKILL');
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping all benchmark processes`);
    killAllSync();
    process.exit(128 + (os.constants.signals[sig] ?? 1));
  });
}
async function waitFor(rec, pred, timeoutMs, what) {
  const t0 = Date.now();
  for (;;) {
    if (await pred()) return;
    if (rec.exited) throw new Error(`${rec.name} exited (code ${rec.code}, signal ${rec.signal}) before ${what}:\n${tail(rec)}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`${rec.name}: timed out after ${timeoutMs} ms waiting for ${what}:\n${tail(rec)}`);
    await sleep(50);
  }
}
const tail = (rec, n = 3000) => (rec.out + rec.err).slice(-n);

// ------------------------------------------------------------------ machine
function machineInfo(o) {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (/model name\s*:\s*(.*)/.exec(cpuinfo) || [])[1] || os.cpus()[0]?.model || 'unknown';
  const git = (args) => { const r = spawnSync('git', args, { encoding: 'utf8' }); return r.status === 0 ? r.stdout.trim() : null; };
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    type: 'machine', cpu_model: model, cores: os.cpus().length, ram_bytes: os.totalmem(), kernel: `${os.type()} ${os.release()}`,
    node: process.version, uws_binary: `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
    git_commit: git(['rev-parse', 'HEAD']), git_dirty: dirty == null ? null : dirty.length > 0,
    hostname: os.hostname(), ulimit_nofile: nofileSoft(), loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    broker_core: o.brokerCore, load_core: o.loadCore, started: new Date(T0).toISOString(),
  };
}

// ------------------------------------------------------------------ brokers and load
async function startBroker(o, name) {
  const c = CONTENDERS[name];
  const port = await freePort();
  const tsk = ['taskset', '-c', String(o.brokerCore)];
  let rec;
  if (c.ref) {
    rec = start(name, [...tsk, 'node', REF_SERVER, '--port', String(port)]);
    await waitFor(rec, async () => rec.err.includes('listening on') && (await canConnect(port)), 15000, 'listening');
  } else {
    const env = { ...BENCH_LIMITS_ENV, STOMPEDE_BIND: '127.0.0.1', STOMPEDE_WS_PORT: String(port), STOMPEDE_TCP_PORT: '0', STOMPEDE_ADMIN_PORT: '0', STOMPEDE_DRAIN_GRACE_MS: '0', STOMPEDE_DRAIN_WINDOW_MS: '0', STOMPEDE_LOG_LEVEL: 'warn', ...c.env };
    rec = start(name, [...tsk, 'node', BROKER_MAIN], env);
    await waitFor(rec, () => httpOk(`http://127.0.0.1:${port}/readyz`), 15000, '/readyz');
  }
  rec.port = port;
  rec.url = `ws://127.0.0.1:${port}/ws`;
  return rec;
}

// Stompede logs warn and above as JSON lines; the reference server prints two banner lines.
// The start-up warning that the benchmarked broker is open (STOMPEDE_AUTH=anonymous, as every
// contender runs) is expected; any other warning during a run is reported.
const OPEN_ACCESS_WARNING = /"msg":"STOMP authentication is OFF/;
const logLines = (rec) => (rec.out + rec.err).split('\n').filter((l) => l.trim() && !/^ref-(uws|hop)-server: (uWebSockets|listening)/.test(l) && !OPEN_ACCESS_WARNING.test(l));

// After the load client has gone: Stompede's open-connection gauge should be back to 0.
async function connectionsLeft(rec) {
  if (CONTENDERS[rec.name]?.ref || rec.exited) return null;
  await sleep(1000);
  try {
    const text = await (await fetch(`http://127.0.0.1:${rec.port}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    const m = /^stompede_connections (\d+)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function stopBroker(rec) {
  const crashed = rec.exited;
  const connections_left = await connectionsLeft(rec);
  const during = logLines(rec);
  await stop(rec);
  const all = logLines(rec);
  const atShutdown = all.slice(during.length);
  return {
    crashed, exit_code: rec.code, signal: rec.signal, connections_left,
    log_lines: during.length, log_tail: during.slice(-5).map((l) => l.slice(0, 2000)),
    shutdown_log_lines: atShutdown.length, shutdown_log_tail: atShutdown.slice(-3).map((l) => l.slice(0, 2000)),
  };
}

function brokerFlags(flags, where, x) {
  const b = x.broker;
  if (!b) return;
  if (b.crashed) flags.push(`${where}: the broker exited during the run (code ${b.exit_code}, signal ${b.signal}).`);
  if (b.log_lines) flags.push(`${where}: broker logged ${b.log_lines} warn+ line(s) during the run, last: \`${b.log_tail.slice(-1)[0]?.slice(0, 400)}\``);
  if (b.connections_left) flags.push(`${where}: stompede_connections was still ${b.connections_left} after the load client had exited (sessions not cleaned up).`);
  if (b.shutdown_log_lines) flags.push(`${where}: broker logged ${b.shutdown_log_lines} warn+ line(s) while shutting down on SIGTERM (exit code ${b.exit_code}), last: \`${b.shutdown_log_tail.slice(-1)[0]?.slice(0, 400)}\``);
  else if (!b.crashed && b.exit_code !== 0 && b.signal == null) flags.push(`${where}: broker exit code ${b.exit_code} on SIGTERM.`);
}

function loadArgv(o, args) {
  return ['taskset', '-c', String(o.loadCore), 'node', STOMPBENCH, ...args.map(String)];
}

async function runLoad(o, argv, timeoutMs, onStart) {
  const rec = start('stompbench', argv);
  if (onStart) {
    try {
      await onStart(rec);
    } catch (e) {
      signalGroup(rec, 'SIGKILL');
      await rec.done;
      throw e;
    }
  }
  const t = setTimeout(() => { log(`stompbench timed out after ${timeoutMs / 1000}s, killing it`); signalGroup(rec, 'SIGKILL'); }, timeoutMs);
  await rec.done;
  clearTimeout(t);
  const lines = rec.out.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
  const res = lines.filter((l) => !l.summary).pop();
  if (rec.code !== 0 || !res || res.error) {
    throw new Error(`stompbench failed (exit ${rec.code}, signal ${rec.signal}):\n$ ${rec.cmd}\n${tail(rec)}`);
  }
  return { result: res, cmd: rec.cmd, stderr_tail: rec.err.split('\n').filter(Boolean).slice(-10) };
}

function flowArgs(o, url, pid, label, { subs, rate, warmup, duration, drain }) {
  return ['fanout', '--url', url, '--client', o.client, '--subs', subs, '--size', 128, '--rate', rate,
    '--warmup', warmup, '--duration', duration, '--drain', drain, '--procs', o.procs, '--broker-pid', pid, '--label', label];
}

// ------------------------------------------------------------------ results
let OUT_FILE = null;
const records = [];
function record(obj) {
  records.push(obj);
  fs.appendFileSync(OUT_FILE, JSON.stringify(obj) + '\n');
}
const rotate = (xs, r) => xs.map((_, i) => xs[(i + r) % xs.length]);

// ------------------------------------------------------------------ measurements
async function benchParser(o) {
  const argv = ['taskset', '-c', String(o.brokerCore), 'node', PARSER, '--json', ...(o.quick ? ['--quick'] : []), ...(o.parserRounds ? ['--rounds', String(Math.max(3, o.parserRounds))] : [])];
  log(`parser: ${cmdline({}, argv)}`);
  const rec = start('parser', argv);
  await rec.done;
  const line = rec.out.trim().split('\n').pop();
  let res = null;
  try { res = JSON.parse(line); } catch { /* below */ }
  if (!res) throw new Error(`parser bench failed (exit ${rec.code}):\n${tail(rec)}`);
  record({ type: 'run', bench: 'parser', cmd: rec.cmd, result: res });
  if (!res.ok) log('parser: WARNING the two parsers did not produce the same frames');
}

async function flowRun(o, bench, name, round, params) {
  const broker = await startBroker(o, name);
  let load;
  let error = null;
  try {
    const argv = loadArgv(o, flowArgs(o, broker.url, broker.pid, `${name}/${bench}`, params));
    log(`${bench} round ${round + 1}/${o.rounds}: ${name} (rate ${params.rate || 'max'}, ${params.subs} subs)`);
    load = await runLoad(o, argv, (params.warmup + params.duration + params.drain + 240) * 1000);
  } catch (e) {
    error = e.message;
  }
  const brokerInfo = await stopBroker(broker);
  const rec = { type: 'run', bench, contender: name, round: round + 1, cmd: { broker: broker.cmd, load: load?.cmd }, result: load?.result ?? null, broker: brokerInfo, error };
  record(rec);
  if (error) log(`${bench}/${name}: ERROR ${error.split('\n')[0]}`);
  else {
    const r = load.result;
    log(`  delivered ${fmt(r.delivered_rate)}/s publish ${fmt(r.publish_rate)}/s p50 ${r.lat_ms.p50} ms p99 ${r.lat_ms.p99} ms broker ${r.broker_cpu_pct}% client ${r.client_cpu_pct}% lost ${r.lost} errors ${r.error_frames}`);
  }
  await sleep(o.pause * 1000);
  return rec;
}

async function benchFanout(o) {
  for (let r = 0; r < o.rounds; r++) {
    for (const name of rotate(FLOW_CONTENDERS, r)) await flowRun(o, 'fanout', name, r, { subs: o.subs, rate: 0, warmup: o.warmup, duration: o.duration, drain: o.drain });
  }
}

function chooseFixedRate(o) {
  if (o.fixedRate !== 'auto') return { rate: o.fixedRate, why: 'given with --fixed-rate' };
  const maxRates = FLOW_CONTENDERS.map((n) => median(records.filter((x) => x.bench === 'fanout' && x.contender === n && x.result).map((x) => x.result.publish_rate))).filter((x) => x != null);
  if (!maxRates.length) return { rate: 200, why: 'default (no fan-out max results in this run)' };
  const half = Math.min(...maxRates) / 2;
  if (half >= 200) return { rate: 200, why: `default; the slowest contender's max publish rate is ${fmt(Math.min(...maxRates))} msgs/s` };
  const nice = Math.max(1, Math.floor(half / 10 ** Math.floor(Math.log10(half))) * 10 ** Math.floor(Math.log10(half)));
  return { rate: nice, why: `half the slowest contender's max publish rate (${fmt(Math.min(...maxRates))} msgs/s), rounded down` };
}

async function benchFixed(o) {
  const { rate, why } = chooseFixedRate(o);
  o.fixedRateChosen = rate;
  log(`fixed: ${rate} msgs/s x ${o.subs} subs = ${fmt(rate * o.subs)} deliveries/s (${why})`);
  record({ type: 'note', bench: 'fixed', rate, deliveries_per_s: rate * o.subs, why });
  for (let r = 0; r < o.rounds; r++) {
    for (const name of rotate(FLOW_CONTENDERS, r)) await flowRun(o, 'fixed', name, r, { subs: o.subs, rate, warmup: o.warmup, duration: o.duration, drain: o.drain });
  }
}

async function benchIdle(o) {
  for (let r = 0; r < o.rounds; r++) {
    for (const name of rotate(IDLE_CONTENDERS, r)) {
      const broker = await startBroker(o, name);
      let load;
      let error = null;
      try {
        await sleep(500); // let the fresh process settle before the RSS baseline
        const argv = loadArgv(o, ['conns', '--url', broker.url, '--client', o.client, '--conns', o.conns, '--concurrency', 100, '--hold', o.hold, '--broker-pid', broker.pid, '--label', `${name}/idle`]);
        log(`idle round ${r + 1}/${o.rounds}: ${name} (${o.conns} connections)`);
        load = await runLoad(o, argv, (o.conns / 20 + o.hold + 240) * 1000);
      } catch (e) {
        error = e.message;
      }
      const rssAfterMb = readRssKb(broker.pid) / 1024;
      const brokerInfo = await stopBroker(broker);
      record({ type: 'run', bench: 'idle', contender: name, round: r + 1, cmd: { broker: broker.cmd, load: load?.cmd }, result: load?.result ?? null, broker: { ...brokerInfo, rss_mb_at_stop: Math.round(rssAfterMb * 10) / 10 }, error });
      if (error) log(`idle/${name}: ERROR ${error.split('\n')[0]}`);
      else log(`  opened ${load.result.opened}/${load.result.requested}, ${fmt(load.result.broker_bytes_per_conn)} B/conn, ${fmt(load.result.connect_rate)} connects/s`);
      await sleep(o.pause * 1000);
    }
  }
}

const SYSCALLS = ['sendto', 'sendmsg', 'write', 'writev'];
let SYSCALL_TOOL = null; // 'perf' | 'strace', chosen in preflight

// perf counts the syscall tracepoints in the kernel and does not stop the broker; strace -c stops it on
// every traced syscall (ptrace), which slows it enough to change how much it batches.
function counterArgv(o, pid) {
  const pin = ['taskset', '-c', String(o.loadCore)];
  if (SYSCALL_TOOL === 'perf') return [...pin, 'perf', 'stat', '-x,', '-e', SYSCALLS.map((x) => `syscalls:sys_enter_${x}`).join(','), '-p', String(pid)];
  return [...pin, STRACE, ...STRACE_EXTRA, '-c', '-f', '-e', `trace=${SYSCALLS.join(',')}`, '-p', String(pid)];
}

function parseCounts(text) {
  const calls = {};
  for (const line of text.split('\n')) {
    if (SYSCALL_TOOL === 'perf') {
      const f = line.split(',');
      const m = /syscalls:sys_enter_(\w+)/.exec(f[2] ?? '');
      if (m) calls[m[1]] = Number(f[0]) || 0;
      continue;
    }
    // strace -c: "% time  seconds  usecs/call  calls  [errors]  syscall"
    const t = line.trim().split(/\s+/);
    if (t.length < 5 || !/^[\d.]+$/.test(t[0])) continue;
    const name = t[t.length - 1];
    if (name !== 'total') calls[name] = Number(t[3]);
  }
  return calls;
}

function perfUsable() {
  const r = spawnSync('perf', ['stat', '-x,', '-e', 'syscalls:sys_enter_write', '--', 'true'], { encoding: 'utf8' });
  return r.status === 0 && /^\d+,/m.test(r.stderr ?? '');
}

// Attaches the counter to the broker for `seconds`, returns { cmd, seconds, calls }.
async function countSyscalls(o, pid, seconds) {
  const crec = start(SYSCALL_TOOL, counterArgv(o, pid));
  try {
    if (SYSCALL_TOOL === 'strace') await waitFor(crec, () => /attached/.test(crec.err), 10000, 'strace attach');
    else await waitFor(crec, async () => { await sleep(300); return true; }, 5000, 'perf start');
  } catch (e) {
    signalGroup(crec, 'SIGKILL');
    throw new Error(`${SYSCALL_TOOL} could not attach to the broker: ${e.message}`);
  }
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  signalGroup(crec, 'SIGINT');
  const killT = setTimeout(() => signalGroup(crec, 'SIGKILL'), 10000);
  await crec.done;
  clearTimeout(killT);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const calls = parseCounts(crec.err);
  if (!Object.keys(calls).length && SYSCALL_TOOL === 'perf') throw new Error(`perf stat printed no counts:\n${tail(crec)}`);
  return { tool: SYSCALL_TOOL, cmd: crec.cmd, seconds: Math.round(s * 1000) / 1000, calls, exit_code: crec.code };
}

async function benchSyscalls(o) {
  const modes = [{ mode: 'fixed', rate: o.syscallRate }, ...(o.quick ? [] : [{ mode: 'max', rate: 0 }])];
  for (const { mode, rate } of modes) {
    for (let r = 0; r < o.rounds; r++) {
      for (const name of rotate(SYSCALL_CONTENDERS, r)) {
        const broker = await startBroker(o, name);
        let load;
        let error = null;
        let counts = null;
        const warmup = 1;
        const params = { subs: o.syscallSubs, rate, warmup, duration: o.syscallSeconds + 2, drain: o.drain };
        try {
          const argv = loadArgv(o, flowArgs(o, broker.url, broker.pid, `${name}/syscalls-${mode}`, params));
          log(`syscalls (${mode}) round ${r + 1}/${o.rounds}: ${name} (${rate || 'max'} msgs/s x ${o.syscallSubs} subs, ${SYSCALL_TOOL} ${o.syscallSeconds}s)`);
          load = await runLoad(o, argv, (params.warmup + params.duration + params.drain + 240) * 1000, async (lrec) => {
            await waitFor(lrec, () => /subscribers ready/.test(lrec.err), 120000, 'subscribers');
            await sleep((warmup + 0.5) * 1000); // inside stompbench's measurement window from here on
            counts = await countSyscalls(o, broker.pid, o.syscallSeconds);
          });
        } catch (e) {
          error = e.message;
        }
        const brokerInfo = await stopBroker(broker);
        let derived = null;
        if (counts && load) {
          const total = SYSCALLS.reduce((a, k) => a + (counts.calls[k] ?? 0), 0);
          // rates measured by stompbench over its window, which contains the counting window
          const sends = load.result.publish_rate * counts.seconds;
          const deliveries = load.result.delivered_rate * counts.seconds;
          derived = { syscalls_total: total, sends: Math.round(sends), deliveries: Math.round(deliveries), per_send: sends ? total / sends : null, per_delivery: deliveries ? total / deliveries : null };
          log(`  ${fmt(total)} send syscalls in ${counts.seconds}s (${JSON.stringify(counts.calls)}): ${fmt(derived.per_send, 2)} per SEND, ${fmt(derived.per_delivery, 3)} per delivery; p99 ${load.result.lat_ms.p99} ms`);
        }
        record({ type: 'run', bench: 'syscalls', mode, contender: name, round: r + 1, cmd: { broker: broker.cmd, load: load?.cmd, counter: counts?.cmd }, result: load?.result ?? null, syscalls: counts, derived, broker: brokerInfo, error });
        if (error) log(`syscalls/${name}: ERROR ${error.split('\n')[0]}`);
        await sleep(o.pause * 1000);
      }
    }
  }
}

// ------------------------------------------------------------------ summary
function summary(o, machine) {
  const L = [];
  const runs = (bench, name) => records.filter((x) => x.type === 'run' && x.bench === bench && (name == null || x.contender === name));
  const ok = (xs) => xs.filter((x) => x.result && !x.error);
  const flags = [];
  L.push(`# Stompede benchmark ${o.quick ? '(QUICK smoke run: not for comparison)' : ''}`.trim(), '');
  L.push(`- Started ${machine.started}, ${o.rounds} round(s) per measurement, median [min–max] shown; raw data: \`${path.relative(ROOT, OUT_FILE)}\``);
  L.push(`- Machine: ${machine.cpu_model}, ${machine.cores} cores, ${fmt(machine.ram_bytes / 2 ** 30, 1)} GiB RAM, ${machine.kernel}, Node ${machine.node}, commit ${machine.git_commit ?? '?'}${machine.git_dirty ? ' (uncommitted changes)' : ''}`);
  L.push(`- Broker pinned to core ${o.brokerCore}, load (stompbench, client \`${o.client}\`, ${o.procs ? `${o.procs} worker procs` : 'one process'}) to core ${o.loadCore}; load average at start ${machine.loadavg_at_start.join(' ')}${machine.loadavg_at_start[0] > 0.5 ? ' — **the machine was not idle: numbers are unreliable**' : ''}`);
  L.push('');

  // parser
  const pr = runs('parser')[0];
  if (pr) {
    const res = pr.result;
    L.push('## Parser throughput (one core)', '');
    L.push(`${fmt(res.stream_bytes / 2 ** 20, 2)} MiB of client frames (${Object.entries(res.commands).map(([k, v]) => `${k} ${v}`).join(', ')}; ${res.heart_beat_eols} heart-beat EOLs), ${res.rounds} rounds, median. MB = 10^6 bytes.`, '');
    L.push('| chunking | Stompede MB/s | Stompede frames/s | stompjs MB/s | stompjs frames/s | ratio | frames Stompede / stompjs |', '|---|---|---|---|---|---|---|');
    for (const [k, c] of Object.entries(res.chunkings)) {
      L.push(`| ${k} (${c.chunks} chunks) | ${fmt(c.stompede.mb_s, 1)} | ${fmt(c.stompede.frames_s)} | ${fmt(c.stompjs.mb_s, 1)} | ${fmt(c.stompjs.frames_s)} | **${fmt(c.ratio, 2)}x** | ${c.stompede.frames} / ${c.stompjs.frames} ${c.frames_equal ? '(equal)' : '**MISMATCH**'} |`);
      if (!c.frames_equal) flags.push(`parser: frame mismatch with chunking ${k}: ${JSON.stringify(c.verify)}`);
    }
    L.push('');
  }

  const refMed = (bench, f) => median(ok(runs(bench, 'uws-ref')).map((x) => f(x.result)));
  const cpuPerDelivery = (r) => (r.broker_cpu_pct != null && r.delivered_rate > 0 ? (r.broker_cpu_pct / 100 / r.delivered_rate) * 1e6 : null);
  const flowTable = (bench, title, intro) => {
    const all = runs(bench);
    if (!all.length) return;
    L.push(`## ${title}`, '', intro, '');
    L.push('| contender | delivered msgs/s | vs uWS | publish msgs/s | p50 ms | p99 ms | broker CPU % | broker CPU µs/delivery | client CPU % | core0/core1 busy % | lost | errors |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
    const ref = refMed(bench, (r) => r.delivered_rate);
    for (const name of FLOW_CONTENDERS) {
      const rs = runs(bench, name);
      if (!rs.length) continue;
      const g = ok(rs).map((x) => x.result);
      const dm = median(g.map((r) => r.delivered_rate));
      const clientMax = Math.max(...nums(g.map((r) => r.client_cpu_pct)), 0);
      const clientBound = clientMax >= 90;
      const lost = g.reduce((a, r) => a + (r.lost || 0), 0);
      const errs = g.reduce((a, r) => a + (r.error_frames || 0) + (r.subs_failed || 0), 0);
      const failed = rs.length - g.length;
      L.push(`| ${name} | ${cell(g.map((r) => r.delivered_rate))} | ${ref && dm != null ? fmt(dm / ref, 2) + 'x' : '–'} | ${cell(g.map((r) => r.publish_rate))} | ${cell(g.map((r) => r.lat_ms.p50), 2)} | ${cell(g.map((r) => r.lat_ms.p99), 2)} | ${cell(g.map((r) => r.broker_cpu_pct))} | ${cell(g.map(cpuPerDelivery), 2)} | ${cell(g.map((r) => r.client_cpu_pct))}${clientBound ? ' ⚠' : ''} | ${fmt(median(g.map((r) => r.core_busy_pct?.[`cpu${o.brokerCore}`])))}/${fmt(median(g.map((r) => r.core_busy_pct?.[`cpu${o.loadCore}`])))} | ${lost}${lost ? ' ⚠' : ''} | ${errs}${errs ? ' ⚠' : ''}${failed ? ` (${failed} run(s) failed)` : ''} |`);
      const gap = median(g.map((r) => (r.core_busy_pct?.[`cpu${o.brokerCore}`] ?? 0) - (r.broker_cpu_pct ?? 0)));
      if (gap != null && gap > 30) flags.push(`${bench}/${name}: core ${o.brokerCore} was ${fmt(gap)} points busier than the broker process alone: other processes shared the broker's core (or the kernel charged it network work); numbers are suspect.`);
      if (clientBound) flags.push(`${bench}/${name}: the load client used up to ${clientMax}% CPU of its core: it, not the broker, may be the bottleneck (delivered msgs/s is then a lower bound for the broker; compare broker CPU µs/delivery).`);
      if (lost || errs) flags.push(`${bench}/${name}: ${lost} lost, ${errs} error frames/failed subscriptions. Command: \`${rs[0].cmd.load}\` against \`${rs[0].cmd.broker}\``);
      if (bench === 'fixed') {
        const short = g.filter((r) => (r.rate_shortfall || 0) > 0 || r.publish_rate < 0.95 * r.rate);
        if (short.length) flags.push(`fixed/${name}: the publisher did not sustain ${g[0].rate} msgs/s in ${short.length} run(s) (publish ${short.map((r) => r.publish_rate).join(', ')}/s).`);
      }
      for (const x of rs) {
        if (x.error) flags.push(`${bench}/${name} round ${x.round}: ${x.error.split('\n')[0]}`);
        brokerFlags(flags, `${bench}/${name} round ${x.round}`, x);
      }
    }
    const above = FLOW_CONTENDERS.filter((n) => n !== 'uws-ref' && ref && median(ok(runs(bench, n)).map((x) => x.result.delivered_rate)) > ref * 1.05);
    if (above.length) L.push('', `${above.join(', ')} deliver${above.length === 1 ? 's' : ''} more than the "ceiling": the reference server does one app.publish (one WebSocket message per subscriber) per SEND, while Stompede with coalescing concatenates the MESSAGE frames of one event-loop turn into one WebSocket message per subscriber, so both the broker and the client handle fewer, larger WebSocket messages. The reference is a per-message ceiling, not a bound on batching.`);
    L.push('');
  };
  flowTable('fanout', `Fan-out 1 → ${o.subs} WebSocket subscribers, 128 B, max rate (--rate 0)`,
    '"vs uWS" = delivered msgs/s relative to the bare uWS reference server (the ceiling for this stack). In --rate 0 mode latency is mostly queueing (stompbench window/backlog); compare latency in the fixed-rate table. ⚠ client CPU ≥ 90%: the load client is saturated.');
  const fixedNote = records.find((x) => x.type === 'note' && x.bench === 'fixed');
  if (fixedNote) {
    flowTable('fixed', `Fan-out 1 → ${o.subs} at a fixed ${fmt(fixedNote.rate)} msgs/s (${fmt(fixedNote.deliveries_per_s)} deliveries/s)`,
      `Rate: ${fixedNote.why}. Latency = receive time − send time embedded in the body. Broker CPU µs/delivery = broker CPU time / deliveries.`);
  }

  const idle = runs('idle');
  if (idle.length) {
    L.push(`## Idle connections (${fmt(o.conns)} STOMP connections over WebSocket, fresh broker process)`, '');
    L.push('| contender | opened | alive after hold | broker RSS before → after MB | broker bytes/conn | target < 4 KiB | connects/s | client CPU % (connect) |', '|---|---|---|---|---|---|---|---|');
    for (const name of IDLE_CONTENDERS) {
      const rs = runs('idle', name);
      if (!rs.length) continue;
      const g = ok(rs).map((x) => x.result);
      const b = median(g.map((r) => r.broker_bytes_per_conn));
      L.push(`| ${name} | ${cell(g.map((r) => r.opened))} | ${cell(g.map((r) => r.alive_after_hold))} | ${fmt(median(g.map((r) => r.broker_rss_before_mb)), 1)} → ${fmt(median(g.map((r) => r.broker_rss_after_mb)), 1)} | ${cell(g.map((r) => r.broker_bytes_per_conn))} | ${name === 'uws-ref' ? '(reference)' : b == null ? '–' : b < 4096 ? 'PASS' : '**FAIL**'} | ${cell(g.map((r) => r.connect_rate))} | ${cell(g.map((r) => r.client_cpu_pct_during_connect))} |`);
      for (const x of rs) {
        if (x.error) flags.push(`idle/${name} round ${x.round}: ${x.error.split('\n')[0]}`);
        if (x.result && (x.result.failed || x.result.alive_after_hold < x.result.opened)) flags.push(`idle/${name} round ${x.round}: ${x.result.failed} connections failed (${x.result.first_error ?? ''}), ${x.result.opened - x.result.alive_after_hold} closed during hold. Command: \`${x.cmd.load}\``);
        brokerFlags(flags, `idle/${name} round ${x.round}`, x);
      }
    }
    L.push('', 'Bytes/conn = (broker RSS after connecting and holding − RSS before) / connections; RSS includes heap not yet collected.', '');
  }

  const sc = runs('syscalls');
  if (sc.length) {
    const tool = sc.find((x) => x.syscalls)?.syscalls.tool ?? SYSCALL_TOOL;
    L.push(`## Send syscalls per published SEND (1 → ${o.syscallSubs} subscribers, 128 B, ${tool} for ${o.syscallSeconds} s)`, '');
    L.push('| mode | contender | SENDs/s | deliveries/s | sendto/s | write+writev+sendmsg/s | syscalls / SEND | syscalls / delivery | p99 ms | broker CPU % | lost |', '|---|---|---|---|---|---|---|---|---|---|---|');
    for (const mode of ['fixed', 'max']) {
      for (const name of SYSCALL_CONTENDERS) {
        const rs = sc.filter((x) => x.mode === mode && x.contender === name);
        if (!rs.length) continue;
        const g = rs.filter((x) => x.derived);
        const per = (f) => cell(g.map((x) => f(x.syscalls.calls) / x.syscalls.seconds));
        const label = mode === 'fixed' ? `fixed ${fmt(o.syscallRate)} msgs/s` : 'max (--rate 0)';
        L.push(`| ${label} | ${name} | ${cell(g.map((x) => x.result.publish_rate))} | ${cell(g.map((x) => x.result.delivered_rate))} | ${per((c) => c.sendto ?? 0)} | ${per((c) => (c.write ?? 0) + (c.writev ?? 0) + (c.sendmsg ?? 0))} | ${cell(g.map((x) => x.derived.per_send), 2)} | ${cell(g.map((x) => x.derived.per_delivery), 3)} | ${cell(g.map((x) => x.result.lat_ms.p99), 2)} | ${cell(g.map((x) => x.result.broker_cpu_pct))} | ${g.reduce((a, x) => a + (x.result.lost || 0), 0)} |`);
        for (const x of rs) {
          if (x.error) flags.push(`syscalls ${mode}/${name} round ${x.round}: ${x.error.split('\n')[0]}`);
          brokerFlags(flags, `syscalls ${mode}/${name} round ${x.round}`, x);
        }
      }
    }
    L.push('', `Counted syscalls: ${SYSCALLS.join(', ')} by the broker process (all threads). SENDs/s and deliveries/s are stompbench's rates over a window that contains the counting window. ` +
      `stompbench's fixed-rate publisher writes its SENDs in 1 ms ticks (about ${fmt(o.syscallRate / 1000, 1)} per tick here), roughly how many SENDs one broker event-loop turn can batch; at max rate it keeps up to 100 unacknowledged SENDs in flight. ` +
      (tool === 'strace' ? 'strace stops the broker on every traced syscall: the broker falls behind, batches grow and latencies are not comparable with the tables above.' : 'perf counts kernel tracepoints without stopping the broker.'), '');
  }

  const cl = clusterSummary(o, records, { fmt, cell, median, nums, brokerFlags });
  L.push(...cl.lines);
  flags.push(...cl.flags);
  const sb = subscriptionsSummary(o, records, { fmt, cell, median, brokerFlags });
  L.push(...sb.lines);
  flags.push(...sb.flags);
  const cmp = compareSummary(o, records, { fmt, cell });
  L.push(...cmp.lines);
  flags.push(...cmp.flags);

  if (flags.length) L.push('## Warnings', '', ...flags.map((f) => `- ${f}`), '');

  // commands of round 1
  L.push('## Commands (round 1; ports are picked free per run)', '', '```sh');
  const seen = new Set();
  for (const x of records.filter((r) => r.type === 'run' && (r.round ?? 1) === 1)) {
    const cmds = typeof x.cmd === 'string' ? [x.cmd] : Object.values(x.cmd ?? {}).filter(Boolean);
    const key = [x.bench, x.mode, x.contender, x.scenario, x.system].filter(Boolean).join('/');
    if (seen.has(key)) continue;
    seen.add(key);
    L.push(`# ${key}`, ...cmds);
  }
  L.push('```', '');
  return L.join('\n');
}

// ------------------------------------------------------------------ main
async function main() {
  let o;
  try { o = parseArgs(process.argv.slice(2)); } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`bench: ${e.message}\n`); process.exit(2); }
    throw e;
  }
  // preflight
  const missing = [BROKER_MAIN, 'libs/stomp/dist/index.js'].filter((f) => !fs.existsSync(f));
  if (missing.length) fail(`${missing.join(', ')} missing: run \`make build\` (or \`npm ci && npx tsc -b\`) first.`);
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) fail('taskset (util-linux) is required to pin the broker and the load to separate cores.');
  const cores = os.cpus().length;
  for (const c of [o.brokerCore, o.loadCore, o.redisCore]) if (c >= cores) fail(`core ${c} does not exist (this machine has ${cores}); use --broker-core/--load-core/--redis-core.`);
  if (o.brokerCore === o.loadCore) log(`WARNING: broker and load share core ${o.brokerCore}: results are not comparable with the 2-core setup`);
  const nofile = nofileSoft();
  if (o.only.includes('idle') && nofile != null && nofile < o.conns + 512) {
    fail(`ulimit -n is ${nofile}, too low for the idle-connection test: the broker and the load client each hold ${o.conns} sockets ` +
      `and need at least ${o.conns + 512} descriptors. Raise it in this shell (e.g. \`ulimit -n 65536\`), or use --conns / --only.`);
  }
  if (o.only.includes('syscalls')) {
    const haveStrace = spawnSync(STRACE, ['-V']).status === 0;
    if (o.syscallTool !== 'strace' && perfUsable()) SYSCALL_TOOL = 'perf';
    else if (o.syscallTool !== 'perf' && haveStrace) SYSCALL_TOOL = 'strace';
    if (SYSCALL_TOOL === 'strace' && spawnSync(STRACE, ['--seccomp-bpf', '-f', '-qq', '-e', 'trace=none', 'true']).status === 0) STRACE_EXTRA = ['--seccomp-bpf'];
    if (!SYSCALL_TOOL) {
      log(`WARNING: no usable ${o.syscallTool === 'auto' ? 'perf (syscalls:* tracepoints) or strace' : o.syscallTool}: skipping syscalls`);
      o.only = o.only.filter((x) => x !== 'syscalls');
    } else log(`syscalls: counting with ${SYSCALL_TOOL}`);
  }
  if (o.only.includes('cluster') && clusterPreflight()) {
    log(`WARNING: ${clusterPreflight()}: skipping cluster`);
    o.only = o.only.filter((x) => x !== 'cluster');
  }
  if (o.only.includes('compare') && comparePreflight().length) {
    log(`WARNING: compare needs ${comparePreflight().join(' and ')}: skipping compare`);
    o.only = o.only.filter((x) => x !== 'compare');
  }
  fs.mkdirSync(o.out, { recursive: true });
  const stamp = new Date(T0).toISOString().replace(/[:.]/g, '-');
  OUT_FILE = path.join(o.out, `${stamp}${o.quick ? '-quick' : ''}.jsonl`);
  const machine = machineInfo(o);
  record(machine);
  record({ type: 'config', argv: process.argv.slice(2), options: o });
  if (machine.loadavg_at_start[0] > 0.5) log(`WARNING: load average ${machine.loadavg_at_start[0]}: the machine is busy, results will be noisy`);
  log(`results -> ${OUT_FILE}`);

  const clusterHelpers = { start, stop, stopBroker, waitFor, freePort, canConnect, httpOk, runLoad, record, log, sleep, fmt, BROKER_MAIN };
  const steps = { parser: benchParser, fanout: benchFanout, fixed: benchFixed, idle: benchIdle, syscalls: benchSyscalls, cluster: (x) => benchCluster(x, clusterHelpers),
    subscriptions: (x) => benchSubscriptions(x, { ...clusterHelpers, nofileSoft }),
    compare: (x) => benchCompare(x, { ...clusterHelpers, startBroker, records: () => records }) };
  let failures = 0;
  for (const name of ALL) {
    if (!o.only.includes(name)) continue;
    try {
      await steps[name](o);
    } catch (e) {
      failures++;
      log(`${name}: FAILED: ${e.stack ?? e}`);
      record({ type: 'run', bench: name, error: String(e.message ?? e) });
    }
  }
  record({ type: 'end', seconds: (Date.now() - T0) / 1000 });
  const md = summary(o, machine);
  fs.writeFileSync(path.join(o.out, 'latest.md'), md);
  process.stdout.write(md + '\n');
  const runErrors = records.filter((x) => x.type === 'run' && x.error).length;
  log(`done in ${((Date.now() - T0) / 1000).toFixed(0)} s; ${path.join(o.out, 'latest.md')}${runErrors ? `; ${runErrors} run(s) failed` : ''}`);
  process.exitCode = failures || runErrors ? 1 : 0;
}

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

main().catch((e) => {
  log(`fatal: ${e.stack ?? e}`);
  killAllSync();
  process.exit(1);
});

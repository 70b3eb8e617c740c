#!/usr/bin/env node
// CPU profiles of broker nodes under a cluster load, for finding where a message's CPU goes.
// Starts a private redis-server (unless --layout embedded) and the nodes with `node --cpu-prof`,
// all pinned to the broker core, runs bench/cluster.mjs's load driver on the load core, stops the
// nodes (their profiles are written as they exit) and prints each node's top frames by self time.
//
//   node bench/profile.mjs --layout cross-node --subs 100 --rate 0 --duration 10
//   node bench/profile.mjs --layout embedded --subs 100
//
// The .cpuprofile files stay in --out (open them in Chrome DevTools' Performance panel).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_LIMITS_ENV } from './cluster.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'services/broker/dist/main.js');
const LAYOUTS = {
  'cross-node': { nodes: 2, redis: true, pub: 0, subs: [1] },
  'same-node': { nodes: 2, redis: true, pub: 0, subs: [0] },
  embedded: { nodes: 1, redis: false, pub: 0, subs: [0] },
};

const { values: o } = parseArgs({
  options: {
    layout: { type: 'string', default: 'cross-node' },
    subs: { type: 'string', default: '100' },
    rate: { type: 'string', default: '0' },
    duration: { type: 'string', default: '10' },
    top: { type: 'string', default: '25' },
    // Start-up (module loading, connecting) is not what a message costs.
    'skip-seconds': { type: 'string', default: '3' },
    // Summarise existing .cpuprofile files instead of running a load.
    summarize: { type: 'string', multiple: true },
    out: { type: 'string', default: path.join(os.tmpdir(), 'stompede-profiles') },
    'broker-core': { type: 'string', default: '0' },
    // One core per node (comma-separated), and Redis's core: to profile one node alone on a core,
    // so that the time the others and Redis run on it is not sampled as that node's (a write that
    // wakes Redis on the same core is otherwise charged to the writer's frame).
    'node-cores': { type: 'string' },
    'redis-core': { type: 'string' },
    'load-core': { type: 'string', default: '1' },
    env: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', default: false },
  },
});
if (o.help || !LAYOUTS[o.layout]) {
  process.stdout.write('usage: node bench/profile.mjs [--layout cross-node|same-node|embedded] [--subs 100] [--rate 0] [--duration 10] [--top 25] [--out DIR] [--env NAME=VALUE ...]\n' +
    '                          [--broker-core C] [--load-core C] [--node-cores C1,C2] [--redis-core C]\n');
  process.exit(o.help ? 0 : 2);
}
const layout = LAYOUTS[o.layout];
const outDir = path.resolve(o.out, `${o.layout}-${Date.now()}`);

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(name, argv, env = {}) {
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const rec = { name, child, out: '' };
  child.stdout.on('data', (d) => (rec.out += d));
  child.stderr.on('data', (d) => (rec.out += d));
  rec.exited = new Promise((resolve) => child.on('exit', resolve));
  return rec;
}

async function until(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ready = (port) => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);

async function main() {
  if (o.summarize?.length) {
    for (const f of o.summarize) process.stdout.write(summarize(f, path.basename(f), Number(o.top), Number(o['skip-seconds']) * 1000));
    return;
  }
  fs.mkdirSync(outDir, { recursive: true });
  let redis;
  let redisPort;
  if (layout.redis) {
    redisPort = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stompede-profile-redis-'));
    redis = start('redis', ['taskset', '-c', o['redis-core'] ?? o['broker-core'], 'redis-server', '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
    await until(() => /Ready to accept connections/.test(redis.out), 'redis-server');
  }
  const extra = Object.fromEntries(o.env.map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
  const nodes = [];
  for (let i = 0; i < layout.nodes; i++) {
    const port = await freePort();
    const env = {
      STOMPEDE_BIND: '127.0.0.1', ...BENCH_LIMITS_ENV, STOMPEDE_WS_PORT: String(port), STOMPEDE_TCP_PORT: '0', STOMPEDE_ADMIN_PORT: '0', STOMPEDE_LOG_LEVEL: 'warn',
      STOMPEDE_DRAIN_GRACE_MS: '0', STOMPEDE_DRAIN_WINDOW_MS: '0', STOMPEDE_NODE_ID: `node-${i + 1}`,
      STOMPEDE_REDIS_URL: redisPort ? `redis://127.0.0.1:${redisPort}` : '', ...extra,
    };
    const core = o['node-cores']?.split(',')[i] ?? o['broker-core'];
    const argv = ['taskset', '-c', core, process.execPath, '--cpu-prof', '--cpu-prof-dir', outDir, '--cpu-prof-name', `node-${i + 1}.cpuprofile`, MAIN];
    nodes.push({ ...start(`node-${i + 1}`, argv, env), port });
  }
  await Promise.all(nodes.map((n) => until(() => ready(n.port), `${n.name} /readyz`)));
  const url = (i) => `ws://127.0.0.1:${nodes[i].port}/ws`;
  const load = start('load', ['taskset', '-c', o['load-core'], process.execPath, path.join(ROOT, 'bench/cluster.mjs'), 'load',
    '--pub-url', url(layout.pub), ...layout.subs.flatMap((i) => ['--sub-url', url(i)]), '--subs', o.subs, '--rate', o.rate,
    '--warmup', '2', '--duration', o.duration, '--drain', '5', '--label', `profile/${o.layout}`]);
  await load.exited;
  const result = JSON.parse(load.out.trim().split('\n').at(-1));
  for (const n of nodes) n.child.kill('SIGTERM');
  await Promise.all(nodes.map((n) => n.exited));
  if (redis) {
    redis.child.kill('SIGKILL');
    await redis.exited;
  }
  process.stdout.write(`# ${o.layout}: ${o.subs} subscribers, rate ${o.rate === '0' ? 'max' : o.rate}, ${o.duration} s\n\n`);
  process.stdout.write(`published ${Math.round(result.publish_rate)} msgs/s, delivered ${Math.round(result.delivered_rate)}/s, lost ${result.lost}, p50 ${result.lat_ms.p50} ms, p99 ${result.lat_ms.p99} ms\n\n`);
  for (const n of nodes) process.stdout.write(summarize(path.join(outDir, `${n.name}.cpuprofile`), n.name, Number(o.top), Number(o['skip-seconds']) * 1000));
  process.stdout.write(`profiles: ${outDir}\n`);
}

/** Where a frame's code lives: a package, one of our layers, Node's internals, or native code. */
function areaOf(frame) {
  const url = frame.url;
  if (!url) return /^\((garbage collector|program|idle)\)$/.test(frame.functionName) ? frame.functionName : '(native: syscalls, buffers)';
  if (url.startsWith('node:')) return 'node: internals';
  const file = url.startsWith('file://') ? path.relative(ROOT, fileURLToPath(url)) : url;
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return pkg[1];
  const layer = /(?:^|\/)((?:libs|services)\/[^/]+)\//.exec(file);
  return layer ? layer[1] : file;
}

/**
 * The top frames of a .cpuprofile by self time, and the busy time by area, as markdown tables. Samples
 * before `skipMs` (start-up: module loading) are left out; shares are of the busy time (not idle).
 */
function summarize(file, name, top, skipMs = 0) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const areas = new Map();
  let total = 0;
  let busy = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at - profile.startTime < skipMs * 1000) return;
    total += dt;
    const frame = byId.get(id).callFrame;
    if (frame.functionName === '(idle)') return;
    busy += dt;
    const file = frame.url.startsWith('file://') ? path.relative(ROOT, fileURLToPath(frame.url)) : frame.url;
    const where = file ? `${file.replace(/^(\.\.\/)+.*?\/(?=(libs|services|node_modules)\/)/, '')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}\t${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + dt);
  });
  const pct = (us) => ((us / busy) * 100).toFixed(1);
  const rows = [...self].sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, us]) => {
    const [fn, where] = k.split('\t');
    return `| ${pct(us)} | \`${fn}\` | ${where} |`;
  });
  const areaRows = [...areas].sort((x, y) => y[1] - x[1]).map(([area, us]) => `| ${pct(us)} | ${area} |`);
  return [`## ${name} (${(total / 1e6).toFixed(1)} s sampled after the first ${skipMs / 1000} s; busy ${((busy / total) * 100).toFixed(1)}%)`, '',
    '| % of busy | area |', '|---|---|', ...areaRows, '',
    '| % of busy (self) | function | where |', '|---|---|---|', ...rows, '', ''].join('\n');
}

main().catch((err) => {
  process.stderr.write(`profile: ${err.stack}\n`);
  process.exit(1);
});

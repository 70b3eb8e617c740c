#!/usr/bin/env node
// `make cluster`: a local Redis and three broker nodes on one machine, to watch the cluster work.
// Starts a private redis-server (127.0.0.1:6390, nothing persisted) unless STOMPEDE_REDIS_URL names
// one, then nodes node-1..node-N on consecutive ports (WebSocket 15674.., TCP 61613..). Every line a
// process prints is prefixed with its name. Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the nodes, then
// Redis.
// Other STOMPEDE_* variables pass through to every node.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MAIN = fileURLToPath(new URL('../services/broker/dist/main.js', import.meta.url));
const USAGE = `usage: node scripts/cluster.mjs [--nodes 3] [--ws-port 15674] [--tcp-port 61613] [--admin-port 50051] [--redis-port 6390]
  (make cluster ARGS="...")

Starts a local redis-server on --redis-port (unless STOMPEDE_REDIS_URL is set) and --nodes broker
nodes on consecutive ports from --ws-port, --tcp-port and --admin-port. Ctrl-C drains and stops
them all. Other STOMPEDE_* variables are passed to every node.
`;

let options;
try {
  options = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      'ws-port': { type: 'string', default: '15674' },
      'tcp-port': { type: 'string', default: '61613' },
      'admin-port': { type: 'string', default: '50051' },
      'redis-port': { type: 'string', default: '6390' },
      'redis-server': { type: 'string', default: process.env.REDIS_SERVER ?? 'redis-server' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (err) {
  process.stderr.write(`cluster: ${err.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const int = (name, min, max) => {
  const raw = options[name];
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    process.stderr.write(`cluster: --${name} must be a whole number between ${min} and ${max}, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
};
const nodeCount = int('nodes', 1, 26);
const wsBase = int('ws-port', 1, 65535 - nodeCount);
const tcpBase = int('tcp-port', 1, 65535 - nodeCount);
const adminBase = int('admin-port', 1, 65535 - nodeCount);
const redisPort = int('redis-port', 1, 65535);

if (!existsSync(MAIN)) {
  process.stderr.write(`cluster: ${MAIN} is missing: run \`make build\` (make cluster does)\n`);
  process.exit(1);
}

const color = process.stdout.isTTY ? (i, s) => `\x1b[${31 + (i % 6)}m${s}\x1b[0m` : (_, s) => s;
const children = [];
let stopping = false;
let exitCode = 0;
let tempDir;

/** Writes every line of `stream` to our stdout with `[name] ` in front. */
function prefixLines(stream, label) {
  let partial = '';
  stream.on('data', (d) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop();
    for (const line of lines) process.stdout.write(`${label} ${line}\n`);
  });
  stream.on('end', () => {
    if (partial) process.stdout.write(`${label} ${partial}\n`);
    partial = '';
  });
}

function say(line) {
  process.stdout.write(`[cluster] ${line}\n`);
}

/** Spawns a child whose output is prefixed; `ready` resolves when `readyText` shows up in it. */
function start(name, index, cmd, args, env, readyText) {
  // Own process group: a Ctrl-C reaches only this script, which stops the nodes before Redis.
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const label = color(index, `[${name}]`);
  const entry = { name, child, exited: false };
  // Settles when the process is gone, or was never started (spawn error: no 'exit' follows).
  entry.gone = new Promise((resolve) => {
    child.once('exit', resolve);
    child.once('error', resolve);
  }).then(() => (entry.exited = true));
  children.push(entry);
  prefixLines(child.stdout, label);
  prefixLines(child.stderr, label);
  let seen = '';
  const ready = new Promise((resolve, reject) => {
    const check = (d) => {
      seen = (seen + d.toString()).slice(-4096);
      if (seen.includes(readyText)) {
        child.stdout.off('data', check);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.once('error', (err) => reject(new Error(`${name}: ${err.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`${name} exited (${signal ?? code}) before it was ready`)));
  });
  ready.catch(() => {});
  child.once('exit', (code, signal) => {
    entry.exited = true;
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? code}); stopping everything`);
      shutdown(1);
    }
  });
  return { child, ready };
}

function ping(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.on('error', () => done(false));
  });
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  exitCode = Math.max(exitCode, code);
  say('stopping');
  const stopAll = async (entries) => {
    for (const e of entries) if (!e.exited) e.child.kill('SIGTERM');
    const timer = setTimeout(() => entries.forEach((e) => e.exited || e.child.kill('SIGKILL')), 10_000);
    await Promise.all(entries.map((e) => e.gone));
    clearTimeout(timer);
  };
  // Nodes first (they say goodbye to their clients and to Redis), then Redis.
  await stopAll(children.filter((e) => e.name !== 'redis'));
  await stopAll(children.filter((e) => e.name === 'redis'));
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  say(`stopped${exitCode ? ` (exit ${exitCode})` : ''}`);
  process.exit(exitCode);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGHUP', () => void shutdown(0));

async function main() {
  let redisUrl = process.env.STOMPEDE_REDIS_URL ?? '';
  if (redisUrl === '') {
    if (await ping(redisPort)) {
      throw new Error(`something already answers on 127.0.0.1:${redisPort}: stop it, pass ARGS="--redis-port <port>", or use it with STOMPEDE_REDIS_URL=redis://127.0.0.1:${redisPort}`);
    }
    tempDir = mkdtempSync(join(tmpdir(), 'stompede-cluster-'));
    const redis = start('redis', 6, options['redis-server'], [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', tempDir, '--daemonize', 'no', '--logfile', '',
    ], process.env, 'Ready to accept connections');
    await redis.ready.catch((err) => {
      throw new Error(`${err.message}\nredis-server is needed (apt-get install redis-server), or point STOMPEDE_REDIS_URL at a Redis`);
    });
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    say(`redis-server on ${redisUrl} (pid ${redis.child.pid}, nothing persisted)`);
  } else {
    say(`using STOMPEDE_REDIS_URL=${redisUrl}`);
  }
  const pretty = process.env.STOMPEDE_LOG_PRETTY ?? (process.stdout.isTTY ? 'true' : 'false');
  const nodes = Array.from({ length: nodeCount }, (_, i) => {
    const name = `node-${i + 1}`;
    const env = {
      ...process.env,
      STOMPEDE_LOG_PRETTY: pretty,
      STOMPEDE_REDIS_URL: redisUrl,
      STOMPEDE_NODE_ID: name,
      STOMPEDE_WS_PORT: String(wsBase + i),
      STOMPEDE_TCP_PORT: String(tcpBase + i),
      STOMPEDE_ADMIN_PORT: String(adminBase + i),
      // A local cluster stops quickly on Ctrl-C; `stompede-ctl drain` still takes its own timings.
      STOMPEDE_DRAIN_GRACE_MS: process.env.STOMPEDE_DRAIN_GRACE_MS ?? '0',
      STOMPEDE_DRAIN_WINDOW_MS: process.env.STOMPEDE_DRAIN_WINDOW_MS ?? '1000',
    };
    return { name, ws: wsBase + i, tcp: tcpBase + i, admin: adminBase + i, ...start(name, i, process.execPath, [MAIN], env, 'stompede listening') };
  });
  await Promise.all(nodes.map((n) => n.ready));
  say(`${nodeCount} nodes up on ${redisUrl}:`);
  for (const n of nodes) say(`  ${n.name}  ws://localhost:${n.ws}/ws  tcp localhost:${n.tcp}  admin 127.0.0.1:${n.admin}  http://localhost:${n.ws}/metrics  (pid ${n.child.pid})`);
  if (!process.env.STOMPEDE_ADMIN_TOKEN && !process.env.STOMPEDE_ADMIN_TOKEN_FILE) {
    say(`admin: npx stompede-ctl --server 127.0.0.1:${adminBase} --token-file ${join(tmpdir(), 'stompede-node-1.admin-token')} nodes`);
  }
  say('cluster ready; Ctrl-C stops all');
}

main().catch((err) => {
  say(`cannot start: ${err.message}`);
  void shutdown(1);
});

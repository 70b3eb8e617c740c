// `make cluster`: the Makefile target runs scripts/cluster.mjs, which brings up a local Redis and
// three nodes; a message crosses nodes; SIGINT (Ctrl-C) stops every process it started.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers/broker-process.js';
import { eventually } from './helpers/expect.js';
import { pingRedis, redisBinariesMissing, redisProvider, redisUnavailable } from './helpers/redis-server.js';
import { connectStompjs, Inbox, publishAll, subscribed } from './helpers/stompjs.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LONG = 20_000;

async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  // Not events.once: its 'listening' promise rejects on 'error', which would throw EADDRINUSE here.
  const ok = await new Promise<boolean>((resolve) => {
    server.once('listening', () => resolve(true));
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0');
  });
  if (ok) {
    server.close();
    await once(server, 'close');
  }
  return ok;
}

/** A base port with `n` consecutive free ports. */
async function freeRange(n: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('`make cluster` runs scripts/cluster.mjs after the build, passing ARGS', () => {
  const plan = execFileSync('make', ['-n', 'cluster', 'ARGS=--nodes 2'], { cwd: ROOT, encoding: 'utf8' });
  assert.match(plan, /^node scripts\/cluster\.mjs --nodes 2\s*$/m);
  assert.doesNotMatch(plan, /STOMPEDE_\w+=/, 'the recipe sets no STOMPEDE_* variable');
});

test('the README documents `make cluster` with the ports the script uses', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const at = readme.indexOf('## Cluster mode');
  assert.ok(at >= 0, 'README has a Cluster mode section');
  const section = readme.slice(at, readme.indexOf('\n## ', at + 1));
  assert.match(section, /make cluster/);
  const help = execFileSync(process.execPath, ['scripts/cluster.mjs', '--help'], { cwd: ROOT, encoding: 'utf8' });
  for (const [flag, base] of [['ws-port', 15674], ['tcp-port', 61613], ['admin-port', 50051], ['redis-port', 6390]] as const) {
    assert.match(help, new RegExp(`--${flag} ${base}\\b`), `script default --${flag}`);
  }
  for (let i = 0; i < 3; i++) {
    assert.ok(section.includes(`ws://localhost:${15674 + i}/ws`) && section.includes(`localhost:${61613 + i}`), `node-${i + 1}'s ports in the README`);
    assert.ok(section.includes(`127.0.0.1:${50051 + i}`), `node-${i + 1}'s admin port in the README`);
  }
  assert.ok(section.includes('127.0.0.1:6390'), 'the Redis port in the README');
});

// scripts/cluster.mjs starts its own redis-server unless given a shared URL.
describe('scripts/cluster.mjs', { skip: redisUnavailable() ?? (redisProvider() === 'testcontainers' ? redisBinariesMissing() : undefined) }, () => {
  test('brings up Redis and three nodes, a message crosses nodes, SIGINT stops them all', async () => {
    const ws = await freeRange(3);
    const tcp = await freeRange(3);
    const admin = await freeRange(3);
    const redisPort = await freePort();
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('STOMPEDE_')) env[k] = v;
    const shared = process.env['STOMPEDE_TEST_REDIS_URL'];
    if (shared) {
      env['STOMPEDE_REDIS_URL'] = shared;
      env['STOMPEDE_REDIS_KEY_PREFIX'] = `smoke${process.pid}`;
    }
    const child = spawn(process.execPath, ['scripts/cluster.mjs', '--ws-port', String(ws), '--tcp-port', String(tcp), '--admin-port', String(admin), '--redis-port', String(redisPort)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = once(child, 'exit');
    const pids = (): number[] => [...out.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));
    try {
      await eventually(() => out.includes('cluster ready') || child.exitCode !== null, () => `no "cluster ready":\n${out}`, 60_000);
      assert.ok(out.includes('cluster ready'), `the script stopped before the cluster was ready:\n${out}`);
      for (const name of ['node-1', 'node-2', 'node-3']) assert.match(out, new RegExp(`\\[${name}\\] `), `${name}'s lines are prefixed`);
      if (!shared) assert.match(out, /\[redis\] /, 'redis lines are prefixed');

      const onNode3 = await connectStompjs(`ws://127.0.0.1:${ws + 2}/ws`);
      const onNode1 = await connectStompjs(`ws://127.0.0.1:${ws}/ws`);
      try {
        const inbox = new Inbox();
        await subscribed(onNode3, '/topic/smoke', inbox.push);
        await publishAll(onNode1, '/topic/smoke', ['across']);
        await inbox.until(1, LONG).catch((e: Error) => assert.fail(`${e.message}\n${out.slice(-4000)}`));
        assert.deepEqual(inbox.bodies, ['across']);
      } finally {
        onNode1.forceDisconnect();
        onNode3.forceDisconnect();
      }

      const started = pids();
      assert.equal(started.length, shared ? 3 : 4, `pids of the nodes (and redis) in the banner:\n${out}`);
      child.kill('SIGINT');
      await eventually(() => child.exitCode !== null || child.signalCode !== null, () => `still running after SIGINT:\n${out.slice(-4000)}`, 30_000);
      await exited;
      assert.equal(child.exitCode, 0, `clean exit:\n${out.slice(-4000)}`);
      assert.match(out, /\[cluster\] stopped/);
      for (const pid of started) assert.equal(alive(pid), false, `process ${pid} is gone`);
      if (!shared) assert.equal(await pingRedis('127.0.0.1', redisPort), false, 'redis is down');
      for (let i = 0; i < 3; i++) assert.ok(await portFree(ws + i), `ws port ${ws + i} released`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const pid of pids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

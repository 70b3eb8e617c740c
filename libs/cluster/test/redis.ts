// A private redis-server for one test file (a free port of 127.0.0.1, its own temp directory, no
// persistence), which the test can kill and start again on the same port. With
// STOMPEDE_TEST_REDIS_URL set, that Redis is used instead, isolated by a unique key prefix; with
// STOMPEDE_TEST_REDIS_PROVIDER=testcontainers, a Redis container (redis-provider.ts). Neither can be
// killed, so tests that need an outage skip themselves (`cannotRestart`, redisNotRestartable()).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisNotRestartable, redisProvider, startRedisContainer } from './redis-provider.js';

export { redisNotRestartable } from './redis-provider.js';

export const REDIS_SERVER =
  process.env['STOMPEDE_TEST_REDIS_SERVER'] ??
  ['/usr/bin', ...(process.env['PATH'] ?? '').split(':').filter((d) => d.length > 0)]
    .map((d) => join(d, 'redis-server'))
    .find((p) => existsSync(p)) ??
  '/usr/bin/redis-server';

/** Why Redis tests cannot run here, or undefined when they can. */
export function redisUnavailable(): string | undefined {
  if (process.env['STOMPEDE_TEST_REDIS_URL'] || redisProvider() === 'testcontainers') return undefined;
  if (!existsSync(REDIS_SERVER)) return `${REDIS_SERVER} not found (make redis-deps)`;
  return undefined;
}

export interface TestRedis {
  readonly url: string;
  /** Key prefix for brokers on this Redis: unique per handle. */
  readonly keyPrefix: string;
  /** Why kill()/start() are impossible (the shared server), or undefined. */
  readonly cannotRestart: string | undefined;
  /** A plain connection for looking at keys (XLEN, XPENDING, ...). */
  readonly inspect: Redis;
  /** SIGKILLs the server (no persistence: a restart comes back empty). */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves when PING answers. */
  start(): Promise<void>;
  /** Whether the server runs (always true for the shared one). */
  running(): boolean;
  cleanup(): Promise<void>;
}

let seq = 0;

export async function startRedis(): Promise<TestRedis> {
  const keyPrefix = `ct${process.pid}x${++seq}x${Date.now().toString(36)}`;
  if (redisProvider() === 'testcontainers') return containerRedis(keyPrefix);
  const shared = process.env['STOMPEDE_TEST_REDIS_URL'];
  if (shared) {
    const inspect = new Redis(shared, { lazyConnect: true });
    await inspect.connect();
    const cannot = 'the shared Redis of STOMPEDE_TEST_REDIS_URL cannot be killed by tests';
    return {
      url: shared,
      keyPrefix,
      cannotRestart: cannot,
      inspect,
      kill: () => Promise.reject(new Error(cannot)),
      start: () => Promise.reject(new Error(cannot)),
      running: () => true,
      async cleanup() {
        let cursor = '0';
        do {
          const [next, keys] = await inspect.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
          if (keys.length > 0) await inspect.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
        inspect.disconnect();
      },
    };
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stompede-cluster-test-'));
  let child: ChildProcess | undefined;
  let out = '';
  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async (): Promise<void> => {
    const c = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const until = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (!running()) throw new Error(`redis-server on port ${port} exited at start:\n${out}`);
      if (Date.now() > until) throw new Error(`redis-server on port ${port} did not answer PING:\n${out}`);
      await delay(10);
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (c === undefined || !running()) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };
  // A test process that ends early (a failure, a timeout) must not leave the server behind.
  const killOnExit = (): void => {
    if (running()) child!.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  await start();
  const url = `redis://127.0.0.1:${port}`;
  const inspect = new Redis(url, { lazyConnect: true, retryStrategy: (n) => Math.min(20 * n, 200) });
  inspect.on('error', () => {});
  await inspect.connect();
  return {
    url,
    keyPrefix,
    cannotRestart: undefined,
    inspect,
    kill,
    start,
    running,
    async cleanup() {
      inspect.disconnect();
      await kill();
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function containerRedis(keyPrefix: string): Promise<TestRedis> {
  const container = await startRedisContainer(['--appendonly', 'no']);
  const inspect = new Redis(container.url, { lazyConnect: true });
  await inspect.connect();
  const cannot = redisNotRestartable()!;
  return {
    url: container.url,
    keyPrefix,
    cannotRestart: cannot,
    inspect,
    kill: () => Promise.reject(new Error(cannot)),
    start: () => Promise.reject(new Error(cannot)),
    running: () => true,
    async cleanup() {
      inspect.disconnect();
      await container.stop();
    },
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every few ms until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string | (() => string), timeoutMs = 3_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    await delay(5);
  }
}

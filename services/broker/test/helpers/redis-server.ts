// A private redis-server for one test file: started on a free port of 127.0.0.1 in its own temp
// directory, stopped, restarted on the same port with the same data, and cleaned up. With
// STOMPEDE_TEST_REDIS_URL set, tests use that Redis instead, isolated by a unique key prefix (the
// broker's STOMPEDE_REDIS_KEY_PREFIX); with STOMPEDE_TEST_REDIS_PROVIDER=testcontainers, a Redis
// container per call (libs/cluster/test/redis-provider.ts). Neither can be stopped or restarted.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisNotRestartable, redisProvider, startRedisContainer } from '../../../../libs/cluster/test/redis-provider.js';
import { freePort } from './broker-process.js';

export { redisNotRestartable, redisProvider } from '../../../../libs/cluster/test/redis-provider.js';

/** `name` in /usr/bin, else the first one on PATH, else the /usr/bin path (reported as missing). */
function binary(name: string): string {
  const dirs = ['/usr/bin', ...(process.env['PATH'] ?? '').split(':').filter((d) => d.length > 0)];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p)) ?? `/usr/bin/${name}`;
}

export const REDIS_SERVER = process.env['STOMPEDE_TEST_REDIS_SERVER'] ?? binary('redis-server');
export const REDIS_CLI = process.env['STOMPEDE_TEST_REDIS_CLI'] ?? binary('redis-cli');

/** Why redis-server processes cannot be started here (binaries missing), or undefined. */
export function redisBinariesMissing(): string | undefined {
  if (!existsSync(REDIS_SERVER)) return `${REDIS_SERVER} not found (apt-get install redis-server, or make redis-deps)`;
  if (!existsSync(REDIS_CLI)) return `${REDIS_CLI} not found (apt-get install redis-tools)`;
  return undefined;
}

/** Why Redis tests cannot run here, or undefined when they can (a shared STOMPEDE_TEST_REDIS_URL will do). */
export function redisUnavailable(): string | undefined {
  if (process.env['STOMPEDE_TEST_REDIS_URL'] || redisProvider() === 'testcontainers') return undefined;
  return redisBinariesMissing();
}

export interface RedisOptions {
  /** appendonly yes (fsync every write): a restart keeps what was written. Default false: nothing is persisted. */
  readonly appendonly?: boolean;
  /** Extra `--name value` arguments for redis-server. */
  readonly args?: readonly string[];
  /** Name in error messages. */
  readonly name?: string;
}

export interface RedisHandle {
  readonly host: string;
  readonly port: number;
  /** redis://host:port (the shared server's URL as given, when STOMPEDE_TEST_REDIS_URL is set). */
  readonly url: string;
  /** Key prefix brokers using this handle must use (STOMPEDE_REDIS_KEY_PREFIX), or undefined for the default. */
  readonly keyPrefix: string | undefined;
  /** Why stop()/start()/restart() are not possible (the shared server), or undefined. */
  readonly cannotRestart: string | undefined;
  /** STOMPEDE_REDIS_URL (and the key prefix, if any) for a broker node. */
  brokerEnv(): Record<string, string>;
  /** Runs redis-cli against this server; resolves with its stdout (trimmed). */
  cli(...args: string[]): Promise<string>;
  /** True when PING answers PONG right now. */
  ping(): Promise<boolean>;
  /**
   * Stops the server: SIGTERM (waits for the exit, so an AOF is flushed) when `graceful`, else
   * SIGKILL. The data directory stays. Default: graceful with appendonly, else SIGKILL.
   */
  stop(options?: { graceful?: boolean }): Promise<void>;
  /** Starts it again on the same port with the same data directory; resolves when PING answers. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(options?: { graceful?: boolean }): Promise<void>;
  /** Whether the server process runs (always true for the shared server). */
  running(): boolean;
  /** Everything redis-server printed (all runs). */
  output(): string;
  /** Stops it (SIGKILL) and removes its directory; for the shared server, deletes the prefix's keys. */
  cleanup(): Promise<void>;
}

/** Sends PING over a plain socket; true on +PONG (false on -LOADING, refusals and timeouts). */
export function pingRedis(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

/** Polls PING until it answers; fails after `timeoutMs` with `describe()`. */
export async function waitForPing(host: string, port: number, describe: () => string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await pingRedis(host, port))) {
    if (Date.now() > until) throw new Error(`redis ${host}:${port} did not answer PING within ${timeoutMs} ms:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function runCli(args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(REDIS_CLI, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** A redis-server process on `port` in `dir`, restartable. */
export class RedisProcess {
  private child: ChildProcess | undefined;
  private out = '';

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: readonly string[],
    readonly name: string,
  ) {}

  output(): string {
    return this.out;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running()) throw new Error(`${this.name} already runs`);
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no', ...this.args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.out += d.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    const until = Date.now() + 10_000;
    while (!(await pingRedis('127.0.0.1', this.port))) {
      if (exited) throw new Error(`${this.name} (port ${this.port}) exited at start:\n${this.out}`);
      if (Date.now() > until) throw new Error(`${this.name} (port ${this.port}) did not answer PING:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(graceful: boolean): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running()) return;
    const exited = once(child, 'exit');
    child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

let prefixSeq = 0;

/** Starts a private redis-server (or returns the shared one of STOMPEDE_TEST_REDIS_URL). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisHandle> {
  if (redisProvider() === 'testcontainers') return containerRedis(options);
  const shared = process.env['STOMPEDE_TEST_REDIS_URL'];
  if (shared) return sharedRedis(shared);
  const name = options.name ?? 'redis';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stompede-redis-'));
  const args = ['--save', '', '--appendonly', options.appendonly ? 'yes' : 'no'];
  if (options.appendonly) args.push('--appendfsync', 'always');
  const server = new RedisProcess(port, dir, [...args, ...(options.args ?? [])], name);
  try {
    await server.start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `redis://127.0.0.1:${port}`;
  const handle: RedisHandle = {
    host: '127.0.0.1',
    port,
    url,
    keyPrefix: undefined,
    cannotRestart: undefined,
    brokerEnv: () => ({ STOMPEDE_REDIS_URL: url }),
    cli: (...a) => runCli(['-h', '127.0.0.1', '-p', String(port), ...a]),
    ping: () => pingRedis('127.0.0.1', port),
    stop: (o = {}) => server.stop(o.graceful ?? options.appendonly ?? false),
    start: () => server.start(),
    async restart(o = {}) {
      await handle.stop(o);
      await handle.start();
    },
    running: () => server.running(),
    output: () => server.output(),
    async cleanup() {
      await server.stop(false);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

async function containerRedis(options: RedisOptions): Promise<RedisHandle> {
  const args = ['--appendonly', options.appendonly ? 'yes' : 'no', ...(options.appendonly ? ['--appendfsync', 'always'] : []), ...(options.args ?? [])];
  const container = await startRedisContainer(args);
  const cannot = redisNotRestartable()!;
  return {
    host: container.host,
    port: container.port,
    url: container.url,
    keyPrefix: undefined,
    cannotRestart: cannot,
    brokerEnv: () => ({ STOMPEDE_REDIS_URL: container.url }),
    cli: (...a) => container.cli(...a),
    ping: () => pingRedis(container.host, container.port),
    stop: () => Promise.reject(new Error(cannot)),
    start: () => Promise.reject(new Error(cannot)),
    restart: () => Promise.reject(new Error(cannot)),
    running: () => true,
    output: () => container.output(),
    cleanup: () => container.stop(),
  };
}

function sharedRedis(url: string): RedisHandle {
  const u = new URL(url);
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || 6379);
  const keyPrefix = `stt${process.pid}x${++prefixSeq}x${Date.now().toString(36)}`;
  const cannot = 'the shared Redis of STOMPEDE_TEST_REDIS_URL cannot be stopped or restarted by tests';
  const cli = (...a: string[]): Promise<string> => runCli(['-u', url, ...a]);
  return {
    host,
    port,
    url,
    keyPrefix,
    cannotRestart: cannot,
    brokerEnv: () => ({ STOMPEDE_REDIS_URL: url, STOMPEDE_REDIS_KEY_PREFIX: keyPrefix }),
    cli,
    ping: () => pingRedis(host, port),
    stop: () => Promise.reject(new Error(cannot)),
    start: () => Promise.reject(new Error(cannot)),
    restart: () => Promise.reject(new Error(cannot)),
    running: () => true,
    output: () => '',
    async cleanup() {
      const keys = (await cli('--scan', '--pattern', `${keyPrefix}:*`)).split('\n').filter((k) => k.length > 0);
      for (let i = 0; i < keys.length; i += 500) await cli('UNLINK', ...keys.slice(i, i + 500));
    },
  };
}

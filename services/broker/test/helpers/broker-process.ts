// Starts real broker processes (the built services/broker/dist/main.js) on free ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Ports this test process handed out: the kernel may offer a just-closed port again. */
const handedOut = new Set<number>();

/** A port nothing listens on now and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    server.close();
    await once(server, 'close');
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/**
 * Abuse limits that count per client address or cap one connection's SEND rate are off in tests:
 * every test client comes from one address and plays many clients, and floods on purpose. The tests
 * of those limits (limits-*.test.ts, hostile-*.test.ts) set their own values.
 */
export const TEST_LIMITS_ENV: Readonly<Record<string, string>> = {
  STOMPEDE_MAX_CONNECTIONS_PER_IP: '0',
  STOMPEDE_CONNECTION_RATE_PER_IP: '0',
  STOMPEDE_MAX_SENDS_PER_SECOND: '0',
};

/** The admin token test brokers use unless a test sets its own. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface BrokerHandle {
  readonly wsPort: number;
  readonly tcpPort: number;
  /** STOMP-over-TLS port (0 when the test set no STOMPEDE_TLS_CERT). */
  readonly tlsPort: number;
  /** Admin gRPC port (0 when the test switched the admin API off). */
  readonly adminPort: number;
  /** host:port of the admin API. */
  readonly adminAddress: string;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  kill(): void;
}

export interface StartOptions {
  /** STOMPEDE_* settings on top of the test defaults. */
  readonly env?: Record<string, string>;
  readonly args?: readonly string[];
  readonly timeoutMs?: number;
  /** The program and its first arguments; default: this node running services/broker/dist/main.js. */
  readonly command?: readonly string[];
  readonly cwd?: string;
  /** The address the listeners bind to (STOMPEDE_BIND) and the handle's URLs name; default 127.0.0.1. */
  readonly host?: string;
  /** Which broker this is, in the errors of a start that failed; default "broker". */
  readonly name?: string;
  /** Called with everything printed so far whenever the process prints, from its spawn on (before it listens). */
  readonly onOutput?: (output: string) => void;
}

/** Starts with new ports when one this helper picked was taken before the broker bound it. */
const START_ATTEMPTS = 3;

/**
 * Starts a broker and resolves once it logged that it is listening. Ports are free ones unless
 * `options.env` sets them (a node restarted on the ports it had); a port set to 0 (off) is
 * reported as a free port nothing listens on. A free port can be taken between the check and the
 * broker's bind (another test's listener, or any connection's ephemeral port): the broker then
 * exits with "cannot listen on", and is started again on other ports.
 */
export async function startBroker(options: StartOptions = {}): Promise<BrokerHandle> {
  const given = new Set(Object.entries(options.env ?? {}).filter(([k]) => k.endsWith('_PORT')).map(([, v]) => v));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      const taken = /(?:cannot listen on|address already in use) \S*:(\d+)/.exec((err as Error).message)?.[1];
      if (attempt >= START_ATTEMPTS || taken === undefined || given.has(taken)) throw err;
    }
  }
}

async function startOnce(options: StartOptions): Promise<BrokerHandle> {
  const port = async (name: string): Promise<number> => {
    const given = options.env?.[name];
    return given !== undefined && given !== '0' ? Number(given) : freePort();
  };
  const host = options.host ?? '127.0.0.1';
  // An IPv6 host goes in brackets in a URL or host:port (a listener on :: is reached through [::]).
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const wsPort = await port('STOMPEDE_WS_PORT');
  const tcpPort = await port('STOMPEDE_TCP_PORT');
  const tlsPort = options.env?.['STOMPEDE_TLS_CERT'] ? await port('STOMPEDE_TLS_PORT') : 0;
  const env: Record<string, string> = {
    ...process.env as Record<string, string>,
    STOMPEDE_BIND: host,
    STOMPEDE_WS_PORT: String(wsPort),
    STOMPEDE_TCP_PORT: String(tcpPort),
    STOMPEDE_ADMIN_PORT: String(await port('STOMPEDE_ADMIN_PORT')),
    ...(tlsPort !== 0 && { STOMPEDE_TLS_PORT: String(tlsPort) }),
    STOMPEDE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    STOMPEDE_LOG_LEVEL: 'debug',
    STOMPEDE_NODE_ID: 'test-node',
    // SIGTERM drains: in tests, at once (tests of the drain itself set their own timings).
    STOMPEDE_DRAIN_GRACE_MS: '0',
    STOMPEDE_DRAIN_WINDOW_MS: '0',
    ...TEST_LIMITS_ENV,
    ...options.env,
  };
  const adminPort = Number(env['STOMPEDE_ADMIN_PORT']);
  const [program, ...programArgs] = options.command ?? [process.execPath, MAIN];
  const child = spawn(program!, [...programArgs, ...(options.args ?? [])], { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const printed = (d: Buffer): void => {
    out += d.toString();
    options.onOutput?.(out);
  };
  child.stdout!.on('data', printed);
  child.stderr!.on('data', printed);
  const exited = once(child, 'exit');
  await untilListening(child, () => out, options.name ?? 'broker', options.timeoutMs ?? 10_000);
  return {
    wsPort,
    tcpPort,
    tlsPort,
    adminPort,
    adminAddress: `${hostPart}:${adminPort}`,
    wsUrl: `ws://${hostPart}:${wsPort}/ws`,
    httpUrl: `http://${hostPart}:${wsPort}`,
    process: child,
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

/** Resolves once `child` logged that it listens; rejects if it exits first or takes longer than `timeoutMs` (it is killed then). */
function untilListening(child: ChildProcess, output: () => string, name: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // A node that never came up must not outlive the caller's error.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${output()}`));
    }, timeoutMs);
    const check = (): void => {
      if (output().includes('stompede listening')) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${output()}`));
    });
  });
}

/** Runs the broker binary to completion (for --help, bad settings, refusing to start). */
export async function runBroker(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env as Record<string, string>, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

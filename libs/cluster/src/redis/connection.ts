// Redis connections. Commands go over one auto-pipelined connection (ioredis writes every command
// of a turn in one batch, per cluster node). Topic stream writes have a connection of their own,
// without auto-pipelining: they are batched already (publish-batch.ts), and an ioredis pipeline per
// batch was a third of what a publish allocated. Each blocking reader has a connection of its own,
// since a blocked XREAD stalls whatever else is queued behind it on the same socket.
import type { Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { clusterSeeds } from './urls.js';

export type Conn = Redis | Cluster;

export type Role = 'commands' | 'writes' | 'reader';

/** TCP keep-alive probes on every connection: a peer that vanished without a FIN is noticed. */
const KEEPALIVE_MS = 5_000;

/**
 * Opens one or more redis:// or rediss:// URLs; several mean Redis Cluster seeds. `timeoutMs`
 * bounds every command of the command and write connections: a network path to Redis that stalls (no FIN, no
 * RST: a partition) otherwise leaves commands waiting for as long as it lasts, and the node would
 * never know Redis is unreachable.
 */
export function openConnection(urls: readonly string[], name: string, role: Role, timeoutMs: number): Conn {
  // Commands and writes fail fast; a reader waits (its reads block by design).
  const commands = role !== 'reader';
  const pipelined = role === 'commands';
  const common = {
    connectionName: name,
    // Commands fail on a dropped connection instead of being resent later: the broker decides per
    // command what a failure means (an outbox entry, an ERROR). A reader's read fails too, and the
    // reader re-establishes its read positions before it reads again (follow.ts): a read resent
    // blindly could have been served already, its reply lost with the connection.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: commands ? 0 : null,
    enableAutoPipelining: pipelined,
    lazyConnect: true,
    keepAlive: KEEPALIVE_MS,
    connectTimeout: Math.max(timeoutMs, 1_000),
    ...(commands ? { commandTimeout: timeoutMs } : {}),
  };
  const retry = (times: number): number => Math.min(50 * times, 1000);
  if (urls.length === 1) {
    return new Redis(urls[0]!, { ...common, enableOfflineQueue: !commands, retryStrategy: retry });
  }
  // TLS, credentials and ?options come from the seeds' URLs (urls.ts), the URL winning over the
  // defaults above as it does for a single URL in ioredis.
  const { seeds, redisOptions } = clusterSeeds(urls);
  return new Cluster(seeds, {
    lazyConnect: true,
    enableOfflineQueue: !commands,
    enableAutoPipelining: pipelined,
    clusterRetryStrategy: retry,
    redisOptions: { ...common, ...redisOptions },
  });
}

/**
 * Drops every socket of `conn` with a TCP reset (nothing it had not sent yet goes out later) and
 * lets ioredis reconnect.
 */
export function resetConnection(conn: Conn): void {
  for (const node of conn instanceof Cluster ? conn.nodes() : [conn]) {
    (node as unknown as { stream?: Socket }).stream?.resetAndDestroy?.();
  }
  conn.disconnect(true);
}

/**
 * Connects and waits until the connection (or, for a cluster, the slot map) is ready. A failed
 * attempt is retried at the retry strategy's pace until `deadlineMs` has passed: a Redis that is
 * restarting, or slow to accept on a busy machine, is no reason for a starting node to give up.
 * Each failure with a new reason goes to `onFailure` (a refused connection, a certificate refused;
 * a cluster's own summary says neither), and the rejection past the deadline carries the last one.
 */
export function connectNow(conn: Conn, deadlineMs: number, onFailure: (reason: string) => void = () => {}): Promise<void> {
  let last = '';
  // A cluster alternates a node's reason with its own summary: each is told once.
  const told = new Set<string>();
  const failed = (err: Error): void => {
    last = err.message;
    if (told.has(last)) return;
    told.add(last);
    onFailure(last);
  };
  let timer: NodeJS.Timeout | undefined;
  let onReady = (): void => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    conn.once('ready', onReady);
    timer = setTimeout(() => {
      conn.disconnect();
      reject(new Error(`Redis not ready within ${deadlineMs} ms${last === '' ? '' : `: ${last}`}`));
    }, deadlineMs);
  });
  conn.on('error', failed);
  conn.on('node error', failed);
  // The first attempt's rejection is one of the failures above; the retry strategy goes on.
  conn.connect().catch(() => {});
  return ready.finally(() => {
    clearTimeout(timer);
    conn.off('ready', onReady);
    conn.off('error', failed);
    conn.off('node error', failed);
  });
}

/** Turns a RESP bulk/array reply into text; ioredis gives Buffers from callBuffer. */
export function str(x: unknown): string {
  return Buffer.isBuffer(x) ? x.toString() : String(x);
}

type Args = readonly (string | number | Buffer)[];
type Methods = Record<string, ((...args: Args) => Promise<unknown>) | undefined>;

/**
 * Sends a command through its named ioredis method (`xadd`, `xreadgroup`, ...): only those take
 * part in auto-pipelining (the generic `call` does not survive it in ioredis 6).
 */
export function cmd(conn: Conn, name: string, args: Args): Promise<unknown> {
  return invoke(conn, name.toLowerCase(), args);
}

/** As `cmd`, with bulk replies as Buffers (bodies stay bytes, no UTF-8 round trip). */
export function cmdBuffer(conn: Conn, name: string, args: Args): Promise<unknown> {
  return invoke(conn, name.toLowerCase() + 'Buffer', args);
}

function invoke(conn: Conn, method: string, args: Args): Promise<unknown> {
  const methods = conn as unknown as Methods;
  if (typeof methods[method] !== 'function') throw new Error(`ioredis has no method ${method}`);
  // Called as a method, so `this` is the connection without binding a function per command.
  return methods[method]!(...args);
}

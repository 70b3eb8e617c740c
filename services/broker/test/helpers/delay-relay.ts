// A TCP relay that holds back what it forwards by a set delay, for a slow network path where the
// kernel has no `tc netem` (sch_netem is a module many VM kernels leave out). Each direction keeps
// its byte order, and a delay lowered mid-stream never lets later bytes overtake earlier ones, as
// on a real link. It does not push back on a fast sender: test traffic is small.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface DelayRelay {
  readonly host: string;
  readonly port: number;
  /** Delay added to the bytes going to the target (ms) and to the bytes coming back from it. */
  setDelay(toTargetMs: number, toClientMs: number): void;
  /** Connections relayed so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Forwards `from`'s bytes to `to`, each chunk `delayMs()` after it arrived; ends `to` after the last one. */
function delayedPipe(from: Socket, to: Socket, delayMs: () => number): void {
  const queue: { due: number; chunk: Buffer | null }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let lastDue = 0;
  const flush = (): void => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { chunk } = queue.shift()!;
      if (chunk === null) to.end();
      else if (!to.destroyed) to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(flush, queue[0]!.due - now);
  };
  const push = (chunk: Buffer | null): void => {
    lastDue = Math.max(lastDue, Date.now() + delayMs());
    queue.push({ due: lastDue, chunk });
    if (timer === undefined) timer = setTimeout(flush, Math.max(0, queue[0]!.due - Date.now()));
  };
  from.on('data', (d: Buffer) => push(d));
  from.on('end', () => push(null));
  from.on('close', () => {
    if (queue.length === 0 && timer === undefined) to.destroy();
  });
}

/** Listens on `host` (port 0: any) and relays every connection to `target`. */
export async function startDelayRelay(host: string, port: number, target: { host: string; port: number }): Promise<DelayRelay> {
  let toTarget = 0;
  let toClient = 0;
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    count++;
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    delayedPipe(client, upstream, () => toTarget);
    delayedPipe(upstream, client, () => toClient);
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    host,
    port: (server.address() as { port: number }).port,
    setDelay(a, b) {
      toTarget = a;
      toClient = b;
    },
    connections: () => count,
    async close() {
      const closed = once(server, 'close');
      server.close();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

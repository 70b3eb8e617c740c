// Connection storm and churn for the driver, as loadtest/k6/lib/connections.ts: connections
// arriving at a fixed rate, each CONNECT, SUBSCRIBE with a receipt, hold, DISCONNECT with a
// receipt, on stompbench's raw WebSocket client.
import { StompConn, parseUrl } from '../../bench/stompbench/lib.js';
import type { Metrics } from './metrics.js';
import { nowMs } from './topic.js';

export interface ChurnOptions {
  readonly urls: readonly string[];
  /** Index of the first URL; arrivals go round the list from there. */
  readonly home: number;
  readonly destination: string;
  readonly connectsPerSec: number;
  readonly durationMs: number;
  readonly holdMs: number;
  readonly connectTimeoutMs: number;
  readonly metrics: Metrics;
}

async function oneConnection(url: string, o: ChurnOptions): Promise<void> {
  const u = parseUrl(url);
  const conn = new StompConn({ transport: 'raw', host: u.host, port: u.port, path: u.path, vhost: '/', subprotocols: ['v12.stomp'], connectTimeoutMs: o.connectTimeoutMs });
  const started = nowMs();
  conn.onErrorFrame = () => o.metrics.add('stomp_errors');
  try {
    await conn.connect();
    o.metrics.add('stomp_connects');
    o.metrics.add('stomp_connect_ms', nowMs() - started);
    await conn.subscribe(o.destination, 'churn', 'auto', {}, true);
  } catch {
    o.metrics.add('stomp_connect_errors');
    conn.destroy();
    return;
  }
  await new Promise((r) => setTimeout(r, o.holdMs));
  await conn.disconnect(o.connectTimeoutMs);
}

/** Runs the arrivals; resolves when every connection has come and gone. */
export async function runChurn(o: ChurnOptions): Promise<void> {
  const total = Math.round((o.connectsPerSec * o.durationMs) / 1000);
  const running: Promise<void>[] = [];
  const started = Date.now();
  let opened = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - started) * o.connectsPerSec) / 1000) + 1);
      while (opened < due) running.push(oneConnection(o.urls[(o.home + opened++) % o.urls.length]!, o));
      if (opened >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  await Promise.all(running);
}

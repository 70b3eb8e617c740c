// What every hostile-input test checks after its attack (docs/security.md, "Hostile input"): the
// node is up and serving, its resident memory grew by less than a stated bound, and a well-behaved
// pair of clients keeps exchanging messages, in order.
import assert from 'node:assert/strict';
import type { BrokerHandle } from './broker-process.js';
import { eventually } from './expect.js';
import { metric, rssBytes } from './metrics.js';
import { RawClient, type TransportKind } from './raw-client.js';
import type { HealthyPair } from './robustness.js';

const MIB = 1024 * 1024;

export interface Baseline {
  readonly rss: number;
  readonly connections: number;
}

/** RSS and open connections before an attack. */
export async function baseline(broker: BrokerHandle): Promise<Baseline> {
  return { rss: rssBytes(broker.pid), connections: await metric(broker, 'stompede_connections') };
}

/**
 * After an attack: the process is alive, /healthz answers, a fresh client connects (retried while
 * its address is over the connection rate; 'none' when the attack locked the test's address out),
 * the pair
 * exchanges messages, every attacker connection was released (back to the baseline's count) and
 * RSS grew by less than `rssBoundMiB`. Returns the growth in MiB, for the test's diagnostics.
 */
export async function assertUnharmed(
  broker: BrokerHandle,
  before: Baseline,
  pair: HealthyPair,
  rssBoundMiB: number,
  fresh: { kind: TransportKind; headers: Record<string, string> } | 'none' = { kind: 'tcp', headers: {} },
): Promise<number> {
  assert.equal(broker.process.exitCode, null, 'the broker exited');
  assert.equal(broker.process.signalCode, null, 'the broker was killed');
  assert.equal((await fetch(`${broker.httpUrl}/healthz`)).status, 200);
  await pair.exchange(10);
  // A fresh client connects (after a connect flood, once the address's rate bucket has refilled).
  if (fresh !== 'none') {
    await eventually(async () => {
      const c = await RawClient.open(fresh.kind, broker);
      const answer = await c.connect(fresh.headers).then(() => true, () => false);
      c.close();
      return answer;
    }, () => 'no fresh client could connect', 20_000);
  }
  await eventually(
    async () => (await metric(broker, 'stompede_connections')) <= before.connections,
    async () => `connections left open: ${await metric(broker, 'stompede_connections')} (before: ${before.connections})`,
    20_000,
  );
  const grown = (rssBytes(broker.pid) - before.rss) / MIB;
  assert.ok(grown < rssBoundMiB, `RSS grew by ${grown.toFixed(1)} MiB (bound ${rssBoundMiB} MiB)`);
  assert.doesNotMatch(broker.output(), /"level":(50|60)/, 'the broker logged an error');
  return grown;
}

/** Runs `n` tasks with at most `concurrency` at a time. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  }));
  return out;
}

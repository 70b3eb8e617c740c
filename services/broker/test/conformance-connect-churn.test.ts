// STOMP 1.2 server checklist, section 2.2 "Connection lifecycle", rule #19: clients that rapidly
// connect and disconnect. Hundreds of short connections over TCP and WebSocket, ended every way a
// client ends one (DISCONNECT with receipt, dropping the socket after CONNECT or before it, being
// refused), must leave the broker with no connections and no extra file descriptors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { eventually, expectErrorThenClose } from './helpers/expect.js';
import { fdCount, metric } from './helpers/metrics.js';
import { frame, header, TRANSPORTS, type TransportKind } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const CYCLES_PER_TRANSPORT = 200;
const CONCURRENCY = 8;
/** Descriptors the process may open lazily later on (timers, DNS, worker threads...). */
const FD_MARGIN = 8;

describe('conformance: connect/disconnect churn (#19)', () => {
  // info: debug logging of hundreds of closes would only slow the broker down.
  const { broker, openRaw } = useBroker({ env: { STOMPEDE_LOG_LEVEL: 'info' } });

  /** One short connection, ended in one of four ways picked by `i`. */
  async function cycle(kind: TransportKind, i: number): Promise<void> {
    const c = await openRaw(kind);
    try {
      switch (i % 4) {
        case 0: {
          // Polite: DISCONNECT with a receipt, the RECEIPT arrives before the close.
          await c.connect();
          const r = await c.sendWithReceipt('DISCONNECT', {}, '', 10_000);
          assert.ok(header(r, 'receipt-id'));
          await c.waitClosed(10_000);
          break;
        }
        case 1:
          // Drops the socket right after CONNECTED, holding a subscription.
          await c.connect();
          await c.sendWithReceipt('SUBSCRIBE', { id: '1', destination: `/queue/churn-${i % 7}`, ack: 'client' }, '', 10_000);
          break;
        case 2:
          // Drops the socket before CONNECT.
          break;
        case 3:
          // Refused: ERROR, then the broker closes.
          c.send(frame('CONNECT', { 'accept-version': '9.9', host: '/' }));
          await expectErrorThenClose(c, 'unsupported protocol version');
          break;
      }
    } finally {
      c.close();
    }
  }

  /** Runs `cycles` cycles per transport, interleaved, `CONCURRENCY` at a time. */
  async function churn(cycles: number): Promise<void> {
    const jobs: [TransportKind, number][] = [];
    for (let i = 0; i < cycles; i++) for (const t of TRANSPORTS) jobs.push([t, i]);
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const [t, i] = jobs[next++]!;
        await cycle(t, i);
      }
    }));
  }

  async function settled(): Promise<void> {
    const connections = (): Promise<number> => metric(broker(), 'stompede_connections');
    await eventually(async () => (await connections()) === 0, async () => `stompede_connections ${await connections()}`);
  }

  test('#19 rapid connect/disconnect churn over TCP and WebSocket leaves 0 connections and no leaked fds', async () => {
    // Warm-up, so descriptors the process opens once (epoll, worker threads) are in the baseline.
    await churn(20);
    await settled();
    const baseline = fdCount(broker().pid);
    const opened = await metric(broker(), 'stompede_connections_opened_total');

    await churn(CYCLES_PER_TRANSPORT);
    await settled();
    assert.equal((await metric(broker(), 'stompede_connections_opened_total')) - opened, CYCLES_PER_TRANSPORT * TRANSPORTS.length);
    await eventually(
      () => fdCount(broker().pid) <= baseline + FD_MARGIN,
      () => `fds ${fdCount(broker().pid)}, baseline ${baseline}`,
    );

    // The broker still serves new clients normally.
    for (const t of TRANSPORTS) {
      const c = await openRaw(t);
      const connected = await c.connect();
      assert.equal(header(connected, 'version'), '1.2');
      await c.sendWithReceipt('DISCONNECT', {});
      await c.waitClosed();
    }
    await settled();
  });
});

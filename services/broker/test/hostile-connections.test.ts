// Hostile clients that attack with connections rather than bytes, against a live node: a
// connect/disconnect flood from one address (refused past connectionRatePerIp with ERROR connecting
// too fast, before any session exists), and a subscription flood (SUBSCRIBE past maxSubscriptions
// gets ERROR too many subscriptions; subscribe/unsubscribe churn leaves nothing behind). For each:
// the node stays up, its RSS grows by less than the stated bound, every attacker connection is
// released, and a well-behaved pair keeps exchanging messages throughout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectErrorThenClose } from './helpers/expect.js';
import { assertUnharmed, baseline, pool } from './helpers/hostile.js';
import { metric } from './helpers/metrics.js';
import { frame, header, RawClient } from './helpers/raw-client.js';
import { useHealthyPair } from './helpers/robustness.js';
import { useBroker } from './helpers/suite.js';

const CONNECT = frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' });

describe('hostile: connect/disconnect flood', () => {
  const suite = useBroker({ env: { STOMPEDE_CONNECTION_RATE_PER_IP: '20', STOMPEDE_CONNECTION_BURST_PER_IP: '50' } });
  const pair = useHealthyPair(suite, '/topic/hostile-conn-healthy');

  test('1000 connections opened and dropped as fast as possible: each is CONNECTED or refused with ERROR connecting too fast (RSS bound 64 MiB)', async (t) => {
    const broker = suite.broker();
    await pair().exchange(5);
    const before = await baseline(broker);
    const exchanging = (async () => {
      for (let i = 0; i < 10; i++) await pair().exchange(3);
    })();
    const outcomes = await pool(1000, 50, async (i) => {
      const c = await RawClient.open(i % 3 === 0 ? 'ws' : 'tcp', broker);
      c.send(CONNECT);
      const first = await c.next(15_000);
      if (first.command === 'ERROR') {
        await expectErrorThenClose(c, 'connecting too fast', 15_000);
        return 'refused';
      }
      assert.equal(first.command, 'CONNECTED');
      // Half leave politely, half vanish.
      if (i % 2 === 0) await c.sendWithReceipt('DISCONNECT', {}, '', 15_000);
      c.close();
      return 'connected';
    });
    await exchanging;
    const refused = outcomes.filter((o) => o === 'refused').length;
    assert.ok(refused > 0 && refused < outcomes.length, `${refused} of ${outcomes.length} refused`);
    assert.equal(await metric(broker, 'stompede_limit_hits_total', { limit: 'connectionRatePerIp' }), refused);
    // The pair's two sessions and the accepted attackers': none for a refused connection.
    assert.equal(await metric(broker, 'stompede_connections_opened_total'), 2 + outcomes.length - refused);
    const grown = await assertUnharmed(broker, before, pair(), 64);
    t.diagnostic(`${refused} of ${outcomes.length} refused; RSS grew by ${grown.toFixed(1)} MiB`);
  });
});

describe('hostile: subscription flood', () => {
  const MAX_SUBSCRIPTIONS = 100;
  const suite = useBroker({ env: { STOMPEDE_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS) } });
  const pair = useHealthyPair(suite, '/topic/hostile-subs-healthy');

  test('5000 SUBSCRIBEs in one write: the one past maxSubscriptions gets ERROR too many subscriptions', async () => {
    const broker = suite.broker();
    await pair().exchange(5);
    const before = await baseline(broker);
    const subsBefore = await metric(broker, 'stompede_subscriptions');
    const attackers = await pool(10, 10, async (a) => {
      const c = await suite.connectRaw(a % 2 === 0 ? 'tcp' : 'ws');
      const flood = Array.from({ length: 5000 }, (_, i) => frame('SUBSCRIBE', { id: `s${i}`, destination: `/topic/flood.${a}.${i}.#`, receipt: `r${i}` }));
      c.send(Buffer.concat(flood));
      const e = await expectErrorThenClose(c, 'too many subscriptions', 20_000);
      assert.equal(header(e, 'receipt-id'), `r${MAX_SUBSCRIPTIONS}`);
      return c.frames.filter((f) => f.command === 'RECEIPT').length;
    });
    assert.deepEqual(attackers, Array<number>(10).fill(MAX_SUBSCRIPTIONS));
    await assertUnharmed(broker, before, pair(), 64);
    assert.equal(await metric(broker, 'stompede_subscriptions'), subsBefore);
  });

  test('20 connections churn subscribe/unsubscribe at the limit: nothing is left behind (RSS bound 64 MiB)', async () => {
    const broker = suite.broker();
    const before = await baseline(broker);
    const subsBefore = await metric(broker, 'stompede_subscriptions');
    const exchanging = (async () => {
      for (let i = 0; i < 10; i++) await pair().exchange(3);
    })();
    await pool(20, 20, async (a) => {
      const c = await suite.connectRaw(a % 2 === 0 ? 'tcp' : 'ws');
      for (let round = 0; round < 5; round++) {
        const subscribe = Array.from({ length: MAX_SUBSCRIPTIONS }, (_, i) => frame('SUBSCRIBE', { id: `s${i}`, destination: `/topic/churn.${a}.${round}.${i}` }));
        const unsubscribe = Array.from({ length: MAX_SUBSCRIPTIONS }, (_, i) => frame('UNSUBSCRIBE', { id: `s${i}` }));
        c.send(Buffer.concat(subscribe));
        c.send(Buffer.concat(unsubscribe));
      }
      await c.sendWithReceipt('DISCONNECT', {}, '', 20_000);
      c.close();
    });
    await exchanging;
    await assertUnharmed(broker, before, pair(), 64);
    assert.equal(await metric(broker, 'stompede_subscriptions'), subsBefore);
  });
});

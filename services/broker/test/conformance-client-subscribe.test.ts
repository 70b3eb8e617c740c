// STOMP 1.2 server checklist, section 2.4 client frames: SUBSCRIBE, ack modes and UNSUBSCRIBE
// (rules #38-#40, #44).
//
// "Nothing was delivered" is always proven with a barrier: a marker published after the frames in
// question, to the same destination. A subscription receives messages of one destination in publish
// order, so whatever had not arrived before the marker was never published.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodies, drain, killAndWait, messages, sendAll, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose, refused } from './helpers/expect.js';
import { bodyText, frame, header, TRANSPORTS } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const MAX_SUBSCRIPTIONS = 6;

describe('client frames: SUBSCRIBE and UNSUBSCRIBE (#38-#40, #44)', () => {
  const { broker, connectRaw } = useBroker({ env: { STOMPEDE_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS) } });

  // ---------------------------------------------------------------- #38 SUBSCRIBE

  test('#38 SUBSCRIBE without id or destination gets ERROR missing header, then close', async () => {
    for (const kind of TRANSPORTS) {
      const e1 = await refused(broker(), frame('SUBSCRIBE', { destination: '/topic/c38', receipt: 'r1' }), 'missing header', { receipt: 'r1', kind });
      assert.match(bodyText(e1), /SUBSCRIBE requires the "id" header/);
      const e2 = await refused(broker(), frame('SUBSCRIBE', { id: '0', receipt: 'r2' }), 'missing header', { receipt: 'r2', kind });
      assert.match(bodyText(e2), /SUBSCRIBE requires the "destination" header/);
    }
  });

  test('#38 a subscription that cannot be created gets ERROR, then close', async () => {
    const rows: [Record<string, string>, string][] = [
      [{ destination: '/app/chat' }, 'unknown destination prefix'],
      [{ destination: '/exchange/amq.topic/x' }, 'unknown destination prefix'],
      [{ destination: '/queue/jobs.*' }, 'invalid destination'],
      [{ destination: '/queue/jobs.#' }, 'invalid destination'],
      [{ destination: '/reply-queue/test-node/1/x' }, 'invalid destination'],
      [{ destination: '/temp-queue/x' }, 'invalid destination'],
      [{ destination: '' }, 'invalid destination'],
      [{ destination: '/topic/c38', 'prefetch-count': 'abc' }, 'invalid prefetch-count'],
      [{ destination: '/topic/c38', 'prefetch-count': '-1' }, 'invalid prefetch-count'],
      [{ destination: '/topic/c38', 'prefetch-count': '1.5' }, 'invalid prefetch-count'],
    ];
    for (const [headers, message] of rows) {
      await refused(broker(), frame('SUBSCRIBE', { id: 'x', ...headers, receipt: 'r38' }), message, { receipt: 'r38' });
    }
  });

  test('#38 one subscription over maxSubscriptions gets ERROR too many subscriptions, then close', async () => {
    await refused(broker(), frame('SUBSCRIBE', { id: 'over', destination: '/topic/c38-max', receipt: 'r' }), 'too many subscriptions', {
      receipt: 'r',
      setup: async (c) => {
        for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) await c.sendWithReceipt('SUBSCRIBE', { id: `s${i}`, destination: `/topic/c38-max.${i}` });
      },
    });
  });

  // ---------------------------------------------------------------- #39 duplicate ids

  test('#39 a duplicate subscription id gets ERROR duplicate subscription, then close (same or other destination)', async () => {
    for (const destination of ['/topic/c39', '/queue/c39-other', '/topic/c39.*']) {
      const e = await refused(broker(), frame('SUBSCRIBE', { id: 'dup', destination, receipt: 'r39' }), 'duplicate subscription', {
        receipt: 'r39',
        setup: async (c) => {
          await c.sendWithReceipt('SUBSCRIBE', { id: 'dup', destination: '/topic/c39' });
        },
      });
      assert.match(bodyText(e), /"dup"/);
    }
  });

  test('#39 ids are per connection and reusable after UNSUBSCRIBE; one destination may have several ids', async () => {
    const topic = unique('/topic/c39-ok-');
    const a = await connectRaw('tcp');
    const b = await connectRaw('ws');
    await a.sendWithReceipt('SUBSCRIBE', { id: 'same', destination: topic });
    await b.sendWithReceipt('SUBSCRIBE', { id: 'same', destination: topic });
    await a.sendWithReceipt('SUBSCRIBE', { id: 'second', destination: topic });
    await a.sendWithReceipt('UNSUBSCRIBE', { id: 'same' });
    await a.sendWithReceipt('SUBSCRIBE', { id: 'same', destination: topic });
    await a.sendWithReceipt('SEND', { destination: topic }, 'hi');
    const got = await waitMessages(a, 2);
    assert.deepEqual(got.map((m) => header(m, 'subscription')).sort(), ['same', 'second']);
    assert.deepEqual(bodies(await waitMessages(b, 1)), ['hi']);
    assert.equal(header(messages(b)[0]!, 'subscription'), 'same');
  });

  // ---------------------------------------------------------------- #40 ack modes

  test('#40 an invalid ack value gets ERROR invalid ack mode, then close', async () => {
    for (const ack of ['Client', 'AUTO', 'none', '', 'client-individual ', 'individual']) {
      const e = await refused(broker(), frame('SUBSCRIBE', { id: 's', destination: '/queue/c40', ack, receipt: 'r40' }), 'invalid ack mode', { receipt: 'r40' });
      assert.ok(bodyText(e).includes(JSON.stringify(ack)), bodyText(e));
    }
  });

  test('#40 no ack header behaves as ack:auto: no ack header on MESSAGE, nothing redelivered after a failure', async () => {
    for (const ack of [undefined, 'auto']) {
      const q = unique('/queue/c40-auto-');
      const c1 = await connectRaw('tcp');
      await c1.sendWithReceipt('SUBSCRIBE', ack === undefined ? { id: 's', destination: q } : { id: 's', destination: q, ack });
      await sendAll(c1, q, ['one', 'two']);
      const got = await waitMessages(c1, 2);
      for (const m of got) assert.equal(header(m, 'ack'), undefined, 'no ack header in auto mode');
      await killAndWait(broker(), c1); // abrupt: auto-acked messages count as processed
      assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), [], `ack ${ack ?? '(none)'}: nothing comes back`);
    }
  });

  test('#40 ack:client and ack:client-individual are accepted and carry an ack header', async () => {
    const c = await connectRaw('tcp');
    for (const ack of ['client', 'client-individual']) {
      const q = unique(`/queue/c40-${ack}-`);
      await c.sendWithReceipt('SUBSCRIBE', { id: ack, destination: q, ack });
      await c.sendWithReceipt('SEND', { destination: q }, ack);
      const [m] = await waitMessages(c, 1, ack);
      assert.ok(header(m!, 'ack'), `${ack}: ack header present`);
    }
  });

  // ---------------------------------------------------------------- #44 UNSUBSCRIBE

  test('#44 after the RECEIPT for UNSUBSCRIBE no MESSAGE arrives for that subscription', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/c44-');
      const c = await connectRaw(kind);
      const pub = await connectRaw('tcp');
      // Two subscriptions to one destination; the one that stays is the barrier.
      await c.sendWithReceipt('SUBSCRIBE', { id: 'gone', destination: topic });
      await c.sendWithReceipt('SUBSCRIBE', { id: 'stays', destination: topic });
      await pub.sendWithReceipt('SEND', { destination: topic }, 'before');
      await waitMessages(c, 1, 'stays');
      await waitMessages(c, 1, 'gone');
      await c.sendWithReceipt('UNSUBSCRIBE', { id: 'gone' });
      const receiptAt = c.frames.length;
      for (let i = 0; i < 20; i++) await pub.sendWithReceipt('SEND', { destination: topic }, `after-${i}`);
      await waitMessages(c, 21, 'stays');
      assert.deepEqual(
        c.frames.slice(receiptAt).filter((f) => f.command === 'MESSAGE' && header(f, 'subscription') === 'gone').map(bodyText),
        [],
        `${kind}: MESSAGE for an unsubscribed id`,
      );
    }
  });

  test('#44 UNSUBSCRIBE gives unacked queue messages back to the queue', async () => {
    const q = unique('/queue/c44-requeue-');
    const c = await connectRaw('tcp');
    const other = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual' });
    await sendAll(c, q, ['one', 'two']);
    await waitMessages(c, 2, 'c');
    await c.sendWithReceipt('UNSUBSCRIBE', { id: 'c' });
    await other.sendWithReceipt('SUBSCRIBE', { id: 'o', destination: q });
    const got = await waitMessages(other, 2);
    assert.deepEqual(bodies(got), ['one', 'two']);
    for (const m of got) assert.equal(header(m, 'redelivered'), 'true');
    // Settling a message of a subscription that is gone is an error.
    c.send(frame('ACK', { id: header(messages(c)[0]!, 'ack')! }));
    await expectErrorThenClose(c, 'unknown ack id');
  });

  test('#44 UNSUBSCRIBE of an unknown id gets ERROR unknown subscription; without id ERROR missing header', async () => {
    await refused(broker(), frame('UNSUBSCRIBE', { id: 'never', receipt: 'r44' }), 'unknown subscription', { receipt: 'r44' });
    await refused(broker(), frame('UNSUBSCRIBE', { id: 'twice' }), 'unknown subscription', {
      setup: async (c) => {
        await c.sendWithReceipt('SUBSCRIBE', { id: 'twice', destination: '/topic/c44-twice' });
        await c.sendWithReceipt('UNSUBSCRIBE', { id: 'twice' });
      },
    });
    // 1.2 has no unsubscribe-by-destination.
    await refused(broker(), frame('UNSUBSCRIBE', { destination: '/topic/c44-d', receipt: 'r' }), 'missing header', {
      receipt: 'r',
      setup: async (c) => {
        await c.sendWithReceipt('SUBSCRIBE', { id: 'd', destination: '/topic/c44-d' });
      },
    });
  });
});

// STOMP 1.2 server checklist, section 2.4 client frames: transactions (rules #37, #47, #48).
// Transactional ACK/NACK (#45) is in conformance-client-acks.test.ts.
//
// "Nothing was delivered" is always proven with a barrier: a marker published after the frames in
// question, to the same destination. A subscription receives messages of one destination in publish
// order, so whatever had not arrived before the marker was never published.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { barrier, bodies, drain, killAndWait, unique } from './helpers/conformance-kit.js';
import { expectErrorThenClose, refused } from './helpers/expect.js';
import { bodyText, frame, TRANSPORTS } from './helpers/raw-client.js';
import { Inbox, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const MAX_TRANSACTIONS = 3;
const MAX_TRANSACTION_FRAMES = 5;

describe('client frames: transactions (#37, #47, #48)', () => {
  const { broker, connectRaw, stompjs } = useBroker({
    env: {
      STOMPEDE_MAX_TRANSACTIONS: String(MAX_TRANSACTIONS),
      STOMPEDE_MAX_TRANSACTION_FRAMES: String(MAX_TRANSACTION_FRAMES),
    },
  });

  // ---------------------------------------------------------------- #37 transactional SEND

  test('#37 transactional SENDs reach subscribers only on COMMIT, in order, and never after ABORT', async () => {
    const topic = unique('/topic/c37-');
    const q = unique('/queue/c37-');
    const sub = await connectRaw('tcp');
    const pub = await connectRaw('tcp');
    await sub.sendWithReceipt('SUBSCRIBE', { id: 't', destination: topic });
    await sub.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
    await pub.sendWithReceipt('BEGIN', { transaction: 'tx1' });
    for (const b of ['a', 'b']) {
      await pub.sendWithReceipt('SEND', { destination: topic, transaction: 'tx1' }, b);
      await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx1' }, b);
    }
    assert.deepEqual(bodies(await barrier(pub, sub, topic, 't')), [], 'nothing before COMMIT (topic)');
    assert.deepEqual(bodies(await barrier(pub, sub, q, 'q')), [], 'nothing before COMMIT (queue)');
    await pub.sendWithReceipt('COMMIT', { transaction: 'tx1' });
    assert.deepEqual(bodies(await barrier(pub, sub, topic, 't')), ['a', 'b']);
    assert.deepEqual(bodies(await barrier(pub, sub, q, 'q')), ['a', 'b']);

    await pub.sendWithReceipt('BEGIN', { transaction: 'tx2' });
    await pub.sendWithReceipt('SEND', { destination: topic, transaction: 'tx2' }, 'aborted');
    await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx2' }, 'aborted');
    await pub.sendWithReceipt('ABORT', { transaction: 'tx2' });
    assert.deepEqual(bodies(await barrier(pub, sub, topic, 't')), ['a', 'b'], 'nothing after ABORT (topic)');
    assert.deepEqual(bodies(await barrier(pub, sub, q, 'q')), ['a', 'b'], 'nothing after ABORT (queue)');
    // A committed transaction cannot be committed again.
    pub.send(frame('COMMIT', { transaction: 'tx1' }));
    await expectErrorThenClose(pub, 'unknown transaction');
  });

  test('#37 stompjs transactions: begin, publish with transaction, commit / abort', async () => {
    const topic = unique('/topic/c37-js-');
    const sub = await stompjs();
    const pub = await stompjs();
    const inbox = new Inbox();
    await subscribed(sub, topic, inbox.push);
    const aborted = pub.begin();
    pub.publish({ destination: topic, body: 'aborted', headers: { transaction: aborted.id } });
    aborted.abort();
    const committed = pub.begin();
    pub.publish({ destination: topic, body: 'one', headers: { transaction: committed.id } });
    pub.publish({ destination: topic, body: 'two', headers: { transaction: committed.id } });
    committed.commit();
    pub.publish({ destination: topic, body: 'after' });
    await inbox.until(3);
    assert.deepEqual(inbox.bodies, ['one', 'two', 'after']);
  });

  // ---------------------------------------------------------------- #47 transaction errors

  test('#47 BEGIN, COMMIT and ABORT require transaction', async () => {
    for (const command of ['BEGIN', 'COMMIT', 'ABORT']) {
      const e = await refused(broker(), frame(command, { receipt: 'r47' }), 'missing header', { receipt: 'r47' });
      assert.match(bodyText(e), new RegExp(`${command} requires the "transaction" header`));
    }
  });

  test('#47 COMMIT or ABORT of an unknown transaction, and a duplicate BEGIN, get ERROR, then close', async () => {
    await refused(broker(), frame('COMMIT', { transaction: 'nope', receipt: 'c' }), 'unknown transaction', { receipt: 'c' });
    await refused(broker(), frame('ABORT', { transaction: 'nope', receipt: 'a' }), 'unknown transaction', { receipt: 'a' });
    await refused(broker(), frame('BEGIN', { transaction: 't', receipt: 'b' }), 'duplicate transaction', {
      receipt: 'b',
      setup: async (c) => {
        await c.sendWithReceipt('BEGIN', { transaction: 't' });
      },
    });
    // Finished transactions are unknown.
    await refused(broker(), frame('ABORT', { transaction: 'done' }), 'unknown transaction', {
      setup: async (c) => {
        await c.sendWithReceipt('BEGIN', { transaction: 'done' });
        await c.sendWithReceipt('ABORT', { transaction: 'done' });
      },
    });
    await refused(broker(), frame('SEND', { destination: '/topic/c47', transaction: 'nope' }, 'x'), 'unknown transaction');
    // Transaction ids are per connection.
    await refused(broker(), frame('COMMIT', { transaction: 'elsewhere' }), 'unknown transaction', {
      setup: async () => {
        const other = await connectRaw('tcp');
        await other.sendWithReceipt('BEGIN', { transaction: 'elsewhere' });
        other.close();
      },
    });
  });

  test('#47 transaction ids are reusable once finished; several may be open at once', async () => {
    const topic = unique('/topic/c47-ok-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
    for (let round = 0; round < 3; round++) {
      await c.sendWithReceipt('BEGIN', { transaction: 'a' });
      await c.sendWithReceipt('BEGIN', { transaction: 'b' });
      await c.sendWithReceipt('SEND', { destination: topic, transaction: 'a' }, `a${round}`);
      await c.sendWithReceipt('SEND', { destination: topic, transaction: 'b' }, `b${round}`);
      await c.sendWithReceipt('COMMIT', { transaction: 'b' });
      await c.sendWithReceipt('COMMIT', { transaction: 'a' });
    }
    assert.deepEqual(bodies(await barrier(c, c, topic)), ['b0', 'a0', 'b1', 'a1', 'b2', 'a2']);
  });

  test('#47 limits: more than maxTransactions open, or more than maxTransactionFrames in one, get ERROR', async () => {
    await refused(broker(), frame('BEGIN', { transaction: 'over', receipt: 'r' }), 'too many transactions', {
      receipt: 'r',
      setup: async (c) => {
        for (let i = 0; i < MAX_TRANSACTIONS; i++) await c.sendWithReceipt('BEGIN', { transaction: `t${i}` });
      },
    });
    await refused(broker(), frame('SEND', { destination: '/topic/c47-big', transaction: 't', receipt: 'r' }, 'over'), 'transaction too large', {
      receipt: 'r',
      setup: async (c) => {
        await c.sendWithReceipt('BEGIN', { transaction: 't' });
        for (let i = 0; i < MAX_TRANSACTION_FRAMES; i++) await c.sendWithReceipt('SEND', { destination: '/topic/c47-big', transaction: 't' }, `m${i}`);
      },
    });
  });

  // ---------------------------------------------------------------- #48 implicit abort

  test('#48 BEGIN, SEND, then the socket dies: nothing is delivered', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/c48-');
      const q = unique('/queue/c48-');
      const sub = await connectRaw('tcp');
      await sub.sendWithReceipt('SUBSCRIBE', { id: 't', destination: topic });
      await sub.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
      const pub = await connectRaw(kind);
      await pub.sendWithReceipt('BEGIN', { transaction: 'tx' });
      await pub.sendWithReceipt('SEND', { destination: topic, transaction: 'tx' }, 'uncommitted');
      await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx' }, 'uncommitted');
      await killAndWait(broker(), pub); // no DISCONNECT, no COMMIT
      assert.deepEqual(bodies(await barrier(sub, sub, topic, 't')), [], `${kind}: topic`);
      assert.deepEqual(bodies(await barrier(sub, sub, q, 'q')), [], `${kind}: queue`);
    }
  });

  test('#48 DISCONNECT with an open transaction aborts it', async () => {
    const q = unique('/queue/c48-disc-');
    const pub = await connectRaw('tcp');
    await pub.sendWithReceipt('BEGIN', { transaction: 'tx' });
    await pub.sendWithReceipt('SEND', { destination: q, transaction: 'tx' }, 'uncommitted');
    await pub.sendWithReceipt('DISCONNECT', {});
    await pub.waitClosed();
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), []);
  });
});

// Transactions: SEND/ACK/NACK with `transaction` are buffered and applied in order on COMMIT,
// dropped on ABORT or disconnect, within the configured limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit } from './kit.js';

async function withSubscriber(ack = 'auto') {
  const kit = await Kit.create({ config: { maxTransactions: 2, maxTransactionFrames: 3 } });
  const sub = kit.connected();
  sub.send('SUBSCRIBE', { id: 's', destination: '/queue/tx', ack });
  sub.send('SUBSCRIBE', { id: 't', destination: '/topic/tx' });
  kit.flush();
  const c = kit.connected();
  return { kit, sub, c };
}

describe('transactions', () => {
  test('SENDs are held until COMMIT, then applied in order', async () => {
    const { kit, sub, c } = await withSubscriber();
    c.send('BEGIN', { transaction: 'tx' });
    c.send('SEND', { destination: '/queue/tx', transaction: 'tx' }, 'a');
    c.send('SEND', { destination: '/topic/tx', transaction: 'tx' }, 'b');
    c.send('SEND', { destination: '/queue/tx', transaction: 'tx', h: 'v' }, 'c');
    kit.flush();
    assert.deepEqual(sub.take(), []);
    c.send('COMMIT', { transaction: 'tx', receipt: 'done' });
    kit.flush();
    const got = sub.take();
    assert.deepEqual(got.map((f) => [f.h('subscription'), f.text]).sort(), [['s', 'a'], ['s', 'c'], ['t', 'b']]);
    // Order within the queue is the order inside the transaction.
    assert.deepEqual(got.filter((f) => f.h('subscription') === 's').map((f) => f.text), ['a', 'c']);
    // The transaction header is not passed on; user headers are.
    const c2 = got.find((f) => f.text === 'c')!;
    assert.equal(c2.h('transaction'), undefined);
    assert.equal(c2.h('h'), 'v');
    assert.deepEqual(c.take().map((f) => f.h('receipt-id')), ['done']);
  });

  test('a body with NUL survives buffering (it is copied, not a view of a reused buffer)', async () => {
    const { kit, sub, c } = await withSubscriber();
    c.send('BEGIN', { transaction: 'tx' });
    const body = new Uint8Array([1, 0, 2, 0, 3]);
    const frame = new TextEncoder().encode('SEND\ndestination:/queue/tx\ntransaction:tx\ncontent-length:5\n\n');
    const bytes = new Uint8Array(frame.length + body.length + 1);
    bytes.set(frame);
    bytes.set(body, frame.length);
    c.raw(bytes);
    bytes.fill(0x7a); // the transport reuses its buffer
    c.send('COMMIT', { transaction: 'tx' });
    kit.flush();
    assert.deepEqual(sub.take()[0]?.body, body);
  });

  test('ABORT drops the buffered frames', async () => {
    const { kit, sub, c } = await withSubscriber();
    c.send('BEGIN', { transaction: 'tx' });
    c.send('SEND', { destination: '/queue/tx', transaction: 'tx' }, 'a');
    c.send('ABORT', { transaction: 'tx', receipt: 'aborted' });
    c.send('SEND', { destination: '/queue/tx' }, 'outside');
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['outside']);
    assert.deepEqual(c.take().map((f) => f.h('receipt-id')), ['aborted']);
    // The transaction is gone.
    c.send('COMMIT', { transaction: 'tx' });
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'unknown transaction');
  });

  test('disconnect drops open transactions', async () => {
    const { kit, sub, c } = await withSubscriber();
    c.send('BEGIN', { transaction: 'tx' });
    c.send('SEND', { destination: '/queue/tx', transaction: 'tx' }, 'a');
    c.send('DISCONNECT', { receipt: 'bye' });
    kit.flush();
    c.closed();
    kit.flush();
    assert.deepEqual(sub.take(), []);
    assert.equal(kit.memory.stats().queuedMessages, 0);
  });

  test('ACK and NACK in a transaction take effect on COMMIT', async () => {
    const { kit, sub, c } = await withSubscriber('client-individual');
    c.send('SEND', { destination: '/queue/tx' }, 'a');
    c.send('SEND', { destination: '/queue/tx' }, 'b');
    kit.flush();
    const [a, b] = sub.take();
    sub.send('BEGIN', { transaction: 'tx' });
    sub.send('ACK', { id: a!.h('ack')!, transaction: 'tx' });
    sub.send('NACK', { id: b!.h('ack')!, transaction: 'tx' });
    kit.flush();
    assert.deepEqual(sub.take(), []);
    sub.send('COMMIT', { transaction: 'tx' });
    kit.flush();
    // b comes back; a is gone for good.
    assert.deepEqual(sub.take().map((f) => [f.text, f.h('redelivered')]), [['b', 'true']]);
    sub.closed();
    assert.equal(kit.memory.stats().queuedMessages, 1); // b again (requeued on close), not a
  });

  test('ABORT forgets a transactional ACK: the message stays unacked', async () => {
    const { kit, sub, c } = await withSubscriber('client-individual');
    c.send('SEND', { destination: '/queue/tx' }, 'a');
    kit.flush();
    const [a] = sub.take();
    sub.send('BEGIN', { transaction: 'tx' });
    sub.send('ACK', { id: a!.h('ack')!, transaction: 'tx' });
    sub.send('ABORT', { transaction: 'tx' });
    sub.send('ACK', { id: a!.h('ack')!, receipt: 'acked-now' });
    kit.flush();
    assert.deepEqual(sub.take().map((f) => f.h('receipt-id')), ['acked-now']);
  });

  test('an ACK naming an unknown message is refused when sent, not at COMMIT', async () => {
    const { kit, sub } = await withSubscriber('client');
    sub.send('BEGIN', { transaction: 'tx' });
    sub.send('ACK', { id: '1.99', transaction: 'tx', receipt: 'r' });
    kit.flush();
    const [e] = sub.take();
    assert.equal(e?.h('message'), 'unknown ack id');
    assert.equal(e.h('receipt-id'), 'r');
  });

  test('a message settled outside the transaction before COMMIT fails the COMMIT', async () => {
    const { kit, sub, c } = await withSubscriber('client-individual');
    c.send('SEND', { destination: '/queue/tx' }, 'a');
    kit.flush();
    const ack = sub.take()[0]!.h('ack')!;
    sub.send('BEGIN', { transaction: 'tx' });
    sub.send('ACK', { id: ack, transaction: 'tx' });
    sub.send('ACK', { id: ack });
    sub.send('COMMIT', { transaction: 'tx', receipt: 'c' });
    kit.flush();
    const [e] = sub.take();
    assert.equal(e?.h('message'), 'unknown ack id');
    assert.equal(e.h('receipt-id'), 'c');
  });

  test('SEND in a transaction is validated when sent', async () => {
    const { kit, c } = await withSubscriber();
    c.send('BEGIN', { transaction: 'tx' });
    c.send('SEND', { destination: '/nowhere/x', transaction: 'tx', receipt: 'r' }, 'a');
    kit.flush();
    const [e] = c.take();
    assert.equal(e?.h('message'), 'unknown destination prefix');
    assert.equal(e.h('receipt-id'), 'r');
  });

  test('SEND naming an unknown transaction', async () => {
    const { kit, c } = await withSubscriber();
    c.send('SEND', { destination: '/queue/tx', transaction: 'nope' }, 'a');
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'unknown transaction');
  });

  test('duplicate transaction', async () => {
    const { kit, c } = await withSubscriber();
    c.send('BEGIN', { transaction: 'tx' });
    c.send('BEGIN', { transaction: 'tx' });
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'duplicate transaction');
  });

  test('too many transactions (maxTransactions 2)', async () => {
    const { kit, c } = await withSubscriber();
    c.send('BEGIN', { transaction: '1' });
    c.send('BEGIN', { transaction: '2' });
    c.send('COMMIT', { transaction: '1' });
    c.send('BEGIN', { transaction: '3', receipt: 'ok' });
    c.send('BEGIN', { transaction: '4', receipt: 'over' });
    kit.flush();
    const frames = c.take();
    assert.deepEqual(frames.map((f) => f.command), ['RECEIPT', 'ERROR']);
    assert.equal(frames[1]!.h('message'), 'too many transactions');
    assert.match(frames[1]!.text, /maxTransactions/);
  });

  test('transaction too large (maxTransactionFrames 3)', async () => {
    const { kit, sub, c } = await withSubscriber();
    c.send('BEGIN', { transaction: 'tx' });
    for (const b of ['1', '2', '3']) c.send('SEND', { destination: '/queue/tx', transaction: 'tx' }, b);
    c.send('SEND', { destination: '/queue/tx', transaction: 'tx', receipt: 'r' }, '4');
    kit.flush();
    const [e] = c.take();
    assert.equal(e?.h('message'), 'transaction too large');
    assert.equal(e.h('receipt-id'), 'r');
    assert.match(e.text, /maxTransactionFrames/);
    assert.deepEqual(sub.take(), []);
  });
});

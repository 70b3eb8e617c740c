// STOMP 1.2 server checklist, section 2.4 client frames: acknowledgement modes and ids (rules #41,
// #42, #45). The broker's decisions (scratch/DESIGN-NOTES.md): the MESSAGE `ack` header is the 1.2
// ACK/NACK id, usable once; client mode settles cumulatively, client-individual one message; ACK and
// NACK in a transaction take effect on COMMIT. Redelivery after a failure (#43) and NACK (#46) are in
// conformance-client-redelivery.test.ts.
//
// A connection is killed only after the broker confirmed (RECEIPT) everything it sent, so what the
// broker knew at the time of the failure is exact.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { barrier, bodies, consumerWith, drain, killAndWait, messages, sendAll, settle, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, frame, header } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const FIVE = ['m1', 'm2', 'm3', 'm4', 'm5'];

describe('acknowledgements: modes and ids (#41, #42, #45)', () => {
  const { broker, connectRaw } = useBroker();

  // ---------------------------------------------------------------- #41 client mode

  test('#41 client mode ACK is cumulative: ack 3 of 5, only 4-5 redelivered', async () => {
    const q = unique('/queue/a41-');
    const c1 = await consumerWith(await connectRaw('tcp'), q, 'client', FIVE);
    const got = messages(c1, 'c');
    await settle(c1, got[2]!);
    await killAndWait(broker(), c1);
    const frames = await drain(await connectRaw('tcp'), q);
    assert.deepEqual(bodies(frames), ['m4', 'm5']);
    for (const [i, m] of frames.entries()) {
      assert.equal(header(m, 'redelivered'), 'true');
      assert.equal(header(m, 'x-delivery-count'), '1');
      assert.equal(header(m, 'message-id'), header(got[i + 3]!, 'message-id'), 'the same message, not a copy');
    }
  });

  test('#41 client mode: messages before an ACKed one are settled too (a second ACK of them is an error)', async () => {
    for (const destination of [unique('/queue/a41-again-'), unique('/topic/a41-again-')]) {
      const c = await connectRaw('tcp');
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination, ack: 'client' });
      await sendAll(c, destination, FIVE);
      const got = await waitMessages(c, 5, 'c');
      await settle(c, got[2]!);
      await settle(c, got[4]!);
      c.send(frame('ACK', { id: header(got[0]!, 'ack')!, receipt: 'r' }));
      const e = await expectErrorThenClose(c, 'unknown ack id');
      assert.equal(header(e, 'receipt-id'), 'r');
    }
  });

  test('#41 client mode NACK covers every earlier unacked message: nack 3 of 5 requeues 1-3, 4-5 stay unacked', async () => {
    const q = unique('/queue/a41-nack-');
    const c1 = await consumerWith(await connectRaw('tcp'), q, 'client', FIVE);
    await settle(c1, messages(c1, 'c')[2]!, 'NACK');
    // c1 is the only consumer and has credit: 1-3 come back to it, in order.
    const again = (await waitMessages(c1, 8, 'c')).slice(5);
    assert.deepEqual(bodies(again), ['m1', 'm2', 'm3']);
    for (const m of again) assert.equal(header(m, 'x-delivery-count'), '1');
    // Unacked now, in delivery order: m4 m5 m1' m2' m3'. ACK of m5 settles m4 and m5 only.
    await settle(c1, messages(c1, 'c')[4]!);
    await killAndWait(broker(), c1);
    const frames = await drain(await connectRaw('tcp'), q);
    assert.deepEqual(bodies(frames), ['m1', 'm2', 'm3']);
    for (const m of frames) assert.equal(header(m, 'x-delivery-count'), '2');
  });

  // ---------------------------------------------------------------- #42 client-individual

  test('#42 client-individual ACK settles only the named message: ack 3 of 5, 1,2,4,5 redelivered', async () => {
    const q = unique('/queue/a42-');
    const c1 = await consumerWith(await connectRaw('tcp'), q, 'client-individual', FIVE);
    await settle(c1, messages(c1, 'c')[2]!);
    await killAndWait(broker(), c1);
    const frames = await drain(await connectRaw('tcp'), q);
    assert.deepEqual(bodies(frames), ['m1', 'm2', 'm4', 'm5']);
    for (const m of frames) assert.equal(header(m, 'redelivered'), 'true');
  });

  test('#42 client-individual NACK of 3 requeues only 3; 1, 2, 4 and 5 stay unacked and can be ACKed', async () => {
    const q = unique('/queue/a42-nack-');
    const c1 = await consumerWith(await connectRaw('tcp'), q, 'client-individual', FIVE);
    const got = messages(c1, 'c');
    await settle(c1, got[2]!, 'NACK');
    const [again] = (await waitMessages(c1, 6, 'c')).slice(5);
    assert.equal(bodyText(again!), 'm3');
    assert.equal(header(again!, 'redelivered'), 'true');
    for (const i of [0, 1, 3, 4]) await settle(c1, got[i]!);
    await settle(c1, again!);
    assert.deepEqual(bodies(await barrier(c1, c1, q, 'c')), [...FIVE, 'm3'], 'nothing else redelivered');
  });

  test('#42 client-individual on a topic: ACK of a later message leaves earlier ones unacked', async () => {
    const topic = unique('/topic/a42-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: topic, ack: 'client-individual' });
    await sendAll(c, topic, FIVE);
    const got = await waitMessages(c, 5, 'c');
    await settle(c, got[4]!);
    for (const i of [0, 1, 2, 3]) await settle(c, got[i]!);
    c.send(frame('ACK', { id: header(got[4]!, 'ack')! }));
    await expectErrorThenClose(c, 'unknown ack id');
  });

  // ---------------------------------------------------------------- #45 ACK/NACK ids and transactions

  test('#45 ACK/NACK with an id that is not an unsettled ack header gets ERROR, then close', async () => {
    const rows: [string, string][] = [
      ['ACK', 'nope'],
      ['ACK', ''],
      ['ACK', '1'],
      ['ACK', '.1'],
      ['ACK', '1.999'],
      ['ACK', '999.1'],
      ['ACK', '1.1.1'],
      // The valid id is "1.1" (first subscription, first delivery): near misses are not it.
      ['ACK', '1.01'],
      ['ACK', '01.1'],
      ['ACK', ' 1.1'],
      ['ACK', '1.1 '],
      ['ACK', '1.0x1'],
      ['ACK', '+1.1'],
      ['ACK', '1.1.0'],
      ['ACK', '1.1e0'],
      ['NACK', 'nope'],
      ['NACK', '1.999'],
    ];
    for (const [command, id] of rows) {
      const c = await consumerWith(await connectRaw('tcp'), unique('/queue/a45-'), 'client', ['one']);
      c.send(frame(command, { id, receipt: 'r45' }));
      const e = await expectErrorThenClose(c, command === 'ACK' ? 'unknown ack id' : 'unknown nack id');
      assert.equal(header(e, 'receipt-id'), 'r45');
      assert.ok(bodyText(e).includes(`"${id}"`), bodyText(e));
    }
  });

  test('#45 the MESSAGE ack header is the id to use, once: a second ACK or NACK of it is an error', async () => {
    for (const command of ['ACK', 'NACK'] as const) {
      const c = await consumerWith(await connectRaw('tcp'), unique('/queue/a45-twice-'), 'client-individual', ['one', 'two']);
      const [m1, m2] = messages(c, 'c');
      assert.notEqual(header(m1!, 'ack'), header(m2!, 'ack'), 'ack values are distinct');
      await settle(c, m1!, command, command === 'NACK' ? { requeue: 'false' } : {});
      c.send(frame(command, { id: header(m1!, 'ack')! }));
      await expectErrorThenClose(c, command === 'ACK' ? 'unknown ack id' : 'unknown nack id');
    }
  });

  test('#45 ACK and NACK without id get ERROR missing header', async () => {
    for (const command of ['ACK', 'NACK']) {
      const c = await consumerWith(await connectRaw('tcp'), unique('/queue/a45-noid-'), 'client', ['one']);
      // The 1.1 headers are not enough in a 1.2 session.
      const m = messages(c, 'c')[0]!;
      c.send(frame(command, { subscription: 'c', 'message-id': header(m, 'message-id')! }));
      await expectErrorThenClose(c, 'missing header');
    }
  });

  test('#45 a transactional ACK takes effect only on COMMIT', async () => {
    // Not committed: the connection dies and the message comes back.
    const q1 = unique('/queue/a45-tx-');
    const c1 = await consumerWith(await connectRaw('tcp'), q1, 'client-individual', ['kept']);
    await c1.sendWithReceipt('BEGIN', { transaction: 't' });
    await c1.sendWithReceipt('ACK', { id: header(messages(c1, 'c')[0]!, 'ack')!, transaction: 't' });
    await killAndWait(broker(), c1);
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q1)), ['kept'], 'an uncommitted ACK does not settle');

    // Committed: settled.
    const q2 = unique('/queue/a45-tx-');
    const c2 = await consumerWith(await connectRaw('tcp'), q2, 'client-individual', ['gone']);
    await c2.sendWithReceipt('BEGIN', { transaction: 't' });
    await c2.sendWithReceipt('ACK', { id: header(messages(c2, 'c')[0]!, 'ack')!, transaction: 't' });
    await c2.sendWithReceipt('COMMIT', { transaction: 't' });
    await killAndWait(broker(), c2);
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q2)), [], 'a committed ACK settles');
  });

  test('#45 an ACK in an aborted transaction is dropped: the message is still unacked', async () => {
    const q = unique('/queue/a45-abort-');
    const c = await consumerWith(await connectRaw('tcp'), q, 'client-individual', ['m']);
    const m = messages(c, 'c')[0]!;
    await c.sendWithReceipt('BEGIN', { transaction: 't' });
    await c.sendWithReceipt('ACK', { id: header(m, 'ack')!, transaction: 't' });
    await c.sendWithReceipt('ABORT', { transaction: 't' });
    await settle(c, m); // would be ERROR unknown ack id had the aborted ACK applied
  });

  test('#45 a transactional NACK takes effect on COMMIT (redelivery happens then)', async () => {
    const q = unique('/queue/a45-nack-tx-');
    const c = await consumerWith(await connectRaw('tcp'), q, 'client-individual', ['n']);
    await c.sendWithReceipt('BEGIN', { transaction: 't' });
    await c.sendWithReceipt('NACK', { id: header(messages(c, 'c')[0]!, 'ack')!, transaction: 't' });
    assert.equal(messages(c, 'c').length, 1, 'no redelivery before COMMIT');
    await c.sendWithReceipt('COMMIT', { transaction: 't' });
    const again = (await waitMessages(c, 2, 'c'))[1]!;
    assert.equal(bodyText(again), 'n');
    assert.equal(header(again, 'redelivered'), 'true');
  });

  test('#45 a transactional ACK of a message settled before COMMIT gets ERROR at COMMIT', async () => {
    const c = await consumerWith(await connectRaw('tcp'), unique('/queue/a45-late-'), 'client-individual', ['m']);
    const m = messages(c, 'c')[0]!;
    await c.sendWithReceipt('BEGIN', { transaction: 't' });
    await c.sendWithReceipt('ACK', { id: header(m, 'ack')!, transaction: 't' });
    await settle(c, m);
    c.send(frame('COMMIT', { transaction: 't', receipt: 'commit' }));
    const e = await expectErrorThenClose(c, 'unknown ack id');
    assert.equal(header(e, 'receipt-id'), 'commit');
  });
});

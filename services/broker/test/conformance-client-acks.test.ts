// STOMP 1.2 server checklist, section 2.4 client frames: acknowledgement (rules #41-#43, #45, #46).
// The broker's decisions (scratch/DESIGN-NOTES.md): the MESSAGE `ack` header is the 1.2 ACK/NACK
// id; client mode settles cumulatively, client-individual one message; unacked queue messages of a
// lost consumer go back to the head of the queue and are redelivered with `redelivered:true` and
// `x-delivery-count:<previous deliveries>`; NACK requeues by default, `requeue:false` dead-letters
// (STOMPEDE_DEAD_LETTER_DESTINATION) or drops.
//
// A connection is killed only after the broker confirmed (RECEIPT) everything it sent, so what the
// broker knew at the time of the failure is exact.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type BrokerHandle } from './helpers/broker-process.js';
import { barrier, bodies, killAndWait, messages, sendAll, settle, waitMessages } from './helpers/checklist.js';
import { bodyText, connectRaw, expectErrorThenClose, frame, header, RawClient, TRANSPORTS, unique } from './helpers/conformance-kit.js';

const FIVE = ['m1', 'm2', 'm3', 'm4', 'm5'];

/** A consumer of `queue` in `ack` mode that received `bodyList` (published by itself). */
async function consumerWith(broker: BrokerHandle, queue: string, ack: string, bodyList: readonly string[], kind: 'tcp' | 'ws' = 'tcp'): Promise<RawClient> {
  const c = await connectRaw(broker, kind);
  await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: queue, ack });
  await sendAll(c, queue, bodyList);
  assert.deepEqual(bodies(await waitMessages(c, bodyList.length, 'c')), bodyList);
  return c;
}

/** A fresh auto-ack consumer of `queue`: everything the queue holds now (and nothing more). */
async function drain(broker: BrokerHandle, queue: string): Promise<{ frames: ReturnType<typeof messages>; client: RawClient }> {
  const c = await connectRaw(broker, 'tcp');
  await c.sendWithReceipt('SUBSCRIBE', { id: 'd', destination: queue });
  return { frames: await barrier(c, c, queue, 'd'), client: c };
}

describe('acknowledgements', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  // ---------------------------------------------------------------- #41 client mode

  test('#41 client mode ACK is cumulative: ack 3 of 5, only 4-5 redelivered', async () => {
    const q = unique('/queue/a41-');
    const c1 = await consumerWith(broker, q, 'client', FIVE);
    const got = messages(c1, 'c');
    await settle(c1, got[2]!);
    await killAndWait(broker, c1);
    const { frames, client } = await drain(broker, q);
    try {
      assert.deepEqual(bodies(frames), ['m4', 'm5']);
      for (const [i, m] of frames.entries()) {
        assert.equal(header(m, 'redelivered'), 'true');
        assert.equal(header(m, 'x-delivery-count'), '1');
        assert.equal(header(m, 'message-id'), header(got[i + 3]!, 'message-id'), 'the same message, not a copy');
      }
    } finally {
      client.close();
    }
  });

  test('#41 client mode: messages before an ACKed one are settled too (a second ACK of them is an error)', async () => {
    for (const destination of [unique('/queue/a41-again-'), unique('/topic/a41-again-')]) {
      const c = await connectRaw(broker, 'tcp');
      try {
        await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination, ack: 'client' });
        await sendAll(c, destination, FIVE);
        const got = await waitMessages(c, 5, 'c');
        await settle(c, got[2]!);
        await settle(c, got[4]!);
        c.send(frame('ACK', { id: header(got[0]!, 'ack')!, receipt: 'r' }));
        const e = await expectErrorThenClose(c, 'unknown ack id');
        assert.equal(header(e, 'receipt-id'), 'r');
      } finally {
        c.close();
      }
    }
  });

  test('#41 client mode NACK covers every earlier unacked message: nack 3 of 5 requeues 1-3, 4-5 stay unacked', async () => {
    const q = unique('/queue/a41-nack-');
    const c1 = await consumerWith(broker, q, 'client', FIVE);
    await settle(c1, messages(c1, 'c')[2]!, 'NACK');
    // c1 is the only consumer and has credit: 1-3 come back to it, in order.
    const again = (await waitMessages(c1, 8, 'c')).slice(5);
    assert.deepEqual(bodies(again), ['m1', 'm2', 'm3']);
    for (const m of again) assert.equal(header(m, 'x-delivery-count'), '1');
    // Unacked now, in delivery order: m4 m5 m1' m2' m3'. ACK of m5 settles m4 and m5 only.
    await settle(c1, messages(c1, 'c')[4]!);
    await killAndWait(broker, c1);
    const { frames, client } = await drain(broker, q);
    try {
      assert.deepEqual(bodies(frames), ['m1', 'm2', 'm3']);
      for (const m of frames) assert.equal(header(m, 'x-delivery-count'), '2');
    } finally {
      client.close();
    }
  });

  // ---------------------------------------------------------------- #42 client-individual

  test('#42 client-individual ACK settles only the named message: ack 3 of 5, 1,2,4,5 redelivered', async () => {
    const q = unique('/queue/a42-');
    const c1 = await consumerWith(broker, q, 'client-individual', FIVE);
    await settle(c1, messages(c1, 'c')[2]!);
    await killAndWait(broker, c1);
    const { frames, client } = await drain(broker, q);
    try {
      assert.deepEqual(bodies(frames), ['m1', 'm2', 'm4', 'm5']);
      for (const m of frames) assert.equal(header(m, 'redelivered'), 'true');
    } finally {
      client.close();
    }
  });

  test('#42 client-individual NACK of 3 requeues only 3; 1, 2, 4 and 5 stay unacked and can be ACKed', async () => {
    const q = unique('/queue/a42-nack-');
    const c1 = await consumerWith(broker, q, 'client-individual', FIVE);
    try {
      const got = messages(c1, 'c');
      await settle(c1, got[2]!, 'NACK');
      const [again] = (await waitMessages(c1, 6, 'c')).slice(5);
      assert.equal(bodyText(again!), 'm3');
      assert.equal(header(again!, 'redelivered'), 'true');
      for (const i of [0, 1, 3, 4]) await settle(c1, got[i]!);
      await settle(c1, again!);
      assert.deepEqual(bodies(await barrier(c1, c1, q, 'c')), [...FIVE, 'm3'], 'nothing else redelivered');
    } finally {
      c1.close();
    }
  });

  test('#42 client-individual on a topic: ACK of a later message leaves earlier ones unacked', async () => {
    const topic = unique('/topic/a42-');
    const c = await connectRaw(broker, 'tcp');
    try {
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: topic, ack: 'client-individual' });
      await sendAll(c, topic, FIVE);
      const got = await waitMessages(c, 5, 'c');
      await settle(c, got[4]!);
      for (const i of [0, 1, 2, 3]) await settle(c, got[i]!);
      c.send(frame('ACK', { id: header(got[4]!, 'ack')! }));
      await expectErrorThenClose(c, 'unknown ack id');
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- #43 failed connections

  test('#43 unacked queue messages of a killed connection go to a second subscriber with redelivered and x-delivery-count', async () => {
    for (const kind of TRANSPORTS) {
      for (const ack of ['client', 'client-individual']) {
        const q = unique('/queue/a43-');
        const c1 = await consumerWith(broker, q, ack, ['a', 'b', 'c'], kind);
        const first = messages(c1, 'c');
        for (const m of first) assert.equal(header(m, 'redelivered'), undefined, 'first delivery is not marked');
        await killAndWait(broker, c1);
        // The second consumer fails too: the count goes up.
        const c2 = await connectRaw(broker, kind);
        await c2.sendWithReceipt('SUBSCRIBE', { id: 'c2', destination: q, ack });
        const second = await waitMessages(c2, 3, 'c2');
        assert.deepEqual(bodies(second), ['a', 'b', 'c'], `${kind} ${ack}`);
        for (const [i, m] of second.entries()) {
          assert.equal(header(m, 'redelivered'), 'true');
          assert.equal(header(m, 'x-delivery-count'), '1');
          assert.equal(header(m, 'message-id'), header(first[i]!, 'message-id'));
          assert.ok(header(m, 'ack'));
        }
        await killAndWait(broker, c2);
        const { frames, client } = await drain(broker, q);
        try {
          assert.deepEqual(bodies(frames), ['a', 'b', 'c']);
          for (const m of frames) assert.equal(header(m, 'x-delivery-count'), '2');
        } finally {
          client.close();
        }
      }
    }
  });

  test('#43 a consumer that is already waiting takes over the unacked messages of one that dies', async () => {
    const q = unique('/queue/a43-live-');
    const c1 = await consumerWith(broker, q, 'client-individual', ['x', 'y']);
    const c2 = await connectRaw(broker, 'ws');
    try {
      await c2.sendWithReceipt('SUBSCRIBE', { id: 'c2', destination: q, ack: 'client-individual' });
      assert.deepEqual(messages(c2), [], 'nothing for c2 while c1 holds the messages');
      await killAndWait(broker, c1);
      const got = await waitMessages(c2, 2, 'c2');
      assert.deepEqual(bodies(got), ['x', 'y']);
      for (const m of got) assert.equal(header(m, 'redelivered'), 'true');
    } finally {
      c2.close();
    }
  });

  test('#43 unacked messages of a DISCONNECTed consumer are redelivered as well', async () => {
    const q = unique('/queue/a43-disc-');
    const c1 = await consumerWith(broker, q, 'client', ['p', 'q']);
    await c1.sendWithReceipt('DISCONNECT', {});
    await c1.waitClosed();
    const { frames, client } = await drain(broker, q);
    try {
      assert.deepEqual(bodies(frames), ['p', 'q']);
      for (const m of frames) assert.equal(header(m, 'redelivered'), 'true');
    } finally {
      client.close();
    }
  });

  test('#43 unacked topic messages are not redelivered after a failure (topics are not durable)', async () => {
    const topic = unique('/topic/a43-');
    const watcher = await connectRaw(broker, 'tcp');
    try {
      await watcher.sendWithReceipt('SUBSCRIBE', { id: 'w', destination: topic });
      const c1 = await connectRaw(broker, 'tcp');
      await c1.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: topic, ack: 'client' });
      await sendAll(c1, topic, ['t1']);
      await waitMessages(c1, 1, 'c');
      await killAndWait(broker, c1);
      assert.deepEqual(bodies(await barrier(watcher, watcher, topic, 'w')), ['t1'], 'delivered once to the other subscriber, never again');
    } finally {
      watcher.close();
    }
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
      const c = await consumerWith(broker, unique('/queue/a45-'), 'client', ['one']);
      try {
        c.send(frame(command, { id, receipt: 'r45' }));
        const e = await expectErrorThenClose(c, command === 'ACK' ? 'unknown ack id' : 'unknown nack id');
        assert.equal(header(e, 'receipt-id'), 'r45');
        assert.ok(bodyText(e).includes(`"${id}"`), bodyText(e));
      } finally {
        c.close();
      }
    }
  });

  test('#45 the MESSAGE ack header is the id to use, once: a second ACK or NACK of it is an error', async () => {
    for (const command of ['ACK', 'NACK'] as const) {
      const c = await consumerWith(broker, unique('/queue/a45-twice-'), 'client-individual', ['one', 'two']);
      try {
        const [m1, m2] = messages(c, 'c');
        assert.notEqual(header(m1!, 'ack'), header(m2!, 'ack'), 'ack values are distinct');
        await settle(c, m1!, command, command === 'NACK' ? { requeue: 'false' } : {});
        c.send(frame(command, { id: header(m1!, 'ack')! }));
        await expectErrorThenClose(c, command === 'ACK' ? 'unknown ack id' : 'unknown nack id');
      } finally {
        c.close();
      }
    }
  });

  test('#45 ACK and NACK without id get ERROR missing header', async () => {
    for (const command of ['ACK', 'NACK']) {
      const c = await consumerWith(broker, unique('/queue/a45-noid-'), 'client', ['one']);
      try {
        // The 1.1 headers are not enough in a 1.2 session.
        const m = messages(c, 'c')[0]!;
        c.send(frame(command, { subscription: 'c', 'message-id': header(m, 'message-id')! }));
        await expectErrorThenClose(c, 'missing header');
      } finally {
        c.close();
      }
    }
  });

  test('#45 a transactional ACK takes effect only on COMMIT', async () => {
    // Not committed: the connection dies and the message comes back.
    const q1 = unique('/queue/a45-tx-');
    const c1 = await consumerWith(broker, q1, 'client-individual', ['kept']);
    await c1.sendWithReceipt('BEGIN', { transaction: 't' });
    await c1.sendWithReceipt('ACK', { id: header(messages(c1, 'c')[0]!, 'ack')!, transaction: 't' });
    await killAndWait(broker, c1);
    const d1 = await drain(broker, q1);
    d1.client.close();
    assert.deepEqual(bodies(d1.frames), ['kept'], 'an uncommitted ACK does not settle');

    // Committed: settled.
    const q2 = unique('/queue/a45-tx-');
    const c2 = await consumerWith(broker, q2, 'client-individual', ['gone']);
    await c2.sendWithReceipt('BEGIN', { transaction: 't' });
    await c2.sendWithReceipt('ACK', { id: header(messages(c2, 'c')[0]!, 'ack')!, transaction: 't' });
    await c2.sendWithReceipt('COMMIT', { transaction: 't' });
    await killAndWait(broker, c2);
    const d2 = await drain(broker, q2);
    d2.client.close();
    assert.deepEqual(bodies(d2.frames), [], 'a committed ACK settles');
  });

  test('#45 an ACK in an aborted transaction is dropped: the message is still unacked', async () => {
    const q = unique('/queue/a45-abort-');
    const c = await consumerWith(broker, q, 'client-individual', ['m']);
    try {
      const m = messages(c, 'c')[0]!;
      await c.sendWithReceipt('BEGIN', { transaction: 't' });
      await c.sendWithReceipt('ACK', { id: header(m, 'ack')!, transaction: 't' });
      await c.sendWithReceipt('ABORT', { transaction: 't' });
      await settle(c, m); // would be ERROR unknown ack id had the aborted ACK applied
    } finally {
      c.close();
    }
  });

  test('#45 a transactional NACK takes effect on COMMIT (redelivery happens then)', async () => {
    const q = unique('/queue/a45-nack-tx-');
    const c = await consumerWith(broker, q, 'client-individual', ['n']);
    try {
      await c.sendWithReceipt('BEGIN', { transaction: 't' });
      await c.sendWithReceipt('NACK', { id: header(messages(c, 'c')[0]!, 'ack')!, transaction: 't' });
      assert.equal(messages(c, 'c').length, 1, 'no redelivery before COMMIT');
      await c.sendWithReceipt('COMMIT', { transaction: 't' });
      const again = (await waitMessages(c, 2, 'c'))[1]!;
      assert.equal(bodyText(again), 'n');
      assert.equal(header(again, 'redelivered'), 'true');
    } finally {
      c.close();
    }
  });

  test('#45 a transactional ACK of a message settled before COMMIT gets ERROR at COMMIT', async () => {
    const c = await consumerWith(broker, unique('/queue/a45-late-'), 'client-individual', ['m']);
    try {
      const m = messages(c, 'c')[0]!;
      await c.sendWithReceipt('BEGIN', { transaction: 't' });
      await c.sendWithReceipt('ACK', { id: header(m, 'ack')!, transaction: 't' });
      await settle(c, m);
      c.send(frame('COMMIT', { transaction: 't', receipt: 'commit' }));
      const e = await expectErrorThenClose(c, 'unknown ack id');
      assert.equal(header(e, 'receipt-id'), 'commit');
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- #46 NACK without dead-letter destination

  test('#46 NACK requeues by default: the message is redelivered with redelivered:true and a count', async () => {
    const q = unique('/queue/a46-');
    const c = await consumerWith(broker, q, 'client-individual', ['n']);
    try {
      for (let attempt = 1; attempt <= 3; attempt++) {
        await settle(c, messages(c, 'c').at(-1)!, 'NACK', attempt === 2 ? { requeue: 'true' } : {});
        const m = (await waitMessages(c, attempt + 1, 'c')).at(-1)!;
        assert.equal(bodyText(m), 'n');
        assert.equal(header(m, 'redelivered'), 'true');
        assert.equal(header(m, 'x-delivery-count'), String(attempt));
      }
    } finally {
      c.close();
    }
  });

  test('#46 a requeued message goes back to the head of the queue', async () => {
    const q = unique('/queue/a46-head-');
    const c = await connectRaw(broker, 'tcp');
    try {
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual', 'prefetch-count': '1' });
      await sendAll(c, q, ['first', 'second', 'third']);
      const [m] = await waitMessages(c, 1, 'c');
      assert.equal(bodyText(m!), 'first');
      await settle(c, m!, 'NACK');
      const again = (await waitMessages(c, 2, 'c'))[1]!;
      assert.equal(bodyText(again), 'first', 'the NACKed message is next, ahead of second and third');
      await settle(c, again);
      assert.equal(bodyText((await waitMessages(c, 3, 'c'))[2]!), 'second');
    } finally {
      c.close();
    }
  });

  test('#46 NACK requeue:false without a dead-letter destination drops the message', async () => {
    const q = unique('/queue/a46-drop-');
    const c = await consumerWith(broker, q, 'client-individual', ['dropped', 'kept']);
    await settle(c, messages(c, 'c')[0]!, 'NACK', { requeue: 'false' });
    await killAndWait(broker, c);
    const { frames, client } = await drain(broker, q);
    client.close();
    assert.deepEqual(bodies(frames), ['kept']);
  });

  test('#46 NACK on a topic subscription redelivers to the same subscription', async () => {
    const topic = unique('/topic/a46-');
    const c = await connectRaw(broker, 'ws');
    try {
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: topic, ack: 'client' });
      await sendAll(c, topic, ['t1', 't2']);
      const got = await waitMessages(c, 2, 'c');
      await settle(c, got[1]!, 'NACK'); // client mode: t1 and t2
      const again = (await waitMessages(c, 4, 'c')).slice(2);
      assert.deepEqual(bodies(again), ['t1', 't2']);
      for (const m of again) {
        assert.equal(header(m, 'redelivered'), 'true');
        assert.equal(header(m, 'x-delivery-count'), '1');
      }
      await settle(c, again[1]!, 'NACK', { requeue: 'false' });
      assert.deepEqual(bodies(await barrier(c, c, topic, 'c')), ['t1', 't2', 't1', 't2'], 'requeue:false: not redelivered');
    } finally {
      c.close();
    }
  });

  test('#46 requeue must be true or false', async () => {
    for (const requeue of ['yes', 'TRUE', '0', '']) {
      const c = await consumerWith(broker, unique('/queue/a46-bad-'), 'client', ['m']);
      try {
        c.send(frame('NACK', { id: header(messages(c, 'c')[0]!, 'ack')!, requeue, receipt: 'r' }));
        const e = await expectErrorThenClose(c, 'invalid requeue');
        assert.equal(header(e, 'receipt-id'), 'r');
      } finally {
        c.close();
      }
    }
  });
});

describe('NACK with a dead-letter destination', () => {
  const DLQ = '/queue/dead-letter';
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ env: { STOMPEDE_DEAD_LETTER_DESTINATION: DLQ, STOMPEDE_MAX_DELIVERIES: '3' } });
  });
  after(async () => {
    await broker.stop();
  });

  /** Dead letters carrying `x-case:<tag>`, waiting for `n` of them. */
  async function deadLetters(dl: RawClient, tag: string, n: number) {
    await dl.waitFor(() => messages(dl).filter((m) => header(m, 'x-case') === tag).length >= n);
    return messages(dl).filter((m) => header(m, 'x-case') === tag);
  }

  test('#46 NACK requeue:false moves the message to the dead-letter destination with x-death headers', async () => {
    const q = unique('/queue/a46-dl-');
    const dl = await connectRaw(broker, 'tcp');
    const c = await connectRaw(broker, 'tcp');
    try {
      await dl.sendWithReceipt('SUBSCRIBE', { id: 'dl', destination: DLQ });
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual' });
      await sendAll(c, q, ['rejected', 'other'], { 'x-case': 'reject', 'content-type': 'text/plain' });
      const [m] = await waitMessages(c, 2, 'c');
      await settle(c, m!, 'NACK', { requeue: 'false' });
      const [d] = await deadLetters(dl, 'reject', 1);
      assert.equal(bodyText(d!), 'rejected');
      assert.equal(header(d!, 'destination'), DLQ);
      assert.equal(header(d!, 'x-death-reason'), 'rejected');
      assert.equal(header(d!, 'x-original-destination'), q);
      assert.equal(header(d!, 'x-original-message-id'), header(m!, 'message-id'));
      assert.equal(header(d!, 'content-type'), 'text/plain', 'user headers are kept');
      assert.notEqual(header(d!, 'message-id'), header(m!, 'message-id'));
      assert.deepEqual(bodies(await barrier(c, c, q, 'c')), ['rejected', 'other'], 'not redelivered to the queue');
    } finally {
      dl.close();
      c.close();
    }
  });

  test('#46 after STOMPEDE_MAX_DELIVERIES (3) attempts a NACKed message is dead-lettered (delivery-limit)', async () => {
    const q = unique('/queue/a46-limit-');
    const dl = await connectRaw(broker, 'tcp');
    const c = await connectRaw(broker, 'tcp');
    try {
      await dl.sendWithReceipt('SUBSCRIBE', { id: 'dl', destination: DLQ });
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual' });
      await sendAll(c, q, ['poison'], { 'x-case': 'limit' });
      for (let delivery = 1; delivery <= 3; delivery++) {
        const m = (await waitMessages(c, delivery, 'c')).at(-1)!;
        assert.equal(header(m, 'x-delivery-count'), delivery === 1 ? undefined : String(delivery - 1));
        await settle(c, m, 'NACK');
      }
      const [d] = await deadLetters(dl, 'limit', 1);
      assert.equal(header(d!, 'x-death-reason'), 'delivery-limit');
      assert.deepEqual(bodies(await barrier(c, c, q, 'c')), ['poison', 'poison', 'poison'], 'no fourth delivery');
    } finally {
      dl.close();
      c.close();
    }
  });

  test('#46 client mode NACK requeue:false dead-letters every settled message, in order', async () => {
    const q = unique('/queue/a46-dl-client-');
    const dl = await connectRaw(broker, 'tcp');
    try {
      await dl.sendWithReceipt('SUBSCRIBE', { id: 'dl', destination: DLQ });
      const c = await connectRaw(broker, 'tcp');
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client' });
      await sendAll(c, q, FIVE, { 'x-case': 'client' });
      const got = await waitMessages(c, 5, 'c');
      await settle(c, got[2]!, 'NACK', { requeue: 'false' });
      assert.deepEqual(bodies(await deadLetters(dl, 'client', 3)), ['m1', 'm2', 'm3']);
      await killAndWait(broker, c);
      const { frames, client } = await drain(broker, q);
      client.close();
      assert.deepEqual(bodies(frames), ['m4', 'm5']);
    } finally {
      dl.close();
    }
  });

  test('#46 topic NACK requeue:false dead-letters too', async () => {
    const topic = unique('/topic/a46-dl-');
    const dl = await connectRaw(broker, 'tcp');
    const c = await connectRaw(broker, 'tcp');
    try {
      await dl.sendWithReceipt('SUBSCRIBE', { id: 'dl', destination: DLQ });
      await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: topic, ack: 'client-individual' });
      await sendAll(c, topic, ['event'], { 'x-case': 'topic' });
      await settle(c, (await waitMessages(c, 1, 'c'))[0]!, 'NACK', { requeue: 'false' });
      const [d] = await deadLetters(dl, 'topic', 1);
      assert.equal(header(d!, 'x-original-destination'), topic);
      assert.equal(header(d!, 'x-death-reason'), 'rejected');
    } finally {
      dl.close();
      c.close();
    }
  });
});

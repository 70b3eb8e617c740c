// STOMP 1.2 server checklist, section 2.4 client frames: redelivery (rules #43, #46). The broker's
// decisions (scratch/DESIGN-NOTES.md): unacked queue messages of a lost consumer go back to the head
// of the queue and are redelivered with `redelivered:true` and `x-delivery-count:<previous
// deliveries>`; NACK requeues by default, `requeue:false` dead-letters
// (STOMPEDE_DEAD_LETTER_DESTINATION) or drops. Ack modes and ids (#41, #42, #45) are in
// conformance-client-acks.test.ts.
//
// A connection is killed only after the broker confirmed (RECEIPT) everything it sent, so what the
// broker knew at the time of the failure is exact.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { barrier, bodies, consumerWith, drain, killAndWait, messages, sendAll, settle, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, frame, header, TRANSPORTS, type RawClient } from './helpers/raw-client.js';
import { useBroker } from './helpers/suite.js';

const FIVE = ['m1', 'm2', 'm3', 'm4', 'm5'];

describe('acknowledgements: redelivery (#43, #46)', () => {
  const { broker, connectRaw } = useBroker();

  // ---------------------------------------------------------------- #43 failed connections

  test('#43 unacked queue messages of a killed connection go to a second subscriber with redelivered and x-delivery-count', async () => {
    for (const kind of TRANSPORTS) {
      for (const ack of ['client', 'client-individual']) {
        const q = unique('/queue/a43-');
        const c1 = await consumerWith(await connectRaw(kind), q, ack, ['a', 'b', 'c']);
        const first = messages(c1, 'c');
        for (const m of first) assert.equal(header(m, 'redelivered'), undefined, 'first delivery is not marked');
        await killAndWait(broker(), c1);
        // The second consumer fails too: the count goes up.
        const c2 = await connectRaw(kind);
        await c2.sendWithReceipt('SUBSCRIBE', { id: 'c2', destination: q, ack });
        const second = await waitMessages(c2, 3, 'c2');
        assert.deepEqual(bodies(second), ['a', 'b', 'c'], `${kind} ${ack}`);
        for (const [i, m] of second.entries()) {
          assert.equal(header(m, 'redelivered'), 'true');
          assert.equal(header(m, 'x-delivery-count'), '1');
          assert.equal(header(m, 'message-id'), header(first[i]!, 'message-id'));
          assert.ok(header(m, 'ack'));
        }
        await killAndWait(broker(), c2);
        const frames = await drain(await connectRaw('tcp'), q);
        assert.deepEqual(bodies(frames), ['a', 'b', 'c']);
        for (const m of frames) assert.equal(header(m, 'x-delivery-count'), '2');
      }
    }
  });

  test('#43 a consumer that is already waiting takes over the unacked messages of one that dies', async () => {
    const q = unique('/queue/a43-live-');
    const c1 = await consumerWith(await connectRaw('tcp'), q, 'client-individual', ['x', 'y']);
    const c2 = await connectRaw('ws');
    await c2.sendWithReceipt('SUBSCRIBE', { id: 'c2', destination: q, ack: 'client-individual' });
    assert.deepEqual(messages(c2), [], 'nothing for c2 while c1 holds the messages');
    await killAndWait(broker(), c1);
    const got = await waitMessages(c2, 2, 'c2');
    assert.deepEqual(bodies(got), ['x', 'y']);
    for (const m of got) assert.equal(header(m, 'redelivered'), 'true');
  });

  test('#43 unacked messages of a DISCONNECTed consumer are redelivered as well', async () => {
    const q = unique('/queue/a43-disc-');
    const c1 = await consumerWith(await connectRaw('tcp'), q, 'client', ['p', 'q']);
    await c1.sendWithReceipt('DISCONNECT', {});
    await c1.waitClosed();
    const frames = await drain(await connectRaw('tcp'), q);
    assert.deepEqual(bodies(frames), ['p', 'q']);
    for (const m of frames) assert.equal(header(m, 'redelivered'), 'true');
  });

  test('#43 unacked topic messages are not redelivered after a failure (topics are not durable)', async () => {
    const topic = unique('/topic/a43-');
    const watcher = await connectRaw('tcp');
    await watcher.sendWithReceipt('SUBSCRIBE', { id: 'w', destination: topic });
    const c1 = await connectRaw('tcp');
    await c1.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: topic, ack: 'client' });
    await sendAll(c1, topic, ['t1']);
    await waitMessages(c1, 1, 'c');
    await killAndWait(broker(), c1);
    assert.deepEqual(bodies(await barrier(watcher, watcher, topic, 'w')), ['t1'], 'delivered once to the other subscriber, never again');
  });

  // ---------------------------------------------------------------- #46 NACK without dead-letter destination

  test('#46 NACK requeues by default: the message is redelivered with redelivered:true and a count', async () => {
    const q = unique('/queue/a46-');
    const c = await consumerWith(await connectRaw('tcp'), q, 'client-individual', ['n']);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await settle(c, messages(c, 'c').at(-1)!, 'NACK', attempt === 2 ? { requeue: 'true' } : {});
      const m = (await waitMessages(c, attempt + 1, 'c')).at(-1)!;
      assert.equal(bodyText(m), 'n');
      assert.equal(header(m, 'redelivered'), 'true');
      assert.equal(header(m, 'x-delivery-count'), String(attempt));
    }
  });

  test('#46 a requeued message goes back to the head of the queue', async () => {
    const q = unique('/queue/a46-head-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual', 'prefetch-count': '1' });
    await sendAll(c, q, ['first', 'second', 'third']);
    const [m] = await waitMessages(c, 1, 'c');
    assert.equal(bodyText(m!), 'first');
    await settle(c, m!, 'NACK');
    const again = (await waitMessages(c, 2, 'c'))[1]!;
    assert.equal(bodyText(again), 'first', 'the NACKed message is next, ahead of second and third');
    await settle(c, again);
    assert.equal(bodyText((await waitMessages(c, 3, 'c'))[2]!), 'second');
  });

  test('#46 NACK requeue:false without a dead-letter destination drops the message', async () => {
    const q = unique('/queue/a46-drop-');
    const c = await consumerWith(await connectRaw('tcp'), q, 'client-individual', ['dropped', 'kept']);
    await settle(c, messages(c, 'c')[0]!, 'NACK', { requeue: 'false' });
    await killAndWait(broker(), c);
    const frames = await drain(await connectRaw('tcp'), q);
    assert.deepEqual(bodies(frames), ['kept']);
  });

  test('#46 NACK on a topic subscription redelivers to the same subscription', async () => {
    const topic = unique('/topic/a46-');
    const c = await connectRaw('ws');
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
  });

  test('#46 requeue must be true or false', async () => {
    for (const requeue of ['yes', 'TRUE', '0', '']) {
      const c = await consumerWith(await connectRaw('tcp'), unique('/queue/a46-bad-'), 'client', ['m']);
      c.send(frame('NACK', { id: header(messages(c, 'c')[0]!, 'ack')!, requeue, receipt: 'r' }));
      const e = await expectErrorThenClose(c, 'invalid requeue');
      assert.equal(header(e, 'receipt-id'), 'r');
    }
  });
});

describe('NACK with a dead-letter destination', () => {
  const DLQ = '/queue/dead-letter';
  const { broker, connectRaw, subscriber } = useBroker({ env: { STOMPEDE_DEAD_LETTER_DESTINATION: DLQ, STOMPEDE_MAX_DELIVERIES: '3' } });
  // One subscriber of the dead-letter queue for all the tests (two would compete for the dead
  // letters); each test finds its own by their x-case header.
  let dl: RawClient;
  before(async () => {
    dl = await subscriber('tcp', DLQ);
  });

  /** Dead letters carrying `x-case:<tag>`, waiting for `n` of them. */
  async function deadLetters(tag: string, n: number) {
    await dl.waitFor(() => messages(dl).filter((m) => header(m, 'x-case') === tag).length >= n);
    return messages(dl).filter((m) => header(m, 'x-case') === tag);
  }

  test('#46 NACK requeue:false moves the message to the dead-letter destination with x-death headers', async () => {
    const q = unique('/queue/a46-dl-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual' });
    await sendAll(c, q, ['rejected', 'other'], { 'x-case': 'reject', 'content-type': 'text/plain' });
    const [m] = await waitMessages(c, 2, 'c');
    await settle(c, m!, 'NACK', { requeue: 'false' });
    const [d] = await deadLetters('reject', 1);
    assert.equal(bodyText(d!), 'rejected');
    assert.equal(header(d!, 'destination'), DLQ);
    assert.equal(header(d!, 'x-death-reason'), 'rejected');
    assert.equal(header(d!, 'x-original-destination'), q);
    assert.equal(header(d!, 'x-original-message-id'), header(m!, 'message-id'));
    assert.equal(header(d!, 'content-type'), 'text/plain', 'user headers are kept');
    assert.notEqual(header(d!, 'message-id'), header(m!, 'message-id'));
    assert.deepEqual(bodies(await barrier(c, c, q, 'c')), ['rejected', 'other'], 'not redelivered to the queue');
  });

  test('#46 after STOMPEDE_MAX_DELIVERIES (3) attempts a NACKed message is dead-lettered (delivery-limit)', async () => {
    const q = unique('/queue/a46-limit-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client-individual' });
    await sendAll(c, q, ['poison'], { 'x-case': 'limit' });
    for (let delivery = 1; delivery <= 3; delivery++) {
      const m = (await waitMessages(c, delivery, 'c')).at(-1)!;
      assert.equal(header(m, 'x-delivery-count'), delivery === 1 ? undefined : String(delivery - 1));
      await settle(c, m, 'NACK');
    }
    const [d] = await deadLetters('limit', 1);
    assert.equal(header(d!, 'x-death-reason'), 'delivery-limit');
    assert.deepEqual(bodies(await barrier(c, c, q, 'c')), ['poison', 'poison', 'poison'], 'no fourth delivery');
  });

  test('#46 client mode NACK requeue:false dead-letters every settled message, in order', async () => {
    const q = unique('/queue/a46-dl-client-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client' });
    await sendAll(c, q, FIVE, { 'x-case': 'client' });
    const got = await waitMessages(c, 5, 'c');
    await settle(c, got[2]!, 'NACK', { requeue: 'false' });
    assert.deepEqual(bodies(await deadLetters('client', 3)), ['m1', 'm2', 'm3']);
    await killAndWait(broker(), c);
    assert.deepEqual(bodies(await drain(await connectRaw('tcp'), q)), ['m4', 'm5']);
  });

  test('#46 topic NACK requeue:false dead-letters too', async () => {
    const topic = unique('/topic/a46-dl-');
    const c = await connectRaw('tcp');
    await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: topic, ack: 'client-individual' });
    await sendAll(c, topic, ['event'], { 'x-case': 'topic' });
    await settle(c, (await waitMessages(c, 1, 'c'))[0]!, 'NACK', { requeue: 'false' });
    const [d] = await deadLetters('topic', 1);
    assert.equal(header(d!, 'x-original-destination'), topic);
    assert.equal(header(d!, 'x-death-reason'), 'rejected');
  });
});

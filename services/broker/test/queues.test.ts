// Queues end to end: competing consumers, messages waiting for a consumer, the queue bounds and
// prefetch windows. Consumers are @stomp/stompjs clients over WebSocket; raw TCP where the exact
// ERROR frame matters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodyText, frame, header } from './helpers/raw-client.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const LONG = 20_000;

describe('queues', () => {
  const { connectRaw, stompjs } = useBroker();

  test('competing consumers take turns, even when the queue runs empty between sends', async () => {
    const q = '/queue/rr-pairs';
    const owner = new Map<string, number>();
    const all = new Inbox();
    for (let i = 0; i < 3; i++) {
      await subscribed(await stompjs(), q, (m) => {
        owner.set(m.body, i);
        all.push(m);
      });
    }
    // Two messages per write: each batch empties the queue before every consumer had its turn.
    const producer = await connectRaw('tcp');
    const n = 30;
    for (let k = 0; k < n; k += 2) {
      const id = `pair-${k}`;
      producer.send(Buffer.concat([frame('SEND', { destination: q }, `p-${k}`), frame('SEND', { destination: q, receipt: id }, `p-${k + 1}`)]));
      await producer.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === id);
    }
    await all.until(n, LONG);
    const got = range(n, 'p-').map((b) => owner.get(b));
    assert.deepEqual(got, range(n).map((_, k) => k % 3), 'message k goes to consumer k mod 3');
  });

  test('many messages over three consumers: each delivered exactly once, shares balanced, order kept', async () => {
    const q = '/queue/rr-many';
    const per: string[][] = [[], [], []];
    const all = new Inbox();
    for (let i = 0; i < 3; i++) {
      await subscribed(await stompjs(), q, (m) => {
        per[i]!.push(m.body);
        all.push(m);
      });
    }
    const n = 600;
    const producer = await stompjs();
    await publishAll(producer, q, range(n));
    await all.until(n, LONG);
    // Three more, one per consumer: whatever was still on its way has arrived behind them.
    await publishAll(producer, q, ['f-0', 'f-1', 'f-2']);
    await all.until(n + 3, LONG);
    const bodies = all.bodies;
    assert.equal(bodies.length, n + 3);
    assert.equal(new Set(bodies).size, n + 3, 'no duplicates');
    assert.deepEqual([...bodies].filter((b) => b.startsWith('m-')).sort(), range(n).sort());
    for (const [i, got] of per.entries()) {
      assert.equal(got.length, (n + 3) / 3, `consumer ${i} gets its share`);
      const seq = got.filter((b) => b.startsWith('m-')).map((b) => Number(b.slice(2)));
      assert.deepEqual(seq, [...seq].sort((a, b) => a - b), `consumer ${i} receives in queue order`);
    }
  });

  test('messages sent while nobody consumes wait and are delivered in order to the first subscriber', async () => {
    const q = '/queue/waiting';
    const producer = await stompjs();
    await publishAll(producer, q, range(5));
    const inbox = new Inbox();
    await subscribed(await stompjs(), q, inbox.push);
    const got = await inbox.until(5, LONG);
    assert.deepEqual(inbox.bodies, range(5));
    for (const m of got) {
      assert.equal(m.headers['destination'], q);
      assert.equal(m.headers['redelivered'], undefined);
    }
    assert.equal(new Set(got.map((m) => m.headers['message-id'])).size, 5, 'distinct message ids');
  });

  test('prefetch-count 1 with two consumers: the one that never acks holds exactly one message', async () => {
    const q = '/queue/prefetch-two';
    const lazy = new Inbox();
    const busy = new Inbox();
    const lazyClient = await stompjs();
    await subscribed(lazyClient, q, lazy.push, { ack: 'client-individual', 'prefetch-count': '1' });
    await subscribed(await stompjs(), q, (m) => {
      busy.push(m);
      m.ack();
    }, { ack: 'client-individual', 'prefetch-count': '1' });
    const producer = await stompjs();
    await publishAll(producer, q, range(10));
    await busy.until(9, LONG);
    await publishAll(producer, q, ['fence']);
    await busy.until(10, LONG);
    assert.deepEqual(lazy.bodies, ['m-0']);
    assert.deepEqual(busy.bodies, [...range(10).slice(1), 'fence']);
    // The held message goes to the other consumer when the lazy one's connection ends.
    lazyClient.forceDisconnect();
    const again = (await busy.until(11, LONG))[10];
    assert.equal(again!.body, 'm-0');
    assert.equal(again!.headers['redelivered'], 'true');
    assert.equal(again!.headers['x-delivery-count'], '1');
  });

  test('prefetch-count 3: three unacked at a time, a cumulative ACK opens the window again', async () => {
    const q = '/queue/prefetch-three';
    const consumer = await stompjs();
    const inbox = new Inbox();
    const fences = new Inbox();
    await subscribed(consumer, q, inbox.push, { ack: 'client', 'prefetch-count': '3' });
    await subscribed(consumer, '/topic/prefetch-fence', fences.push);
    const producer = await stompjs();
    await publishAll(producer, q, range(7));
    const fenced = async (n: number): Promise<void> => {
      await publishAll(producer, '/topic/prefetch-fence', ['fence']);
      await fences.until(n, LONG);
    };
    await inbox.until(3, LONG);
    await fenced(1);
    assert.deepEqual(inbox.bodies, range(3));
    inbox.messages[2]!.ack(); // client mode: settles m-0..m-2
    await inbox.until(6, LONG);
    await fenced(2);
    assert.deepEqual(inbox.bodies, range(6));
    inbox.messages[5]!.ack();
    await inbox.until(7, LONG);
    assert.deepEqual(inbox.bodies, range(7));
    inbox.messages[6]!.ack();
  });

  test('an invalid prefetch-count is refused', async () => {
    const c = await connectRaw('tcp');
    c.send(frame('SUBSCRIBE', { id: '0', destination: '/queue/x', ack: 'client', 'prefetch-count': '-1' }));
    const e = await c.waitForCommand('ERROR');
    assert.equal(header(e, 'message'), 'invalid prefetch-count');
    await c.waitClosed();
  });
});

describe('queue bounds', () => {
  const { connectRaw, stompjs } = useBroker({ env: { STOMPEDE_MAX_QUEUE_MESSAGES: '3', STOMPEDE_MAX_QUEUE_BYTES: '1024' } });

  test('a SEND beyond maxQueueMessages gets ERROR queue full with its receipt-id; the queue keeps its messages', async () => {
    const q = '/queue/bounded';
    const producer = await connectRaw('tcp');
    for (const body of range(3)) await producer.sendWithReceipt('SEND', { destination: q }, body);
    producer.send(frame('SEND', { destination: q, receipt: 'over' }, 'm-3'));
    const e = await producer.waitForCommand('ERROR', LONG);
    assert.equal(header(e, 'message'), 'queue full');
    assert.equal(header(e, 'receipt-id'), 'over');
    assert.match(bodyText(e), /maxQueueMessages/);
    await producer.waitClosed(LONG);
    assert.ok(!producer.frames.some((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'over'));

    // The bound is per queue: another queue still takes messages.
    const other = await connectRaw('tcp');
    await other.sendWithReceipt('SEND', { destination: '/queue/bounded-other' }, 'fine');

    const consumer = await stompjs();
    const inbox = new Inbox();
    await subscribed(consumer, q, inbox.push);
    await inbox.until(3, LONG);
    await other.sendWithReceipt('SEND', { destination: q }, 'after');
    await inbox.until(4, LONG);
    assert.deepEqual(inbox.bodies, [...range(3), 'after']);
  });

  test('maxQueueBytes: the SEND that would exceed it is refused (no receipt asked, none echoed)', async () => {
    const q = '/queue/bounded-bytes';
    const producer = await connectRaw('tcp');
    const body = (c: string): string => c.repeat(400);
    await producer.sendWithReceipt('SEND', { destination: q }, body('a'));
    await producer.sendWithReceipt('SEND', { destination: q }, body('b'));
    producer.send(frame('SEND', { destination: q }, body('c')));
    const e = await producer.waitForCommand('ERROR', LONG);
    assert.equal(header(e, 'message'), 'queue full');
    assert.equal(header(e, 'receipt-id'), undefined);
    assert.match(bodyText(e), /maxQueueBytes/);
    await producer.waitClosed(LONG);

    const consumer = await stompjs();
    const inbox = new Inbox();
    await subscribed(consumer, q, inbox.push);
    await inbox.until(2, LONG);
    await publishAll(consumer, q, ['small']);
    await inbox.until(3, LONG);
    assert.deepEqual(inbox.bodies, [body('a'), body('b'), 'small']);
  });

  test('unacked messages of a lost consumer go back even when the queue is full again', async () => {
    const q = '/queue/bounded-requeue';
    const first = await stompjs();
    const held = new Inbox();
    await subscribed(first, q, held.push, { ack: 'client-individual', 'prefetch-count': '3' });
    const producer = await stompjs();
    await publishAll(producer, q, range(3));
    await held.until(3, LONG);
    // The queue itself is empty again: room for three more, which wait (the window is full).
    await publishAll(producer, q, range(3, 'n-'));
    first.forceDisconnect();
    const second = await stompjs();
    const inbox = new Inbox();
    await subscribed(second, q, inbox.push);
    const got = await inbox.until(6, LONG);
    assert.deepEqual(inbox.bodies, [...range(3), ...range(3, 'n-')]);
    assert.deepEqual(got.map((m) => m.headers['redelivered']), ['true', 'true', 'true', undefined, undefined, undefined]);
  });
});

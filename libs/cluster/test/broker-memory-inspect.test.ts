// What the control plane asks the embedded broker (BrokerInspector): which destinations it keeps
// something for, and per destination the waiting entries, the entries out for delivery and the
// topic history, as entries are enqueued, taken, acked and requeued.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NO_HEADERS, type BrokerHandler, type DestinationStats, type QueuedMessage } from '@stompede/broker-api';
import { MemoryBroker } from '@stompede/cluster';

const V = '/';
const body = (s: string): Uint8Array => Buffer.from(s);

const quiet: BrokerHandler = { onTopicMessage() {}, onQueueReady() {} };

async function broker(): Promise<MemoryBroker> {
  const b = new MemoryBroker({
    maxQueueMessages: 100,
    maxQueueBytes: 1 << 20,
    history: [
      { prefix: '/topic/', messages: 3 },
      { prefix: '/topic/live.', messages: 0 },
    ],
  });
  await b.start(quiet);
  return b;
}

async function known(b: MemoryBroker, vhost = V): Promise<{ topics: string[]; queues: string[] }> {
  const k = await b.knownDestinations(vhost);
  return { topics: [...k.topics].sort(), queues: [...k.queues].sort() };
}

async function queueStats(b: MemoryBroker, queue: string): Promise<DestinationStats> {
  const [stats] = await b.destinationStats(V, [{ name: queue, kind: 'queue' }]);
  assert.ok(stats);
  return stats;
}

function take(b: MemoryBroker, queue: string): QueuedMessage {
  const entry = b.take(V, queue);
  assert.ok(entry, `nothing to take from ${queue}`);
  return entry;
}

describe('memory broker inspection', () => {
  test('knownDestinations: topics with history and ordinary queues, of the vhost asked about', async () => {
    const b = await broker();
    b.publish(V, '/topic/kept', NO_HEADERS, body('x'));
    b.publish(V, '/topic/live.ticks', NO_HEADERS, body('x')); // no history: nothing kept
    b.publish('/other', '/topic/elsewhere', NO_HEADERS, body('x'));
    b.enqueue(V, '/queue/waiting', NO_HEADERS, body('x'));
    b.enqueue('/other', '/queue/elsewhere', NO_HEADERS, body('x'));
    b.consume(V, '/queue/consumed'); // empty, but has a consumer
    b.openReplyQueue(V, '/reply-queue/n/1/r');
    b.enqueue(V, '/reply-queue/n/1/r', NO_HEADERS, body('x'));
    b.consume(V, '/reply-queue/n/1/r');
    assert.deepEqual(await known(b), { topics: ['/topic/kept'], queues: ['/queue/consumed', '/queue/waiting'] });
    assert.deepEqual(await known(b, '/other'), { topics: ['/topic/elsewhere'], queues: ['/queue/elsewhere'] });
    assert.deepEqual(await known(b, '/nope'), { topics: [], queues: [] });
  });

  test('destinationStats: depth, pending and history move with enqueue, take, ack and requeue', async () => {
    const b = await broker();
    const Q = '/queue/work';
    for (const s of ['1', '2', '3']) b.enqueue(V, Q, NO_HEADERS, body(s));
    assert.deepEqual(await queueStats(b, Q), { depth: 3, pending: 0, historyLength: 0 });
    const first = take(b, Q);
    const second = take(b, Q);
    assert.deepEqual(await queueStats(b, Q), { depth: 1, pending: 2, historyLength: 0 });
    b.ack(V, first);
    assert.deepEqual(await queueStats(b, Q), { depth: 1, pending: 1, historyLength: 0 });
    b.requeue(V, second);
    assert.deepEqual(await queueStats(b, Q), { depth: 2, pending: 0, historyLength: 0 });
    assert.equal(Buffer.from(take(b, Q).message.body).toString(), '2', 'the requeued entry comes first');

    for (const s of ['a', 'b', 'c', 'd', 'e']) b.publish(V, '/topic/kept', NO_HEADERS, body(s));
    for (const s of ['a', 'b']) b.publish(V, '/topic/short', NO_HEADERS, body(s));
    b.publish(V, '/topic/live.x', NO_HEADERS, body('x'));
    const stats = await b.destinationStats(V, [
      { name: '/topic/kept', kind: 'topic' },
      { name: '/topic/short', kind: 'topic' },
      { name: '/queue/unknown', kind: 'queue' },
      { name: '/topic/live.x', kind: 'topic' },
      { name: Q, kind: 'queue' },
    ]);
    assert.deepEqual(stats, [
      { depth: 0, pending: 0, historyLength: 3 }, // trimmed to the prefix's length
      { depth: 0, pending: 0, historyLength: 2 },
      { depth: 0, pending: 0, historyLength: 0 },
      { depth: 0, pending: 0, historyLength: 0 },
      { depth: 1, pending: 1, historyLength: 0 },
    ]);
  });

  test('a queue whose last consumer left is kept while entries are out, and forgotten once they settle', async () => {
    const b = await broker();
    const Q = '/queue/leaving';
    b.consume(V, Q);
    b.enqueue(V, Q, NO_HEADERS, body('1'));
    b.enqueue(V, Q, NO_HEADERS, body('2'));
    const one = take(b, Q);
    const two = take(b, Q);
    b.cancel(V, Q);
    assert.deepEqual((await known(b)).queues, [Q], 'two entries are still out');
    assert.deepEqual(await queueStats(b, Q), { depth: 0, pending: 2, historyLength: 0 });
    b.ack(V, one);
    assert.deepEqual((await known(b)).queues, [Q], 'one entry is still out');
    b.requeue(V, two); // e.g. the consumer's connection closed with it unacked
    assert.deepEqual(await queueStats(b, Q), { depth: 1, pending: 0, historyLength: 0 }, 'the requeued entry was not lost');
    const again = take(b, Q);
    b.ack(V, again);
    assert.deepEqual((await known(b)).queues, [], 'nothing waits, nothing is out, nobody consumes');
    assert.equal(b.stats().queues, 0);
  });

  test('a queue with nothing out is forgotten when its last consumer leaves', async () => {
    const b = await broker();
    b.consume(V, '/queue/idle');
    b.consume(V, '/queue/idle');
    b.cancel(V, '/queue/idle');
    assert.deepEqual((await known(b)).queues, ['/queue/idle']);
    b.cancel(V, '/queue/idle');
    assert.deepEqual((await known(b)).queues, []);
  });
});

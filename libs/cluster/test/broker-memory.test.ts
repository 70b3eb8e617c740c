// The embedded broker (broker-memory.ts) on its own: topic history and replay for resuming
// subscriptions (messages after an id, gaps when trimmed, when the id predates the process, or names
// another destination), and the queue basics the session layer relies on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatMessageId, Message, NO_HEADERS, parseMessageId, QueueFullError, type BrokerHandler } from '@stompede/broker-api';
import { MemoryBroker, type MemoryBrokerOptions } from '@stompede/cluster';

const V = '/';
const text = (s: string): Uint8Array => Buffer.from(s);
const bodyOf = (m: Message): string => Buffer.from(m.body).toString();

class Recorder implements BrokerHandler {
  readonly messages: { vhost: string; id: string; destination: string; body: string }[] = [];
  readonly ready: string[] = [];
  onTopicMessage(vhost: string, m: Message): void {
    this.messages.push({ vhost, id: m.id, destination: m.destination, body: bodyOf(m) });
  }
  onQueueReady(vhost: string, queue: string): void {
    this.ready.push(`${vhost} ${queue}`);
  }
}

async function broker(options: Partial<MemoryBrokerOptions> = {}): Promise<{ b: MemoryBroker; h: Recorder }> {
  const b = new MemoryBroker({
    maxQueueMessages: 100,
    maxQueueBytes: 1 << 20,
    history: [
      { prefix: '/topic/', messages: 3 },
      { prefix: '/topic/none.', messages: 0 },
    ],
    ...options,
  });
  const h = new Recorder();
  await b.start(h);
  return { b, h };
}

/** Publishes `bodies` and returns their message ids, as the handler saw them. */
function publishAll(b: MemoryBroker, h: Recorder, destination: string, bodies: string[], vhost = V): string[] {
  const from = h.messages.length;
  for (const body of bodies) b.publish(vhost, destination, NO_HEADERS, text(body));
  return h.messages.slice(from).map((m) => m.id);
}

describe('memory broker topics', () => {
  test('publish reaches the handler synchronously with an id "<destination>@<ms>-<seq>", increasing', async () => {
    const { b, h } = await broker();
    const ids = publishAll(b, h, '/topic/a', ['1', '2', '3']);
    assert.equal(ids.length, 3);
    const positions = ids.map((id) => parseMessageId(id));
    for (const p of positions) assert.equal(p?.destination, '/topic/a');
    for (let i = 1; i < positions.length; i++) {
      const [x, y] = [positions[i - 1]!.position, positions[i]!.position];
      assert.ok(x.ms < y.ms || (x.ms === y.ms && x.seq < y.seq), `${ids[i - 1]} < ${ids[i]}`);
    }
  });

  test("a kept message does not alias the publisher's buffer", async () => {
    const { b, h } = await broker();
    const chunk = new Uint8Array([0x61, 0x62, 0x63, 0x7c]); // a transport chunk: body "abc", then more
    b.publish(V, '/topic/alias', NO_HEADERS, chunk.subarray(0, 3));
    const first = h.messages[0]!.id;
    chunk.fill(0x7a); // the transport reuses its buffer
    b.publish(V, '/topic/alias', NO_HEADERS, text('next'));
    const r = await b.replay(V, '/topic/alias', formatMessageId('/topic/alias', { ms: 0, seq: 0 }));
    assert.deepEqual(r.messages.map(bodyOf), ['abc', 'next']);
    assert.equal(r.messages[0]!.id, first);
  });

  // Found while writing these tests: Message.retain() copies with `body.slice()`, and
  // Buffer.prototype.slice is a view, not a copy. TCP frames' bodies are subarrays of the socket's
  // Buffer chunks, so a retained TCP body (queue entry, history, unacked delivery) still points into
  // the chunk and keeps all of it alive (invariant B2 says it is an owned copy).
  test('retain() copies a Buffer body too', () => {
    const chunk = Buffer.from('abc|rest of the socket read');
    const m = new Message('/topic/x', 'id', NO_HEADERS, chunk.subarray(0, 3)).retain();
    chunk.fill(0x7a);
    assert.equal(bodyOf(m), 'abc');
    assert.notEqual(m.body.buffer, chunk.buffer, 'owns its memory');
  });

  test('retain() copies a Uint8Array body once, however many holders call it', () => {
    const chunk = new Uint8Array([1, 2, 3, 4]);
    const m = new Message('/topic/x', 'id', NO_HEADERS, chunk.subarray(1, 3));
    const copy = m.retain().body;
    chunk.fill(0);
    assert.deepEqual([...m.body], [2, 3]);
    assert.equal(m.retain().body, copy, 'a second retain() does not copy again');
    assert.notEqual(copy.buffer, chunk.buffer);
  });
});

describe('memory broker replay', () => {
  test('returns the messages after the id, oldest first, without a gap', async () => {
    const { b, h } = await broker();
    const ids = publishAll(b, h, '/topic/r', ['a', 'b', 'c']);
    const r = await b.replay(V, '/topic/r', ids[0]!);
    assert.deepEqual(r.messages.map(bodyOf), ['b', 'c']);
    assert.deepEqual(r.messages.map((m) => m.id), ids.slice(1));
    assert.equal(r.gap, false);
  });

  test('after the newest id: nothing, no gap', async () => {
    const { b, h } = await broker();
    const ids = publishAll(b, h, '/topic/r', ['a', 'b']);
    assert.deepEqual(await b.replay(V, '/topic/r', ids[1]!), { messages: [], gap: false });
  });

  test('history trimmed past the id: what is left, and a gap', async () => {
    const { b, h } = await broker();
    const ids = publishAll(b, h, '/topic/t', ['0', '1', '2', '3', '4', '5']); // keeps 3, 4, 5
    const r = await b.replay(V, '/topic/t', ids[1]!);
    assert.deepEqual(r.messages.map(bodyOf), ['3', '4', '5']);
    assert.equal(r.gap, true, 'message 2 was trimmed');
  });

  test('trimmed exactly up to the id: nothing is missing, so no gap', async () => {
    const { b, h } = await broker();
    const ids = publishAll(b, h, '/topic/t', ['0', '1', '2', '3']); // keeps 1, 2, 3; 0 trimmed
    const r = await b.replay(V, '/topic/t', ids[0]!);
    assert.deepEqual(r.messages.map(bodyOf), ['1', '2', '3']);
    assert.equal(r.gap, false);
  });

  test('an id from before the process started: a gap, even with nothing trimmed or published', async () => {
    const { b, h } = await broker();
    const old = formatMessageId('/topic/p', { ms: Date.now() - 60_000, seq: 0 });
    assert.deepEqual(await b.replay(V, '/topic/p', old), { messages: [], gap: true });
    publishAll(b, h, '/topic/p', ['x']);
    const r = await b.replay(V, '/topic/p', old);
    assert.deepEqual(r.messages.map(bodyOf), ['x']);
    assert.equal(r.gap, true);
  });

  test('an id from this process of a destination with history but no messages yet: no gap', async () => {
    const { b } = await broker();
    const now = formatMessageId('/topic/quiet', { ms: Date.now() + 1, seq: 0 });
    assert.deepEqual(await b.replay(V, '/topic/quiet', now), { messages: [], gap: false });
  });

  test('a destination without history: always a gap', async () => {
    const { b, h } = await broker();
    const ids = publishAll(b, h, '/topic/none.x', ['a', 'b']);
    assert.deepEqual(await b.replay(V, '/topic/none.x', ids[0]!), { messages: [], gap: true });
    const later = formatMessageId('/topic/none.y', { ms: Date.now() + 1, seq: 0 });
    assert.deepEqual(await b.replay(V, '/topic/none.y', later), { messages: [], gap: true });
  });

  test("another destination's id: everything kept, with a gap", async () => {
    const { b, h } = await broker();
    const [other] = publishAll(b, h, '/topic/one', ['o']);
    publishAll(b, h, '/topic/two', ['a', 'b']);
    const r = await b.replay(V, '/topic/two', other!);
    assert.deepEqual(r.messages.map(bodyOf), ['a', 'b']);
    assert.equal(r.gap, true);
    assert.deepEqual(await b.replay(V, '/topic/empty', other!), { messages: [], gap: true });
  });

  test('an id that does not parse: a gap', async () => {
    const { b, h } = await broker();
    publishAll(b, h, '/topic/r', ['a']);
    for (const id of ['', 'nonsense', '/topic/r@x-y']) {
      const r = await b.replay(V, '/topic/r', id);
      assert.equal(r.gap, true, id);
      assert.deepEqual(r.messages.map(bodyOf), ['a'], id);
    }
  });

  test('histories are per vhost', async () => {
    const { b, h } = await broker();
    const [a] = publishAll(b, h, '/topic/v', ['in-a'], 'a');
    publishAll(b, h, '/topic/v', ['in-b'], 'b');
    publishAll(b, h, '/topic/v', ['in-a-2'], 'a');
    assert.deepEqual((await b.replay('a', '/topic/v', a!)).messages.map(bodyOf), ['in-a-2']);
    assert.deepEqual((await b.replay('b', '/topic/v', a!)).messages.map(bodyOf), ['in-b']);
  });
});

describe('memory broker queues', () => {
  test('FIFO; requeue goes ahead of newer entries with the delivery counted', async () => {
    const { b } = await broker();
    for (const s of ['1', '2', '3']) b.enqueue(V, '/queue/q', NO_HEADERS, text(s));
    b.consume(V, '/queue/q');
    const first = b.take(V, '/queue/q')!;
    assert.equal(bodyOf(first.message), '1');
    assert.equal(first.deliveries, 0);
    b.requeue(V, first);
    const again = b.take(V, '/queue/q')!;
    assert.equal(again, first);
    assert.equal(again.deliveries, 1);
    assert.deepEqual([b.take(V, '/queue/q'), b.take(V, '/queue/q')].map((e) => bodyOf(e!.message)), ['2', '3']);
    assert.equal(b.take(V, '/queue/q'), undefined);
  });

  test('onQueueReady only while the queue has consumers', async () => {
    const { b, h } = await broker();
    b.enqueue(V, '/queue/r', NO_HEADERS, text('x'));
    assert.deepEqual(h.ready, []);
    b.consume(V, '/queue/r');
    assert.deepEqual(h.ready, [`${V} /queue/r`]);
    b.enqueue(V, '/queue/r', NO_HEADERS, text('y'));
    assert.equal(h.ready.length, 2);
  });

  test('bounds: QueueFullError past maxQueueMessages or maxQueueBytes; requeues are exempt', async () => {
    const { b } = await broker({ maxQueueMessages: 2, maxQueueBytes: 10 });
    b.enqueue(V, '/queue/n', NO_HEADERS, text('a'));
    b.enqueue(V, '/queue/n', NO_HEADERS, text('b'));
    assert.throws(() => b.enqueue(V, '/queue/n', NO_HEADERS, text('c')), (e: unknown) => e instanceof QueueFullError && e.limit === 'maxQueueMessages');
    assert.throws(() => b.enqueue(V, '/queue/bytes', { names: ['k'], values: ['v'] }, text('1234567')), (e: unknown) => e instanceof QueueFullError && e.limit === 'maxQueueBytes');
    b.consume(V, '/queue/n');
    const e = b.take(V, '/queue/n')!;
    b.enqueue(V, '/queue/n', NO_HEADERS, text('c'));
    b.requeue(V, e);
    assert.equal(b.stats().queuedMessages, 3, 'a requeue may go past the bound');
  });

  test('stats follow enqueue, take and closing a reply queue', async () => {
    const { b } = await broker();
    b.enqueue(V, '/queue/s', NO_HEADERS, text('abcd'));
    assert.deepEqual(b.stats(), { queues: 1, queuedMessages: 1, queuedBytes: 4, unroutable: 0 });
    b.consume(V, '/queue/s');
    b.take(V, '/queue/s');
    assert.equal(b.stats().queuedMessages, 0);
    assert.equal(b.stats().queuedBytes, 0);
    b.openReplyQueue(V, '/reply-queue/n/s/r');
    b.enqueue(V, '/reply-queue/n/s/r', NO_HEADERS, text('xy'));
    assert.equal(b.stats().queuedBytes, 2);
    b.closeReplyQueue(V, '/reply-queue/n/s/r');
    assert.equal(b.stats().queuedMessages, 0);
    assert.equal(b.stats().queuedBytes, 0);
  });

  test('a reply queue that does not exist drops the entry and counts it unroutable', async () => {
    const { b } = await broker();
    b.enqueue(V, '/reply-queue/n/s/gone', NO_HEADERS, text('x'));
    assert.equal(b.stats().unroutable, 1);
    assert.equal(b.stats().queues, 0);
  });
});

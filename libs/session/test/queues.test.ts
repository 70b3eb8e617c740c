// Queues through sessions: competing consumers round-robin, waiting messages, prefetch windows and
// the two client ack modes (cumulative `client`, single `client-individual`) in each version.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit, type Client } from './kit.js';

function sendAll(c: Client, destination: string, bodies: string[]): void {
  for (const b of bodies) c.send('SEND', { destination }, b);
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `m${from + i}`);

describe('queue delivery', () => {
  test('round-robin over 3 consumers', async () => {
    const kit = await Kit.create();
    const consumers = [kit.connected(), kit.connected(), kit.connected()];
    for (const c of consumers) c.send('SUBSCRIBE', { id: 'q', destination: '/queue/work' });
    kit.flush();
    const pub = kit.connected();
    sendAll(pub, '/queue/work', range(9));
    kit.flush();
    assert.deepEqual(consumers.map((c) => c.takeBodies()), [
      ['m0', 'm3', 'm6'],
      ['m1', 'm4', 'm7'],
      ['m2', 'm5', 'm8'],
    ]);
  });

  test('round-robin holds when messages arrive one per turn', async () => {
    const kit = await Kit.create();
    const consumers = [kit.connected(), kit.connected(), kit.connected()];
    for (const c of consumers) c.send('SUBSCRIBE', { id: 'q', destination: '/queue/trickle' });
    kit.flush();
    const pub = kit.connected();
    for (const b of range(6)) {
      pub.send('SEND', { destination: '/queue/trickle' }, b);
      kit.flush();
    }
    assert.deepEqual(consumers.map((c) => c.takeBodies()), [
      ['m0', 'm3'],
      ['m1', 'm4'],
      ['m2', 'm5'],
    ]);
  });

  test('messages wait for a consumer, then arrive in order', async () => {
    const kit = await Kit.create();
    const pub = kit.connected();
    sendAll(pub, '/queue/later', range(4));
    kit.flush();
    assert.equal(kit.memory.stats().queuedMessages, 4);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/later' });
    kit.flush();
    assert.deepEqual(c.takeBodies(), range(4));
    assert.equal(kit.memory.stats().queuedMessages, 0);
  });

  test('a consumer that leaves stops getting its share', async () => {
    const kit = await Kit.create();
    const [a, b] = [kit.connected(), kit.connected()];
    a.send('SUBSCRIBE', { id: 'q', destination: '/queue/w' });
    b.send('SUBSCRIBE', { id: 'q', destination: '/queue/w' });
    kit.flush();
    a.send('UNSUBSCRIBE', { id: 'q' });
    sendAll(a, '/queue/w', range(3));
    kit.flush();
    assert.deepEqual(a.take(), []);
    assert.deepEqual(b.takeBodies(), range(3));
  });

  test('MESSAGE from a queue: destination, subscription, message-id, ack header only in client modes', async () => {
    const kit = await Kit.create();
    const auto = kit.connected();
    auto.send('SUBSCRIBE', { id: 'a', destination: '/queue/one' });
    const acked = kit.connected();
    acked.send('SUBSCRIBE', { id: 'b', destination: '/queue/two', ack: 'client' });
    kit.flush();
    auto.send('SEND', { destination: '/queue/one', k: 'v' }, 'x');
    auto.send('SEND', { destination: '/queue/two' }, 'y');
    kit.flush();
    const [m1] = auto.take();
    assert.deepEqual([m1?.h('subscription'), m1?.h('destination'), m1?.h('k'), m1?.h('ack')], ['a', '/queue/one', 'v', undefined]);
    assert.match(m1!.h('message-id')!, /^\/queue\/one@/);
    const [m2] = acked.take();
    assert.match(m2!.h('ack')!, /^1\.\d+$/);
  });

  test('queue full -> ERROR queue full with receipt-id', async () => {
    const kit = await Kit.create({ queueLimits: { maxQueueMessages: 2, maxQueueBytes: 1 << 20 } });
    const pub = kit.connected();
    sendAll(pub, '/queue/small', ['a', 'b']);
    pub.send('SEND', { destination: '/queue/small', receipt: 'third' }, 'c');
    kit.flush();
    const [e] = pub.take();
    assert.equal(e?.command, 'ERROR');
    assert.equal(e.h('message'), 'queue full');
    assert.equal(e.h('receipt-id'), 'third');
    assert.match(e.text, /maxQueueMessages/);
    assert.equal(pub.transport.ended, true);
  });

  test('queue over maxQueueBytes -> ERROR queue full naming that limit; the queue keeps what it had', async () => {
    const kit = await Kit.create({ queueLimits: { maxQueueMessages: 100, maxQueueBytes: 1_000 } });
    const pub = kit.connected();
    pub.send('SEND', { destination: '/queue/bytes' }, 'a'.repeat(600));
    pub.send('SEND', { destination: '/queue/bytes', receipt: 'r' }, 'b'.repeat(600));
    kit.flush();
    const [e] = pub.take();
    assert.equal(e?.h('message'), 'queue full');
    assert.match(e.text, /maxQueueBytes/);
    assert.equal(kit.memory.stats().queuedMessages, 1);
  });
});

describe('prefetch windows', () => {
  test('client-individual with prefetch-count:2 holds back the rest until ACKs free the window', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/p', ack: 'client-individual', 'prefetch-count': '2' });
    sendAll(c, '/queue/p', range(5));
    kit.flush();
    const first = c.take();
    assert.deepEqual(first.map((f) => f.text), ['m0', 'm1']);
    c.send('ACK', { id: first[1]!.h('ack')! });
    kit.flush();
    const second = c.take();
    assert.deepEqual(second.map((f) => f.text), ['m2']);
    c.send('ACK', { id: first[0]!.h('ack')! });
    c.send('ACK', { id: second[0]!.h('ack')! });
    kit.flush();
    assert.deepEqual(c.takeBodies(), ['m3', 'm4']);
  });

  test('the window is per consumer: a full consumer is skipped, not waited for', async () => {
    const kit = await Kit.create();
    const slow = kit.connected();
    slow.send('SUBSCRIBE', { id: 'q', destination: '/queue/p', ack: 'client', 'prefetch-count': '1' });
    const fast = kit.connected();
    fast.send('SUBSCRIBE', { id: 'q', destination: '/queue/p' });
    kit.flush();
    sendAll(fast, '/queue/p', range(5));
    kit.flush();
    assert.deepEqual(slow.takeBodies(), ['m0']);
    assert.deepEqual(fast.takeBodies(), ['m1', 'm2', 'm3', 'm4']);
  });

  test('prefetch-count 0 (and none) means up to maxUnacked', async () => {
    const kit = await Kit.create({ config: { maxUnacked: 3 } });
    for (const headers of [{ 'prefetch-count': '0' }, {}] as Record<string, string>[]) {
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 'q', destination: '/queue/cap', ack: 'client', ...headers });
      sendAll(c, '/queue/cap', range(4));
      kit.flush();
      assert.deepEqual(c.takeBodies(), ['m0', 'm1', 'm2']);
      c.send('DISCONNECT', {});
      kit.flush();
      c.closed();
      kit.flush();
      // Drain what was left and requeued so the next round starts empty.
      const drain = kit.connected();
      drain.send('SUBSCRIBE', { id: 'd', destination: '/queue/cap' });
      kit.flush();
      assert.equal(drain.take().length, 4);
      drain.send('DISCONNECT', {});
      kit.flush();
      drain.closed();
    }
  });

  test('a larger prefetch-count is capped by maxUnacked', async () => {
    const kit = await Kit.create({ config: { maxUnacked: 2 } });
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/cap', ack: 'client', 'prefetch-count': '100' });
    sendAll(c, '/queue/cap', range(3));
    kit.flush();
    assert.deepEqual(c.takeBodies(), ['m0', 'm1']);
  });

  test('defaultPrefetch applies when the SUBSCRIBE has no prefetch-count', async () => {
    const kit = await Kit.create({ config: { defaultPrefetch: 1 } });
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/d', ack: 'client' });
    sendAll(c, '/queue/d', range(3));
    kit.flush();
    assert.deepEqual(c.takeBodies(), ['m0']);
  });

  test('a client-acked topic subscription holds messages beyond its window, in order', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 't', destination: '/topic/p', ack: 'client', 'prefetch-count': '2' });
    kit.flush();
    sendAll(c, '/topic/p', range(5));
    kit.flush();
    const first = c.take();
    assert.deepEqual(first.map((f) => f.text), ['m0', 'm1']);
    c.send('ACK', { id: first[1]!.h('ack')! });
    kit.flush();
    assert.deepEqual(c.takeBodies(), ['m2', 'm3']);
  });
});

describe('ACK modes', () => {
  async function threeDelivered(ack: string) {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/a', ack });
    sendAll(c, '/queue/a', range(3));
    kit.flush();
    const acks = c.take().map((f) => f.h('ack')!);
    assert.equal(acks.length, 3);
    return { kit, c, acks };
  }

  test('client mode is cumulative: ACK of the 2nd settles the 1st too', async () => {
    const { kit, c, acks } = await threeDelivered('client');
    c.send('ACK', { id: acks[1]!, receipt: 'r' });
    kit.flush();
    assert.deepEqual(c.take().map((f) => f.command), ['RECEIPT']);
    c.send('ACK', { id: acks[0]!, receipt: 'again' });
    kit.flush();
    const [e] = c.take();
    assert.equal(e?.h('message'), 'unknown ack id');
    assert.equal(e.h('receipt-id'), 'again');
  });

  test('client mode: the 3rd is still unacked after a cumulative ACK of the 2nd (requeued on close)', async () => {
    const { kit, c, acks } = await threeDelivered('client');
    c.send('ACK', { id: acks[1]! });
    kit.flush();
    c.closed();
    const next = kit.connected();
    next.send('SUBSCRIBE', { id: 'q', destination: '/queue/a' });
    kit.flush();
    assert.deepEqual(next.takeBodies(), ['m2']);
  });

  test('client-individual settles only the named message', async () => {
    const { kit, c, acks } = await threeDelivered('client-individual');
    c.send('ACK', { id: acks[1]! });
    c.send('ACK', { id: acks[0]!, receipt: 'first-still-open' });
    kit.flush();
    assert.deepEqual(c.take().map((f) => f.h('receipt-id')), ['first-still-open']);
    c.closed();
    const next = kit.connected();
    next.send('SUBSCRIBE', { id: 'q', destination: '/queue/a' });
    kit.flush();
    assert.deepEqual(next.takeBodies(), ['m2']);
  });

  test('a 1.2 ACK id must be exactly the ack header value', async () => {
    for (const id of ['01.1', '1.01', ' 1.1', '1.1 ', '0x1.1', '1.1.0', '1', '.1']) {
      const { kit, c, acks } = await threeDelivered('client-individual');
      assert.equal(acks[0], '1.1');
      c.send('ACK', { id });
      kit.flush();
      assert.equal(c.take()[0]?.h('message'), 'unknown ack id', JSON.stringify(id));
    }
  });

  test('ACK of an auto-ack delivery or of another subscription is unknown', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/a' });
    c.send('SEND', { destination: '/queue/a' }, 'x');
    kit.flush();
    c.take();
    c.send('ACK', { id: '1.1' });
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'unknown ack id');
  });

  test('STOMP 1.1 acknowledges by message-id and subscription (both required)', async () => {
    const kit = await Kit.create();
    const c = kit.connected({ 'accept-version': '1.1' });
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/v11', ack: 'client-individual', 'prefetch-count': '1' }, undefined, '1.1');
    sendAll(c, '/queue/v11', range(2));
    kit.flush();
    const [m] = c.take();
    assert.equal(m?.text, 'm0');
    c.send('ACK', { 'message-id': m.h('message-id')!, subscription: 's' }, undefined, '1.1');
    kit.flush();
    assert.deepEqual(c.takeBodies(), ['m1']);
    c.send('ACK', { 'message-id': m.h('message-id')! }, undefined, '1.1');
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'missing header');
  });

  test('STOMP 1.0 acknowledges by message-id alone', async () => {
    const kit = await Kit.create();
    const c = kit.connected({});
    c.send('SUBSCRIBE', { destination: '/queue/v10', ack: 'client', 'prefetch-count': '1' }, undefined, '1.0');
    sendAll(c, '/queue/v10', range(2));
    kit.flush();
    const [m] = c.take();
    c.send('ACK', { 'message-id': m!.h('message-id')!, receipt: 'r' }, undefined, '1.0');
    kit.flush();
    const frames = c.take();
    assert.deepEqual(frames.map((f) => f.command).sort(), ['MESSAGE', 'RECEIPT']);
    c.send('ACK', { 'message-id': 'no-such-id' }, undefined, '1.0');
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'unknown ack id');
  });

  test('invalid requeue header is refused', async () => {
    const { kit, c, acks } = await threeDelivered('client-individual');
    c.send('NACK', { id: acks[0]!, requeue: 'maybe' });
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'invalid requeue');
  });
});

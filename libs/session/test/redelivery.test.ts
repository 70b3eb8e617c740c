// NACK, dead-lettering, maxDeliveries, and what happens to unacked messages when a subscription or
// connection goes away (DESIGN-NOTES "ACK/NACK" and "Connection close/DISCONNECT/UNSUBSCRIBE").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit, type KitOptions, type Received } from './kit.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

async function setup(ack: string, n: number, options: KitOptions = {}, destination = '/queue/r') {
  const kit = await Kit.create(options);
  const c = kit.connected();
  c.send('SUBSCRIBE', { id: 's', destination, ack });
  kit.flush();
  for (const b of range(n)) c.send('SEND', { destination }, b);
  kit.flush();
  const delivered = c.take();
  assert.equal(delivered.length, n);
  return { kit, c, delivered };
}

function redelivery(f: Received): [string, string | undefined, string | undefined] {
  return [f.text, f.h('redelivered'), f.h('x-delivery-count')];
}

/** A second consumer that takes whatever is in `queue` now. */
function drain(kit: Kit, queue: string): Received[] {
  const d = kit.connected();
  d.send('SUBSCRIBE', { id: 'drain', destination: queue });
  kit.flush();
  return d.take();
}

describe('NACK requeue', () => {
  test('client mode: NACK of the 3rd requeues 1..3 at the head, in original order, marked redelivered', async () => {
    const { kit, c, delivered } = await setup('client', 4, { config: { maxUnacked: 4 } });
    // Newer messages are waiting behind the window; the requeued ones must overtake them.
    c.send('SEND', { destination: '/queue/r' }, 'later');
    c.send('NACK', { id: delivered[2]!.h('ack')! });
    kit.flush();
    const again = c.take();
    assert.deepEqual(again.map(redelivery), [
      ['m0', 'true', '1'],
      ['m1', 'true', '1'],
      ['m2', 'true', '1'],
    ]);
    // The message-id is the same message's id.
    assert.deepEqual(again.map((f) => f.h('message-id')), delivered.slice(0, 3).map((f) => f.h('message-id')));
    assert.equal(kit.hub.metrics.messagesRedelivered, 3);
  });

  test('client-individual: only the NACKed one comes back', async () => {
    const { kit, c, delivered } = await setup('client-individual', 3);
    c.send('NACK', { id: delivered[1]!.h('ack')! });
    kit.flush();
    assert.deepEqual(c.take().map(redelivery), [['m1', 'true', '1']]);
  });

  test('x-delivery-count counts every earlier delivery', async () => {
    const { kit, c, delivered } = await setup('client-individual', 1);
    let ack = delivered[0]!.h('ack')!;
    for (let i = 1; i <= 3; i++) {
      c.send('NACK', { id: ack });
      kit.flush();
      const [m] = c.take();
      assert.deepEqual(redelivery(m!), ['m0', 'true', String(i)]);
      ack = m!.h('ack')!;
    }
  });

  test('a requeued message may go to another consumer', async () => {
    const { kit, c } = await setup('client-individual', 1);
    c.send('UNSUBSCRIBE', { id: 's' });
    kit.flush();
    // UNSUBSCRIBE requeued it; the consumer is gone, so the next one gets it.
    assert.deepEqual(drain(kit, '/queue/r').map(redelivery), [['m0', 'true', '1']]);
  });

  test('topic NACK redelivers to the same subscription, ahead of held messages', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 't', destination: '/topic/n', ack: 'client', 'prefetch-count': '2' });
    kit.flush();
    for (const b of range(4)) c.send('SEND', { destination: '/topic/n' }, b);
    kit.flush();
    const first = c.take();
    assert.deepEqual(first.map((f) => f.text), ['m0', 'm1']);
    c.send('NACK', { id: first[1]!.h('ack')! });
    kit.flush();
    assert.deepEqual(c.take().map(redelivery), [
      ['m0', 'true', '1'],
      ['m1', 'true', '1'],
    ]);
  });
});

describe('NACK requeue:false and dead letters', () => {
  test('without a dead-letter destination the message is dropped', async () => {
    const { kit, c, delivered } = await setup('client-individual', 2);
    c.send('NACK', { id: delivered[0]!.h('ack')!, requeue: 'false', receipt: 'r' });
    kit.flush();
    assert.deepEqual(c.take().map((f) => f.command), ['RECEIPT']);
    assert.equal(kit.hub.metrics.messagesDeadLettered, 0);
    c.closed();
    // Only the unsettled m1 comes back.
    assert.deepEqual(drain(kit, '/queue/r').map((f) => f.text), ['m1']);
  });

  test('with a dead-letter destination the message goes there with x-death headers', async () => {
    const { kit, c, delivered } = await setup('client-individual', 1, { config: { deadLetterDestination: '/queue/dlq' } });
    c.send('NACK', { id: delivered[0]!.h('ack')!, requeue: 'false' });
    kit.flush();
    assert.deepEqual(c.take(), []);
    const [dead] = drain(kit, '/queue/dlq');
    assert.ok(dead);
    assert.equal(dead.text, 'm0');
    assert.equal(dead.h('destination'), '/queue/dlq');
    assert.equal(dead.h('x-death-reason'), 'rejected');
    assert.equal(dead.h('x-original-destination'), '/queue/r');
    assert.equal(dead.h('x-original-message-id'), delivered[0]!.h('message-id'));
    assert.equal(kit.hub.metrics.messagesDeadLettered, 1);
  });

  test('a topic message can be dead-lettered too', async () => {
    const { kit, c, delivered } = await setup('client', 1, { config: { deadLetterDestination: '/queue/dlq' } }, '/topic/t');
    c.send('NACK', { id: delivered[0]!.h('ack')!, requeue: 'false' });
    kit.flush();
    const [dead] = drain(kit, '/queue/dlq');
    assert.equal(dead?.h('x-original-destination'), '/topic/t');
  });

  test('client mode requeue:false dead-letters every settled message in order', async () => {
    const { kit, c, delivered } = await setup('client', 3, { config: { deadLetterDestination: '/queue/dlq' } });
    c.send('NACK', { id: delivered[1]!.h('ack')!, requeue: 'false' });
    kit.flush();
    assert.deepEqual(drain(kit, '/queue/dlq').map((f) => f.text), ['m0', 'm1']);
  });

  test('an unusable dead-letter destination is refused when the hub is built', async () => {
    await assert.rejects(Kit.create({ config: { deadLetterDestination: '/nowhere/dlq' } }), /deadLetterDestination/);
    await assert.rejects(Kit.create({ config: { deadLetterDestination: '/topic/a.*' } }), /deadLetterDestination/);
  });

  test('messages NACKed on the dead-letter queue itself are dropped, not looped', async () => {
    const { kit, c, delivered } = await setup('client-individual', 1, { config: { deadLetterDestination: '/queue/dlq' } }, '/queue/dlq');
    c.send('NACK', { id: delivered[0]!.h('ack')!, requeue: 'false' });
    kit.flush();
    assert.deepEqual(c.take(), []);
    assert.equal(kit.memory.stats().queuedMessages, 0);
  });
});

describe('maxDeliveries', () => {
  test('after maxDeliveries attempts a NACKed message is dead-lettered with reason delivery-limit', async () => {
    const { kit, c, delivered } = await setup('client-individual', 1, {
      config: { maxDeliveries: 3, deadLetterDestination: '/queue/dlq' },
    });
    let m = delivered[0]!;
    const counts: (string | undefined)[] = [m.h('x-delivery-count')];
    for (;;) {
      c.send('NACK', { id: m.h('ack')! });
      kit.flush();
      const next = c.take()[0];
      if (next === undefined) break;
      counts.push(next.h('x-delivery-count'));
      m = next;
    }
    assert.deepEqual(counts, [undefined, '1', '2']); // three deliveries in all
    const [dead] = drain(kit, '/queue/dlq');
    assert.equal(dead?.h('x-death-reason'), 'delivery-limit');
  });

  test('maxDeliveries applies to client-acked topic redeliveries too', async () => {
    const { kit, c, delivered } = await setup('client', 1, { config: { maxDeliveries: 2, deadLetterDestination: '/queue/dlq' } }, '/topic/t');
    c.send('NACK', { id: delivered[0]!.h('ack')! });
    kit.flush();
    const [again] = c.take();
    assert.equal(again?.h('x-delivery-count'), '1');
    c.send('NACK', { id: again.h('ack')! });
    kit.flush();
    assert.deepEqual(c.take(), []);
    assert.equal(drain(kit, '/queue/dlq')[0]?.h('x-death-reason'), 'delivery-limit');
  });

  test('maxDeliveries 1 dead-letters on the first NACK', async () => {
    const { kit, c, delivered } = await setup('client', 1, { config: { maxDeliveries: 1 } });
    c.send('NACK', { id: delivered[0]!.h('ack')! });
    kit.flush();
    assert.deepEqual(c.take(), []);
    assert.equal(kit.memory.stats().queuedMessages, 0);
  });
});

describe('unacked messages when the consumer goes away', () => {
  async function unackedOnQueue() {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/u', ack: 'client', 'prefetch-count': '3' });
    for (const b of range(5)) c.send('SEND', { destination: '/queue/u' }, b);
    kit.flush();
    assert.deepEqual(c.takeBodies(), ['m0', 'm1', 'm2']);
    return { kit, c };
  }

  function expectRequeuedInOrder(kit: Kit): void {
    const got = drain(kit, '/queue/u');
    assert.deepEqual(got.map((f) => [f.text, f.h('redelivered')]), [
      ['m0', 'true'],
      ['m1', 'true'],
      ['m2', 'true'],
      ['m3', undefined],
      ['m4', undefined],
    ]);
  }

  test('on connection close: requeued at the head, original order', async () => {
    const { kit, c } = await unackedOnQueue();
    c.closed();
    expectRequeuedInOrder(kit);
  });

  test('on DISCONNECT', async () => {
    const { kit, c } = await unackedOnQueue();
    c.send('DISCONNECT', { receipt: 'bye' });
    kit.flush();
    expectRequeuedInOrder(kit);
  });

  test('on UNSUBSCRIBE (the connection stays)', async () => {
    const { kit, c } = await unackedOnQueue();
    c.send('UNSUBSCRIBE', { id: 's' });
    kit.flush();
    assert.equal(c.session.state, 'connected');
    expectRequeuedInOrder(kit);
  });

  test('on ERROR', async () => {
    const { kit, c } = await unackedOnQueue();
    c.send('FROB', {});
    kit.flush();
    expectRequeuedInOrder(kit);
  });

  test('unacked topic messages are dropped, not redelivered', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 't', destination: '/topic/u', ack: 'client' });
    kit.flush();
    c.send('SEND', { destination: '/topic/u' }, 'x');
    kit.flush();
    assert.equal(c.take().length, 1);
    c.send('UNSUBSCRIBE', { id: 't' });
    c.send('SUBSCRIBE', { id: 't', destination: '/topic/u', ack: 'client' });
    kit.flush();
    assert.deepEqual(c.take(), []);
  });

  test('ACK after UNSUBSCRIBE is unknown', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/u', ack: 'client' });
    c.send('SEND', { destination: '/queue/u' }, 'x');
    kit.flush();
    const ack = c.take()[0]!.h('ack')!;
    c.send('UNSUBSCRIBE', { id: 's' });
    c.send('ACK', { id: ack });
    kit.flush();
    assert.equal(c.take()[0]?.h('message'), 'unknown ack id');
  });
});

// Leaving a node without losing messages: each topic subscription's position (the last message-id
// it was delivered), the drain's ERROR that hands those positions to the client, the admin close,
// and the pause of shared-queue deliveries while the broker hands queue work to other nodes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Broker } from '@stompede/broker-api';
import type { MemoryBroker } from '@stompede/cluster';
import { closeByAdmin, closeForDrain, type Subscription } from '@stompede/session';
import { Kit, type Client, type Received } from './kit.js';

function subOf(c: Client, id: string): Subscription {
  const sub = [...c.session.subscriptionList()].find((s) => s.id === id);
  assert.ok(sub, `no subscription ${id}`);
  return sub;
}

/** message-id of the MESSAGE with `body` on subscription `sub`. */
function idOf(frames: Received[], sub: string, body: string): string {
  const f = frames.find((x) => x.command === 'MESSAGE' && x.h('subscription') === sub && x.text === body);
  assert.ok(f, `no MESSAGE ${body} on ${sub}`);
  return f.h('message-id')!;
}

/** The memory broker, plus a setDraining that says the queue entries were handed to other nodes. */
function handingBack(calls: boolean[]): (inner: MemoryBroker) => Broker {
  return (inner) =>
    new Proxy(inner, {
      get: (target, prop) => {
        if (prop === 'setDraining') {
          return (draining: boolean) => {
            calls.push(draining);
            return true;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
}

describe('subscription position', () => {
  for (const native of [true, false]) {
    test(`groups, late joiners, client acks; none for queues and patterns (native groups: ${native})`, async () => {
      const kit = await Kit.create();
      const pub = kit.connected();
      const a = kit.connected(undefined, native);
      const c = kit.connected(undefined, native);
      a.send('SUBSCRIBE', { id: 's', destination: '/topic/px.a' });
      a.send('SUBSCRIBE', { id: 'w', destination: '/topic/px.*' });
      a.send('SUBSCRIBE', { id: 'q', destination: '/queue/px' });
      c.send('SUBSCRIBE', { id: 'c', destination: '/topic/px.a', ack: 'client-individual', 'prefetch-count': '1' });
      kit.flush();
      assert.equal(subOf(a, 's').position, undefined, 'nothing delivered yet');
      for (const body of ['m1', 'm2']) pub.send('SEND', { destination: '/topic/px.a' }, body);
      pub.send('SEND', { destination: '/queue/px' }, 'job');
      kit.flush();
      const seen = [...a.take(), ...c.take()];
      assert.equal(subOf(a, 's').position, idOf(seen, 's', 'm2'));
      assert.equal(subOf(a, 'w').position, undefined);
      assert.equal(subOf(a, 'q').position, undefined);
      // Credit for one: m2 waits, so c's position is the message it was delivered, not the group's.
      assert.equal(subOf(c, 'c').position, idOf(seen, 'c', 'm1'));

      const b = kit.connected(undefined, native);
      b.send('SUBSCRIBE', { id: 's', destination: '/topic/px.a' }); // joins a's group after m2
      c.send('ACK', { id: seen.find((f) => f.h('subscription') === 'c')!.h('ack')! });
      kit.flush();
      assert.equal(subOf(b, 's').position, undefined, 'm2 was not delivered to the late joiner');
      const released = c.take();
      assert.equal(subOf(c, 'c').position, idOf(released, 'c', 'm2'));
      pub.send('SEND', { destination: '/topic/px.a' }, 'm3');
      kit.flush();
      const m3 = idOf(b.take(), 's', 'm3');
      assert.equal(subOf(b, 's').position, m3);
      assert.equal(subOf(a, 's').position, m3);
    });
  }

  test('a resuming subscription is at the last message replayed, then the last live one', async () => {
    const kit = await Kit.create({ history: [{ prefix: '/topic/', messages: 100 }] });
    const pub = kit.connected();
    for (const body of ['r1', 'r2', 'r3']) pub.send('SEND', { destination: '/topic/hist' }, body);
    kit.flush();
    const ids = kit.memory.replay('/', '/topic/hist', '/topic/hist@0-0').messages.map((m) => m.id);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'r', destination: '/topic/hist', 'x-resume-after': ids[0]! });
    kit.flush();
    assert.deepEqual(c.takeBodies(), ['r2', 'r3']);
    assert.equal(subOf(c, 'r').position, ids[2]);
    pub.send('SEND', { destination: '/topic/hist' }, 'r4');
    kit.flush();
    assert.equal(subOf(c, 'r').position, idOf(c.take(), 'r', 'r4'));
  });
});

describe('closeForDrain', () => {
  for (const version of ['1.2', '1.1'] as const) {
    test(`ERROR names the node and each topic subscription's last message-id (STOMP ${version})`, async () => {
      const kit = await Kit.create();
      const pub = kit.connected();
      const c = kit.connected({ 'accept-version': version, host: '/' });
      const subscribe = (headers: Record<string, string>) => c.send('SUBSCRIBE', headers, undefined, version);
      subscribe({ id: 'g', destination: '/topic/news.a' });
      subscribe({ id: 'x:y', destination: '/topic/news.a' }); // a name only escaping makes a header name
      subscribe({ id: 'c', destination: '/topic/news.b', ack: 'client' });
      subscribe({ id: 'w', destination: '/topic/news.*' });
      subscribe({ id: 'q', destination: '/queue/jobs', ack: 'client' });
      subscribe({ id: 'idle', destination: '/topic/quiet' });
      kit.flush();
      for (const [destination, body] of [['/topic/news.a', 'a1'], ['/topic/news.a', 'a2'], ['/topic/news.b', 'b1'], ['/queue/jobs', 'j1']]) {
        pub.send('SEND', { destination: destination! }, body);
      }
      kit.flush();
      const seen = c.take();
      assert.equal(seen.length, 9); // g 2, x:y 2, c 1, w 3, q 1

      closeForDrain(c.session, 'node-x');
      kit.flush();
      const [error, ...rest] = c.take();
      assert.equal(error?.command, 'ERROR');
      assert.deepEqual(rest, []);
      assert.deepEqual([...error.headers.entries()], [
        ['message', 'node draining'],
        ['x-draining', 'true'],
        ['x-node-id', 'node-x'],
        ['x-last-message-id-g', idOf(seen, 'g', 'a2')],
        ['x-last-message-id-x:y', idOf(seen, 'x:y', 'a2')],
        ['x-last-message-id-c', idOf(seen, 'c', 'b1')],
        ['content-type', 'text/plain;charset=utf-8'],
        ['content-length', String(error.body.length)],
      ]);
      assert.ok(c.transport.rawText().includes('\nx-last-message-id-x\\cy:'), 'the name is escaped on the wire');
      assert.match(error.text, /node-x is draining.*x-resume-after/);
      assert.equal(kit.hub.metrics.errors.get('node draining'), 1);
      assert.ok(c.transport.ended, 'the connection ends after the ERROR');
      // The fake transport throws on any write after end: nothing may follow the ERROR.
      pub.send('SEND', { destination: '/topic/news.a' }, 'after');
      pub.send('SEND', { destination: '/queue/jobs' }, 'after');
      kit.flush();
      assert.deepEqual(c.take(), []);
    });
  }

  test('STOMP 1.0: a subscription id that cannot be a header name is left out', async () => {
    const kit = await Kit.create();
    const pub = kit.connected();
    const c = kit.connected({ 'accept-version': '1.0', host: '/' });
    c.send('SUBSCRIBE', { id: 'a:b', destination: '/topic/v.a' }, undefined, '1.0');
    c.send('SUBSCRIBE', { destination: '/topic/v.b' }, undefined, '1.0'); // known by its destination
    kit.flush();
    for (const d of ['/topic/v.a', '/topic/v.b']) pub.send('SEND', { destination: d }, 'm');
    kit.flush();
    const seen = c.take();
    closeForDrain(c.session, 'node-x');
    kit.flush();
    const [error] = c.take();
    assert.deepEqual(error?.headers.names.filter((n) => n.startsWith('x-last-message-id-')), ['x-last-message-id-/topic/v.b']);
    assert.equal(error.h('x-last-message-id-/topic/v.b'), idOf(seen, '/topic/v.b', 'm'));
    assert.ok(!c.transport.rawText().includes('x-last-message-id-a'));
  });

  for (const native of [true, false]) {
    test(`a message routed in the drain's turn reaches the client before the ERROR that names it (native: ${native})`, async () => {
      const kit = await Kit.create();
      const pub = kit.connected();
      const c = kit.connected(undefined, native);
      c.send('SUBSCRIBE', { id: 'g', destination: '/topic/t' });
      kit.flush();
      pub.send('SEND', { destination: '/topic/t' }, 'last');
      closeForDrain(c.session, 'node-x');
      kit.flush();
      const frames = c.take();
      assert.deepEqual(frames.map((f) => f.command), ['MESSAGE', 'ERROR']);
      assert.equal(frames[1]!.h('x-last-message-id-g'), frames[0]!.h('message-id'));
    });
  }
  // The drain closes clients from a timer; messages read from the cluster later in the same loop
  // turn go to the group's batch, which the end of the turn publishes before it writes the
  // sessions' output. A native member keeps its uWS topic until its socket ends, so with other
  // members keeping the group alive the batch reached the closed client ahead of its ERROR, newer
  // than the ERROR's x-last-message-id (seen by the rolling-update rehearsal as duplicates).
  for (const native of [true, false]) {
    test(`nothing routed after the drain's ERROR reaches the client before it (native: ${native})`, async () => {
      const kit = await Kit.create();
      const pub = kit.connected();
      const c = kit.connected(undefined, native);
      const other = kit.connected(undefined, native); // keeps the group alive after c leaves it
      for (const member of [c, other]) member.send('SUBSCRIBE', { id: 'g', destination: '/topic/t' });
      kit.flush();
      pub.send('SEND', { destination: '/topic/t' }, 'before');
      kit.flush();
      const before = idOf(c.take(), 'g', 'before');
      other.take();
      closeForDrain(c.session, 'node-x');
      pub.send('SEND', { destination: '/topic/t' }, 'after'); // same turn, after the close
      kit.flush();
      const frames = c.take();
      assert.deepEqual(frames.map((f) => `${f.command} ${f.command === 'MESSAGE' ? f.text : f.h('message')}`), ['ERROR node draining']);
      assert.equal(frames[0]!.h('x-last-message-id-g'), before);
      assert.deepEqual(other.takeBodies(), ['after'], 'the other members still get it');
    });
  }
  // Known gap (see the report): a subscription that resumed and has had nothing new since has a
  // position, the x-resume-after it came with, but Subscription.position reports none, so a second
  // drain (a rolling restart) leaves the client nothing to resume from.
  test('a resumed subscription with nothing new keeps its resume point', async () => {
    const kit = await Kit.create({ history: [{ prefix: '/topic/', messages: 100 }] });
    kit.connected().send('SEND', { destination: '/topic/h' }, 'seen before');
    kit.flush();
    const [seen] = kit.memory.replay('/', '/topic/h', '/topic/h@0-0').messages.map((m) => m.id);
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'r', destination: '/topic/h', 'x-resume-after': seen! });
    kit.flush();
    closeForDrain(c.session, 'node-x');
    kit.flush();
    assert.equal(c.take()[0]?.h('x-last-message-id-r'), seen);
  });
});

describe('closeByAdmin', () => {
  test('ERROR with the reason in x-close-reason and the body, then the close', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/a' });
    kit.flush();
    closeByAdmin(c.session, 'abuse: ticket 42');
    kit.flush();
    const [error, ...rest] = c.take();
    assert.deepEqual(rest, []);
    assert.equal(error?.command, 'ERROR');
    assert.equal(error.h('message'), 'closed by administrator');
    assert.equal(error.h('x-close-reason'), 'abuse: ticket 42');
    assert.match(error.text, /abuse: ticket 42/);
    assert.ok(c.transport.ended);
    assert.equal(kit.hub.metrics.errors.get('closed by administrator'), 1);
    assert.equal(kit.hub.metrics.subscriptions, 0);
  });
});

describe('hub.setDraining', () => {
  test('a broker that hands queue entries back: local consumers pause, reply queues do not', async () => {
    const calls: boolean[] = [];
    const kit = await Kit.create({ broker: handingBack(calls) });
    const server = kit.connected();
    const worker = kit.connected();
    const client = kit.connected();
    server.send('SUBSCRIBE', { id: 'req', destination: '/queue/requests' });
    worker.send('SUBSCRIBE', { id: 'w', destination: '/queue/jobs' });
    client.send('SEND', { destination: '/queue/requests', 'reply-to': '/temp-queue/r' }, 'question');
    kit.flush();
    const [request] = server.take();
    assert.ok(request);

    kit.hub.setDraining(true);
    assert.deepEqual(calls, [true]);
    assert.equal(kit.hub.queueTakesPaused, true);
    for (const body of ['j1', 'j2']) client.send('SEND', { destination: '/queue/jobs' }, body);
    server.send('SEND', { destination: request.h('reply-to')! }, 'answer');
    const late = kit.connected();
    late.send('SUBSCRIBE', { id: 'w', destination: '/queue/jobs' });
    kit.flush();
    assert.deepEqual(worker.take(), []);
    assert.deepEqual(late.take(), []);
    assert.deepEqual(client.takeBodies(), ['answer']);
    assert.equal((await kit.memory.destinationStats('/', [{ name: '/queue/jobs', kind: 'queue' }]))[0]!.depth, 2);

    kit.hub.setDraining(false);
    assert.deepEqual(calls, [true, false]);
    assert.equal(kit.hub.queueTakesPaused, false);
    kit.flush();
    assert.deepEqual([...worker.takeBodies(), ...late.takeBodies()].sort(), ['j1', 'j2']);
  });

  test('the memory broker keeps no queue elsewhere: deliveries go on while draining', async () => {
    const kit = await Kit.create();
    const worker = kit.connected();
    worker.send('SUBSCRIBE', { id: 'w', destination: '/queue/jobs' });
    kit.flush();
    kit.hub.setDraining(true);
    assert.equal(kit.hub.queueTakesPaused, false);
    kit.connected().send('SEND', { destination: '/queue/jobs' }, 'j1');
    kit.flush();
    assert.deepEqual(worker.takeBodies(), ['j1']);
  });
});

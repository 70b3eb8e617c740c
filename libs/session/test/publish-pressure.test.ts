// Publish pressure seen from a session: a SEND to a destination whose readers lag is accepted and
// then the connection's input is held (a pausable transport stops reading; otherwise input is kept
// up to maxHeldInputBytes, then ERROR publisher too fast); near the hard bound the SEND is refused
// (ERROR destination overloaded). Both ERRORs say how many SENDs were accepted. And the MESSAGE
// after a gap the node saw says so.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Message, type Broker, type PublishPressure } from '@stompede/broker-api';
import { Kit, type Client } from './kit.js';

/** The memory broker, with a publish pressure the test sets per destination. */
function pressing(pressures: Map<string, PublishPressure>): (memory: Broker) => Broker {
  return (memory) => new Proxy(memory, {
    get(target, prop, receiver) {
      if (prop === 'publishPressure') return (_vhost: string, destination: string) => pressures.get(destination) ?? 'none';
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function send(c: Client, destination: string, body: string): void {
  c.send('SEND', { destination }, body);
}

describe('publish pressure', () => {
  test('slow: the SEND is accepted, then input is held (the transport paused) until the pressure goes; nothing is lost or reordered', async () => {
    const pressures = new Map<string, PublishPressure>([['/topic/hot', 'slow']]);
    const kit = await Kit.create({ broker: pressing(pressures) });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/#' });
    const pub = kit.connected();
    pub.transport.pausable();
    send(pub, '/topic/hot', 'h1');
    send(pub, '/topic/cold', 'c1');
    send(pub, '/topic/hot', 'h2');
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['h1'], 'only the first SEND went through');
    assert.equal(pub.transport.paused, true);
    assert.equal(kit.hub.inputsHeld, 1);
    // Held input is not the client's silence: heart-beat checks wait.
    kit.advance(60_000);
    kit.hub.tick();
    assert.equal(pub.session.state, 'connected');
    pressures.delete('/topic/hot');
    kit.hub.router.onPressureRelieved();
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['c1', 'h2']);
    assert.equal(pub.transport.paused, false);
    assert.equal(kit.hub.inputsHeld, 0);
    assert.equal(pub.session.sendsAccepted, 3);
  });

  test('frames read in one chunk: the hold takes effect after the SEND that met the pressure, the rest of the chunk waits', async () => {
    const pressures = new Map<string, PublishPressure>([['/topic/hot', 'slow']]);
    const kit = await Kit.create({ broker: pressing(pressures) });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/hot' });
    const pub = kit.connected();
    pub.transport.pausable();
    // Five SENDs in one read, the last one split across two reads.
    const all = ['1', '2', '3', '4', '5'].map((b) => `SEND\ndestination:/topic/hot\n\n${b}\0`).join('');
    pub.raw(all.slice(0, -3));
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['1'], 'one SEND per release');
    assert.equal(pub.transport.paused, true);
    pressures.clear();
    kit.hub.router.onPressureRelieved();
    pub.raw(all.slice(-3));
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['2', '3', '4', '5'], 'the rest, in order, the split frame completed by the next read');
    assert.equal(pub.session.sendsAccepted, 5);
  });

  test('input held again while released input is replayed stays held, in order', async () => {
    const pressures = new Map<string, PublishPressure>([['/topic/hot', 'slow']]);
    const kit = await Kit.create({ broker: pressing(pressures) });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/hot' });
    const pub = kit.connected();
    for (const b of ['1', '2', '3']) send(pub, '/topic/hot', b);
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['1']);
    kit.hub.router.onPressureRelieved(); // still pressed: each release lets one more through
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['2']);
    pressures.clear();
    kit.hub.router.onPressureRelieved();
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['3']);
  });

  test('a WebSocket (no pause) that keeps sending past maxHeldInputBytes gets ERROR publisher too fast, with the SENDs accepted', async () => {
    const kit = await Kit.create({ broker: pressing(new Map([['/topic/hot', 'slow']])), config: { maxHeldInputBytes: 200 } });
    const pub = kit.connected();
    send(pub, '/topic/other', 'fine');
    send(pub, '/topic/hot', 'pressed');
    for (let i = 0; i < 10; i++) send(pub, '/topic/other', 'x'.repeat(40));
    kit.flush();
    const error = pub.take().at(-1)!;
    assert.equal(error.command, 'ERROR');
    assert.equal(error.h('message'), 'publisher too fast');
    assert.equal(error.h('x-sends-accepted'), '2');
    assert.equal(pub.transport.ended, true);
  });

  test('full: the SEND is refused with ERROR destination overloaded, nothing is published, the count says what was', async () => {
    const kit = await Kit.create({ broker: pressing(new Map([['/topic/hot', 'full']])) });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/#' });
    const pub = kit.connected();
    send(pub, '/topic/ok', 'a');
    send(pub, '/topic/ok', 'b');
    pub.send('SEND', { destination: '/topic/hot', receipt: 'r-hot' }, 'refused');
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['a', 'b']);
    const error = pub.take().at(-1)!;
    assert.equal(error.h('message'), 'destination overloaded');
    assert.equal(error.h('x-sends-accepted'), '2');
    assert.equal(error.h('receipt-id'), 'r-hot');
  });

  test('a transaction is refused whole: a COMMIT with a SEND to an overloaded destination publishes none of it', async () => {
    const pressures = new Map<string, PublishPressure>();
    const kit = await Kit.create({ broker: pressing(pressures) });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/#' });
    const pub = kit.connected();
    pub.send('BEGIN', { transaction: 't' });
    pub.send('SEND', { destination: '/topic/ok', transaction: 't' }, 'first');
    pub.send('SEND', { destination: '/topic/hot', transaction: 't' }, 'second');
    pressures.set('/topic/hot', 'full');
    pub.send('COMMIT', { transaction: 't', receipt: 'r-commit' });
    kit.flush();
    assert.deepEqual(sub.takeBodies(), [], 'nothing of the transaction');
    const error = pub.take().at(-1)!;
    assert.equal(error.h('message'), 'destination overloaded');
    assert.equal(error.h('receipt-id'), 'r-commit');
  });

  test('queues are never pressed: their own bounds apply', async () => {
    const kit = await Kit.create({ broker: pressing(new Map([['/queue/q', 'full']])) });
    const pub = kit.connected();
    pub.send('SEND', { destination: '/queue/q', receipt: 'r' }, 'job');
    kit.flush();
    assert.equal(pub.take()[0]?.command, 'RECEIPT');
  });
});

describe('a gap the node saw', () => {
  test('the MESSAGE after it carries x-resume-gap and the count, on grouped and client-ack subscriptions alike', async () => {
    const kit = await Kit.create();
    const grouped = kit.connected();
    grouped.send('SUBSCRIBE', { id: 'g', destination: '/topic/gappy' });
    const acked = kit.connected();
    acked.send('SUBSCRIBE', { id: 'a', destination: '/topic/gappy', ack: 'client' });
    kit.flush();
    const missing = new Message('/topic/gappy', '/topic/gappy@5-0', { names: [], values: [] }, Buffer.from('after the gap'));
    missing.missedBefore = 4;
    kit.hub.router.onTopicMessage('/', missing);
    kit.hub.router.onTopicMessage('/', new Message('/topic/gappy', '/topic/gappy@6-0', { names: [], values: [] }, Buffer.from('next')));
    kit.flush();
    for (const c of [grouped, acked]) {
      const [first, second] = c.take();
      assert.equal(first!.h('x-resume-gap'), 'true');
      assert.equal(first!.h('x-gap-messages'), '4');
      assert.equal(second!.h('x-resume-gap'), undefined);
    }
  });

  test('a SEND cannot forge the gap headers', async () => {
    const kit = await Kit.create();
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/forged' });
    const pub = kit.connected();
    pub.send('SEND', { destination: '/topic/forged', 'x-resume-gap': 'true', 'x-gap-messages': '9' }, 'hi');
    kit.flush();
    const [m] = sub.take();
    assert.equal(m!.h('x-resume-gap'), undefined);
    assert.equal(m!.h('x-gap-messages'), undefined);
  });
});

// Topic pub/sub through sessions: who receives a message (exact and wildcard subscriptions, once
// per subscription), what the MESSAGE frame looks like, and per-version header handling.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit } from './kit.js';

describe('topic routing', () => {
  test('exact and wildcard subscribers each receive a message once', async () => {
    for (const native of [true, false]) {
      const kit = await Kit.create();
      const pub = kit.connected();
      const subs = new Map<string, ReturnType<Kit['connected']>>();
      const patterns = ['/topic/a.b', '/topic/a.*', '/topic/*.b', '/topic/#', '/topic/a.#', '/topic/a.#.b', '/topic/#.#', '/topic/x.*', '/topic/a.b.*'];
      for (const p of patterns) {
        const c = kit.connected(undefined, native);
        c.send('SUBSCRIBE', { id: 'sub-0', destination: p });
        subs.set(p, c);
      }
      kit.flush();
      pub.send('SEND', { destination: '/topic/a.b' }, 'hello');
      kit.flush();
      const expected = new Set(['/topic/a.b', '/topic/a.*', '/topic/*.b', '/topic/#', '/topic/a.#', '/topic/a.#.b', '/topic/#.#']);
      for (const [p, c] of subs) {
        const frames = c.take();
        if (expected.has(p)) {
          assert.equal(frames.length, 1, `${p} (native ${native})`);
          assert.equal(frames[0]!.h('subscription'), 'sub-0');
          assert.equal(frames[0]!.h('destination'), '/topic/a.b');
          assert.equal(frames[0]!.text, 'hello');
        } else {
          assert.equal(frames.length, 0, `${p} (native ${native})`);
        }
      }
    }
  });

  test('one session with overlapping subscriptions gets one MESSAGE per subscription', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'exact', destination: '/topic/a.b' });
    c.send('SUBSCRIBE', { id: 'star', destination: '/topic/a.*' });
    c.send('SUBSCRIBE', { id: 'hash', destination: '/topic/#', ack: 'client' });
    kit.flush();
    c.send('SEND', { destination: '/topic/a.b' }, 'm');
    kit.flush();
    assert.deepEqual(c.take().map((f) => f.h('subscription')).sort(), ['exact', 'hash', 'star']);
  });

  test('subscribers by id and version: each gets one frame while groups come and go', async () => {
    const kit = await Kit.create();
    const pub = kit.connected();
    const subs = [
      { c: kit.connected(), id: 'sub-0' },
      { c: kit.connected(), id: 'sub-0' },
      { c: kit.connected({ 'accept-version': '1.1', host: '/' }), id: 'sub-0' },
      { c: kit.connected(), id: 'sub-1' },
      { c: kit.connected(undefined, false), id: 'sub-1' },
    ];
    for (const { c, id } of subs) c.send('SUBSCRIBE', { id, destination: '/topic/g' });
    kit.flush();
    for (let left = subs.length; left > 0; left--) {
      pub.send('SEND', { destination: '/topic/g' }, `to ${left}`);
      kit.flush();
      for (const [i, { c, id }] of subs.entries()) {
        const frames = c.take();
        if (i >= left) {
          assert.equal(frames.length, 0, `subscriber ${i} has left`);
          continue;
        }
        assert.deepEqual(frames.map((f) => [f.h('subscription'), f.text]), [[id, `to ${left}`]], `subscriber ${i}, ${left} left`);
      }
      subs[left - 1]!.c.send('UNSUBSCRIBE', { id: subs[left - 1]!.id });
      kit.flush();
    }
    assert.equal(kit.hub.router.stats('/').topics, 0);
  });

  test('topic messages reach neither queue consumers nor other vhosts', async () => {
    const kit = await Kit.create({ config: { vhosts: ['/', 'other'] } });
    const pub = kit.connected();
    const queue = kit.connected();
    queue.send('SUBSCRIBE', { id: '1', destination: '/queue/a' });
    const otherVhost = kit.connected({ 'accept-version': '1.2', host: 'other' });
    otherVhost.send('SUBSCRIBE', { id: '1', destination: '/topic/#' });
    kit.flush();
    pub.send('SEND', { destination: '/topic/a' }, 'x');
    kit.flush();
    assert.deepEqual(queue.take(), []);
    assert.deepEqual(otherVhost.take(), []);
  });

  test('the RECEIPT of a SEND comes after the MESSAGE it produced on the same connection', async () => {
    for (const native of [true, false]) {
      const kit = await Kit.create();
      const c = kit.connected(undefined, native);
      c.send('SUBSCRIBE', { id: 's', destination: '/topic/self' });
      c.send('SUBSCRIBE', { id: 'a', destination: '/topic/self', ack: 'client' });
      kit.flush();
      c.send('SEND', { destination: '/topic/self', receipt: 'r' }, 'x');
      kit.flush();
      const frames = c.take();
      assert.equal(frames.length, 3);
      assert.equal(frames[2]!.command, 'RECEIPT', `native ${native}`);
    }
  });

  test('nobody subscribed: the message is dropped quietly', async () => {
    const kit = await Kit.create();
    const pub = kit.connected();
    pub.send('SEND', { destination: '/topic/void', receipt: 'r' }, 'x');
    kit.flush();
    assert.deepEqual(pub.take().map((f) => f.command), ['RECEIPT']);
    assert.equal(kit.hub.metrics.messagesPublished, 1);
    assert.equal(kit.hub.metrics.messagesDelivered, 0);
  });

  test('UNSUBSCRIBE stops deliveries and forgets the topic', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/a.*' });
    c.send('UNSUBSCRIBE', { id: '1' });
    c.send('SEND', { destination: '/topic/a.b' }, 'x');
    kit.flush();
    assert.deepEqual(c.take(), []);
    assert.deepEqual(kit.hub.router.stats('/'), { topics: 0, queues: 0 });
  });

  test('STOMP 1.0 UNSUBSCRIBE by destination; SUBSCRIBE id defaults to the destination', async () => {
    const kit = await Kit.create();
    const c = kit.connected({});
    c.send('SUBSCRIBE', { destination: '/topic/a' }, undefined, '1.0');
    c.send('SEND', { destination: '/topic/a' }, 'one', '1.0');
    kit.flush();
    const [m] = c.take();
    assert.equal(m?.h('subscription'), '/topic/a');
    c.send('UNSUBSCRIBE', { destination: '/topic/a', receipt: 'u' }, undefined, '1.0');
    c.send('SEND', { destination: '/topic/a' }, 'two', '1.0');
    kit.flush();
    assert.deepEqual(c.take().map((f) => f.command), ['RECEIPT']);
  });
});

describe('MESSAGE frames', () => {
  test('headers: subscription, message-id, destination, user headers in order with repeats, content-length', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/h' });
    kit.flush();
    c.send(
      'SEND',
      [
        ['destination', '/topic/h'],
        ['x-b', '1'],
        ['x-a', '2'],
        ['x-b', '3'],
        ['message-id', 'forged'],
        ['subscription', 'forged'],
        ['ack', 'forged'],
        ['redelivered', 'true'],
        ['x-delivery-count', '9'],
        ['content-type', 'text/plain'],
      ],
      'body',
    );
    kit.flush();
    const [m] = c.take();
    assert.ok(m);
    assert.equal(m.command, 'MESSAGE');
    assert.deepEqual(m.headers.names, ['subscription', 'message-id', 'destination', 'x-b', 'x-a', 'x-b', 'content-type', 'content-length']);
    assert.deepEqual(m.headers.values.slice(2), ['/topic/h', '1', '2', '3', 'text/plain', '4']);
    assert.match(m.h('message-id')!, /^\/topic\/h@\d+-\d+$/);
  });

  test('message ids are unique', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/#' });
    kit.flush();
    for (let i = 0; i < 5; i++) c.send('SEND', { destination: `/topic/${i % 2}` }, String(i));
    kit.flush();
    assert.equal(new Set(c.take().map((f) => f.h('message-id'))).size, 5);
  });

  test('content-type is absent unless the SEND had one', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/h' });
    c.send('SEND', { destination: '/topic/h' }, 'x');
    kit.flush();
    assert.equal(c.take()[0]?.h('content-type'), undefined);
  });

  test('bodies with NUL (content-length) and non-UTF-8 bytes arrive intact', async () => {
    const kit = await Kit.create();
    const c = kit.connected(undefined, false);
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/bin' });
    kit.flush();
    const body = new Uint8Array([0, 1, 0xff, 0, 0x0a, 0]);
    c.send('SEND', { destination: '/topic/bin', 'content-length': String(body.length) }, body);
    c.send('SEND', { destination: '/topic/bin' }, 'text');
    kit.flush();
    const [bin, text] = c.take();
    assert.deepEqual(bin?.body, body);
    assert.equal(bin?.h('content-length'), '6');
    assert.equal(text?.text, 'text');
    // Binary bytes make the write binary (a WebSocket binary message); text alone does not.
    const writes = c.transport.writes.slice(-1);
    assert.equal(writes[0]?.binary, true);
  });

  test('header values are escaped per subscriber version; 1.0 passes them raw', async () => {
    const kit = await Kit.create();
    const v12 = kit.connected();
    const v10 = kit.connected({});
    v12.send('SUBSCRIBE', { id: 's', destination: '/topic/e' });
    v10.send('SUBSCRIBE', { id: 's', destination: '/topic/e' }, undefined, '1.0');
    kit.flush();
    v12.send('SEND', { destination: '/topic/e', note: 'a:b\\c' }, 'x');
    kit.flush();
    assert.equal(v12.take()[0]?.h('note'), 'a:b\\c');
    assert.match(v10.transport.rawText(), /\nnote:a:b\\c\n/);
    assert.match(v12.transport.rawText(), /\nnote:a\\cb\\\\c\n/);
  });

  test('client-ack topic subscription gets an ack header <ordinal>.<tag>', async () => {
    const kit = await Kit.create();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'auto', destination: '/topic/t' });
    c.send('SUBSCRIBE', { id: 'acked', destination: '/topic/t', ack: 'client-individual' });
    kit.flush();
    c.send('SEND', { destination: '/topic/t' }, 'x');
    c.send('SEND', { destination: '/topic/t' }, 'y');
    kit.flush();
    const frames = c.take();
    const auto = frames.filter((f) => f.h('subscription') === 'auto');
    const acked = frames.filter((f) => f.h('subscription') === 'acked');
    assert.deepEqual(auto.map((f) => f.h('ack')), [undefined, undefined]);
    const acks = acked.map((f) => f.h('ack')!);
    assert.equal(acks.length, 2);
    for (const a of acks) assert.match(a, /^2\.\d+$/);
    assert.notEqual(acks[0], acks[1]);
    assert.deepEqual(acked.map((f) => f.text), ['x', 'y']);
  });
});

// Slow consumers and credit (DESIGN-NOTES "Slow consumers"): acked and queue deliveries pause once
// half of maxPendingOutboundBytes waits in the socket and resume on drain; auto-ack topic
// deliveries to a full socket are dropped (policy drop) or end the connection (policy disconnect).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit, type Client } from './kit.js';

const MAX = 10_000;
const BODY = 'x'.repeat(1_000);

async function kitWith(policy: 'drop' | 'disconnect' = 'disconnect'): Promise<Kit> {
  return Kit.create({ config: { maxPendingOutboundBytes: MAX, slowConsumerPolicy: policy } });
}

function publish(c: Client, destination: string, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) c.send('SEND', { destination, n: String(i) }, BODY);
}

const numbers = (c: Client) => c.take().map((f) => Number(f.h('n')));
const seq = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe('credit: queue and client-ack deliveries', () => {
  for (const [kind, destination, ack] of [
    ['queue', '/queue/bp', 'auto'],
    ['queue (client ack)', '/queue/bp', 'client-individual'],
    ['client-ack topic', '/topic/bp', 'client'],
  ] as const) {
    test(`${kind}: paused while the socket holds over half the limit, resumed on drain, in order`, async () => {
      const kit = await kitWith();
      const c = kit.connected();
      c.send('SUBSCRIBE', { id: 's', destination, ack });
      kit.flush();
      const pub = kit.connected();
      c.transport.buffered = MAX / 2 + 1;
      publish(pub, destination, 5);
      kit.flush();
      assert.deepEqual(c.take(), [], 'nothing delivered while congested');
      // Still congested: a drain that did not free enough changes nothing.
      c.session.onDrain();
      kit.flush();
      assert.deepEqual(c.take(), []);
      c.transport.buffered = 0;
      c.session.onDrain();
      kit.flush();
      assert.deepEqual(numbers(c), seq(5));
      assert.equal(c.session.state, 'connected');
    });
  }

  test('a turn delivers up to half the limit; the rest follows the drain, nothing lost, order kept', async () => {
    const kit = await kitWith();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/big' });
    kit.flush();
    // The peer reads nothing for now: whatever is written stays buffered.
    c.transport.holdWrites = true;
    const writesBefore = c.transport.writes.length;
    const pub = kit.connected();
    publish(pub, '/queue/big', 20);
    kit.flush();
    const first = numbers(c);
    assert.ok(first.length > 0 && first.length < 20, `first turn delivered ${first.length}`);
    const firstBytes = c.transport.writes.slice(writesBefore).reduce((n, w) => n + w.bytes, 0);
    assert.ok(firstBytes >= MAX / 2 && firstBytes < MAX / 2 + 2 * BODY.length, `first turn wrote ${firstBytes}`);
    c.transport.holdWrites = false;
    // The kernel has not taken the bytes yet; when it has, the transport reports a drain.
    const got = [...first];
    for (let turn = 0; turn < 20 && got.length < 20; turn++) {
      c.transport.buffered = 0;
      c.session.onDrain();
      kit.flush();
      got.push(...numbers(c));
    }
    assert.deepEqual(got, seq(20));
  });

  test('deliveries resume when the socket took everything at once and never reports a drain', async () => {
    // bufferedBytes() stays 0: the transport handed every write to the kernel, so (like Node's
    // 'drain' and uWS's drain) it has no drain to report. Credit must come back anyway.
    const kit = await kitWith();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/big' });
    kit.flush();
    const pub = kit.connected();
    publish(pub, '/queue/big', 20);
    const got: number[] = [];
    for (let turn = 0; turn < 20 && got.length < 20; turn++) {
      kit.flush();
      got.push(...numbers(c));
    }
    assert.deepEqual(got, seq(20));
  });

  test('queue credit: another consumer takes what a congested one cannot', async () => {
    const kit = await kitWith();
    const slow = kit.connected();
    const fast = kit.connected();
    slow.send('SUBSCRIBE', { id: 's', destination: '/queue/share' });
    fast.send('SUBSCRIBE', { id: 's', destination: '/queue/share' });
    kit.flush();
    slow.transport.buffered = MAX;
    publish(fast, '/queue/share', 4);
    kit.flush();
    assert.deepEqual(slow.take(), []);
    assert.deepEqual(numbers(fast), seq(4));
  });

  test('a client-ack topic subscription holding more than the limit is a slow consumer', async () => {
    const kit = await kitWith();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/held', ack: 'client' });
    kit.flush();
    c.transport.buffered = MAX / 2 + 1;
    publish(kit.connected(), '/topic/held', 11);
    kit.flush();
    assert.equal(c.session.state, 'closing');
    assert.equal(kit.hub.metrics.slowConsumerDisconnects, 1);
  });
});

describe('slow consumer while settling', () => {
  test('a NACK that pushes held messages over the limit ends with ERROR and writes nothing after it', async () => {
    const kit = await kitWith();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/nack', ack: 'client', 'prefetch-count': '2' });
    kit.flush();
    const big = 'y'.repeat(3_000);
    // Two delivered (the window), three held (9000 bytes, just under the limit).
    for (let i = 0; i < 5; i++) c.send('SEND', { destination: '/topic/nack', n: String(i) }, big);
    kit.flush();
    const delivered = c.take();
    assert.equal(delivered.length, 2);
    // Requeueing both unacked ones puts 15000 bytes on hold: a slow consumer.
    c.send('NACK', { id: delivered[1]!.h('ack')! });
    kit.flush();
    const frames = c.take();
    assert.deepEqual(frames.map((f) => f.command), ['ERROR']);
    assert.equal(frames[0]!.h('message'), 'slow consumer');
    assert.equal(c.transport.ended, true);
  });
});

describe('output piling up behind a full socket', () => {
  test('a client that sends but never reads is cut once its RECEIPTs exceed the limit', async () => {
    const kit = await Kit.create({ config: { maxPendingOutboundBytes: 1_000, maxFrameBytes: 1_000 } });
    const c = kit.connected();
    c.transport.buffered = 1_001; // full: nothing more is written until it drains
    let sent = 0;
    while (c.session.state === 'connected' && sent < 1_000) {
      c.send('SEND', { destination: '/topic/flood', receipt: `r${sent++}` }, 'x');
    }
    assert.equal(c.session.state, 'closing');
    assert.ok(sent > 50, `cut after ${sent} frames`);
    assert.equal(kit.hub.metrics.slowConsumerDisconnects, 1);
    kit.flush();
    assert.equal(c.transport.ended, false, 'the ERROR waits for the drain');
    c.transport.buffered = 0;
    c.session.onDrain();
    // The unread RECEIPTs are dropped: the ERROR goes out alone.
    const frames = c.take();
    assert.deepEqual(frames.map((f) => f.command), ['ERROR']);
    assert.equal(frames[0]!.h('message'), 'slow consumer');
    assert.equal(c.transport.ended, true);
  });
});

describe('auto-ack topic deliveries to a full socket', () => {
  test("policy 'drop': messages are skipped and counted, the connection stays", async () => {
    const kit = await kitWith('drop');
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/fast' });
    kit.flush();
    // Policy drop never uses native groups, so that every drop is seen (and counted) here.
    assert.equal(c.transport.joined.size, 0);
    const pub = kit.connected();
    c.transport.buffered = MAX + 1;
    publish(pub, '/topic/fast', 3);
    kit.flush();
    assert.equal(kit.hub.metrics.slowConsumerDrops, 3);
    assert.equal(c.session.state, 'connected');
    c.transport.buffered = 0;
    c.session.onDrain();
    publish(pub, '/topic/fast', 1, 3);
    kit.flush();
    assert.deepEqual(numbers(c), [3]);
    assert.equal(kit.hub.metrics.messagesDelivered, 1);
    assert.equal(kit.hub.metrics.slowConsumerDisconnects, 0);
    assert.equal(kit.hub.metrics.errors.size, 0);
  });

  test("policy 'drop' only drops for the slow member of a group", async () => {
    const kit = await kitWith('drop');
    const slow = kit.connected();
    const ok = kit.connected();
    for (const c of [slow, ok]) c.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/g' });
    kit.flush();
    slow.transport.buffered = MAX + 1;
    publish(ok, '/topic/g', 2);
    kit.flush();
    assert.deepEqual(numbers(ok), [0, 1]);
    assert.equal(kit.hub.metrics.slowConsumerDrops, 2);
  });

  test("policy 'disconnect' (per-socket member): ERROR slow consumer once the socket drains, then close", async () => {
    const kit = await kitWith('disconnect');
    const c = kit.connected(undefined, false);
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/fast' });
    kit.flush();
    c.transport.buffered = MAX + 1;
    publish(kit.connected(), '/topic/fast', 1);
    kit.flush();
    assert.equal(c.session.state, 'closing');
    assert.equal(kit.hub.metrics.slowConsumerDisconnects, 1);
    // A full socket gets nothing more written (uWS would drop it); the ERROR waits for the drain.
    assert.deepEqual(c.take(), []);
    c.transport.buffered = 0;
    c.session.onDrain();
    const [e] = c.take();
    assert.equal(e?.command, 'ERROR');
    assert.equal(e.h('message'), 'slow consumer');
    assert.match(e.text, /maxPendingOutboundBytes/);
    assert.equal(c.transport.ended, true);
  });

  test('native members: a backlog past 3/4 of the limit is found within maxPending/8 of group traffic and counted', async () => {
    // uWS would cut such a socket at the limit without telling anyone; the group looks first.
    const kit = await kitWith('disconnect');
    const [behind, fine] = [kit.connected(), kit.connected()];
    for (const c of [behind, fine]) c.send('SUBSCRIBE', { id: 's', destination: '/topic/n' });
    kit.flush();
    assert.equal(behind.transport.joined.size, 1, 'behind is a native member');
    behind.transport.buffered = (MAX * 3) / 4 + 1;
    fine.transport.buffered = (MAX * 3) / 4;
    const pub = kit.connected();
    // Less than MAX/8 of traffic: nobody looked yet.
    publish(pub, '/topic/n', 1);
    kit.flush();
    assert.equal(behind.session.state, 'connected');
    // Enough traffic for a look: the one past 3/4 goes, the one at 3/4 stays.
    for (let turn = 0; turn < 20 && behind.session.state === 'connected'; turn++) {
      publish(pub, '/topic/n', 4);
      kit.flush();
    }
    assert.equal(behind.session.state, 'closing');
    assert.equal(fine.session.state, 'connected');
    assert.equal(kit.hub.metrics.slowConsumerDisconnects, 1);
  });

  test('a closing session whose socket never drains is destroyed after the linger time', async () => {
    const kit = await kitWith('disconnect');
    const c = kit.connected(undefined, false);
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/fast' });
    kit.flush();
    c.transport.buffered = MAX + 1;
    publish(kit.connected(), '/topic/fast', 1);
    kit.flush();
    kit.advance(4_000);
    kit.hub.tick();
    assert.equal(c.transport.destroyed, false);
    kit.advance(1_500);
    kit.hub.tick();
    assert.equal(c.transport.destroyed, true);
    assert.equal(c.transport.ended, false);
  });

  test('below the limit nothing is dropped even when congested for acked deliveries', async () => {
    const kit = await kitWith('drop');
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/t' });
    kit.flush();
    c.transport.buffered = MAX - 2_000;
    publish(kit.connected(), '/topic/t', 1);
    kit.flush();
    assert.deepEqual(numbers(c), [0]);
    assert.equal(kit.hub.metrics.slowConsumerDrops, 0);
  });
});

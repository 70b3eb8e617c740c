// Fan-out groups and end-of-turn coalescing (DESIGN-NOTES "Outbound", group.ts, outbox.ts): the
// MESSAGE frames of one turn for one native group go out as ONE GroupPublisher.publish; per-socket
// members of the same group get the very same bytes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kit, parseFrames, type Client } from './kit.js';

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Bytes written to `c` since write number `from`. */
function writtenSince(c: Client, from: number): Uint8Array {
  return concat(c.transport.writes.slice(from).flatMap((w) => w.chunks));
}

async function group(coalesce: boolean, natives: number, perSocket: number) {
  const kit = await Kit.create({ config: { coalesce } });
  const members: Client[] = [];
  for (let i = 0; i < natives + perSocket; i++) {
    const c = kit.connected(undefined, i < natives);
    // stompjs names every first subscription sub-0: all of these share one group.
    c.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/fan' });
    members.push(c);
  }
  kit.flush();
  const pub = kit.connected(undefined, false);
  return { kit, members, pub };
}

describe('coalescing into native groups', () => {
  test('several messages in one turn -> ONE publish with all frames concatenated in order', async () => {
    const { kit, members, pub } = await group(true, 3, 0);
    const before = kit.publisher.publications.length;
    pub.raw(
      ['m0', 'm1', 'm2', 'm3'].map((b) => `SEND\ndestination:/topic/fan\n\n${b}\0`).join(''),
    );
    assert.equal(kit.publisher.publications.length, before, 'nothing is published before the turn ends');
    kit.flush();
    const pubs = kit.publisher.publications.slice(before);
    assert.equal(pubs.length, 1);
    const frames = parseFrames(pubs[0]!.bytes);
    assert.deepEqual(frames.map((f) => f.text), ['m0', 'm1', 'm2', 'm3']);
    assert.ok(frames.every((f) => f.command === 'MESSAGE' && f.h('subscription') === 'sub-0'));
    assert.equal(pubs[0]!.binary, false);
    for (const m of members) {
      assert.equal(m.transport.nativeReceived.length, 1);
      assert.deepEqual(m.takeBodies(), ['m0', 'm1', 'm2', 'm3']);
    }
    assert.equal(kit.hub.metrics.messagesDelivered, 12);
  });

  test('messages in separate turns are separate publishes', async () => {
    const { kit, pub } = await group(true, 2, 0);
    const before = kit.publisher.publications.length;
    pub.send('SEND', { destination: '/topic/fan' }, 'a');
    kit.flush();
    pub.send('SEND', { destination: '/topic/fan' }, 'b');
    kit.flush();
    assert.deepEqual(kit.publisher.publications.slice(before).map((p) => parseFrames(p.bytes).map((f) => f.text)), [['a'], ['b']]);
  });

  test('a binary body makes the whole batch binary', async () => {
    const { kit, pub } = await group(true, 1, 0);
    pub.send('SEND', { destination: '/topic/fan' }, 'text');
    pub.send('SEND', { destination: '/topic/fan', 'content-length': '2' }, new Uint8Array([0xff, 0]));
    kit.flush();
    const p = kit.publisher.publications.at(-1)!;
    assert.equal(p.binary, true);
    assert.deepEqual(parseFrames(p.bytes)[1]?.body, new Uint8Array([0xff, 0]));
  });

  test('with coalesce:false each message is published separately, at once', async () => {
    const { kit, members, pub } = await group(false, 3, 0);
    const before = kit.publisher.publications.length;
    pub.raw(['m0', 'm1', 'm2'].map((b) => `SEND\ndestination:/topic/fan\n\n${b}\0`).join(''));
    const pubs = kit.publisher.publications.slice(before);
    assert.deepEqual(pubs.map((p) => parseFrames(p.bytes).map((f) => f.text)), [['m0'], ['m1'], ['m2']]);
    for (const m of members) assert.equal(m.transport.nativeReceived.length, 3);
    kit.flush();
    assert.equal(kit.publisher.publications.length, before + 3, 'the flush publishes nothing more');
  });

  test('per-socket members see the same bytes as the native publish', async () => {
    for (const coalesce of [true, false]) {
      const { kit, members, pub } = await group(coalesce, 2, 2);
      const perSocket = members.slice(2);
      const marks = perSocket.map((c) => c.transport.writes.length);
      const before = kit.publisher.publications.length;
      pub.send('SEND', { destination: '/topic/fan', h: 'v' }, 'one');
      pub.send('SEND', { destination: '/topic/fan' }, 'two');
      kit.flush();
      const published = concat(kit.publisher.publications.slice(before).map((p) => p.bytes));
      for (const [i, c] of perSocket.entries()) {
        assert.equal(c.transport.joined.size, 0);
        assert.deepEqual(writtenSince(c, marks[i]!), published, `coalesce ${coalesce}`);
        assert.deepEqual(c.takeBodies(), ['one', 'two']);
      }
      for (const c of members.slice(0, 2)) assert.deepEqual(c.takeBodies(), ['one', 'two']);
    }
  });

  test('per-socket views of a batch stay valid while they wait for a drain (batches are never reused)', async () => {
    const { kit, members, pub } = await group(true, 1, 1);
    const waiting = members[1]!;
    pub.send('SEND', { destination: '/topic/fan' }, 'first');
    // The socket fills up before the end of the turn: the view waits in the session.
    waiting.transport.buffered = kit.config.maxPendingOutboundBytes + 1;
    kit.flush();
    assert.deepEqual(waiting.take(), []);
    waiting.transport.buffered = 0;
    // Small enough to fit the previous turn's buffer, had it been reused.
    for (const b of ['2nd', '3rd']) pub.send('SEND', { destination: '/topic/fan' }, b);
    kit.flush();
    waiting.session.onDrain();
    kit.flush();
    assert.deepEqual(waiting.takeBodies(), ['first', '2nd', '3rd']);
  });

  test('groups are per subscription id and version: each gets its own publish', async () => {
    const kit = await Kit.create();
    const a = kit.connected();
    const b = kit.connected();
    const v11 = kit.connected({ 'accept-version': '1.1' });
    a.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/g' });
    b.send('SUBSCRIBE', { id: 'sub-1', destination: '/topic/g' });
    v11.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/g' }, undefined, '1.1');
    kit.flush();
    const topics = [a, b, v11].map((c) => [...c.transport.joined][0]);
    assert.equal(new Set(topics).size, 3);
    const before = kit.publisher.publications.length;
    a.send('SEND', { destination: '/topic/g' }, 'x');
    a.send('SEND', { destination: '/topic/g' }, 'y');
    kit.flush();
    const pubs = kit.publisher.publications.slice(before);
    assert.deepEqual(pubs.map((p) => p.topic).sort(), [...topics].sort());
    assert.deepEqual(a.takeBodies(), ['x', 'y']);
    assert.deepEqual(b.take().map((f) => f.h('subscription')), ['sub-1', 'sub-1']);
    assert.deepEqual(v11.takeBodies(), ['x', 'y']);
  });

  test('without a GroupPublisher every member is written per socket', async () => {
    const kit = await Kit.create({ publisher: false });
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/p' });
    c.send('SEND', { destination: '/topic/p' }, 'x');
    kit.flush();
    assert.equal(c.transport.joined.size, 0);
    assert.deepEqual(c.takeBodies(), ['x']);
  });

  test("fanoutMode 'per-socket' never joins native groups", async () => {
    const kit = await Kit.create({ config: { fanoutMode: 'per-socket' } });
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/p' });
    c.send('SEND', { destination: '/topic/p' }, 'x');
    kit.flush();
    assert.equal(c.transport.joined.size, 0);
    assert.equal(kit.publisher.publications.length, 0);
    assert.deepEqual(c.takeBodies(), ['x']);
  });

  test('frames written before a SUBSCRIBE are not overtaken by the group publish', async () => {
    const kit = await Kit.create();
    const pub = kit.connected();
    const c = kit.open();
    // CONNECTED and a RECEIPT are queued for c when it joins the group in the same turn.
    c.send('CONNECT', { 'accept-version': '1.2' });
    c.send('SEND', { destination: '/topic/other', receipt: 'before' }, 'x');
    c.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/o' });
    kit.flush();
    pub.send('SEND', { destination: '/topic/o' }, 'm');
    kit.flush();
    assert.deepEqual(c.take().map((f) => f.command), ['CONNECTED', 'RECEIPT', 'MESSAGE']);
  });

  test('UNSUBSCRIBE leaves the native group; the last member leaving removes the group', async () => {
    const { kit, members, pub } = await group(true, 2, 0);
    members[0]!.send('UNSUBSCRIBE', { id: 'sub-0' });
    kit.flush();
    assert.equal(members[0]!.transport.joined.size, 0);
    pub.send('SEND', { destination: '/topic/fan' }, 'x');
    kit.flush();
    assert.deepEqual(members[0]!.take(), []);
    assert.deepEqual(members[1]!.takeBodies(), ['x']);
    members[1]!.closed();
    assert.deepEqual(kit.hub.router.stats('/'), { topics: 0, queues: 0 });
  });

  test('messages routed before an UNSUBSCRIBE in the same turn are still delivered', async () => {
    for (const native of [true, false]) {
      const kit = await Kit.create();
      const leaving = kit.connected(undefined, native);
      leaving.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/bye' });
      kit.flush();
      const pub = kit.connected();
      pub.send('SEND', { destination: '/topic/bye' }, 'before');
      leaving.send('UNSUBSCRIBE', { id: 'sub-0' });
      pub.send('SEND', { destination: '/topic/bye' }, 'after');
      kit.flush();
      assert.deepEqual(leaving.takeBodies(), ['before'], `native ${native}`);
      assert.equal(leaving.transport.joined.size, 0);
    }
  });

  test('a member that joins mid-turn does not get messages published before its SUBSCRIBE', async () => {
    for (const native of [true, false]) {
      const kit = await Kit.create();
      const early = kit.connected();
      early.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/late' });
      kit.flush();
      const late = kit.connected(undefined, native);
      const pub = kit.connected();
      pub.send('SEND', { destination: '/topic/late' }, 'before');
      late.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/late' });
      pub.send('SEND', { destination: '/topic/late' }, 'after');
      kit.flush();
      assert.deepEqual(early.takeBodies(), ['before', 'after']);
      assert.deepEqual(late.takeBodies(), ['after'], `native ${native}`);
    }
  });
});

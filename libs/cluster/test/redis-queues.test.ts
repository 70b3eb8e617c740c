// The queue plane of RedisBroker driven directly: entries read only as far as the consumers' credit,
// each entry to one node, acks removing entries from the stream, NACKs staying on the node while it
// has consumers, entries handed back on cancel and reclaimed by another node's janitor, leases that
// keep a live node's entries and expire for a dead one, and dead-lettering past maxDeliveries.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QueueFullError, type QueuedMessage } from '@stompede/broker-api';
import { BASE_OPTIONS, bodyOf, NEVER_MS, NONE, range, REDIS_SUITE, settle, takeAndAck, takeNext, text, useNodes, VHOST, type TestNode } from './nodes.js';
import { eventually, redisUnavailable } from './redis.js';

/** XPENDING ... IDLE-less extended form: [id, consumer, idle ms, deliveries]. */
type Pending = [string, string, number, number];

describe('RedisBroker queues', { ...REDIS_SUITE, skip: redisUnavailable() }, () => {
  const { node, redis, keys } = useNodes();

  const enqueueAll = async (n: TestNode, queue: string, bodies: string[]): Promise<void> => {
    for (const b of bodies) await n.broker.enqueue(VHOST, queue, NONE, text(b));
  };
  const xlen = (queue: string): Promise<number> => redis().inspect.xlen(keys().queue(VHOST, queue));
  const pending = async (queue: string): Promise<Pending[]> =>
    (await redis().inspect.xpending(keys().queue(VHOST, queue), 'stompede', '-', '+', 1000)) as Pending[];
  const streamEmpty = (queue: string): Promise<true> =>
    eventually(async () => (await xlen(queue)) === 0 && (await redis().inspect.exists(keys().queueBytes(keys().queue(VHOST, queue)))) === 0, `${queue} emptied in Redis`);
  const ids = (entries: QueuedMessage[]): string[] => entries.map((e) => e.message.id);

  test('enqueue on A, consume on B: every entry once, in order, with "<queue>@<stream id>" ids; acks empty the stream', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const q = '/queue/plain';
    const bodies = range(25);
    await enqueueAll(a, q, bodies);
    assert.equal(await xlen(q), 25);
    const streamIds = (await redis().inspect.xrange(keys().queue(VHOST, q), '-', '+')).map(([id]) => `${q}@${id}`);
    b.broker.consume(VHOST, q);
    const got = await takeAndAck(b, q, 25);
    assert.deepEqual(got.map(bodyOf), bodies);
    assert.deepEqual(ids(got), streamIds);
    assert.ok(got.every((e) => e.deliveries === 0 && e.queue === q && e.message.destination === q));
    assert.ok(b.handler.ready.includes(`${VHOST} ${q}`), 'onQueueReady was called');
    await streamEmpty(q);
    assert.equal(b.broker.take(VHOST, q), undefined);
    assert.equal(a.broker.clusterStats().entriesRead, 0, 'A has no consumer: it read nothing');
  });

  test('a node reads no more than its consumers have credit for', async () => {
    const b = await node('b');
    const q = '/queue/credit';
    await enqueueAll(b, q, range(10));
    b.broker.consume(VHOST, q);
    assert.equal(b.broker.stats().queuedMessages, 0, 'no credit, no read');
    b.broker.want(VHOST, q, 3);
    await eventually(() => b.broker.stats().queuedMessages === 3, 'three entries buffered');
    await settle(50);
    assert.equal(b.broker.stats().queuedMessages, 3);
    assert.equal((await pending(q)).length, 3, 'three pending for B in Redis, the rest waiting');
    // One taken and acked: credit for one more.
    const e = b.broker.take(VHOST, q)!;
    b.broker.ack(VHOST, e);
    b.broker.want(VHOST, q, 3);
    await eventually(() => b.broker.stats().queuedMessages === 3, 'back to three buffered');
    await eventually(async () => (await xlen(q)) === 9, 'the acked entry left the stream');
    assert.equal((await pending(q)).length, 3);
    b.broker.want(VHOST, q, 0);
    assert.equal(b.broker.clusterStats().entriesRead, 4);
  });

  test('competing nodes: each entry goes to exactly one of them', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const q = '/queue/compete';
    a.broker.consume(VHOST, q);
    b.broker.consume(VHOST, q);
    const n = 60;
    const got: { node: string; entry: QueuedMessage }[] = [];
    const producing = enqueueAll(a, q, range(n));
    await eventually(() => {
      for (const c of [a, b]) {
        for (let e = c.broker.take(VHOST, q); e !== undefined; e = c.broker.take(VHOST, q)) {
          got.push({ node: c.id, entry: e });
          c.broker.ack(VHOST, e);
        }
        c.broker.want(VHOST, q, 4);
      }
      return got.length >= n;
    }, () => `${got.length} of ${n}`);
    await producing;
    assert.deepEqual(got.map((g) => bodyOf(g.entry)).sort(), range(n).sort(), 'every entry, none twice');
    assert.equal(new Set(got.map((g) => g.entry.message.id)).size, n);
    await streamEmpty(q);
    await settle(50);
    assert.equal(a.broker.take(VHOST, q) ?? b.broker.take(VHOST, q), undefined, 'nothing more comes');
  });

  test('requeue keeps the entry on the node while it has consumers; the lease keeps it there past claimIdleMs', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const q = '/queue/nack';
    await enqueueAll(a, q, ['only']);
    b.broker.consume(VHOST, q);
    b.broker.consume(VHOST, q); // two local consumers
    const first = await takeNext(b, q, 1);
    a.broker.consume(VHOST, q);
    a.broker.want(VHOST, q, 5); // A stands by with credit: its janitor looks for idle entries
    b.broker.requeue(VHOST, first);
    const again = b.broker.take(VHOST, q);
    assert.equal(again?.message.id, first.message.id, 'straight back at the head, on B');
    assert.equal(again?.deliveries, 1);
    // B holds it (taken, not acked) well past claimIdleMs: its heart-beat renews the lease.
    await settle(BASE_OPTIONS.claimIdleMs * 2.5);
    assert.equal(a.broker.take(VHOST, q), undefined, 'A never got it');
    assert.equal(a.broker.clusterStats().reclaimed, 0);
    const p = await pending(q);
    assert.equal(p.length, 1);
    assert.equal(p[0]![1], b.id, 'still pending for B');
    assert.ok(p[0]![2] < BASE_OPTIONS.claimIdleMs, `idle ${p[0]![2]} ms: renewed`);
    b.broker.ack(VHOST, again!);
    await streamEmpty(q);
  });

  test('cancel hands entries back; another node\'s janitor reclaims them with the deliveries counted', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const q = '/queue/handback';
    const bodies = range(7);
    await enqueueAll(a, q, bodies);
    b.broker.consume(VHOST, q);
    b.broker.want(VHOST, q, 5);
    await eventually(() => b.broker.stats().queuedMessages === 5, 'B buffered five');
    const t0 = b.broker.take(VHOST, q)!;
    const t1 = b.broker.take(VHOST, q)!;
    // What a session does when its consumer leaves: requeue the unacked (newest first), then cancel.
    b.broker.requeue(VHOST, t1);
    b.broker.requeue(VHOST, t0);
    b.broker.cancel(VHOST, q);
    assert.equal(b.broker.clusterStats().released, 5);
    await eventually(async () => (await pending(q)).filter((p) => p[1] === '-released-').length === 5, 'five parked');
    a.broker.consume(VHOST, q);
    const got = await takeAndAck(a, q, 7, 10);
    assert.deepEqual(got.map(bodyOf).sort(), [...bodies].sort());
    const deliveries = Object.fromEntries(got.map((e) => [bodyOf(e), e.deliveries]));
    assert.deepEqual(deliveries, { m0: 1, m1: 1, m2: 0, m3: 0, m4: 0, m5: 0, m6: 0 }, 'the two B delivered count once; the merely buffered do not');
    assert.equal(a.broker.clusterStats().reclaimed, 5);
    await streamEmpty(q);
    assert.equal(b.broker.take(VHOST, q), undefined);
  });

  test('a node that stops renewing its leases loses what it holds to another node after claimIdleMs', async () => {
    // B is "dead": its heart-beat (lease renewal) and janitor never run.
    const [a, b] = [await node('a'), await node('b', { heartbeatMs: NEVER_MS, janitorMs: NEVER_MS })];
    const q = '/queue/dead-node';
    await enqueueAll(a, q, ['x', 'y', 'z']);
    b.broker.consume(VHOST, q);
    const held = [await takeNext(b, q, 3), await takeNext(b, q, 3), await takeNext(b, q, 3)];
    const since = Date.now();
    a.broker.consume(VHOST, q);
    const got = await takeAndAck(a, q, 3);
    const after = Date.now() - since;
    assert.ok(after >= BASE_OPTIONS.claimIdleMs - 20, `reclaimed after ${after} ms, not before claimIdleMs`);
    assert.deepEqual(ids(got), ids(held), 'in stream order');
    assert.deepEqual(got.map((e) => e.deliveries), [1, 1, 1], 'each was delivered once before');
    assert.equal(a.broker.clusterStats().reclaimed, 3);
    assert.equal(a.broker.clusterStats().deadLettered, 0);
    await streamEmpty(q);
  });

  test('maxDeliveries: a reclaimed entry past the limit is dead-lettered through onDeadLetter and leaves the queue', async () => {
    const [a, b] = [await node('a', { maxDeliveries: 1 }), await node('b', { heartbeatMs: NEVER_MS, janitorMs: NEVER_MS })];
    const q = '/queue/poison';
    await a.broker.enqueue(VHOST, q, { names: ['k'], values: ['v'] }, text('poison'));
    await a.broker.enqueue(VHOST, q, NONE, text('fine'));
    b.broker.consume(VHOST, q);
    const held = await takeNext(b, q, 1); // B takes only the first, then dies
    assert.equal(bodyOf(held), 'poison');
    a.broker.consume(VHOST, q);
    const fine = await takeNext(a, q, 5);
    assert.equal(bodyOf(fine), 'fine');
    assert.equal(fine.deliveries, 0);
    a.broker.ack(VHOST, fine);
    await eventually(() => a.handler.dead.length === 1, 'dead-lettered');
    const [dead] = a.handler.dead;
    assert.equal(dead!.vhost, VHOST);
    assert.equal(dead!.entry.message.id, held.message.id);
    assert.equal(dead!.entry.deliveries, 1);
    assert.equal(dead!.entry.message.header('k'), 'v');
    assert.equal(a.broker.clusterStats().deadLettered, 1);
    assert.equal(a.broker.take(VHOST, q), undefined, 'not delivered');
    await streamEmpty(q);
  });

  test('bounds are kept in Redis: QueueFullError past maxQueueMessages or maxQueueBytes, room again after acks', async () => {
    const a = await node('a', { maxQueueMessages: 2, maxQueueBytes: 12 });
    const q = '/queue/bounded';
    await enqueueAll(a, q, ['1', '2']);
    await assert.rejects(Promise.resolve(a.broker.enqueue(VHOST, q, NONE, text('3'))), (e: unknown) => e instanceof QueueFullError && e.limit === 'maxQueueMessages' && e.bound === 2);
    const qb = '/queue/bounded-bytes';
    await a.broker.enqueue(VHOST, qb, { names: ['k'], values: ['v'] }, text('1234')); // 4 + 1 + 1 + 2
    assert.equal(await redis().inspect.get(keys().queueBytes(keys().queue(VHOST, qb))), '8');
    await assert.rejects(Promise.resolve(a.broker.enqueue(VHOST, qb, NONE, text('12345'))), (e: unknown) => e instanceof QueueFullError && e.limit === 'maxQueueBytes');
    await a.broker.enqueue(VHOST, qb, NONE, text('1234')); // exactly 12
    a.broker.consume(VHOST, q);
    const [e] = await takeAndAck(a, q, 1);
    assert.equal(bodyOf(e!), '1');
    await eventually(async () => (await xlen(q)) === 1, 'acked entry gone');
    await a.broker.enqueue(VHOST, q, NONE, text('3'));
    assert.equal(await xlen(q), 2);
  });

  // QueueLimits (broker.ts): in cluster mode the bound is the stream's length, and entries taken but
  // not acked stay in the stream until the ACK, so they count (unlike the memory broker).
  test('maxQueueMessages counts unacked entries too in cluster mode', async () => {
    const a = await node('a', { maxQueueMessages: 2 });
    const q = '/queue/bound-unacked';
    await enqueueAll(a, q, ['1', '2']);
    a.broker.consume(VHOST, q);
    await takeNext(a, q, 2);
    await takeNext(a, q, 2); // both out for delivery, none waiting
    await assert.rejects(Promise.resolve(a.broker.enqueue(VHOST, q, NONE, text('3'))), /full/);
  });

  // Regression test for a bug found while writing these tests (fixed). The janitor's XAUTOCLAIM runs as this node's consumer and takes
  // every idle entry, its own included; reclaim() does not skip ids the node still holds (taken, not
  // acked) or buffers, so when its renewals fall behind its janitor (an event-loop stall longer than
  // claimIdleMs in which the janitor's timer fires first; here the heart-beat simply never runs) a
  // local consumer gets a second copy of an entry another local consumer still holds.
  test("a node's janitor does not hand it back an entry it still holds", async () => {
    const b = await node('b', { heartbeatMs: NEVER_MS });
    const q = '/queue/self-reclaim';
    await b.broker.enqueue(VHOST, q, NONE, text('1'));
    b.broker.consume(VHOST, q);
    const held = await takeNext(b, q, 5);
    b.broker.want(VHOST, q, 5);
    await settle(BASE_OPTIONS.claimIdleMs * 2);
    const again = b.broker.take(VHOST, q);
    assert.equal(again, undefined, `${held.message.id} delivered again (deliveries ${again?.deliveries}) while still held`);
  });
});

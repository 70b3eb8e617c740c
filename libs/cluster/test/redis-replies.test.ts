// Reply queues of RedisBroker driven directly: they live in the memory of the owning node; a reply
// sent on another node travels through the owner's inbox stream; a reply for a node that is gone,
// or for a reply queue its owner no longer has, is counted as unroutable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE_OPTIONS, bodyOf, NEVER_MS, NONE, REDIS_SUITE, takeNext, text, useNodes, VHOST } from './nodes.js';
import { eventually, redisUnavailable } from './redis.js';

describe('RedisBroker reply queues', { ...REDIS_SUITE, skip: redisUnavailable() }, () => {
  const { node, redis, keys } = useNodes();

  test("a reply enqueued on A reaches B's reply queue through B's inbox", async () => {
    const [a, b] = [await node('a'), await node('b')];
    const rq = `/reply-queue/${b.id}/s1/answers`;
    b.broker.openReplyQueue(VHOST, rq);
    b.broker.consume(VHOST, rq);
    await a.broker.enqueue(VHOST, rq, { names: ['correlation-id', 'x'], values: ['42', 'a:b\nc'] }, text('the answer'));
    const e = await takeNext(b, rq, 1);
    assert.equal(bodyOf(e), 'the answer');
    assert.equal(e.queue, rq);
    assert.equal(e.message.destination, rq);
    assert.deepEqual([...e.message.headers.names], ['correlation-id', 'x']);
    assert.deepEqual([...e.message.headers.values], ['42', 'a:b\nc']);
    assert.ok(b.handler.ready.includes(`${VHOST} ${rq}`), 'onQueueReady for the reply queue');
    b.broker.ack(VHOST, e);
    assert.equal(b.broker.take(VHOST, rq), undefined);
    assert.equal(a.broker.stats().unroutable + b.broker.stats().unroutable, 0);
    assert.equal(a.broker.clusterStats().entriesRead, 0, 'A read nothing: the reply went straight to B');
  });

  test('a reply on the owning node goes straight to the reply queue, without Redis', async () => {
    const b = await node('b');
    const rq = `/reply-queue/${b.id}/s1/local`;
    b.broker.openReplyQueue(VHOST, rq);
    b.broker.consume(VHOST, rq);
    const done = b.broker.enqueue(VHOST, rq, NONE, text('here'));
    assert.equal(done, undefined, 'completes synchronously');
    assert.equal(bodyOf(b.broker.take(VHOST, rq)!), 'here');
    assert.equal(b.broker.clusterStats().entriesRead, 0);
  });

  test('a reply to a node that does not exist is counted unroutable on the sender, and creates no inbox', async () => {
    const a = await node('a');
    await a.broker.enqueue(VHOST, '/reply-queue/ghost/s/r', NONE, text('lost'));
    assert.equal(a.broker.stats().unroutable, 1);
    assert.equal(await redis().inspect.exists(keys().inbox('ghost')), 0, 'NOMKSTREAM');
  });

  test('a reply to a node that left is unroutable: its inbox went with it', async () => {
    const [a, b] = [await node('a'), await node('b')];
    assert.equal(await redis().inspect.exists(keys().inbox(b.id)), 1);
    const ttl = await redis().inspect.pttl(keys().inbox(b.id));
    assert.ok(ttl > 0 && ttl <= 3 * 500, `the inbox expires unless renewed (${ttl} ms)`);
    await b.broker.close();
    assert.equal(await redis().inspect.exists(keys().inbox(b.id)), 0);
    await a.broker.enqueue(VHOST, `/reply-queue/${b.id}/s/r`, NONE, text('too late'));
    assert.equal(a.broker.stats().unroutable, 1);
  });

  test('a node that died (stopped renewing) loses its inbox after 3 node TTLs: replies to it are then unroutable', async () => {
    const [a, b] = [await node('a'), await node('b', { heartbeatMs: NEVER_MS })];
    const since = Date.now();
    await eventually(async () => (await redis().inspect.exists(keys().inbox(b.id))) === 0, () => 'the inbox of the dead node is still there', 5_000);
    assert.ok(Date.now() - since >= 3 * BASE_OPTIONS.nodeTtlMs - 400, 'not before about 3 node TTLs');
    await a.broker.enqueue(VHOST, `/reply-queue/${b.id}/s/r`, NONE, text('too late'));
    assert.equal(a.broker.stats().unroutable, 1);
  });

  test('a reply for a reply queue its owner does not have (any more) is dropped there and counted', async () => {
    const [a, b] = [await node('a'), await node('b')];
    const rq = `/reply-queue/${b.id}/s2/closed`;
    b.broker.openReplyQueue(VHOST, rq);
    b.broker.closeReplyQueue(VHOST, rq);
    await a.broker.enqueue(VHOST, rq, NONE, text('nobody'));
    await eventually(() => b.broker.stats().unroutable === 1, 'counted on the owner');
    assert.equal(a.broker.stats().unroutable, 0);
    assert.equal(b.broker.stats().queuedMessages, 0);
  });
});

// A Redis restart under a 2-node cluster: the private redis-server (appendonly, fsync always) is
// stopped and started again on the same port while topic and queue traffic flows. Counted: topic
// messages within the outbox bound lose nothing, queue messages that got a RECEIPT lose nothing,
// and every SEND that could not be made durable during the outage got an ERROR.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useCluster, waitRedisUp } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { delay, frame, header, RawClient, type RawFrame } from './helpers/raw-client.js';
import { redisNotRestartable, redisUnavailable } from './helpers/redis-server.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

const skip = redisUnavailable() ?? redisNotRestartable();

/** Sends one frame with a receipt; resolves with the RECEIPT or the ERROR that answered it, or undefined on silence. */
async function answer(c: RawClient, command: string, headers: Record<string, string>, body: string, timeoutMs = LONG): Promise<RawFrame | undefined> {
  const id = `r-${Math.random().toString(36).slice(2)}`;
  const p = c.waitFor((f) => (f.command === 'RECEIPT' && header(f, 'receipt-id') === id) || f.command === 'ERROR', timeoutMs, true);
  c.send(frame(command, { ...headers, receipt: id }, body));
  return p.catch(() => c.frames.find((f) => f.command === 'ERROR'));
}

describe('cluster across a Redis restart', { skip }, () => {
  const { stompjs, connectRaw, node, redis, logs } = useCluster({ nodes: 2, redis: { appendonly: true } });
  const bothUp = async (up: boolean): Promise<void> => {
    await waitRedisUp(node(0), up);
    await waitRedisUp(node(1), up);
  };

  test('queue messages waiting in Redis survive a restart; subscriptions work again afterwards', async () => {
    const q = '/queue/durable';
    const producer = await stompjs(0);
    await publishAll(producer, q, range(100));
    await redis().restart();
    await bothUp(true);
    const inbox = new Inbox();
    await subscribed(await stompjs(1), q, inbox.push);
    await inbox.until(100, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    assert.deepEqual(inbox.bodies, range(100), 'every message, in order');
    // New interest after the restart reaches across nodes again.
    const topic = new Inbox();
    await subscribed(await stompjs(1), '/topic/after-restart', topic.push);
    const publisher = await stompjs(0);
    await publishAll(publisher, '/topic/after-restart', ['hello again']);
    await topic.until(1, LONG);
    assert.deepEqual(topic.bodies, ['hello again']);
  });

  test('restart mid-traffic: topics lose nothing within the outbox bound, queues lose nothing, refused SENDs get ERROR', async (t) => {
    const dest = '/topic/live';
    const q = '/queue/live';
    const subA = new Inbox();
    const subB = new Inbox();
    await subscribed(await stompjs(0), dest, subA.push);
    await subscribed(await stompjs(1), dest, subB.push);
    const consumed = new Inbox();
    await subscribed(await stompjs(1), q, (m) => {
      consumed.push(m);
      m.ack();
    }, { ack: 'client-individual', 'prefetch-count': '20' });

    // Topic traffic: two messages every 5 ms from node A, no receipts.
    const publisher = await stompjs(0);
    let published = 0;
    const topicTimer = setInterval(() => {
      for (let k = 0; k < 2; k++) publisher.publish({ destination: dest, body: `t-${published++}` });
    }, 5);

    // Queue traffic: one SEND with a receipt at a time from node A over TCP; an ERROR closes the
    // connection, so the producer opens a new one.
    const accepted: string[] = [];
    const refused: string[] = [];
    const silent: string[] = [];
    let stopQueue = false;
    const queueLoop = (async () => {
      let c = await connectRaw(0, 'tcp');
      for (let i = 0; !stopQueue; i++) {
        const body = `q-${i}`;
        const f = await answer(c, 'SEND', { destination: q }, body);
        if (f?.command === 'RECEIPT') {
          accepted.push(body);
          continue;
        }
        (f === undefined ? silent : refused).push(body);
        c.close();
        await delay(20);
        c = await connectRaw(0, 'tcp');
      }
      c.close();
    })();

    try {
      await eventually(() => subB.messages.length >= 100 && accepted.length >= 20, () => `before the outage: B got ${subB.messages.length}, accepted ${accepted.length}`);

      await redis().stop({ graceful: true });
      await bothUp(false);
      // During the outage: SENDs that need Redis to be durable are refused with ERROR.
      const refusedQueue = await answer(await connectRaw(0, 'tcp'), 'SEND', { destination: q }, 'outage-queue');
      assert.equal(refusedQueue?.command, 'ERROR', 'a queue SEND with a receipt during the outage gets ERROR');
      const refusedTopic = await answer(await connectRaw(0, 'tcp'), 'SEND', { destination: dest }, 'outage-topic');
      assert.equal(refusedTopic?.command, 'ERROR', 'a topic SEND with a receipt during the outage gets ERROR');
      const refusedSubscribe = await answer(await connectRaw(0, 'tcp'), 'SUBSCRIBE', { id: 's-1', destination: '/topic/outage-new' }, '');
      assert.equal(refusedSubscribe?.command, 'ERROR', 'a SUBSCRIBE with a receipt during the outage gets ERROR');
      // The same for a destination node A already follows (its subscriber joined before the outage).
      const refusedJoin = await answer(await connectRaw(0, 'tcp'), 'SUBSCRIBE', { id: 's-2', destination: dest }, '');
      assert.equal(refusedJoin?.command, 'ERROR', 'a SUBSCRIBE with a receipt to a destination the node already follows gets ERROR during the outage too');
      assert.match(header(refusedJoin!, 'message') ?? '', /unavailable|unreachable/i);
      const noReceipt = await connectRaw(0, 'tcp');
      noReceipt.send(frame('SEND', { destination: q }, 'outage-queue-no-receipt'));
      await noReceipt.waitForCommand('ERROR', LONG).catch(() => assert.fail('a queue SEND without receipt during the outage gets ERROR, not a silent drop'));
      // Local delivery keeps working on node A.
      const localBefore = subA.messages.length;
      await eventually(() => subA.messages.length >= localBefore + 100, () => `node A's own subscriber got ${subA.messages.length - localBefore} during the outage`);
      const publishedInOutage = published;

      await redis().start();
      await bothUp(true);
      // Traffic continues after the restart, and what was sent during the outage reaches node B.
      await eventually(() => subB.messages.length >= publishedInOutage + 100, () => `after the restart B got ${subB.messages.length} of ${published}\n${logs()}`, 30_000);
    } finally {
      clearInterval(topicTimer);
      stopQueue = true;
      await queueLoop;
    }

    await publishAll(publisher, dest, ['end']);
    const expected = [...range(published, 't-'), 'end'];
    const problems: string[] = [];
    for (const [name, inbox] of [['A', subA], ['B', subB]] as const) {
      // Wait for the last message, not a count: duplicates would make a count come too early.
      await eventually(() => inbox.bodies.includes('end'), () => `no "end" on ${name}`, LONG).catch((e: Error) => problems.push(`subscriber on ${name}: ${e.message}`));
      const got = inbox.bodies;
      const missing = expected.filter((b) => !got.includes(b));
      const dups = got.length - new Set(got).size;
      const index = new Map(expected.map((b, i) => [b, i]));
      const late = got.filter((b, i) => i > 0 && index.get(b)! < index.get(got[i - 1]!)!);
      if (missing.length > 0) problems.push(`subscriber on ${name} lost ${missing.length} of ${expected.length}: ${missing.slice(0, 10).join(',')}`);
      if (dups > 0) problems.push(`subscriber on ${name} got ${dups} duplicates`);
      if (late.length > 0) problems.push(`subscriber on ${name} got ${late.length} messages out of order, e.g. ${late.slice(0, 5).join(',')}`);
    }
    await eventually(() => accepted.every((b) => consumed.bodies.includes(b)), () => 'queue').catch(() => {});
    const lost = accepted.filter((b) => !consumed.bodies.includes(b));
    if (lost.length > 0) problems.push(`queue lost ${lost.length} of ${accepted.length} SENDs that got a RECEIPT: ${lost.slice(0, 10).join(',')}`);
    if (silent.length > 0) problems.push(`${silent.length} queue SENDs got neither RECEIPT nor ERROR: ${silent.slice(0, 10).join(',')}`);
    const seen = new Map<string, number>();
    for (const m of consumed.messages) {
      const n = (seen.get(m.body) ?? 0) + 1;
      seen.set(m.body, n);
      if (n > 1 && m.headers['redelivered'] !== 'true') problems.push(`a second delivery of ${m.body} lacks redelivered:true`);
    }
    const redelivered = consumed.messages.length - seen.size;
    t.diagnostic(`topic: ${published} published; queue: ${accepted.length} accepted, ${refused.length} refused with ERROR (plus the probes), ${redelivered} redelivered`);
    assert.deepEqual(problems, [], `across the restart (${published} topic messages published):\n${problems.join('\n')}\n${logs()}`);
  });
});

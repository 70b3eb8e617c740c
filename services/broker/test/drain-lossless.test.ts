// The drain acceptance test: three nodes and Redis, publishing running all along, node-a drained
// through another node's admin API. Its topic subscribers resume on other nodes with zero messages
// lost or duplicated; its queue workers' unacked messages go back and every queue message is acked
// exactly once; its clients are closed spread over the window, not all at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DrainPhase, durationFromMs, NodeState, type DrainResponse } from '@stompede/admin-api';
import { AdminHandle, collect } from './helpers/admin.js';
import { useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { lostAndDuplicated, QueueWorker, ResumingSubscriber } from './helpers/roaming.js';
import { receipt } from './helpers/stompjs.js';

const TOPIC = '/topic/drain.ticker';
const QUEUE = '/queue/drain.jobs';
const GRACE_MS = 500;
const WINDOW_MS = 4_000;
const PUBLISH_EVERY_MS = 4;

describe('a drained node loses nothing', { skip: redisUnavailable() }, () => {
  const cluster = useCluster({ nodes: 3 });

  test('topic subscribers resume elsewhere with no loss or duplicate, queue messages are acked exactly once, closes are spread', async (t) => {
    const [a, b, c] = cluster.nodes();
    const urls = [a!.wsUrl, b!.wsUrl, c!.wsUrl];
    // Clients of node-a move on to b, c, b, ... when it drains; those of node-b stay put.
    const drained = [
      ...Array.from({ length: 12 }, (_, i) => new ResumingSubscriber(urls, 0, 1 + (i % 2), TOPIC)),
      ...Array.from({ length: 4 }, (_, i) => new QueueWorker(urls, 0, 1 + (i % 2), QUEUE, 5, { first: 60_000, later: 10 })),
    ];
    const steady = [new ResumingSubscriber(urls, 1, 1, TOPIC), new ResumingSubscriber(urls, 2, 2, TOPIC)];
    const steadyWorkers = [new QueueWorker(urls, 1, 1, QUEUE, 20, { first: 5, later: 5 }), new QueueWorker(urls, 2, 2, QUEUE, 20, { first: 5, later: 5 })];
    const everyone = [...drained, ...steady, ...steadyWorkers];
    cluster.defer(() => Promise.all(everyone.map((x) => x.stop())));
    await Promise.all(everyone.map((x) => x.start()));

    const topicPublisher = await cluster.stompjs(c!);
    const queueProducer = await cluster.stompjs(b!);
    let published = 0;
    let enqueued = 0;
    const timer = setInterval(() => {
      topicPublisher.publish({ destination: TOPIC, body: String(++published) });
      queueProducer.publish({ destination: QUEUE, body: String(++enqueued) });
    }, PUBLISH_EVERY_MS);
    cluster.defer(() => clearInterval(timer));

    const subscribers = drained.filter((x): x is ResumingSubscriber => x instanceof ResumingSubscriber);
    const workers = drained.filter((x): x is QueueWorker => x instanceof QueueWorker);
    await eventually(() => subscribers.every((s) => s.seqs.length > 0) && workers.every((w) => w.deliveries.length === 5), () => 'node-a clients did not get going', 20_000);

    const admin = new AdminHandle(b!);
    cluster.defer(() => admin.close());
    const progress = await collect<DrainResponse>(admin.drain({ nodeId: 'node-a', grace: durationFromMs(GRACE_MS), window: durationFromMs(WINDOW_MS) }));
    await new Promise((r) => setTimeout(r, 1_000));
    clearInterval(timer);
    await publishFlushed(topicPublisher, TOPIC, ++published);
    await publishFlushed(queueProducer, QUEUE, ++enqueued);

    // The drain's own account: grace, closing, drained, every client counted.
    assert.equal(progress[0]!.status!.phase, DrainPhase.DRAIN_PHASE_GRACE);
    assert.ok(progress.some((p) => p.status!.phase === DrainPhase.DRAIN_PHASE_CLOSING));
    assert.equal(progress.at(-1)!.status!.phase, DrainPhase.DRAIN_PHASE_DRAINED);
    assert.equal(progress.at(-1)!.status!.clientsLeft, 0);
    assert.equal(progress.at(-1)!.status!.clientsAtStart, drained.length);
    const nodeA = (await admin.listNodes()).nodes.find((n) => n.id === 'node-a');
    assert.equal(nodeA?.state, NodeState.NODE_STATE_DRAINED);

    // Topics: every message exactly once, in order, on every subscriber.
    for (const s of [...subscribers, ...steady]) {
      await eventually(() => s.seqs.length >= published, () => `a subscriber has ${s.seqs.length} of ${published}`, 20_000);
      assert.deepEqual(lostAndDuplicated(s.seqs, published), { lost: [], duplicated: [] });
      assert.deepEqual(s.seqs, [...s.seqs].sort((x, y) => x - y), 'in publish order');
    }
    for (const s of subscribers) {
      assert.equal(s.connections, 2, 'moved once');
      assert.ok(s.drainHeaders?.['x-last-message-id-ticker'] !== undefined, 'the drain ERROR names the resume point');
    }
    for (const s of steady) assert.equal(s.connections, 1, 'clients of other nodes notice nothing');

    // Queues: every message acked exactly once; those held unacked on node-a came back redelivered.
    const allWorkers = [...workers, ...steadyWorkers];
    const acked = (): number[] => allWorkers.flatMap((w) => w.acked);
    await eventually(() => acked().length >= enqueued, () => `${acked().length} of ${enqueued} queue messages acked`, 30_000);
    assert.deepEqual(lostAndDuplicated(acked(), enqueued), { lost: [], duplicated: [] });
    const held = workers.flatMap((w) => w.heldAtDrain());
    const closes = drained.map((x) => x.drainedAt!).sort((x, y) => x - y);
    assert.equal(held.length, workers.length * 5, 'each node-a worker held its prefetch window when the node drained');
    const redelivered = new Set(allWorkers.flatMap((w) => w.deliveries.filter((d) => d.redelivered).map((d) => d.seq)));
    for (const seq of held) assert.ok(redelivered.has(seq), `held message ${seq} was delivered again, marked redelivered`);

    t.diagnostic(`published ${published} topic and ${enqueued} queue messages; ${held.length} held unacked on node-a came back; ` +
      `${[...redelivered].length} redelivered in all; closes over ${closes.at(-1)! - closes[0]!} ms of a ${WINDOW_MS} ms window`);

    // Spread: node-a's clients got their ERROR over the window, never in a burst.
    assert.ok(drained.every((x) => x.drainedAt !== undefined), 'every node-a client got the drain ERROR');
    const span = closes.at(-1)! - closes[0]!;
    assert.ok(span >= WINDOW_MS * 0.5, `closes spread over ${span} ms of a ${WINDOW_MS} ms window`);
    const quarter = WINDOW_MS / 4;
    for (const at of closes) {
      const inQuarter = closes.filter((u) => u >= at && u < at + quarter).length;
      assert.ok(inQuarter <= drained.length / 4 + 2, `${inQuarter} of ${drained.length} closes within ${quarter} ms`);
    }
  });
});

/** Publishes a last message with a receipt: once it arrives, every earlier SEND was processed. */
async function publishFlushed(client: import('@stomp/stompjs').Client, destination: string, body: number): Promise<void> {
  const id = `flush-${destination}-${body}`;
  client.publish({ destination, body: String(body), headers: { receipt: id } });
  await receipt(client, id, 20_000);
}

// Destinations, stats and the drain calls of the admin API on a real cluster: subscribers per node,
// queue depth and pending from Redis, history, publish rates; WatchStats for one node and for the
// cluster; Drain and Undrain refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { DestinationKind, DrainPhase, durationFromMs, NodeState, type DrainResponse, type WatchStatsResponse } from '@stompede/admin-api';
import { AdminHandle, codeOf, collect } from './helpers/admin.js';
import { useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { publishAll, range } from './helpers/stompjs.js';

describe('admin API: destinations, stats and drain calls', { skip: redisUnavailable() }, () => {
  const cluster = useCluster({ nodes: 3 });
  const admin = (i: number): AdminHandle => {
    const handle = new AdminHandle(cluster.node(i));
    cluster.defer(() => handle.close());
    return handle;
  };

  test('GetDestination sums subscribers per node; a queue shows depth and pending from Redis; a topic its history', async () => {
    const onA = await cluster.connectRaw(0, 'tcp');
    const onB = await cluster.connectRaw(1, 'ws');
    await onA.sendWithReceipt('SUBSCRIBE', { id: '1', destination: '/topic/admin.d' });
    await onB.sendWithReceipt('SUBSCRIBE', { id: '1', destination: '/topic/admin.d' });
    await onB.sendWithReceipt('SUBSCRIBE', { id: '2', destination: '/topic/admin.*' });
    const worker = await cluster.connectRaw(2, 'tcp');
    await worker.sendWithReceipt('SUBSCRIBE', { id: 'w', destination: '/queue/admin.jobs', ack: 'client', 'prefetch-count': '2' });
    const producer = await cluster.stompjs(0);
    await publishAll(producer, '/queue/admin.jobs', range(5));
    await publishAll(producer, '/topic/admin.d', range(7));
    await eventually(async () => (await admin(1).getDestination({ name: '/queue/admin.jobs' })).destination?.queuePending === 2, () => 'two jobs out with the worker');

    const topic = (await admin(2).getDestination({ name: '/topic/admin.d' })).destination!;
    assert.equal(topic.kind, DestinationKind.DESTINATION_KIND_TOPIC);
    assert.equal(topic.subscribers, 2);
    assert.deepEqual(topic.subscribersByNode.map((s) => [s.nodeId, s.subscribers]).sort(), [['node-a', 1], ['node-b', 1]]);
    assert.equal(topic.historyLength, 7);
    const queue = (await admin(0).getDestination({ name: '/queue/admin.jobs' })).destination!;
    assert.equal(queue.kind, DestinationKind.DESTINATION_KIND_QUEUE);
    assert.deepEqual([queue.queueDepth, queue.queuePending, queue.subscribers], [3, 2, 1]);
    const pattern = (await admin(0).getDestination({ name: '/topic/admin.*' })).destination!;
    assert.equal(pattern.pattern, true);
    assert.equal(pattern.subscribers, 1);
    const onlyB = (await admin(0).getDestination({ name: '/topic/admin.d', nodeId: 'node-b' })).destination!;
    assert.deepEqual(onlyB.subscribersByNode, [{ nodeId: 'node-b', subscribers: 1 }]);
    await assert.rejects(admin(0).getDestination({ name: '/nowhere/x' }), (e) => codeOf(e) === status.INVALID_ARGUMENT);
    await assert.rejects(admin(0).getDestination({ name: '/topic/x', vhost: 'nope' }), (e) => codeOf(e) === status.NOT_FOUND);
  });

  test('ListDestinations merges every node and the broker\'s own, pages, filters; the publish rate shows up', async () => {
    const publisher = await cluster.stompjs(2);
    await publishAll(publisher, '/topic/admin.rate', range(30));
    await publishAll(publisher, '/queue/admin.only-stored', range(2));
    const all = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await admin(1).listDestinations({ pageSize: 3, pageToken });
      all.push(...page.destinations);
      pageToken = page.nextPageToken;
      assert.ok(++pages < 100, 'the page token advances');
    } while (pageToken !== '');
    const names = all.map((d) => d.name);
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    for (const n of ['/topic/admin.d', '/topic/admin.*', '/queue/admin.jobs', '/topic/admin.rate', '/queue/admin.only-stored']) assert.ok(names.includes(n), n);
    const stored = all.find((d) => d.name === '/queue/admin.only-stored')!;
    assert.deepEqual([stored.queueDepth, stored.subscribers], [2, 0], 'a queue nobody consumes is listed from Redis');
    const queues = await admin(0).listDestinations({ prefix: '/queue/' });
    assert.ok(queues.destinations.every((d) => d.kind === DestinationKind.DESTINATION_KIND_QUEUE) && queues.destinations.length >= 2);
    const onC = await admin(0).listDestinations({ nodeId: 'node-c' });
    assert.ok(onC.destinations.some((d) => d.name === '/queue/admin.jobs'), 'node-c has the queue consumer');
    assert.ok(!onC.destinations.some((d) => d.name === '/topic/admin.d'), 'but no subscriber of /topic/admin.d');
    await assert.rejects(admin(0).listDestinations({ pageSize: 5_000_000 }), (e) => codeOf(e) === status.INVALID_ARGUMENT);
    await assert.rejects(admin(0).listDestinations({ pageToken: 'bogus' }), (e) => codeOf(e) === status.INVALID_ARGUMENT);
    // Rates cover the node's last closed 5 s window: keep publishing until one closed with traffic.
    await eventually(async () => {
      await publishAll(publisher, '/topic/admin.rate', range(5));
      return (await admin(0).getDestination({ name: '/topic/admin.rate' })).destination!.publishRate > 0;
    }, () => 'no publish rate for /topic/admin.rate', 20_000);
  });

  test('WatchStats: a node\'s counters at once and every interval, the cluster\'s from every node; bad requests refused', async () => {
    const snapshots: WatchStatsResponse[] = [];
    const stream = admin(0).watchStats({ nodeId: 'node-b', interval: durationFromMs(300), names: ['stompede_connections', 'stompede_messages_published_total'] });
    stream.on('data', (s: WatchStatsResponse) => snapshots.push(s));
    stream.on('error', () => {});
    await eventually(() => snapshots.length >= 3, () => `${snapshots.length} snapshots`);
    stream.cancel();
    for (const s of snapshots) {
      assert.deepEqual(s.nodes.map((n) => n.nodeId), ['node-b']);
      assert.deepEqual([...new Set(s.nodes[0]!.samples.map((x) => x.name))].sort(), ['stompede_connections', 'stompede_messages_published_total']);
    }
    const cluster3 = admin(1).watchStats({ names: ['stompede_subscriptions'] });
    const first = await new Promise<WatchStatsResponse>((resolve, reject) => {
      cluster3.once('data', resolve);
      cluster3.once('error', reject);
    });
    cluster3.cancel();
    assert.deepEqual(first.nodes.map((n) => [n.nodeId, n.reachable]).sort(), [['node-a', true], ['node-b', true], ['node-c', true]]);
    for (const bad of [{ interval: durationFromMs(1) }, { names: ['not a metric'] }, { nodeId: 'node-q' }]) {
      await assert.rejects(collect(admin(0).watchStats(bad)), (e) => [status.INVALID_ARGUMENT, status.NOT_FOUND].includes(codeOf(e)!), JSON.stringify(bad));
    }
    assert.equal((await admin(0).listNodes()).nodes.length, 3, 'cancelled streams leave the node working');
  });

  test('Drain and Undrain: a second drain is FAILED_PRECONDITION, bad durations INVALID_ARGUMENT; Undrain ends the drain stream', async () => {
    const progress: DrainResponse[] = [];
    const drain = collect(admin(0).drain({ nodeId: 'node-c', grace: durationFromMs(60_000) }), (m) => progress.push(m));
    await eventually(() => progress.length > 0, () => 'no drain progress');
    assert.equal(progress[0]!.status!.phase, DrainPhase.DRAIN_PHASE_GRACE);
    assert.equal((await admin(1).getNode('node-c')).node?.state, NodeState.NODE_STATE_DRAINING);
    await assert.rejects(collect(admin(1).drain({ nodeId: 'node-c' })), (e) => codeOf(e) === status.FAILED_PRECONDITION && /already draining/.test(String(e)));
    for (const grace of [durationFromMs(100_000_000), { seconds: -1, nanos: 0 }, { seconds: 0, nanos: 2_000_000_000 }]) {
      await assert.rejects(collect(admin(0).drain({ nodeId: 'node-b', grace })), (e) => codeOf(e) === status.INVALID_ARGUMENT);
    }
    await assert.rejects(collect(admin(0).drain({ nodeId: 'node-zz' })), (e) => codeOf(e) === status.NOT_FOUND);
    const undone = await admin(2).undrain('node-c');
    assert.equal(undone.state, NodeState.NODE_STATE_SERVING);
    await drain;
    assert.equal(progress.at(-1)!.status!.phase, DrainPhase.DRAIN_PHASE_CANCELLED);
    await assert.rejects(admin(0).undrain('node-c'), (e) => codeOf(e) === status.FAILED_PRECONDITION);
    assert.equal((await admin(0).getNode('node-b')).node?.state, NodeState.NODE_STATE_SERVING, 'the refused drains changed nothing');
  });
});

// Two broker nodes on a real 3-master Redis Cluster, given every master as a seed in
// STOMPEDE_REDIS_URL: topics, wildcards, queues and replies work across nodes, with keys spread
// over the masters (hash tags keep each command within one slot).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IMessage } from '@stomp/stompjs';
import { useCluster } from './helpers/cluster.js';
import { redisBinariesMissing } from './helpers/redis-server.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

describe('cluster on a 3-master Redis Cluster', { skip: redisBinariesMissing() }, () => {
  const { stompjs, redisCluster, logs } = useCluster({ nodes: 2, redis: 'cluster' });

  test('topic fan-out from node A to node B, in order', async () => {
    const inboxes = [new Inbox(), new Inbox()];
    await subscribed(await stompjs(0), '/topic/rc.fanout', inboxes[0]!.push);
    await subscribed(await stompjs(1), '/topic/rc.fanout', inboxes[1]!.push);
    await publishAll(await stompjs(0), '/topic/rc.fanout', range(200));
    for (const inbox of inboxes) {
      await inbox.until(200, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
      assert.deepEqual(inbox.bodies, range(200));
    }
  });

  test('a wildcard subscriber on B gets new destinations from A; the streams spread over the masters', async () => {
    const inbox = new Inbox();
    await subscribed(await stompjs(1), '/topic/spread.*', inbox.push);
    const publisher = await stompjs(0);
    const n = 48;
    for (let i = 0; i < n; i++) await publishAll(publisher, `/topic/spread.d${i}`, [`d${i}`]);
    await inbox.until(n, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    assert.deepEqual([...inbox.bodies].sort(), range(n, 'd').sort());
    const keys = await redisCluster().keysPerMaster();
    assert.ok(keys.filter((k) => k > 0).length >= 2, `keys on at least two masters: ${keys.join('/')}`);
  });

  test('queue consumers on both nodes: each message exactly once', async () => {
    const q = '/queue/rc.work';
    const all = new Inbox();
    const perNode = [0, 0];
    for (const n of [0, 1, 0, 1]) {
      await subscribed(await stompjs(n), q, (m: IMessage) => {
        perNode[n]!++;
        all.push(m);
        m.ack();
      }, { ack: 'client-individual', 'prefetch-count': '5' });
    }
    const producer = await stompjs(0);
    await publishAll(producer, q, range(300));
    await all.until(300, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    await publishAll(producer, q, range(4, 'fence-'));
    await all.until(304, LONG);
    assert.equal(all.messages.length, 304, 'no duplicates');
    assert.deepEqual([...all.bodies].sort(), [...range(300), ...range(4, 'fence-')].sort());
    assert.ok(perNode[0]! > 0 && perNode[1]! > 0, `both nodes consumed (${perNode.join('/')})`);
  });

  test('request on node A, responder on node B, reply back on A', async () => {
    const responder = await stompjs(1);
    await subscribed(responder, '/queue/rc.svc', (m) => {
      responder.publish({ destination: m.headers['reply-to']!, body: `re:${m.body}` });
    });
    const requester = await stompjs(0);
    const replies = new Inbox();
    requester.onUnhandledMessage = replies.push;
    requester.publish({ destination: '/queue/rc.svc', body: 'ping', headers: { 'reply-to': '/temp-queue/rc' } });
    await replies.until(1, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    assert.deepEqual(replies.bodies, ['re:ping']);
    assert.equal(replies.messages[0]!.headers['subscription'], '/temp-queue/rc');
  });
});

// Request/reply across nodes: a requester's `reply-to:/temp-queue/<name>` becomes a reply queue
// named after its node, and a responder on another node reaches it through that node's inbox.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { metricSum, useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Inbox, publishAll, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

describe('cluster reply queues', { skip: redisUnavailable() }, () => {
  const { stompjs, nodes, logs } = useCluster({ nodes: 3 });

  /** A responder on node `n` answering every request on `service` with `re:<body>` to its reply-to. */
  const responder = async (n: number, service: string): Promise<{ client: Client; requests: Inbox }> => {
    const client = await stompjs(n);
    const requests = new Inbox();
    await subscribed(client, service, (m) => {
      requests.push(m);
      client.publish({ destination: m.headers['reply-to']!, body: `re:${m.body}`, headers: { 'correlation-id': m.headers['correlation-id'] ?? '' } });
    });
    return { client, requests };
  };
  const repliesOf = (client: Client): Inbox => {
    const inbox = new Inbox();
    client.onUnhandledMessage = inbox.push;
    return inbox;
  };

  test('a requester on A gets the replies of a responder on B', async () => {
    const service = await responder(1, '/queue/svc-ab');
    const requester = await stompjs(0);
    const replies = repliesOf(requester);
    for (const id of ['c1', 'c2', 'c3']) {
      requester.publish({ destination: '/queue/svc-ab', body: `ask-${id}`, headers: { 'reply-to': '/temp-queue/replies', 'correlation-id': id } });
    }
    const got = await replies.until(3, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    const requests = await service.requests.until(3, LONG);
    const replyTo = requests[0]!.headers['reply-to']!;
    assert.match(replyTo, /^\/reply-queue\/node-a\/[^/]+\/replies$/, 'the reply queue names the requester\'s node');
    assert.deepEqual(got.map((m) => m.body), ['re:ask-c1', 're:ask-c2', 're:ask-c3'], 'in order');
    assert.deepEqual(got.map((m) => m.headers['correlation-id']), ['c1', 'c2', 'c3']);
    for (const m of got) {
      assert.equal(m.headers['subscription'], '/temp-queue/replies');
      assert.equal(m.headers['destination'], replyTo);
    }
  });

  test('requesters on A and C, responders on B and C: each requester gets exactly its own replies', async () => {
    const service = '/queue/svc-many';
    await responder(1, service);
    await responder(2, service);
    const requesters = await Promise.all([stompjs(0), stompjs(2), stompjs(0)]);
    const inboxes = requesters.map(repliesOf);
    const n = 20;
    for (const [k, r] of requesters.entries()) {
      for (let i = 0; i < n; i++) r.publish({ destination: service, body: `r${k}-${i}`, headers: { 'reply-to': '/temp-queue/rpc', 'correlation-id': `${k}-${i}` } });
    }
    for (const [k, inbox] of inboxes.entries()) {
      await inbox.until(n, LONG).catch((e: Error) => assert.fail(`requester ${k}: ${e.message}\n${logs()}`));
    }
    // One more round trip each: nothing else was on its way to them.
    for (const [k, r] of requesters.entries()) r.publish({ destination: service, body: `r${k}-last`, headers: { 'reply-to': '/temp-queue/rpc' } });
    for (const [k, inbox] of inboxes.entries()) {
      await inbox.until(n + 1, LONG);
      assert.equal(inbox.messages.length, n + 1);
      assert.deepEqual(
        [...inbox.bodies].sort(),
        [...Array.from({ length: n }, (_, i) => `re:r${k}-${i}`), `re:r${k}-last`].sort(),
        `requester ${k}: its own replies, once each`,
      );
    }
  });

  test('a reply to a requester that left is dropped and counted; the responder stays connected', async () => {
    await responder(1, '/queue/svc-gone');
    const requester = await stompjs(0);
    // A responder on B that holds the request until the requester is gone.
    const held = new Inbox();
    const slow = await stompjs(1);
    let slowClosed = false;
    slow.onWebSocketClose = () => (slowClosed = true);
    await subscribed(slow, '/queue/svc-gone-slow', held.push);
    await publishAll(requester, '/queue/svc-gone-slow', ['ask'], { 'reply-to': '/temp-queue/r' });
    const [request] = await held.until(1, LONG);
    await requester.deactivate();
    const unroutable = async (): Promise<number> => {
      let sum = 0;
      for (const n of nodes()) sum += (await metricSum(n, 'stompede_deliveries_dropped_total', { reason: 'unroutable' })) ?? 0;
      return sum;
    };
    const start = await unroutable();
    await publishAll(slow, request!.headers['reply-to']!, ['late reply']);
    let now = start;
    await eventually(async () => (now = await unroutable()) > start, () => `stompede_deliveries_dropped_total{reason="unroutable"} stayed at ${now}`);
    // The late responder still works, and request/reply still works.
    await publishAll(slow, '/queue/svc-gone-slow', ['ping']);
    await held.until(2, LONG);
    const other = await stompjs(2);
    const replies = repliesOf(other);
    other.publish({ destination: '/queue/svc-gone', body: 'still there?', headers: { 'reply-to': '/temp-queue/r' } });
    await replies.until(1, LONG);
    assert.deepEqual(replies.bodies, ['re:still there?']);
    assert.equal(slowClosed, false, 'the responder of the late reply was not disconnected');
  });
});

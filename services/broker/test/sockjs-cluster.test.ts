// SockJS in a cluster: a SockJS session lives on the node that opened it (sticky routing, see
// docs/browser.md). A request for that session landing on another node gets the protocol's answer
// for an unknown session: xhr_send 404, and a receiving request opens a new session there (`o`),
// which sockjs-client reports as "Server lost session" rather than mixing two sessions' streams.
// Also the read-only /api/cluster summary the demo page shows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { useCluster } from './helpers/cluster.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { connectSockJs, http, stomp, stompFrames } from './helpers/sockjs.js';
import { Inbox, receipt } from './helpers/stompjs.js';

const CONNECT = stomp('CONNECT', { 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,0' });

describe('SockJS across cluster nodes', { skip: redisUnavailable() }, () => {
  const cluster = useCluster({ nodes: 2, env: { STOMPEDE_SOCKJS_DISCONNECT_DELAY_MS: '1000' } });

  test('a session id unknown to a node: xhr_send 404, a poll opens a new session; the first node keeps its own', async () => {
    const id = `000/${randomUUID()}`;
    const a = `${cluster.node(0).httpUrl}/sockjs/${id}`;
    const b = `${cluster.node(1).httpUrl}/sockjs/${id}`;
    assert.equal((await http('POST', `${a}/xhr`)).body, 'o\n');
    assert.equal((await http('POST', `${a}/xhr_send`, JSON.stringify([CONNECT]))).status, 204);
    assert.equal((await http('POST', `${b}/xhr_send`, JSON.stringify([CONNECT]))).status, 404, 'node b has no such session');
    assert.equal((await http('POST', `${b}/xhr`)).body, 'o\n', 'a receiving request opens a new session on node b');
    const onA = stompFrames((await http('POST', `${a}/xhr`)).body);
    assert.match(onA[0] ?? '', /^CONNECTED\n/, 'node a still serves the original session');
    assert.match(onA[0]!, new RegExp(`session:${cluster.node(0).nodeId}:`));
  });

  test('sockjs-client on two nodes: a queue message crosses nodes over xhr-polling and eventsource', async () => {
    const queue = `/queue/sockjs-x-${randomUUID()}`;
    const consumer = await connectSockJs(`${cluster.node(0).httpUrl}/sockjs`, 'xhr-polling');
    const producer = await connectSockJs(`${cluster.node(1).httpUrl}/sockjs`, 'eventsource');
    const inbox = new Inbox();
    consumer.subscribe(queue, inbox.push, { receipt: 'sub' });
    await receipt(consumer, 'sub');
    producer.publish({ destination: queue, body: 'across nodes' });
    assert.deepEqual((await inbox.until(1)).map((m) => m.body), ['across nodes']);
    await consumer.deactivate();
    await producer.deactivate();
  });

  test('/api/cluster: every node with its connections by transport, no addresses; read-only', async () => {
    const client = await connectSockJs(`${cluster.node(1).httpUrl}/sockjs`, 'xhr-streaming');
    const r = await http('GET', `${cluster.node(0).httpUrl}/api/cluster`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const view = JSON.parse(r.body) as { self: string; nodes: { id: string; state: string; connections: Record<string, number> }[] };
    assert.equal(view.self, cluster.node(0).nodeId);
    assert.deepEqual(view.nodes.map((n) => n.id).sort(), [cluster.node(0).nodeId, cluster.node(1).nodeId]);
    assert.ok((view.nodes.find((n) => n.id === cluster.node(1).nodeId)!.connections['sockjs'] ?? 0) >= 1, r.body);
    assert.ok(view.nodes.every((n) => n.state === 'serving'));
    assert.ok(!/127\.0\.0\.1|token|address/i.test(r.body), `no addresses or secrets: ${r.body}`);
    assert.equal((await http('POST', `${cluster.node(0).httpUrl}/api/cluster`, '{}')).status, 404, 'GET only');
    await client.deactivate();
  });
});

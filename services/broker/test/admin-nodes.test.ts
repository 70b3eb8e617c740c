// The admin API against a real three-node cluster, asked through any node: nodes, connections
// (paged, filtered, closed), authentication, reflection, and peers that cannot answer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ConnectionState, NodeState, Transport, type Connection } from '@stompede/admin-api';
import { AdminHandle, codeOf, HealthProbe } from './helpers/admin.js';
import { useCluster } from './helpers/cluster.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, header } from './helpers/raw-client.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { reflect } from './helpers/reflection.js';

describe('admin API across a cluster', { skip: redisUnavailable() }, () => {
  // A long node TTL: a stalled node stays in the registry, so it is a peer that does not answer.
  const cluster = useCluster({ nodes: 3, env: { STOMPEDE_ADMIN_PEER_TIMEOUT_MS: '1000', STOMPEDE_REDIS_NODE_TTL_MS: '60000' } });
  const admin = (i: number): AdminHandle => {
    const handle = new AdminHandle(cluster.node(i));
    cluster.defer(() => handle.close());
    return handle;
  };

  test('ListNodes from any node lists every node, the answering one first, with what it serves', async () => {
    await cluster.connectRaw(0, 'ws', { login: 'alice' });
    await cluster.connectRaw(0, 'ws', { login: 'bob' });
    await cluster.connectRaw(1, 'tcp', { login: 'alice' });
    for (let i = 0; i < 3; i++) {
      const { nodes } = await admin(i).listNodes();
      const self = cluster.node(i).nodeId;
      assert.equal(nodes[0]!.id, self, 'the answering node first');
      assert.deepEqual(nodes.map((n) => n.id).sort(), ['node-a', 'node-b', 'node-c']);
      for (const n of nodes) {
        assert.equal(n.state, NodeState.NODE_STATE_SERVING, n.id);
        assert.equal(n.redis?.enabled, true);
        assert.equal(n.redis?.up, true);
        assert.equal(n.addresses?.admin, cluster.nodes().find((x) => x.nodeId === n.id)!.adminAddress);
        assert.ok(n.rssBytes > 0 && n.version !== '' && n.startedAt instanceof Date);
      }
      const a = nodes.find((n) => n.id === 'node-a')!;
      const b = nodes.find((n) => n.id === 'node-b')!;
      assert.deepEqual(a.connections, { websocket: 2 });
      assert.deepEqual(b.connections, { tcp: 1 });
      assert.equal(a.connectionsTotal, 2);
    }
  });

  test('GetNode: any node answers for another; unknown ids are NOT_FOUND, malformed ones INVALID_ARGUMENT', async () => {
    const { node } = await admin(0).getNode('node-c');
    assert.equal(node?.id, 'node-c');
    assert.equal((await admin(1).getNode('')).node?.id, 'node-b', 'empty is the answering node');
    await assert.rejects(admin(0).getNode('node-zz'), (e) => codeOf(e) === status.NOT_FOUND);
    await assert.rejects(admin(0).getNode('no such node!'), (e) => codeOf(e) === status.INVALID_ARGUMENT);
    await assert.rejects(admin(0).getNode('x'.repeat(10_000)), (e) => codeOf(e) === status.INVALID_ARGUMENT);
  });

  test('ListConnections pages through every node; filters by login, remote address, destination and node', async () => {
    const clients = [
      await cluster.connectRaw(0, 'ws', { login: 'carol' }),
      await cluster.connectRaw(1, 'tcp', { login: 'carol' }),
      await cluster.connectRaw(2, 'ws', { login: 'carol' }),
      await cluster.connectRaw(2, 'tcp', { login: 'dave' }),
    ];
    await clients[2]!.sendWithReceipt('SUBSCRIBE', { id: 's1', destination: '/topic/admin.rows', ack: 'client' });
    const rows: Connection[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await admin(1).listConnections({ pageSize: 2, pageToken });
      assert.ok(page.connections.length <= 2);
      assert.deepEqual(page.unreachableNodes, []);
      rows.push(...page.connections);
      pageToken = page.nextPageToken;
      assert.ok(++pages < 50, `still paging after ${pages} pages: the token does not advance`);
    } while (pageToken !== '');
    const ids = rows.map((r) => r.sessionId);
    assert.equal(new Set(ids).size, ids.length, 'no row twice');
    const carol = rows.filter((r) => r.login === 'carol');
    assert.equal(carol.length, 3);
    assert.ok(pages >= Math.ceil(rows.length / 2));
    assert.deepEqual(rows.map((r) => r.nodeId), [...rows.map((r) => r.nodeId)].sort(), 'in node order');

    const byLogin = await admin(0).listConnections({ login: 'carol' });
    assert.deepEqual(byLogin.connections.map((r) => r.nodeId).sort(), ['node-a', 'node-b', 'node-c']);
    const subscribed = await admin(0).listConnections({ destination: '/topic/admin.rows' });
    assert.equal(subscribed.connections.length, 1);
    const row = subscribed.connections[0]!;
    assert.equal(row.nodeId, 'node-c');
    assert.equal(row.transport, Transport.TRANSPORT_WEBSOCKET);
    assert.equal(row.state, ConnectionState.CONNECTION_STATE_CONNECTED);
    assert.equal(row.stompVersion, '1.2');
    assert.equal(row.subscriptions, 1);
    assert.ok(row.connectedSince instanceof Date);
    assert.match(row.sessionId, /^node-c:/);
    const onC = await admin(0).listConnections({ nodeId: 'node-c' });
    assert.ok(onC.connections.every((r) => r.nodeId === 'node-c') && onC.connections.length >= 2);
    const byRemote = await admin(0).listConnections({ remoteAddress: '127.0.0.1' });
    assert.equal(byRemote.connections.length, Math.min(rows.length, 100));
    const none = await admin(0).listConnections({ remoteAddress: '10.255.' });
    assert.deepEqual(none.connections, []);
  });

  test('ListConnections refuses huge or negative pages, and page tokens it did not issue', async () => {
    for (const pageSize of [1_000_001, 2_147_483_647, -1]) {
      await assert.rejects(admin(0).listConnections({ pageSize }), (e) => codeOf(e) === status.INVALID_ARGUMENT && /page_size/.test(String((e as Error).message)));
    }
    for (const pageToken of ['garbage', Buffer.from('{"node":1}').toString('base64url'), 'A'.repeat(100_000)]) {
      await assert.rejects(admin(0).listConnections({ pageToken }), (e) => codeOf(e) === status.INVALID_ARGUMENT);
    }
    await assert.rejects(admin(0).listConnections({ nodeId: 'node-q' }), (e) => codeOf(e) === status.NOT_FOUND);
  });

  test('CloseConnection on any node reaches the client on its own node: ERROR with the reason, then close', async () => {
    const victim = await cluster.connectRaw(2, 'tcp', { login: 'mallory' });
    const { connections } = await admin(0).listConnections({ login: 'mallory' });
    assert.equal(connections.length, 1);
    const answer = await admin(0).closeConnection({ sessionId: connections[0]!.sessionId, reason: 'abuse report #42' });
    assert.equal(answer.nodeId, 'node-c');
    const e = await expectErrorThenClose(victim, 'closed by administrator');
    assert.equal(header(e, 'x-close-reason'), 'abuse report #42');
    assert.match(bodyText(e), /abuse report #42/);
    await assert.rejects(admin(0).closeConnection({ sessionId: connections[0]!.sessionId, reason: '' }), (e2) => codeOf(e2) === status.NOT_FOUND);
    for (const sessionId of ['', 'no-colon', ':x', 'node-zz:1']) {
      await assert.rejects(admin(1).closeConnection({ sessionId, reason: '' }), (e2) => [status.INVALID_ARGUMENT, status.NOT_FOUND].includes(codeOf(e2)!), sessionId);
    }
    await assert.rejects(admin(1).closeConnection({ sessionId: 'node-c:1', reason: 'two\nlines' }), (e2) => codeOf(e2) === status.INVALID_ARGUMENT);
  });

  test('calls without the token, or with a wrong one, are UNAUTHENTICATED; health and nothing else is open', async () => {
    for (const token of [null, 'wrong-token-wrong-token', '']) {
      await assert.rejects(admin(0).listNodes(token), (e) => codeOf(e) === status.UNAUTHENTICATED, String(token));
      await assert.rejects(admin(0).getNode('node-b', token), (e) => codeOf(e) === status.UNAUTHENTICATED);
      await assert.rejects(admin(0).listConnections({}, token), (e) => codeOf(e) === status.UNAUTHENTICATED);
      await assert.rejects(admin(0).closeConnection({ sessionId: 'node-a:1', reason: '' }, token), (e) => codeOf(e) === status.UNAUTHENTICATED);
      await assert.rejects(admin(0).undrain('node-a', token), (e) => codeOf(e) === status.UNAUTHENTICATED);
    }
    await assert.rejects(reflect(cluster.node(0).adminAddress, { list_services: '' }), (e) => codeOf(e) === status.UNAUTHENTICATED);
    const probe = new HealthProbe(cluster.node(0).adminAddress);
    cluster.defer(() => probe.close());
    assert.equal(await probe.check('stompede.readiness'), 'SERVING');
  });

  test('gRPC reflection lists the services and serves their descriptors (what grpcurl needs)', async () => {
    const md = admin(0).metadata();
    const listed = await reflect(cluster.node(0).adminAddress, { list_services: '' }, md);
    const names = listed.list_services_response!.service.map((s) => s.name);
    for (const name of ['stompede.admin.v1.AdminService', 'grpc.health.v1.Health']) assert.ok(names.includes(name), `${name} in ${names}`);
    const file = await reflect(cluster.node(0).adminAddress, { file_containing_symbol: 'stompede.admin.v1.AdminService' }, md);
    const protos = file.file_descriptor_response!.file_descriptor_proto.map((b) => Buffer.from(b).toString('latin1'));
    assert.ok(protos.some((p) => p.includes('stompede/admin/v1/admin_service.proto')));
  });

  test('a stalled peer is reported unreachable within the peer deadline, and never holds the call up', async () => {
    const stalled = cluster.node(2);
    process.kill(stalled.pid, 'SIGSTOP');
    try {
      const { nodes } = await admin(0).listNodes();
      const c = nodes.find((n) => n.id === 'node-c');
      assert.equal(c?.state, NodeState.NODE_STATE_UNREACHABLE);
      assert.match(c!.error, /deadline|timed? ?out|unavailable/i);
      assert.equal(c!.addresses?.admin, stalled.adminAddress, 'what the registry knows is still shown');
      assert.equal(nodes.filter((n) => n.state === NodeState.NODE_STATE_SERVING).length, 2);
      await assert.rejects(admin(0).getNode('node-c'), (e) => codeOf(e) === status.UNAVAILABLE);
      const listing = await admin(1).listConnections({});
      assert.deepEqual(listing.unreachableNodes.map((u) => u.nodeId), ['node-c']);
    } finally {
      process.kill(stalled.pid, 'SIGCONT');
    }
    assert.equal((await admin(0).getNode('node-c')).node?.state, NodeState.NODE_STATE_SERVING);
  });
});

// How the admin API authenticates: a configured token (or one from a file), a generated one when
// none is configured (shared by the nodes of a cluster), mTLS, or nothing at all, which must be
// asked for and is logged as a warning. Bad credential settings stop the node at start.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { credentials, status } from '@grpc/grpc-js';
import { NodeState } from '@stompede/admin-api';
import { AdminHandle, codeOf } from './helpers/admin.js';
import { freePort, runBroker, startBroker } from './helpers/broker-process.js';
import { TestCa, opensslMissing } from './helpers/certs.js';
import { useCluster } from './helpers/cluster.js';
import { redisUnavailable } from './helpers/redis-server.js';

function tokenFileOf(output: string): string {
  const m = /"tokenFile":"([^"]+)"/.exec(output);
  assert.ok(m, `the node logs where the generated token is:\n${output}`);
  return m[1]!;
}

describe('admin authentication modes', () => {
  test('STOMPEDE_ADMIN_AUTH=none: calls need no token, and the node warns at start', async () => {
    const broker = await startBroker({ env: { STOMPEDE_ADMIN_AUTH: 'none', STOMPEDE_ADMIN_TOKEN: '' } });
    const admin = new AdminHandle(broker, null);
    try {
      assert.equal((await admin.listNodes()).nodes.length, 1);
      assert.match(broker.output(), /admin API authentication is OFF/);
    } finally {
      admin.close();
      await broker.stop();
    }
  });

  test('no token configured: one is generated into a file only this user can read, and the admin port is on loopback', async () => {
    const broker = await startBroker({ env: { STOMPEDE_ADMIN_TOKEN: '', STOMPEDE_ADMIN_BIND: '127.0.0.1' } });
    try {
      const file = tokenFileOf(broker.output());
      assert.match(broker.output(), /stompede-ctl --server 127\.0\.0\.1:\d+ --token-file/);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const token = readFileSync(file, 'utf8').trim();
      assert.ok(token.length >= 32);
      const admin = new AdminHandle(broker, token);
      assert.equal((await admin.listNodes()).nodes[0]?.id, 'test-node');
      await assert.rejects(admin.listNodes('test-admin-token-0123456789'), (e) => codeOf(e) === status.UNAUTHENTICATED);
      admin.close();
    } finally {
      await broker.stop();
    }
  });

  test('STOMPEDE_ADMIN_TOKEN_FILE is read at start', async () => {
    const file = join(tmpdir(), `stompede-token-${process.pid}`);
    writeFileSync(file, 'from-a-mounted-secret-0123456789\n');
    const broker = await startBroker({ env: { STOMPEDE_ADMIN_TOKEN: '', STOMPEDE_ADMIN_TOKEN_FILE: file } });
    try {
      const admin = new AdminHandle(broker, 'from-a-mounted-secret-0123456789');
      assert.equal((await admin.listNodes()).nodes.length, 1);
      admin.close();
    } finally {
      await broker.stop();
    }
  });

  test('bad credential settings stop the node at start with a message naming them (exit 2)', async () => {
    const base = { STOMPEDE_BIND: '127.0.0.1', STOMPEDE_WS_PORT: String(await freePort()), STOMPEDE_TCP_PORT: String(await freePort()), STOMPEDE_ADMIN_PORT: String(await freePort()) };
    const empty = join(tmpdir(), `stompede-empty-${process.pid}`);
    writeFileSync(empty, '\n');
    for (const [env, message] of [
      [{ STOMPEDE_ADMIN_TOKEN_FILE: '/nonexistent/token' }, /STOMPEDE_ADMIN_TOKEN_FILE: cannot read/],
      [{ STOMPEDE_ADMIN_TOKEN_FILE: empty }, /is empty/],
      [{ STOMPEDE_ADMIN_TOKEN: 'short' }, /at least 16 characters/],
      [{ STOMPEDE_ADMIN_TOKEN: 'x'.repeat(20), STOMPEDE_ADMIN_TOKEN_FILE: empty }, /not both/],
      [{ STOMPEDE_ADMIN_AUTH: 'mtls' }, /mtls needs/],
      [{ STOMPEDE_ADMIN_AUTH: 'maybe' }, /STOMPEDE_ADMIN_AUTH/],
    ] as const) {
      const { code, output } = await runBroker([], { ...base, ...env });
      assert.equal(code, 2, output);
      assert.match(output, message);
    }
  });
});

describe('admin API over mTLS', { skip: opensslMissing() ?? redisUnavailable() }, () => {
  const ca = new TestCa();
  after(() => ca.cleanup());
  const node = ca.issue('node');
  const cluster = useCluster({
    nodes: 2,
    env: { STOMPEDE_ADMIN_AUTH: 'mtls', STOMPEDE_ADMIN_TOKEN: '', STOMPEDE_ADMIN_TLS_CERT: node.cert, STOMPEDE_ADMIN_TLS_KEY: node.key, STOMPEDE_ADMIN_TLS_CA: ca.ca.cert },
  });

  test('a client certificate from the CA is let in and nodes reach each other; no certificate, no call', async () => {
    const operator = ca.issue('operator');
    const secure = credentials.createSsl(ca.read(ca.ca.cert), ca.read(operator.key), ca.read(operator.cert));
    const withCert = new AdminHandle(cluster.node(0), null, { credentials: secure });
    const { nodes } = await withCert.listNodes();
    assert.deepEqual(nodes.map((n) => [n.id, n.state]).sort(), [['node-a', NodeState.NODE_STATE_SERVING], ['node-b', NodeState.NODE_STATE_SERVING]]);
    withCert.close();
    const noCert = new AdminHandle(cluster.node(0), null, { credentials: credentials.createSsl(ca.read(ca.ca.cert)) });
    await assert.rejects(noCert.listNodes(), (e) => codeOf(e) === status.UNAVAILABLE);
    noCert.close();
  });
});

describe('a generated token in a cluster', { skip: redisUnavailable() }, () => {
  const cluster = useCluster({ nodes: 2, env: { STOMPEDE_ADMIN_TOKEN: '' } });

  test('is the same on every node (agreed through Redis), so nodes can call each other', async () => {
    const files = cluster.nodes().map((n) => tokenFileOf(n.output()));
    const tokens = files.map((f) => readFileSync(f, 'utf8').trim());
    assert.equal(tokens[0], tokens[1]);
    const admin = new AdminHandle(cluster.node(1), tokens[0]!);
    const { nodes } = await admin.listNodes();
    assert.deepEqual(nodes.map((n) => n.state), [NodeState.NODE_STATE_SERVING, NodeState.NODE_STATE_SERVING]);
    admin.close();
  });
});

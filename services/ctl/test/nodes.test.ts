// `nodes` and `node <id>`: tables for people, --json for scripts, NOT_FOUND as exit 1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { GetNodeRequest } from '@stompede/admin-api';
import { runCtl, tableHeader, tableRows } from './helpers/ctl.js';
import { answer, serviceError, startFakeAdmin, type FakeAdmin } from './helpers/fake-admin.js';
import { DRAINING_NODE, SERVING_NODE, UNREACHABLE_NODE } from './helpers/fixtures.js';

describe('nodes and node', () => {
  let admin: FakeAdmin;

  before(async () => {
    const nodes = [SERVING_NODE, DRAINING_NODE, UNREACHABLE_NODE];
    admin = await startFakeAdmin({
      listNodes: answer(() => ({ nodes })),
      getNode: answer((request: GetNodeRequest) => {
        const node = nodes.find((candidate) => candidate.id === request.nodeId);
        return node ? { node } : serviceError(status.NOT_FOUND, `no node ${request.nodeId} in the registry`);
      }),
    });
  });
  after(() => admin.stop());

  test('nodes prints a row per node, an unreachable one with its error', async () => {
    const result = await runCtl(['--server', admin.address, 'nodes']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(tableHeader(result.stdout), [
      'ID', 'STATE', 'CONNS', 'SUBS', 'IN/S', 'OUT/S', 'CPU', 'RSS', 'LOOP LAG', 'REDIS', 'UPTIME', 'VERSION',
    ]);
    const rows = tableRows(result.stdout);
    assert.deepEqual(rows[0], ['node-1', 'serving', '42', '17', '120.5', '4321.0', '35%', '150.0 MiB', '3ms', 'up', '2h 5m', '0.1.0']);
    assert.deepEqual(rows[1]!.slice(0, 3), ['node-2', 'draining', '7']);
    assert.deepEqual(rows[2], ['node-3', 'unreachable', 'deadline exceeded after 2s']);
    assert.equal(rows.length, 3);
  });

  test('nodes --json prints the response with proto JSON field names', async () => {
    const result = await runCtl(['--server', admin.address, '--json', 'nodes']);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { nodes: Array<Record<string, unknown>> };
    assert.deepEqual(parsed.nodes.map((node) => [node.id, node.state]), [
      ['node-1', 'NODE_STATE_SERVING'],
      ['node-2', 'NODE_STATE_DRAINING'],
      ['node-3', 'NODE_STATE_UNREACHABLE'],
    ]);
    assert.equal(parsed.nodes[0]!.connectionsTotal, 42);
    assert.equal(parsed.nodes[0]!.rssBytes, 150 * 1024 * 1024);
    assert.deepEqual(parsed.nodes[0]!.connections, { websocket: 40, tcp: 2 });
    assert.equal(parsed.nodes[2]!.error, 'deadline exceeded after 2s');
  });

  test('node <id> asks for that node and prints it as name/value pairs', async () => {
    const result = await runCtl(['node', 'node-2', '--server', admin.address]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(admin.requests<GetNodeRequest>('getNode').at(-1)?.nodeId, 'node-2');
    const pairs = new Map(result.stdout.trim().split('\n').map((line) => {
      const [name, value] = line.split(/\s{2,}/);
      return [name!, value!] as const;
    }));
    assert.equal(pairs.get('state'), 'draining');
    assert.equal(pairs.get('websocket'), '10.0.0.1:15674/ws');
    assert.equal(pairs.get('admin'), '10.0.0.1:50051');
    assert.equal(pairs.get('connections'), '7 (tcp 2, websocket 40)');
    assert.equal(pairs.get('redis'), 'up');
    assert.equal(pairs.get('live nodes'), '3');
    assert.equal(pairs.get('drain'), 'closing, 7 of 20 clients left');
    assert.equal(pairs.get('drain window'), '30s');
  });

  test('node <id> --json prints the GetNode response', async () => {
    const result = await runCtl(['--server', admin.address, 'node', 'node-1', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { node: Record<string, unknown> };
    assert.equal(parsed.node.id, 'node-1');
    assert.deepEqual(parsed.node.addresses, { websocket: '10.0.0.1:15674/ws', tcp: '10.0.0.1:61613', admin: '10.0.0.1:50051' });
    assert.equal(parsed.node.startedAt, '2025-03-04T05:06:07.000Z');
  });

  test('an unknown node is NOT_FOUND: exit 1 and the server details on stderr', async () => {
    const result = await runCtl(['--server', admin.address, 'node', 'node-9']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^stompede-ctl: NOT_FOUND: no node node-9 in the registry/);
  });
});

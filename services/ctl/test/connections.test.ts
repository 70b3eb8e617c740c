// `connections` (filters, paging up to --limit, unreachable nodes) and `kick`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CloseConnectionRequest, Connection, ListConnectionsRequest } from '@stompede/admin-api';
import { runCtl, tableHeader, tableRows } from './helpers/ctl.js';
import { answer, startFakeAdmin, type FakeAdmin } from './helpers/fake-admin.js';
import { connection } from './helpers/fixtures.js';

/** 250 connections served in pages of at most `pageSize`, the token being the offset. */
const ALL = Array.from({ length: 250 }, (_, index) => connection(index, index < 200 ? 'node-1' : 'node-2'));

function page(request: ListConnectionsRequest): { connections: Connection[]; nextPageToken: string; unreachableNodes: Array<{ nodeId: string; error: string }> } {
  const offset = request.pageToken === '' ? 0 : Number(request.pageToken);
  const size = request.pageSize === 0 ? 100 : request.pageSize;
  const rows = ALL.slice(offset, offset + size);
  const next = offset + rows.length;
  return {
    connections: rows,
    nextPageToken: next < ALL.length ? String(next) : '',
    unreachableNodes: [{ nodeId: 'node-3', error: 'deadline exceeded' }],
  };
}

describe('connections and kick', () => {
  let admin: FakeAdmin;

  before(async () => {
    admin = await startFakeAdmin({
      listConnections: answer(page),
      closeConnection: answer((request: CloseConnectionRequest) => ({ nodeId: request.sessionId.split(':')[0]! })),
    });
  });
  after(() => admin.stop());

  test('the table has the documented columns; unreachable nodes are a warning on stderr', async () => {
    const result = await runCtl(['--server', admin.address, 'connections', '--limit', '3']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(tableHeader(result.stdout), [
      'SESSION', 'NODE', 'TRANSPORT', 'REMOTE', 'STATE', 'VERSION', 'LOGIN', 'SUBS', 'UNACKED', 'PENDING', 'SINCE',
    ]);
    assert.deepEqual(tableRows(result.stdout), [
      ['node-1:s0', 'node-1', 'websocket', '192.168.1.0:50000', 'connected', '1.2', 'alice', '0', '1', '2.0 KiB', '2025-03-04T05:06:07Z'],
      ['node-1:s1', 'node-1', 'tcp', '192.168.1.1:50001', 'connected', '1.2', '-', '1', '1', '2.0 KiB', '2025-03-04T05:06:07Z'],
      ['node-1:s2', 'node-1', 'websocket', '192.168.1.2:50002', 'connected', '1.2', 'alice', '2', '1', '2.0 KiB', '2025-03-04T05:06:07Z'],
    ]);
    assert.match(result.stderr, /warning: node node-3 did not answer \(deadline exceeded\)/);
    assert.match(result.stderr, /first 3 connections; --limit shows more/);
  });

  test('the filters reach the server', async () => {
    const args = ['connections', '--node', 'node-2', '--destination', '/topic/a.*', '--login', 'alice', '--remote', '10.1.'];
    const result = await runCtl(['--server', admin.address, ...args]);
    assert.equal(result.code, 0, result.stderr);
    const request = admin.requests<ListConnectionsRequest>('listConnections').at(-1)!;
    assert.deepEqual(
      [request.nodeId, request.destination, request.login, request.remoteAddress],
      ['node-2', '/topic/a.*', 'alice', '10.1.'],
    );
  });

  test('pages are followed through next_page_token until --limit rows', async () => {
    const before = admin.requests('listConnections').length;
    const result = await runCtl(['--server', admin.address, 'connections', '--limit', '230']);
    assert.equal(result.code, 0, result.stderr);
    const requests = admin.requests<ListConnectionsRequest>('listConnections').slice(before);
    assert.deepEqual(requests.map((request) => [request.pageToken, request.pageSize]), [['', 100], ['100', 100], ['200', 30]]);
    const rows = tableRows(result.stdout);
    assert.equal(rows.length, 230);
    assert.equal(rows[229]![0], 'node-2:s229');
  });

  test('paging stops at the last page, below the default limit', async () => {
    const before = admin.requests('listConnections').length;
    const result = await runCtl(['--server', admin.address, 'connections', '--limit', '1000', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(admin.requests('listConnections').length - before, 3);
    const parsed = JSON.parse(result.stdout) as { connections: Array<Record<string, unknown>>; nextPageToken?: string; unreachableNodes: unknown[] };
    assert.equal(parsed.connections.length, 250);
    assert.equal(parsed.nextPageToken, undefined);
    assert.deepEqual(parsed.unreachableNodes, [{ nodeId: 'node-3', error: 'deadline exceeded' }]);
  });

  test('--json uses the proto JSON mapping and keeps the token of the next page', async () => {
    const result = await runCtl(['--server', admin.address, '--json', 'connections', '--limit', '2']);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { connections: Array<Record<string, unknown>>; nextPageToken: string };
    assert.deepEqual(parsed.connections.map((row) => row.sessionId), ['node-1:s0', 'node-1:s1']);
    assert.equal(parsed.connections[0]!.transport, 'TRANSPORT_WEBSOCKET');
    assert.equal(parsed.connections[0]!.pendingOutboundBytes, 2048);
    assert.equal(parsed.nextPageToken, '2');
  });

  test('kick closes the session with the default reason, or the one given', async () => {
    const plain = await runCtl(['--server', admin.address, 'kick', 'node-2:s7']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, 'closed node-2:s7 on node node-2\n');
    const json = await runCtl(['--server', admin.address, 'kick', 'node-1:s1', '--reason', 'maintenance', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { nodeId: 'node-1' });
    const requests = admin.requests<CloseConnectionRequest>('closeConnection');
    assert.deepEqual(requests.map((request) => [request.sessionId, request.reason]), [
      ['node-2:s7', 'closed by stompede-ctl'],
      ['node-1:s1', 'maintenance'],
    ]);
  });

  test('--limit must be a positive whole number (usage error, exit 2)', async () => {
    for (const limit of ['0', '-3', 'ten', '1.5']) {
      const result = await runCtl(['--server', admin.address, 'connections', '--limit', limit]);
      assert.equal(result.code, 2, `--limit ${limit}: ${result.stderr}`);
      assert.match(result.stderr, /^stompede-ctl: .*--limit/);
    }
  });
});

// `stats`: one snapshot and exit, or (--watch) a table per snapshot with rates until SIGINT.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { msFromDuration, WatchStatsResponse, type WatchStatsRequest } from '@stompede/admin-api';
import { runCtl, startCtl, tableHeader, tableRows } from './helpers/ctl.js';
import { startFakeAdmin, type FakeAdmin, type StreamLog } from './helpers/fake-admin.js';

const EPOCH_MS = Date.UTC(2025, 0, 1);

/** Snapshot n of the fake cluster: one second after snapshot n-1 by the server's clock. */
function snapshot(n: number, nodeId: string): WatchStatsResponse {
  const samples = [
    { name: 'stompede_connections', labels: { transport: 'websocket' }, value: 30 },
    { name: 'stompede_connections', labels: { transport: 'tcp' }, value: 12 },
    { name: 'stompede_subscriptions', labels: {}, value: 17 },
    { name: 'stompede_messages_published_total', labels: {}, value: 100 * n },
    { name: 'stompede_messages_delivered_total', labels: {}, value: 2500 * n },
    { name: 'stompede_errors_total', labels: { kind: 'frame' }, value: 2 },
    { name: 'stompede_errors_total', labels: { kind: 'auth' }, value: 1 },
    { name: 'stompede_drain_state', labels: {}, value: 0 },
  ];
  const nodes = [
    { nodeId: 'node-1', reachable: true, error: '', samples },
    { nodeId: 'node-2', reachable: false, error: 'deadline exceeded', samples: [] },
  ];
  return WatchStatsResponse.fromPartial({
    time: new Date(EPOCH_MS + n * 1_000),
    nodes: nodeId === '' ? nodes : nodes.filter((node) => node.nodeId === nodeId),
  });
}

describe('stats', () => {
  let admin: FakeAdmin;
  const log: StreamLog = { cancelled: 0 };

  before(async () => {
    admin = await startFakeAdmin({
      watchStats: (call) => {
        let n = 1;
        call.write(snapshot(n, call.request.nodeId));
        const intervalMs = call.request.interval ? msFromDuration(call.request.interval) : 5_000;
        const timer = setInterval(() => {
          n += 1;
          call.write(snapshot(n, call.request.nodeId));
          // The "ends" node stops after three snapshots, as a node that shuts down would.
          if (call.request.nodeId === 'ends' && n === 3) call.end();
        }, intervalMs);
        call.on('cancelled', () => {
          log.cancelled += 1;
          clearInterval(timer);
        });
        call.on('finish', () => clearInterval(timer));
      },
    });
  });
  after(() => admin.stop());

  test('without --watch: one snapshot of the default metrics, then exit 0', async () => {
    const result = await runCtl(['--server', admin.address, 'stats']);
    assert.equal(result.code, 0, result.stderr);
    const [timeLine, ...table] = result.stdout.trim().split('\n');
    assert.equal(timeLine, 'at 2025-01-01T00:00:01Z');
    assert.deepEqual(tableHeader(table.join('\n')), [
      'NODE', 'CONNS', 'SUBS', 'PUBLISHED', 'PUB/S', 'DELIVERED', 'DELIV/S', 'ERRORS', 'DRAIN',
    ]);
    assert.deepEqual(tableRows(table.join('\n')), [
      ['node-1', '42', '17', '100', '-', '2500', '-', '3', '0'],
      ['node-2', 'unreachable: deadline exceeded'],
    ]);
    const request = admin.requests<WatchStatsRequest>('watchStats').at(-1)!;
    assert.deepEqual(request.names, [
      'stompede_connections', 'stompede_subscriptions', 'stompede_messages_published_total',
      'stompede_messages_delivered_total', 'stompede_errors_total', 'stompede_drain_state',
    ]);
    assert.deepEqual([request.nodeId, request.interval], ['', undefined]);
  });

  test('--json prints the snapshot as one JSON line and asks for every metric', async () => {
    const result = await runCtl(['--server', admin.address, '--json', 'stats']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const parsed = JSON.parse(lines[0]!) as { time: string; nodes: Array<{ nodeId: string; samples?: unknown[] }> };
    assert.equal(parsed.time, '2025-01-01T00:00:01.000Z');
    assert.equal(parsed.nodes[0]!.samples?.length, 8);
    assert.deepEqual(admin.requests<WatchStatsRequest>('watchStats').at(-1)!.names, []);
  });

  test('--node, --interval and --names reach the server; --names picks the columns', async () => {
    const args = ['stats', '--node', 'node-1', '--interval', '1500ms', '--names', 'stompede_subscriptions, stompede_errors_total'];
    const result = await runCtl(['--server', admin.address, ...args]);
    assert.equal(result.code, 0, result.stderr);
    const request = admin.requests<WatchStatsRequest>('watchStats').at(-1)!;
    assert.deepEqual(
      [request.nodeId, request.interval, request.names],
      ['node-1', { seconds: 1, nanos: 500_000_000 }, ['stompede_subscriptions', 'stompede_errors_total']],
    );
    const table = result.stdout.trim().split('\n').slice(1).join('\n');
    assert.deepEqual(tableHeader(table), ['NODE', 'stompede_subscriptions', 'stompede_errors_total', 'stompede_errors_total/s']);
    assert.deepEqual(tableRows(table), [['node-1', '17', '3', '-']]);
  });

  test('--watch prints a table per snapshot, with rates, until SIGINT (exit 0)', async () => {
    const cancelledBefore = log.cancelled;
    const run = startCtl(['--server', admin.address, 'stats', '--watch', '--interval', '50ms']);
    const snapshots = (): string[] => run.stdout().split(/^at /m).filter((chunk) => chunk.trim() !== '');
    await run.waitFor(() => snapshots().length >= 4);
    assert.equal(run.child.exitCode, null, 'still watching');
    run.child.kill('SIGINT');
    const result = await run.exited;
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /\x1b/, 'no screen clearing when stdout is not a terminal');
    const second = tableRows(snapshots()[1]!.split('\n').slice(1).join('\n'));
    // 100 published and 2500 delivered per second of server time, whatever the real timing.
    assert.deepEqual(second[0], ['node-1', '42', '17', '200', '100.0', '5000', '2500.0', '3', '0']);
    const deadline = Date.now() + 5_000;
    while (log.cancelled === cancelledBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(log.cancelled, cancelledBefore + 1, 'the server saw the stream cancelled');
  });

  test('--watch exits 1 when the server ends the stream', async () => {
    const result = await runCtl(['--server', admin.address, 'stats', '--watch', '--interval', '20ms', '--node', 'ends']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the server ended the stats stream/);
  });
});

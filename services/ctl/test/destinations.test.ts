// `destinations` (filters, paging) and `destination <name>` with its subscribers per node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { GetDestinationRequest, ListDestinationsRequest } from '@stompede/admin-api';
import { runCtl, tableHeader, tableRows } from './helpers/ctl.js';
import { answer, serviceError, startFakeAdmin, type FakeAdmin } from './helpers/fake-admin.js';
import { PATTERN, QUEUE, TOPIC } from './helpers/fixtures.js';

const DESTINATIONS = [TOPIC, QUEUE, PATTERN];

describe('destinations and destination', () => {
  let admin: FakeAdmin;

  before(async () => {
    admin = await startFakeAdmin({
      // One destination per page, so that every listing pages.
      listDestinations: answer((request: ListDestinationsRequest) => {
        const offset = Number(request.pageToken || '0');
        const next = offset + 1 < DESTINATIONS.length ? String(offset + 1) : '';
        return { destinations: DESTINATIONS.slice(offset, offset + 1), nextPageToken: next, unreachableNodes: [] };
      }),
      getDestination: answer((request: GetDestinationRequest) => {
        const destination = DESTINATIONS.find((candidate) => candidate.name === request.name);
        if (destination === undefined) return serviceError(status.NOT_FOUND, `no destination ${request.name}`);
        return { destination, unreachableNodes: [{ nodeId: 'node-3', error: 'connection refused' }] };
      }),
    });
  });
  after(() => admin.stop());

  test('the table shows queue depth for queues and history for topics, across pages', async () => {
    const result = await runCtl(['--server', admin.address, 'destinations']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(tableHeader(result.stdout), ['VHOST', 'NAME', 'KIND', 'SUBSCRIBERS', 'PUBLISH/S', 'DEPTH', 'PENDING', 'HISTORY']);
    assert.deepEqual(tableRows(result.stdout), [
      ['/', '/topic/prices.ACME', 'topic', '12', '2.5', '-', '-', '1000'],
      ['/', '/queue/jobs', 'queue', '2', '0.0', '31', '4', '-'],
      ['staging', '/topic/chat.*', 'topic pattern', '1', '0.0', '-', '-', '-'], // a pattern has no history of its own,
    ]);
    const tokens = admin.requests<ListDestinationsRequest>('listDestinations').map((request) => request.pageToken);
    assert.deepEqual(tokens, ['', '1', '2']);
  });

  test('filters and --limit reach the server; --json keeps the next page token', async () => {
    const before = admin.requests('listDestinations').length;
    const args = ['destinations', '--vhost', 'staging', '--prefix', '/queue/', '--node', 'node-2', '--limit', '2', '--json'];
    const result = await runCtl(['--server', admin.address, ...args]);
    assert.equal(result.code, 0, result.stderr);
    const requests = admin.requests<ListDestinationsRequest>('listDestinations').slice(before);
    assert.deepEqual(
      requests.map((request) => [request.vhost, request.prefix, request.nodeId, request.pageSize, request.pageToken]),
      [['staging', '/queue/', 'node-2', 2, ''], ['staging', '/queue/', 'node-2', 1, '1']],
    );
    const parsed = JSON.parse(result.stdout) as { destinations: Array<Record<string, unknown>>; nextPageToken: string };
    assert.deepEqual(parsed.destinations.map((destination) => [destination.name, destination.kind]), [
      ['/topic/prices.ACME', 'DESTINATION_KIND_TOPIC'],
      ['/queue/jobs', 'DESTINATION_KIND_QUEUE'],
    ]);
    assert.equal(parsed.destinations[1]!.queueDepth, 31);
    assert.equal(parsed.nextPageToken, '2');
  });

  test('destination <name> prints the record and the subscribers per node', async () => {
    const result = await runCtl(['--server', admin.address, 'destination', '/topic/prices.ACME', '--vhost', '/', '--node', 'node-1']);
    assert.equal(result.code, 0, result.stderr);
    const request = admin.requests<GetDestinationRequest>('getDestination').at(-1)!;
    assert.deepEqual([request.name, request.vhost, request.nodeId], ['/topic/prices.ACME', '/', 'node-1']);
    const [record, byNode] = result.stdout.trim().split('\n\n');
    assert.match(record!, /^kind\s+topic$/m);
    assert.match(record!, /^subscribers\s+12$/m);
    assert.match(record!, /^history\s+1000$/m);
    assert.deepEqual(tableHeader(byNode!), ['NODE', 'SUBSCRIBERS']);
    assert.deepEqual(tableRows(byNode!), [['node-1', '9'], ['node-2', '3']]);
    assert.match(result.stderr, /warning: node node-3 did not answer \(connection refused\)/);
  });

  test('destination <name> --json prints the GetDestination response', async () => {
    const result = await runCtl(['--server', admin.address, '--json', 'destination', '/queue/jobs']);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { destination: Record<string, unknown>; unreachableNodes: unknown[] };
    assert.equal(parsed.destination.name, '/queue/jobs');
    assert.equal(parsed.destination.queuePending, 4);
    assert.deepEqual(parsed.destination.subscribersByNode, [{ nodeId: 'node-1', subscribers: 2 }]);
    assert.deepEqual(parsed.unreachableNodes, [{ nodeId: 'node-3', error: 'connection refused' }]);
  });

  test('an unknown destination exits 1', async () => {
    const result = await runCtl(['--server', admin.address, 'destination', '/queue/nothing']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /NOT_FOUND: no destination \/queue\/nothing/);
  });
});

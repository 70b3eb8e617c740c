// Interest-based delivery: a node reads from Redis only the streams of destinations it has local
// subscribers or consumers for. Measured with each node's stompede_cluster_entries_read_total and
// stompede_cluster_bytes_read_total while traffic flows to destinations it has no interest in.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metricSum, useCluster, type ClusterNode } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { delay } from './helpers/raw-client.js';
import { redisUnavailable } from './helpers/redis-server.js';
import type { Client } from '@stomp/stompjs';
import { Inbox, publishAll, range, receipt, subscribed } from './helpers/stompjs.js';

const LONG = 20_000;
const ENTRIES = 'stompede_cluster_entries_read_total';
const BYTES = 'stompede_cluster_bytes_read_total';
const BODY = 'x'.repeat(1024);

interface Reads {
  readonly entries: number;
  readonly bytes: number;
}

async function reads(node: ClusterNode): Promise<Reads> {
  const entries = await metricSum(node, ENTRIES);
  const bytes = await metricSum(node, BYTES);
  assert.ok(entries !== undefined, `${node.nodeId} does not export ${ENTRIES}`);
  assert.ok(bytes !== undefined, `${node.nodeId} does not export ${BYTES}`);
  return { entries, bytes };
}

/** The counters once they stopped moving (reads caused by setting up subscriptions are over). */
async function settled(node: ClusterNode): Promise<Reads> {
  let last = await reads(node);
  for (let i = 0; i < 50; i++) {
    await delay(100);
    const now = await reads(node);
    if (now.entries === last.entries && now.bytes === last.bytes) return now;
    last = now;
  }
  assert.fail(`${node.nodeId}: ${ENTRIES} keeps moving with no traffic (${last.entries})`);
}

const delta = (after: Reads, before: Reads): Reads => ({ entries: after.entries - before.entries, bytes: after.bytes - before.bytes });

describe('cluster interest', { skip: redisUnavailable() }, () => {
  const { stompjs, node, logs } = useCluster({ nodes: 3 });
  /** publishAll, failing with the nodes' logs. */
  const published = (client: Client, destination: string, bodies: string[]): Promise<void> =>
    publishAll(client, destination, bodies).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));

  test('nodes without subscribers for a destination read zero entries and zero bytes of its traffic', async () => {
    // A: the only subscriber of /topic/hot and the only consumer of /queue/hot.
    const topicInbox = new Inbox();
    const queueInbox = new Inbox();
    const a = await stompjs(0);
    await subscribed(a, '/topic/hot', topicInbox.push);
    await subscribed(a, '/queue/hot', queueInbox.push);
    // C: interested only in other destinations. B: publishes, subscribes to nothing.
    const coldTopic = new Inbox();
    const c = await stompjs(2);
    await subscribed(c, '/topic/cold', coldTopic.push);
    await subscribed(c, '/queue/cold', () => {});
    const publisher = await stompjs(1);
    const [a0, b0, c0] = await Promise.all([settled(node(0)), settled(node(1)), settled(node(2))]);

    const n = 500;
    await published(publisher, '/topic/hot', range(n, BODY));
    await published(publisher, '/queue/hot', range(100, BODY));
    await topicInbox.until(n, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    await queueInbox.until(100, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));

    const da = delta(await reads(node(0)), a0);
    assert.ok(da.entries >= n + 100, `node A read the entries it delivered (${da.entries})`);
    assert.ok(da.bytes >= (n + 100) * BODY.length, `node A read their bytes (${da.bytes})`);
    assert.deepEqual(delta(await reads(node(1)), b0), { entries: 0, bytes: 0 }, 'node B (publisher only) read nothing');
    assert.deepEqual(delta(await reads(node(2)), c0), { entries: 0, bytes: 0 }, 'node C (other destinations) read nothing');

    // C's counters do move for what it is interested in.
    await published(publisher, '/topic/cold', ['brr']);
    await coldTopic.until(1, LONG);
    const dc = delta(await reads(node(2)), c0);
    assert.ok(dc.entries >= 1 && dc.bytes >= 3, `node C read its own message (${JSON.stringify(dc)})`);
  });

  test('a wildcard subscriber on C learns of a new matching-prefix destination without reading its messages', async () => {
    const c = await stompjs(2);
    await subscribed(c, '/topic/cold.*', () => {});
    const inbox = new Inbox();
    await subscribed(await stompjs(0), '/topic/warm', inbox.push);
    const publisher = await stompjs(1);
    const c0 = await settled(node(2));
    // A destination nobody published to before; C's pattern does not match it.
    const n = 300;
    await published(publisher, '/topic/warm', range(n, BODY));
    await inbox.until(n, LONG).catch((e: Error) => assert.fail(`${e.message}\n${logs()}`));
    const dc = delta(await reads(node(2)), c0);
    // At most the announcement of the new destination's name, never its messages.
    assert.ok(dc.entries <= 1 && dc.bytes < BODY.length, `node C read ${JSON.stringify(dc)} for /topic/warm`);
  });

  test('after its last subscriber leaves, a node stops reading the destination', async () => {
    const a = await stompjs(0);
    const inbox = new Inbox();
    const sub = await subscribed(a, '/topic/fading', inbox.push);
    const publisher = await stompjs(1);
    await published(publisher, '/topic/fading', range(10, BODY));
    await inbox.until(10, LONG);
    sub.unsubscribe({ receipt: 'fading-unsub' });
    await receipt(a, 'fading-unsub', LONG);
    // Batches until one leaves node A's counters untouched (reads already under way may finish).
    let last: Reads = { entries: -1, bytes: -1 };
    await eventually(
      async () => {
        const before = await settled(node(0));
        await published(publisher, '/topic/fading', range(50, BODY));
        last = delta(await settled(node(0)), before);
        return last.entries === 0 && last.bytes === 0;
      },
      () => `node A still reads /topic/fading: ${JSON.stringify(last)}`,
    );
    assert.equal(inbox.messages.length, 10, 'nothing delivered after UNSUBSCRIBE');
  });
});

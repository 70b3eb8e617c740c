// The registry: every node keeps a snapshot in the registry hash (refreshed every heart-beat) and
// records interest changes in the events stream, so nodes and the admin plane see the cluster. A
// node that stops heart-beating drops out after the node TTL; one that stops cleanly leaves at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metricSum, useCluster } from './helpers/cluster.js';
import { eventually } from './helpers/expect.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { subscribed } from './helpers/stompjs.js';

const LONG = 20_000;

interface Snapshot {
  readonly id: string;
  readonly heartbeatAt: number;
  readonly topics: readonly string[];
  readonly queues: readonly string[];
  readonly meta: Record<string, string | number>;
}

describe('cluster registry', { skip: redisUnavailable() }, () => {
  const { stompjs, node, nodes, redis, logs } = useCluster({ nodes: 3 });
  const prefix = (): string => redis().keyPrefix ?? 'stompede';

  async function snapshots(): Promise<Snapshot[]> {
    const out = (await redis().cli('HGETALL', `${prefix()}:nodes:{${prefix()}.registry}`)).split('\n').filter((l) => l.length > 0);
    const snaps: Snapshot[] = [];
    for (let i = 1; i < out.length; i += 2) snaps.push(JSON.parse(out[i]!) as Snapshot);
    return snaps;
  }

  test('every node is in the registry with what it subscribes to, and counts the others', async () => {
    await subscribed(await stompjs(1), '/topic/registry.a', () => {});
    await subscribed(await stompjs(2), '/queue/registry.q', () => {});
    await eventually(async () => {
      const snaps = await snapshots();
      const byId = new Map(snaps.map((s) => [s.id, s]));
      return nodes().every((n) => byId.has(n.nodeId))
        && byId.get(node(1).nodeId)!.topics.includes('/ /topic/registry.a')
        && byId.get(node(2).nodeId)!.queues.includes('/ /queue/registry.q');
    }, async () => `registry: ${JSON.stringify(await snapshots())}\n${logs()}`, LONG);
    const snap = (await snapshots()).find((s) => s.id === node(0).nodeId)!;
    assert.match(String(snap.meta['ws']), /:\d+\/ws$/);
    for (const n of nodes()) await eventually(async () => (await metricSum(n, 'stompede_cluster_nodes')) === 3, () => `${n.nodeId} does not count 3 nodes`, LONG);
    const events = await redis().cli('XRANGE', `${prefix()}:events:{${prefix()}.registry}`, '-', '+');
    assert.match(events, /join/);
    assert.match(events, /\/topic\/registry\.a/);
  });

  test('a killed node drops out after the node TTL; a stopped one leaves at once', async () => {
    const killed = node(2);
    killed.kill();
    await eventually(async () => (await metricSum(node(0), 'stompede_cluster_nodes')) === 2, () => 'node-a still counts the killed node', LONG);
    const stopped = node(1);
    await stopped.stop();
    const ids = (await snapshots()).map((s) => s.id);
    assert.ok(!ids.includes(stopped.nodeId), `a stopped node leaves the registry at once: ${ids.join(',')}`);
    await eventually(async () => (await metricSum(node(0), 'stompede_cluster_nodes')) === 1, () => 'node-a still counts others', LONG);
  });
});

// CI smoke runs of the cluster scenarios: cross-node latency (publisher on one node, subscribers on
// another) and the reconnect storm during a drain (the driver drains the subscribers' node through
// stompede-ctl; they resume on the others with nothing lost or repeated), on three real nodes and a
// private redis-server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TEST_ADMIN_TOKEN } from '../../services/broker/test/helpers/broker-process.js';
import { useCluster } from '../../services/broker/test/helpers/cluster.js';
import { redisUnavailable } from '../../services/broker/test/helpers/redis-server.js';
import { driver } from './driver-cli.js';

describe('the load driver against a cluster', { skip: redisUnavailable() }, () => {
  const cluster = useCluster({ nodes: 3 });
  const urls = (): string => cluster.nodes().map((n) => n.wsUrl).join(',');

  test('cross-node-latency: messages cross nodes once each, within the latency thresholds', async () => {
    const { code, result, stderr } = await driver(['cross-node-latency', '--urls', urls(), '--profile', 'smoke']);
    assert.equal(code, 0, `${JSON.stringify(result?.thresholds.filter((t) => !t.ok))}\n${stderr}\n${cluster.logs(1500)}`);
    assert.ok(result!.metrics['stomp_latency_ms']!['count']! > 0);
  });

  test('drain-reconnect: every subscriber of the drained node moves once and resumes without loss or duplicate', async () => {
    const { code, result, stderr } = await driver([
      'drain-reconnect', '--urls', urls(), '--profile', 'smoke',
      '--admin', cluster.node(1).adminAddress, '--admin-token', TEST_ADMIN_TOKEN,
    ]);
    assert.equal(code, 0, `${JSON.stringify(result?.thresholds.filter((t) => !t.ok))}\n${stderr}\n${cluster.logs(1500)}`);
    const subscribers = result!.params['subscribers'] as number;
    assert.equal(result!.drainedNode, 'node-a');
    assert.equal(result!.metrics['stomp_drain_notices']!['count'], subscribers);
    assert.equal(result!.metrics['stomp_reconnects']!['count'], subscribers);
    assert.equal(result!.metrics['stomp_lost']!['count'], 0);
    assert.equal(result!.metrics['stomp_duplicated']!['count'], 0);
  });
});

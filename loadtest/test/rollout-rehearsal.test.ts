// The short rolling-update rehearsal (profile smoke of loadtest/scenarios/rollout.json): three
// nodes replaced one by one under topic and queue traffic, nothing lost or duplicated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redisUnavailable } from '../../services/broker/test/helpers/redis-server.js';
import { loadScenario } from '../driver/scenario-file.js';
import { rehearsalText, runRehearsal } from '../rehearsal/rollout.js';

test('a rolling update of three nodes under traffic loses and repeats nothing', { skip: redisUnavailable() }, async (t) => {
  const report = await runRehearsal(loadScenario('rollout', 'smoke'));
  const text = rehearsalText(report);
  t.diagnostic(text.replace(/\n/g, ' | '));
  const count = (name: string): number => report.metrics[name]?.['count'] ?? 0;
  assert.deepEqual(report.steps.map((s) => [s.replaced, s.by, s.exitCode]), [['node-a', 'node-d', 0], ['node-b', 'node-e', 0], ['node-c', 'node-f', 0]], text);
  assert.ok(report.passed, text);
  assert.equal(count('stomp_lost'), 0);
  assert.equal(count('stomp_duplicated'), 0);
  assert.equal(count('queue_lost'), 0);
  assert.equal(count('queue_duplicated'), 0);
  const p = report.params as Record<string, number>;
  // Every subscriber of a topic got each of its publisher's confirmed messages exactly once.
  assert.ok(count('stomp_published') > 0 && count('queue_sent') > 0, text);
  assert.ok(count('stomp_delivered') >= count('stomp_published') * p['subscribersPerTopic']!, text);
  // A SEND the broker took may lose its RECEIPT to the drain's close: acked, never confirmed.
  assert.equal(count('queue_acked'), count('queue_sent') + count('queue_unconfirmed_acked'));
  // Every client started on one of the three original nodes, so each moved at least once.
  const clients = p['topics']! * (p['subscribersPerTopic']! + 1) + p['queueConsumers']! + 1;
  assert.ok(report.reconnects >= clients, `${report.reconnects} reconnects of ${clients} clients`);
  assert.ok(report.peakReconnectsPerSec >= 1 && report.peakReconnectsPerSec <= report.reconnects);
});

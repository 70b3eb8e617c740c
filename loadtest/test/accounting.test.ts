// The verdicts the driver and the rehearsal report: what counts as lost and duplicated, on
// synthetic reports (the smoke runs show them at zero; these show they are not zero by construction).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../driver/metrics.js';
import { queueVerdict } from '../driver/queue.js';
import { toRanges, type PublisherReport } from '../driver/publisher.js';
import { topicVerdict } from '../driver/topic.js';
import { peakPerSecond } from '../rehearsal/traffic.js';

const count = (m: Metrics, name: Parameters<Metrics['count']>[0]): number => m.count(name);

test('topics: confirmed messages a subscriber lacks are lost, repeats are duplicates, unconfirmed ones are neither', () => {
  // Publisher p confirmed 1-4 and 6 (5's connection went away before its RECEIPT); 6 is final.
  const pub: PublisherReport = { id: 'p', destination: '/topic/a', confirmed: toRanges([1, 2, 3, 4, 6]), finalSeq: 6 };
  const other: PublisherReport = { id: 'q', destination: '/topic/b', confirmed: [[1, 3]], finalSeq: undefined };
  const m = new Metrics();
  topicVerdict([pub, other], [
    { destination: '/topic/a', tracks: { p: { max: 6, missing: [], duplicated: 0, sawFinal: true } } }, // got 5 too, unconfirmed: fine
    { destination: '/topic/a', tracks: { p: { max: 4, missing: [2], duplicated: 3, sawFinal: false } } }, // lacks 2 and 6
    { destination: '/topic/a', tracks: {} }, // heard nothing: all five lost
  ], m);
  assert.equal(count(m, 'stomp_lost'), 2 + 5);
  assert.equal(count(m, 'stomp_duplicated'), 3);
  assert.equal(count(m, 'stomp_incomplete'), 2);
  assert.equal(count(m, 'stomp_unconfirmed_delivered'), 1); // the first subscriber's 5
});

test('queues: sent and never acked is lost; a second confirmed ack or a fresh delivery after the ack is a duplicate', () => {
  const producer: PublisherReport = { id: 'w', destination: '/queue/x', confirmed: [[1, 4]], finalSeq: 4 };
  const m = new Metrics();
  queueVerdict([producer], [
    { acks: ['w:1', 'w:2'], duplicateDeliveries: 1 },
    { acks: ['w:2', 'w:3', 'w:9'], duplicateDeliveries: 0 },
  ], m);
  assert.equal(count(m, 'queue_unconfirmed_acked'), 1); // w:9 was taken, its RECEIPT never came
  assert.equal(count(m, 'queue_acked'), 4);
  assert.equal(count(m, 'queue_lost'), 1); // w:4
  assert.equal(count(m, 'queue_duplicated'), 1 + 1); // w:2 acked twice, one delivery after its ack
  assert.equal(count(m, 'queue_share_ratio'), 2); // one value per consumer
});

test('peak reconnects: most within any one second', () => {
  assert.equal(peakPerSecond([]), 0);
  assert.equal(peakPerSecond([0, 100, 999, 1000, 1500, 5000]), 3);
  assert.equal(peakPerSecond([3000, 0, 2500, 2999, 2001]), 4);
});

// The driver's evaluation of k6 threshold expressions on its metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../driver/metrics.js';
import { evaluateThresholds } from '../driver/thresholds.js';

test('counters, rates and trend aggregates compare as k6 compares them; merged histograms agree', () => {
  const a = new Metrics();
  const b = new Metrics();
  for (let i = 1; i <= 50; i++) a.add('stomp_latency_ms', i);
  for (let i = 51; i <= 100; i++) b.add('stomp_latency_ms', i);
  b.add('stomp_lost', 2);
  const m = new Metrics();
  m.merge(JSON.parse(JSON.stringify(a.toJSON())));
  m.merge(JSON.parse(JSON.stringify(b.toJSON())));
  const results = evaluateThresholds({
    stomp_latency_ms: ['p(99)<100', 'p(50)<50', 'avg==50.5', 'max>=100', 'min<=1', 'med<51'],
    stomp_lost: ['count==0', 'rate<=1'],
    stomp_errors: ['count==0'],
    stomp_reconnect_ms: ['p(99)<1000'],
  }, m, 2);
  const verdict = Object.fromEntries(results.map((r) => [`${r.metric} ${r.expression}`, r.ok]));
  assert.deepEqual(verdict, {
    'stomp_latency_ms p(99)<100': true,
    'stomp_latency_ms p(50)<50': false, // 50.0 is not < 50
    'stomp_latency_ms avg==50.5': true,
    'stomp_latency_ms max>=100': true,
    'stomp_latency_ms min<=1': true,
    'stomp_latency_ms med<51': true,
    'stomp_lost count==0': false,
    'stomp_lost rate<=1': true, // 2 over 2 s
    'stomp_errors count==0': true, // never recorded: a counter at 0
    'stomp_reconnect_ms p(99)<1000': false, // a trend with no values fails
  });
});

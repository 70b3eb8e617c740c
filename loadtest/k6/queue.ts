// k6 run loadtest/k6/queue.ts -e STOMP_URLS=ws://node-a/ws [-e PROFILE=smoke]
// Queue work distribution: producers share `messages` over durationSec, consumers (started first)
// ack each with a receipt; thresholds check every message acked once and each consumer's share
// (scenarios/queue.json).
import exec from 'k6/execution';
import { k6Options, loadScenario, nodeUrls, seconds } from './lib/scenario.ts';
import { num, str } from './lib/scenario-core.ts';
import { runConsumer, runProducer } from './lib/queue.ts';

const scenario = loadScenario('queue', open('../scenarios/queue.json'));
const urls = nodeUrls();
const url = urls[num(scenario, 'node') % urls.length]!;
const ramp = num(scenario, 'rampSec');
const total = ramp + num(scenario, 'durationSec') + num(scenario, 'drainSec');

export const options = k6Options(scenario, {
  consumers: { executor: 'per-vu-iterations', exec: 'consumer', vus: num(scenario, 'consumers'), iterations: 1, maxDuration: seconds(total + 30) },
  producers: { executor: 'per-vu-iterations', exec: 'producer', vus: num(scenario, 'producers'), iterations: 1, startTime: seconds(ramp), maxDuration: seconds(total + 30) },
});

export function consumer(): void {
  runConsumer({
    url,
    destination: str(scenario, 'destination'),
    prefetch: num(scenario, 'prefetch'),
    fairShare: num(scenario, 'messages') / num(scenario, 'consumers'),
    holdMs: total * 1000,
  });
}

export function producer(): void {
  // Each producer VU runs one iteration: its index in the scenario numbers it 0..producers-1.
  const producers = num(scenario, 'producers');
  const messages = num(scenario, 'messages');
  const index = exec.scenario.iterationInTest;
  runProducer({
    url,
    destination: str(scenario, 'destination'),
    messages: Math.floor(messages / producers) + (index < messages % producers ? 1 : 0),
    durationMs: num(scenario, 'durationSec') * 1000,
    bodyBytes: num(scenario, 'bodyBytes'),
  });
}

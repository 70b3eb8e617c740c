// The k6 layout shared by the topic scenarios (fanout, cross-node latency, reconnect during a
// drain): `subscribers` VUs that each hold one subscription for the whole run, and `publishers` VUs
// that start after rampSec, when the subscriptions are in place.
import type { Options } from 'k6/options';
import { num, str, type Scenario } from './scenario-core.ts';
import { k6Options, seconds } from './scenario.ts';
import type { PublisherPlan, SubscriberPlan } from './topic.ts';

export function topicOptions(scenario: Scenario): Options {
  const ramp = num(scenario, 'rampSec');
  const total = ramp + num(scenario, 'durationSec') + num(scenario, 'drainSec');
  return k6Options(scenario, {
    subscribers: { executor: 'per-vu-iterations', exec: 'subscriber', vus: num(scenario, 'subscribers'), iterations: 1, maxDuration: seconds(total + 30) },
    publishers: { executor: 'per-vu-iterations', exec: 'publisher', vus: num(scenario, 'publishers'), iterations: 1, startTime: seconds(ramp), maxDuration: seconds(total + 30) },
  });
}

export function subscriberPlan(scenario: Scenario, urls: readonly string[]): SubscriberPlan {
  return {
    urls,
    home: num(scenario, 'subscriberNode'),
    destination: str(scenario, 'destination'),
    publishers: num(scenario, 'publishers'),
    holdMs: (num(scenario, 'rampSec') + num(scenario, 'durationSec') + num(scenario, 'drainSec')) * 1000,
    reconnectDelayMs: num(scenario, 'reconnectDelayMs'),
  };
}

export function publisherPlan(scenario: Scenario, urls: readonly string[]): PublisherPlan {
  return {
    urls,
    home: num(scenario, 'publisherNode'),
    destination: str(scenario, 'destination'),
    ratePerSec: num(scenario, 'ratePerSec'),
    durationMs: num(scenario, 'durationSec') * 1000,
    bodyBytes: num(scenario, 'bodyBytes'),
    reconnectDelayMs: num(scenario, 'reconnectDelayMs'),
  };
}

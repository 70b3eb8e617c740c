// k6 run loadtest/k6/cross-node-latency.ts -e STOMP_URLS=ws://node-a/ws,ws://node-b/ws [-e PROFILE=smoke]
// Cross-node latency: publisher on STOMP_URLS[publisherNode], subscribers on STOMP_URLS[subscriberNode] (scenarios/cross-node-latency.json).
import { loadScenario, nodeUrls } from './lib/scenario.ts';
import { runPublisher, runSubscriber } from './lib/topic.ts';
import { publisherPlan, subscriberPlan, topicOptions } from './lib/topic-scenario.ts';

const scenario = loadScenario('cross-node-latency', open('../scenarios/cross-node-latency.json'));
const urls = nodeUrls();

export const options = topicOptions(scenario);

export function subscriber(): void {
  runSubscriber(subscriberPlan(scenario, urls));
}

export function publisher(): void {
  runPublisher(publisherPlan(scenario, urls));
}

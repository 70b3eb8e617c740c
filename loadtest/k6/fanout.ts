// k6 run loadtest/k6/fanout.ts -e STOMP_URLS=ws://node-a/ws,ws://node-b/ws [-e PROFILE=smoke]
// Fan-out: one topic, many subscribers (scenarios/fanout.json).
import { loadScenario, nodeUrls } from './lib/scenario.ts';
import { runPublisher, runSubscriber } from './lib/topic.ts';
import { publisherPlan, subscriberPlan, topicOptions } from './lib/topic-scenario.ts';

const scenario = loadScenario('fanout', open('../scenarios/fanout.json'));
const urls = nodeUrls();

export const options = topicOptions(scenario);

export function subscriber(): void {
  runSubscriber(subscriberPlan(scenario, urls));
}

export function publisher(): void {
  runPublisher(publisherPlan(scenario, urls));
}

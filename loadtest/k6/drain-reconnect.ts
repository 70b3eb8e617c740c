// k6 run loadtest/k6/drain-reconnect.ts -e STOMP_URLS=ws://node-a/ws,ws://node-b/ws [-e PROFILE=smoke]
// Reconnect storm during a drain: subscribers on STOMP_URLS[subscriberNode] move to the next node and resume when it drains. Start the drain yourself while this runs (stompede-ctl drain <node> --wait, or kubectl rollout restart); see loadtest/README.md (scenarios/drain-reconnect.json).
import { loadScenario, nodeUrls } from './lib/scenario.ts';
import { runPublisher, runSubscriber } from './lib/topic.ts';
import { publisherPlan, subscriberPlan, topicOptions } from './lib/topic-scenario.ts';

const scenario = loadScenario('drain-reconnect', open('../scenarios/drain-reconnect.json'));
const urls = nodeUrls();

export const options = topicOptions(scenario);

export function subscriber(): void {
  runSubscriber(subscriberPlan(scenario, urls));
}

export function publisher(): void {
  runPublisher(publisherPlan(scenario, urls));
}

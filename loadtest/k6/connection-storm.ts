// k6 run loadtest/k6/connection-storm.ts -e STOMP_URLS=ws://node-a/ws [-e PROFILE=smoke]
// Connection storm and churn: connectsPerSec new connections for durationSec, each CONNECT,
// SUBSCRIBE, hold holdMs, DISCONNECT (scenarios/connection-storm.json).
import exec from 'k6/execution';
import { k6Options, loadScenario, nodeUrls, seconds } from './lib/scenario.ts';
import { num, str } from './lib/scenario-core.ts';
import { runChurn } from './lib/connections.ts';

const scenario = loadScenario('connection-storm', open('../scenarios/connection-storm.json'));
const urls = nodeUrls();
const rate = num(scenario, 'connectsPerSec');
const holdMs = num(scenario, 'holdMs');
const connectTimeoutMs = num(scenario, 'connectTimeoutMs');
// Each iteration lives up to hold + connect timeout: enough VUs for that many at the arrival rate.
const vus = Math.ceil((rate * (holdMs + connectTimeoutMs)) / 1000) + 10;

export const options = k6Options(scenario, {
  storm: {
    executor: 'constant-arrival-rate',
    exec: 'connection',
    rate,
    timeUnit: '1s',
    duration: seconds(num(scenario, 'durationSec')),
    preAllocatedVUs: Math.min(vus, 1000),
    maxVUs: vus,
  },
});

export function connection(): void {
  runChurn({
    url: urls[(num(scenario, 'node') + exec.scenario.iterationInTest) % urls.length]!,
    destination: str(scenario, 'destination'),
    holdMs,
    connectTimeoutMs,
  });
}

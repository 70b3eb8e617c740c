// The share of a scenario's clients one process runs (a "part"): topic subscribers, queue
// consumers, or churning connections, split round-robin over the parts. The parent process drives
// publishers, producers and drains; parts report what their clients saw.
import { num, str, type Scenario } from '../k6/lib/scenario-core.js';
import { runChurn } from './churn.js';
import { Metrics, type MetricsJson } from './metrics.js';
import { QueueConsumer, type ConsumerReport } from './queue.js';
import { rawSubscriber, roamingSubscriber, TopicTally, type Stoppable, type SubscriberReport } from './topic.js';

export type ScenarioKind = 'topic' | 'queue' | 'churn';

export function scenarioKind(scenario: Scenario): ScenarioKind {
  if ('connectsPerSec' in scenario.params) return 'churn';
  if ('consumers' in scenario.params) return 'queue';
  if ('subscribers' in scenario.params) return 'topic';
  throw new Error(`scenario ${scenario.name}: cannot tell its kind (no subscribers, consumers or connectsPerSec parameter)`);
}

export interface PartSpec {
  readonly scenario: Scenario;
  readonly urls: readonly string[];
  readonly index: number;
  readonly count: number;
  /** Topic subscribers: stompbench's raw client, or stompjs (reconnects and resumes). */
  readonly client: 'raw' | 'stompjs';
}

export interface PartResult {
  readonly metrics: MetricsJson;
  readonly subscribers: readonly SubscriberReport[];
  readonly consumers: readonly ConsumerReport[];
  /** CPU this process used from start to finish, microseconds (user + system). */
  readonly cpuUs: number;
  readonly pid: number;
}

/** What the parent asks of a part once its clients are in place. */
export interface PartSession {
  go(): void;
  /** Topic: subscriber x publisher pairs that saw `finals`; queue: distinct messages acked. */
  progress(finals: readonly string[]): number;
  finish(): Promise<PartResult>;
}

/** Indices 0..n-1 that belong to part `index` of `count`. */
const mine = (n: number, spec: PartSpec): number[] => Array.from({ length: n }, (_, i) => i).filter((i) => i % spec.count === spec.index);

/** Starts this part's clients; resolves once they are connected and subscribed. */
export async function startPart(spec: PartSpec): Promise<PartSession> {
  const cpu0 = process.cpuUsage();
  const metrics = new Metrics();
  const { scenario } = spec;
  const urls = (): readonly string[] => spec.urls;
  const result = (subscribers: SubscriberReport[], consumers: ConsumerReport[]): PartResult => {
    const cpu = process.cpuUsage(cpu0);
    return { metrics: metrics.toJSON(), subscribers, consumers, cpuUs: cpu.user + cpu.system, pid: process.pid };
  };
  const kind = scenarioKind(scenario);

  if (kind === 'churn') {
    let running: Promise<void> = Promise.resolve();
    const parts = spec.count;
    return {
      go: () => {
        running = runChurn({
          urls: spec.urls,
          home: num(scenario, 'node') + spec.index,
          destination: str(scenario, 'destination'),
          connectsPerSec: num(scenario, 'connectsPerSec') / parts,
          durationMs: num(scenario, 'durationSec') * 1000,
          holdMs: num(scenario, 'holdMs'),
          connectTimeoutMs: num(scenario, 'connectTimeoutMs'),
          metrics,
        });
      },
      progress: () => 0,
      finish: async () => {
        await running;
        return result([], []);
      },
    };
  }

  if (kind === 'queue') {
    const consumers = mine(num(scenario, 'consumers'), spec).map(
      () => new QueueConsumer(urls, num(scenario, 'node'), str(scenario, 'destination'), num(scenario, 'prefetch'), 1000, metrics),
    );
    await Promise.all(consumers.map((c) => c.start()));
    return {
      go: () => {},
      progress: () => new Set(consumers.flatMap((c) => c.report().acks)).size,
      finish: async () => {
        await Promise.all(consumers.map((c) => c.stop()));
        return result([], consumers.map((c) => c.report()));
      },
    };
  }

  const destination = str(scenario, 'destination');
  const tallies = mine(num(scenario, 'subscribers'), spec).map(() => new TopicTally(destination, metrics));
  const home = num(scenario, 'subscriberNode');
  const clients: Stoppable[] = [];
  // Connect in batches: a storm of our own would measure the client, not the broker.
  for (let i = 0; i < tallies.length; i += 100) {
    clients.push(
      ...(await Promise.all(
        tallies.slice(i, i + 100).map((t) =>
          spec.client === 'raw'
            ? rawSubscriber(spec.urls[home % spec.urls.length]!, t, metrics)
            : roamingSubscriber(urls, home, t, metrics, num(scenario, 'reconnectDelayMs')),
        ),
      )),
    );
  }
  return {
    go: () => {},
    progress: (finals) => tallies.reduce((n, t) => n + finals.filter((id) => t.sawFinal(id)).length, 0),
    finish: async () => {
      await Promise.all(clients.map((c) => c.stop()));
      return result(tallies.map((t) => t.report()), []);
    },
  };
}

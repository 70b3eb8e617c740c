// The rehearsal's continuous traffic: per topic, resuming subscribers (loadtest/driver/topic.ts)
// and an open-ended publisher (publisher.ts), and a queue with a producer and acking consumers
// (queue.ts), all stompjs clients that move on when their node drains.
import { num, type Scenario } from '../k6/lib/scenario-core.js';
import type { Metrics } from '../driver/metrics.js';
import { QueueConsumer, queueVerdict } from '../driver/queue.js';
import { Publisher, type PublisherReport } from '../driver/publisher.js';
import { roamingSubscriber, TopicTally, topicVerdict, type Stoppable, type SubscriberReport } from '../driver/topic.js';

export const QUEUE = '/queue/rollout.work';
export const topicName = (t: number): string => `/topic/rollout.t${t}`;

export class Traffic {
  readonly reconnects: number[] = [];
  private readonly tallies: TopicTally[] = [];
  private readonly subscribers: Stoppable[] = [];
  private readonly publishers: Publisher[] = [];
  private readonly consumers: QueueConsumer[] = [];
  private producer: Publisher | undefined;

  constructor(private readonly scenario: Scenario, private readonly urls: () => readonly string[], private readonly metrics: Metrics) {}

  /** Connects everyone, spread over the nodes, then starts publishing. */
  async start(): Promise<void> {
    const s = this.scenario;
    const delay = num(s, 'reconnectDelayMs');
    const common = { urls: this.urls, bodyBytes: num(s, 'bodyBytes'), reconnectDelayMs: delay, metrics: this.metrics, reconnectLog: this.reconnects, total: 0 };
    let home = 0;
    for (let t = 1; t <= num(s, 'topics'); t++) {
      for (let i = 0; i < num(s, 'subscribersPerTopic'); i++) {
        const tally = new TopicTally(topicName(t), this.metrics, true);
        this.tallies.push(tally);
        this.subscribers.push(await roamingSubscriber(this.urls, home++, tally, this.metrics, delay, this.reconnects));
      }
      this.publishers.push(new Publisher({ ...common, home: home++, destination: topicName(t), ratePerSec: num(s, 'ratePerSec') }));
    }
    for (let i = 0; i < num(s, 'queueConsumers'); i++) {
      const consumer = new QueueConsumer(this.urls, home++, QUEUE, num(s, 'prefetch'), delay, this.metrics, this.reconnects);
      await consumer.start();
      this.consumers.push(consumer);
    }
    this.producer = new Publisher({ ...common, home: home++, destination: QUEUE, ratePerSec: num(s, 'queueRatePerSec'), counter: 'queue_sent' });
    const senders = [...this.publishers, this.producer];
    await Promise.all(senders.map((p) => p.connect()));
    for (const p of senders) p.start();
  }

  /**
   * Stops publishing (each publisher's last message is marked final), waits up to deadlineMs for
   * every subscriber to get its publisher's final message and every confirmed queue message to be
   * acked, stops the clients and adds the verdict metrics. Returns the subscribers' reports (with
   * their repeats and drain notices, for diagnosis).
   */
  async finish(deadlineMs: number): Promise<SubscriberReport[]> {
    const topics = await Promise.all(this.publishers.map((p) => p.finish(deadlineMs)));
    const queue = await this.producer!.finish(deadlineMs);
    const sent = queue.confirmed.reduce((n, [a, b]) => n + b - a + 1, 0);
    const until = Date.now() + deadlineMs;
    const done = (): boolean =>
      this.tallies.every((t) => topics.every((p) => p.destination !== t.destination || p.finalSeq === undefined || t.sawFinal(p.id))) &&
      new Set(this.consumers.flatMap((c) => c.report().acks)).size >= sent;
    while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    await Promise.all([...this.subscribers, ...this.consumers].map((c) => c.stop()));
    const reports = this.tallies.map((t) => t.report());
    topicVerdict(topics, reports, this.metrics);
    queueVerdict([queue] as PublisherReport[], this.consumers.map((c) => c.report()), this.metrics);
    return reports;
  }
}

/** Most reconnects within any one second. */
export function peakPerSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= 1000) from++;
    peak = Math.max(peak, to - from + 1);
  }
  return peak;
}

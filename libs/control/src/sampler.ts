// Once a second, what a node's own counters cannot say on their own: CPU time per second, the
// event loop's delay, and message rates. Admin calls read the latest sample, never wait for one.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Metrics } from '@stompede/session';

export const SAMPLE_INTERVAL_MS = 1_000;
/** The event-loop monitor's timer period; it records the time between its ticks, so this much is not lag. */
const LOOP_RESOLUTION_MS = 10;

export interface NodeSample {
  /** Process CPU seconds per wall second (1 = one core busy). */
  readonly cpuCores: number;
  /** 99th percentile of the event loop's delay, in ms. */
  readonly eventLoopLagMs: number;
  readonly messagesInPerSecond: number;
  readonly messagesOutPerSecond: number;
}

const EMPTY: NodeSample = { cpuCores: 0, eventLoopLagMs: 0, messagesInPerSecond: 0, messagesOutPerSecond: 0 };

export class NodeSampler {
  private latest: NodeSample = EMPTY;
  private readonly loopDelay: IntervalHistogram;
  private timer: NodeJS.Timeout | undefined;
  private lastMs = performance.now();
  private lastCpu = process.cpuUsage();
  private lastIn: number;
  private lastOut: number;

  constructor(private readonly metrics: Metrics) {
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.lastIn = metrics.messagesPublished;
    this.lastOut = metrics.messagesDelivered;
  }

  get sample(): NodeSample {
    return this.latest;
  }

  start(): void {
    this.loopDelay.enable();
    this.timer = setInterval(() => this.take(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.loopDelay.disable();
  }

  private take(): void {
    const now = performance.now();
    const seconds = (now - this.lastMs) / 1000;
    if (seconds <= 0) return;
    const cpu = process.cpuUsage(this.lastCpu);
    const { messagesPublished, messagesDelivered } = this.metrics;
    this.latest = {
      cpuCores: (cpu.user + cpu.system) / 1e6 / seconds,
      eventLoopLagMs: this.loopDelay.count > 0 ? Math.max(0, this.loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : 0,
      messagesInPerSecond: (messagesPublished - this.lastIn) / seconds,
      messagesOutPerSecond: (messagesDelivered - this.lastOut) / seconds,
    };
    this.loopDelay.reset();
    this.lastMs = now;
    this.lastCpu = process.cpuUsage();
    this.lastIn = messagesPublished;
    this.lastOut = messagesDelivered;
  }
}

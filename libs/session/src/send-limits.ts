// Per-connection abuse limits on SEND: the body size allowed for the destination's prefix, the
// number of distinct destinations one connection may publish to, and the SEND rate (a token
// bucket). Size and destination count refuse the frame (ERROR, close) before anything of it is
// published or buffered in a transaction; the rate never refuses: a connection over it has its
// input held (TCP stops being read; WebSocket input is kept up to maxHeldInputBytes), which is the
// publish-pressure mechanism of held-input.ts. Created on a connection's first SEND, so connections
// that only subscribe pay nothing.
import type { BodyLimit, SessionConfig } from './config.js';
import { REPLY_QUEUE_PREFIX } from './destinations.js';
import type { Metrics } from './metrics.js';
import { Refusal } from './refusal.js';

/**
 * A throttled connection is woken no sooner than this: each wake then processes this long's worth
 * of SENDs (100 at 10000/s), small enough not to hold up other connections, large enough that the
 * pause/resume and the timer cost nothing per SEND.
 */
const RELEASE_QUANTUM_MS = 10;

export class SendLimits {
  private tokens: number;
  private refilledMs: number;
  /** Destinations this connection published to, reply queues excepted (they exist already). */
  private destinations: Set<string> | undefined;

  constructor(
    private readonly config: SessionConfig,
    private readonly metrics: Metrics,
    nowMs: number,
  ) {
    this.tokens = config.sendBurst;
    this.refilledMs = nowMs;
  }

  /** Refuses a SEND to `destination` with a body of `bodyBytes` that breaks the size or destination-count limit. */
  admit(destination: string, bodyBytes: number): void {
    const limit = bodyLimit(this.config.maxBodyBytes, destination);
    if (limit !== undefined && bodyBytes > limit.bytes) {
      this.metrics.countLimit('maxBodyBytes');
      throw new Refusal(
        'message too large',
        `Messages to ${limit.prefix}... may have at most ${limit.bytes} body bytes; this one has ${bodyBytes} (maxBodyBytes, STOMPEDE_MAX_BODY_BYTES).`,
      );
    }
    const max = this.config.maxPublishDestinations;
    if (max === 0 || destination.startsWith(REPLY_QUEUE_PREFIX) || this.destinations?.has(destination) === true) return;
    this.destinations ??= new Set();
    if (this.destinations.size >= max) {
      this.metrics.countLimit('maxPublishDestinations');
      throw new Refusal(
        'too many destinations',
        `One connection may send to at most ${max} distinct destinations (maxPublishDestinations, STOMPEDE_MAX_PUBLISH_DESTINATIONS).`,
      );
    }
    this.destinations.add(destination);
  }

  /**
   * Spends a token for a SEND the connection sent. Returns 0 while the connection is within its
   * rate, otherwise the time in ms at which its bucket holds a token again.
   */
  spend(nowMs: number): number {
    const rate = this.config.maxSendsPerSecond;
    if (rate === 0) return 0;
    this.refill(nowMs);
    this.tokens -= 1;
    if (this.tokens >= 1) return 0;
    return nowMs + Math.max(RELEASE_QUANTUM_MS, Math.ceil(((1 - this.tokens) * 1000) / rate));
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.refilledMs;
    if (elapsed <= 0) return;
    this.tokens = Math.min(this.config.sendBurst, this.tokens + (elapsed * this.config.maxSendsPerSecond) / 1000);
    this.refilledMs = nowMs;
  }
}

/** The body limit of the longest prefix `destination` starts with, if any. */
export function bodyLimit(limits: readonly BodyLimit[], destination: string): BodyLimit | undefined {
  let best: BodyLimit | undefined;
  for (const l of limits) {
    if (destination.startsWith(l.prefix) && (best === undefined || l.prefix.length > best.prefix.length)) best = l;
  }
  return best;
}

// A broker double for the asynchronous parts of subscribing: the memory broker, except that
// `watch` and `replay` return promises the test settles by hand, the way a Redis-backed broker's
// complete some round trips later. Publishing stays synchronous, so a test can interleave live
// messages with a pending watch or replay at will.
import type { Broker, BrokerHandler, Replay } from '@stompede/broker-api';
import type { MemoryBroker } from '@stompede/cluster';

export interface Gate<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function gate<T>(): Gate<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface PendingWatch {
  readonly pattern: string;
  readonly gate: Gate<void>;
}

export interface PendingReplay {
  readonly destination: string;
  readonly afterId: string;
  /** What the history held when the replay was asked for. */
  readonly atRequest: Replay;
  /** Resolves with what the history holds now (it may overlap live messages delivered meanwhile). */
  resolveNow(): void;
  readonly gate: Gate<Replay>;
}

export class ControlledBroker {
  /**
   * true: topic messages reach the node only for destinations whose watch has completed, like a
   * clustered broker that reads a destination's stream only once it knows of the interest.
   */
  strictInterest = false;
  private readonly watched = new Set<string>();
  readonly watches: PendingWatch[] = [];
  readonly unwatches: string[] = [];
  readonly replays: PendingReplay[] = [];
  /** false: watch completes at once (returns undefined), like the memory broker. */
  asyncWatch = true;
  /** false: replay answers at once, like the memory broker. */
  asyncReplay = true;

  wrap(inner: MemoryBroker): Broker {
    return new Proxy(inner, {
      get: (target, prop) => {
        if (prop === 'start') return (handler: BrokerHandler) => inner.start(this.filter(handler));
        if (prop === 'watch') return (_vhost: string, pattern: string) => this.watch(pattern);
        if (prop === 'unwatch') return (_vhost: string, pattern: string) => this.unwatch(pattern);
        if (prop === 'replay') return (vhost: string, destination: string, afterId: string) => this.replay(inner, vhost, destination, afterId);
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  private filter(handler: BrokerHandler): BrokerHandler {
    return {
      onTopicMessage: (vhost, message) => {
        if (!this.strictInterest || this.watched.has(message.destination)) handler.onTopicMessage(vhost, message);
      },
      onQueueReady: (vhost, queue) => handler.onQueueReady(vhost, queue),
    };
  }

  private watch(pattern: string): Promise<void> | undefined {
    if (!this.asyncWatch) {
      this.watched.add(pattern);
      return undefined;
    }
    const g = gate<void>();
    this.watches.push({ pattern, gate: g });
    return g.promise.then(() => void this.watched.add(pattern));
  }

  private unwatch(pattern: string): void {
    this.unwatches.push(pattern);
    this.watched.delete(pattern);
  }

  private replay(inner: MemoryBroker, vhost: string, destination: string, afterId: string): Replay | Promise<Replay> {
    const atRequest = inner.replay(vhost, destination, afterId);
    if (!this.asyncReplay) return atRequest;
    const g = gate<Replay>();
    this.replays.push({
      destination,
      afterId,
      atRequest,
      resolveNow: () => g.resolve(inner.replay(vhost, destination, afterId)),
      gate: g,
    });
    return g.promise;
  }
}

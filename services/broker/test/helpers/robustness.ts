// Shared pieces of the robustness and limit tests: a well-behaved stompjs pair that must keep
// working while other connections misbehave, and SEND frames of an exact size.
import assert from 'node:assert/strict';
import { before } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { frame } from './raw-client.js';
import { connectStompjs, Inbox, receipt } from './stompjs.js';
import type { BrokerSuite } from './suite.js';

let seq = 0;

/**
 * A stompjs publisher and subscriber on one destination over WebSocket. `exchange(n)` publishes n
 * numbered messages and waits until the subscriber has every message published so far, in order;
 * any disconnect of either client fails it.
 */
export class HealthyPair {
  private sent = 0;
  private closes = 0;
  private stopping = false;
  private readonly inbox = new Inbox();

  private constructor(
    private readonly pub: Client,
    private readonly sub: Client,
    readonly destination: string,
  ) {}

  static async start(wsUrl: string, destination: string, subscribeHeaders: Record<string, string> = {}, connectHeaders: Record<string, string> = {}): Promise<HealthyPair> {
    const sub = await connectStompjs(wsUrl, { connectHeaders });
    const pub = await connectStompjs(wsUrl, { connectHeaders });
    const pair = new HealthyPair(pub, sub, destination);
    for (const c of [pub, sub]) {
      c.onWebSocketClose = () => {
        if (!pair.stopping) pair.closes++;
      };
      c.onStompError = () => {
        if (!pair.stopping) pair.closes++;
      };
    }
    const id = `healthy-${++seq}`;
    sub.subscribe(destination, (m) => {
      pair.inbox.push(m);
      if (subscribeHeaders['ack'] !== undefined && subscribeHeaders['ack'] !== 'auto') m.ack();
    }, { ...subscribeHeaders, receipt: id });
    await receipt(sub, id, 10_000);
    return pair;
  }

  get received(): number {
    return this.inbox.messages.length;
  }

  /** Publishes `n` messages and waits for everything published so far to arrive in order. */
  async exchange(n = 5, timeoutMs = 20_000): Promise<void> {
    assert.equal(this.closes, 0, 'a well-behaved client was disconnected');
    for (let i = 0; i < n; i++) this.pub.publish({ destination: this.destination, body: `healthy-${this.sent++}` });
    await this.inbox.until(this.sent, timeoutMs);
    assert.deepEqual(this.inbox.bodies, Array.from({ length: this.sent }, (_, i) => `healthy-${i}`));
    assert.equal(this.closes, 0, 'a well-behaved client was disconnected');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([this.pub.deactivate(), this.sub.deactivate()]);
  }
}

/**
 * A HealthyPair on `destination` for the describe block of `suite` (call after useBroker): started
 * once the broker runs (logged in with `connectHeaders`), stopped before it. Call the returned
 * function inside tests.
 */
export function useHealthyPair(suite: BrokerSuite, destination: string, connectHeaders: Record<string, string> = {}): () => HealthyPair {
  let pair: HealthyPair | undefined;
  before(async () => {
    pair = await HealthyPair.start(suite.broker().wsUrl, destination, {}, connectHeaders);
    suite.defer(() => pair!.stop());
  });
  return () => pair!;
}

/** Where a SEND of an exact size puts its content-length header: nowhere, after or before the others. */
export type LengthHeader = 'none' | 'last' | 'first';

/** A SEND of exactly `total` bytes on the wire (command line through the NUL), padded in the body. */
export function sendOfSize(total: number, headers: [string, string][], length: LengthHeader): Buffer {
  // The content-length value's width depends on the body size; search the few candidates.
  for (let bodyBytes = Math.max(0, total - 400); bodyBytes <= total; bodyBytes++) {
    const cl: [string, string][] = length === 'none' ? [] : [['content-length', String(bodyBytes)]];
    const f = frame('SEND', length === 'first' ? [...cl, ...headers] : [...headers, ...cl], 'b'.repeat(bodyBytes));
    if (f.length === total) return f;
  }
  throw new Error(`no SEND of exactly ${total} bytes`);
}

// One broker process per describe block. `useBroker(options)`, called inside a describe, starts the
// broker before the block's tests; after them it runs what was deferred, closes every client opened
// through it and stops the broker. Clients therefore need no try/finally: a test closes one itself
// only when the close is part of what it tests.
import { after, before } from 'node:test';
import type { Client, StompConfig } from '@stomp/stompjs';
import { startBroker, type BrokerHandle, type StartOptions } from './broker-process.js';
import { RawClient, type TransportKind } from './raw-client.js';
import { connectStompjs } from './stompjs.js';

export interface BrokerSuite {
  /** The block's broker: started in `before`, so only call this inside tests and hooks. */
  broker(): BrokerHandle;
  /** A raw client over `kind`, not yet connected. */
  openRaw(kind: TransportKind): Promise<RawClient>;
  /** A raw client over `kind` that went through CONNECT (1.2 unless `headers` say otherwise). */
  connectRaw(kind: TransportKind, headers?: Record<string, string>): Promise<RawClient>;
  /** A connected raw client subscribed as `sub-0` to `destination`, with a receipt, so the subscription is live. */
  subscriber(kind: TransportKind, destination: string, extra?: Record<string, string>, connectHeaders?: Record<string, string>): Promise<RawClient>;
  /** A @stomp/stompjs client connected over WebSocket. */
  stompjs(config?: StompConfig): Promise<Client>;
  /** Runs `fn` when the block ends, before the clients are closed and the broker stops (last deferred first). */
  defer(fn: () => unknown): void;
}

export function useBroker(options: StartOptions = {}): BrokerSuite {
  let handle: BrokerHandle | undefined;
  const raws: RawClient[] = [];
  const stompjsClients: Client[] = [];
  const deferred: (() => unknown)[] = [];
  const broker = (): BrokerHandle => {
    if (handle === undefined) throw new Error('the broker runs only inside tests and hooks of the describe that called useBroker()');
    return handle;
  };
  before(async () => {
    handle = await startBroker(options);
  });
  after(async () => {
    try {
      for (const fn of deferred.reverse()) await fn();
    } finally {
      for (const c of stompjsClients) c.forceDisconnect();
      for (const c of raws) c.close();
      await handle?.stop();
    }
  });
  const suite: BrokerSuite = {
    broker,
    async openRaw(kind) {
      const c = await RawClient.open(kind, broker());
      raws.push(c);
      return c;
    },
    async connectRaw(kind, headers = {}) {
      const c = await suite.openRaw(kind);
      await c.connect(headers);
      return c;
    },
    async subscriber(kind, destination, extra = {}, connectHeaders = {}) {
      const c = await suite.connectRaw(kind, connectHeaders);
      await c.sendWithReceipt('SUBSCRIBE', { id: 'sub-0', destination, ...extra });
      return c;
    },
    async stompjs(config = {}) {
      const c = await connectStompjs(broker().wsUrl, config);
      stompjsClients.push(c);
      return c;
    },
    defer(fn) {
      deferred.push(fn);
    },
  };
  return suite;
}

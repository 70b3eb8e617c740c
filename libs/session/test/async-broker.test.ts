// The session with a broker whose publish/enqueue complete later (the Redis cluster plane will):
// a MemoryBroker wrapped so each publish/enqueue returns a promise the test settles by hand.
// RECEIPTs wait for the operation, stay in order, and a rejection becomes ERROR + close.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QueueFullError, type Broker, type BrokerHandler, type UserHeaders } from '@stompede/broker-api';
import { MemoryBroker } from '@stompede/cluster';
import { Kit, settle } from './kit.js';

interface Pending {
  readonly what: string;
  /** Applies the operation to the memory broker, then resolves. */
  resolve(): void;
  reject(err: unknown): void;
}

/** A remote-looking broker: operations are applied only when the test resolves them. */
class DeferredBroker implements Broker {
  readonly kind = 'deferred';
  readonly pending: Pending[] = [];

  constructor(private readonly inner: MemoryBroker) {}

  publish(vhost: string, destination: string, headers: UserHeaders, body: Uint8Array): Promise<void> {
    const copy = body.slice(); // the session's body is a view that dies with its callback
    return this.defer(`publish ${destination}`, () => this.inner.publish(vhost, destination, headers, copy));
  }

  enqueue(vhost: string, queue: string, headers: UserHeaders, body: Uint8Array): Promise<void> {
    const copy = body.slice();
    return this.defer(`enqueue ${queue}`, () => this.inner.enqueue(vhost, queue, headers, copy));
  }

  private defer(what: string, apply: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        what,
        resolve: () => {
          apply();
          resolve();
        },
        reject,
      });
    });
  }

  start(handler: BrokerHandler): Promise<void> {
    return this.inner.start(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  // The memory broker delivers every publish locally, so interest needs no forwarding.
  watch(): void {}
  unwatch(): void {}
  replay(vhost: string, destination: string, afterId: string) {
    return this.inner.replay(vhost, destination, afterId);
  }
  consume(vhost: string, queue: string): void {
    this.inner.consume(vhost, queue);
  }
  cancel(vhost: string, queue: string): void {
    this.inner.cancel(vhost, queue);
  }
  take(vhost: string, queue: string) {
    return this.inner.take(vhost, queue);
  }
  ack(): void {}
  requeue(vhost: string, entry: Parameters<MemoryBroker['requeue']>[1]): void {
    this.inner.requeue(vhost, entry);
  }
  openReplyQueue(vhost: string, queue: string): void {
    this.inner.openReplyQueue(vhost, queue);
  }
  closeReplyQueue(vhost: string, queue: string): void {
    this.inner.closeReplyQueue(vhost, queue);
  }
  stats() {
    return this.inner.stats();
  }
}

async function deferredKit() {
  let deferred: DeferredBroker | undefined;
  const kit = await Kit.create({ broker: (memory) => (deferred = new DeferredBroker(memory)) });
  return { kit, broker: deferred! };
}

const receiptIds = (frames: { command: string; h(n: string): string | undefined }[]) =>
  frames.map((f) => `${f.command}:${f.h('receipt-id') ?? f.h('message') ?? ''}`);

describe('asynchronous broker completions', () => {
  test('the RECEIPT of a SEND waits for the broker to confirm', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
    await settle(kit);
    assert.deepEqual(c.take(), []);
    assert.equal(broker.pending.length, 1);
    broker.pending[0]!.resolve();
    await settle(kit);
    assert.deepEqual(receiptIds(c.take()), ['RECEIPT:r1']);
  });

  test('receipts stay in order when completions arrive out of order', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
    c.send('SEND', { destination: '/topic/b', receipt: 'r2' }, 'y');
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/c', receipt: 'r3' });
    await settle(kit);
    assert.deepEqual(c.take(), []);
    broker.pending[1]!.resolve();
    await settle(kit);
    assert.deepEqual(c.take(), [], 'r2 must not overtake r1');
    broker.pending[0]!.resolve();
    await settle(kit);
    assert.deepEqual(receiptIds(c.take()), ['RECEIPT:r1', 'RECEIPT:r2', 'RECEIPT:r3']);
  });

  test('frames without receipt are not held up, and messages flow once confirmed', async () => {
    const { kit, broker } = await deferredKit();
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/queue/q' });
    kit.flush();
    const c = kit.connected();
    c.send('SEND', { destination: '/queue/q' }, 'one');
    c.send('SEND', { destination: '/queue/q' }, 'two');
    await settle(kit);
    assert.deepEqual(sub.take(), []);
    for (const p of broker.pending) p.resolve();
    await settle(kit);
    assert.deepEqual(sub.takeBodies(), ['one', 'two']);
  });

  test('a rejected enqueue yields ERROR with the receipt-id of its SEND, then close', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
    c.send('SEND', { destination: '/queue/a', receipt: 'r2' }, 'y');
    c.send('SEND', { destination: '/queue/a', receipt: 'r3' }, 'z');
    broker.pending[0]!.resolve();
    broker.pending[1]!.reject(new QueueFullError('/queue/a', 'maxQueueMessages', 1));
    await settle(kit);
    const frames = c.take();
    assert.deepEqual(receiptIds(frames), ['RECEIPT:r1', 'ERROR:r2']);
    assert.equal(frames[1]!.h('message'), 'queue full');
    assert.match(frames[1]!.text, /maxQueueMessages/);
    assert.equal(c.transport.ended, true);
    // A later completion writes nothing more.
    broker.pending[2]!.resolve();
    await settle(kit);
    assert.deepEqual(c.take(), []);
  });

  test('any other rejection is ERROR broker unavailable', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('SEND', { destination: '/topic/a', receipt: 'r1' }, 'x');
    broker.pending[0]!.reject(new Error('redis down'));
    await settle(kit);
    const [e] = c.take();
    assert.equal(e?.h('message'), 'broker unavailable');
    assert.equal(e.h('receipt-id'), 'r1');
    assert.match(e.text, /redis down/);
  });

  test('a later operation rejecting while an earlier one is pending is handled (no unhandled rejection)', async () => {
    const { kit, broker } = await deferredKit();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const c = kit.connected();
      c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
      c.send('SEND', { destination: '/queue/a', receipt: 'r2' }, 'y');
      broker.pending[1]!.reject(new Error('second failed first'));
      await settle(kit);
      await settle(kit);
      assert.deepEqual(unhandled, []);
      broker.pending[0]!.resolve();
      await settle(kit);
      assert.deepEqual(receiptIds(c.take()), ['RECEIPT:r1', 'ERROR:r2']);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('DISCONNECT waits for pending operations: RECEIPT after them, then close', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
    c.send('DISCONNECT', { receipt: 'bye' });
    await settle(kit);
    assert.deepEqual(c.take(), []);
    assert.equal(c.transport.ended, false);
    broker.pending[0]!.resolve();
    await settle(kit);
    assert.deepEqual(receiptIds(c.take()), ['RECEIPT:r1', 'RECEIPT:bye']);
    assert.equal(c.transport.ended, true);
  });

  test('a transaction COMMIT with async SENDs gets its RECEIPT after all of them', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('BEGIN', { transaction: 't' });
    c.send('SEND', { destination: '/queue/a', transaction: 't' }, '1');
    c.send('SEND', { destination: '/queue/a', transaction: 't' }, '2');
    c.send('COMMIT', { transaction: 't', receipt: 'commit' });
    await settle(kit);
    assert.equal(broker.pending.length, 2);
    assert.deepEqual(c.take(), []);
    broker.pending[0]!.resolve();
    await settle(kit);
    assert.deepEqual(c.take(), []);
    broker.pending[1]!.resolve();
    await settle(kit);
    assert.deepEqual(receiptIds(c.take()), ['RECEIPT:commit']);
  });

  test('a rejected transactional SEND fails with the COMMIT receipt', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('BEGIN', { transaction: 't' });
    c.send('SEND', { destination: '/queue/a', transaction: 't' }, '1');
    c.send('COMMIT', { transaction: 't', receipt: 'commit' });
    broker.pending[0]!.reject(new Error('nope'));
    await settle(kit);
    assert.deepEqual(receiptIds(c.take()), ['ERROR:commit']);
  });

  test('the connection closing while an operation is pending is quiet', async () => {
    const { kit, broker } = await deferredKit();
    const c = kit.connected();
    c.send('SEND', { destination: '/queue/a', receipt: 'r1' }, 'x');
    c.closed();
    broker.pending[0]!.reject(new Error('late'));
    await settle(kit);
    assert.deepEqual(c.take(), []);
    assert.equal(c.transport.writes.length, 1); // CONNECTED only
  });
});

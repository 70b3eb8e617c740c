// How the session layer uses the Broker interface for queues. The memory broker forgets an entry
// as soon as it is taken, so it cannot tell whether the session acks; a stream-backed broker (the
// Redis plane) deletes entries only on ack and must see every taken entry settled exactly once:
// acked (processed or dead-lettered) or requeued (NACK, unsubscribe, disconnect).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Broker, QueuedMessage } from '@stompede/broker-api';
import type { MemoryBroker } from '@stompede/cluster';
import { Kit, type Client } from './kit.js';

class Ledger {
  readonly taken: QueuedMessage[] = [];
  readonly settled = new Map<QueuedMessage, string[]>();
  watched = 0;
  consumed = 0;

  /** The memory broker, with take/ack/requeue/consume/watch calls recorded. */
  wrap(inner: MemoryBroker): Broker {
    return new Proxy(inner, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result: unknown = value.apply(target, args);
          this.record(String(prop), args, result);
          return result;
        };
      },
    });
  }

  private record(op: string, args: unknown[], result: unknown): void {
    if (op === 'take' && result !== undefined) this.taken.push(result as QueuedMessage);
    if (op === 'ack' || op === 'requeue') {
      const entry = args[1] as QueuedMessage;
      this.settled.set(entry, [...(this.settled.get(entry) ?? []), op]);
    }
    if (op === 'watch') this.watched++;
    if (op === 'unwatch') this.watched--;
    if (op === 'consume') this.consumed++;
    if (op === 'cancel') this.consumed--;
  }

  /** How each take was settled, in take order: 'ack', 'requeue' or 'unsettled'. */
  outcomes(): string[] {
    for (const [entry, ops] of this.settled) {
      const takes = this.taken.filter((x) => x === entry).length;
      assert.ok(ops.length <= takes, `${entry.message.id} taken ${takes}x but settled ${ops.join(',')}`);
    }
    return this.taken.map((e, i) => {
      // A requeued entry is taken again later: count its settlements per take.
      const all = this.settled.get(e) ?? [];
      const nth = this.taken.slice(0, i).filter((x) => x === e).length;
      return all[nth] ?? 'unsettled';
    });
  }
}

async function ledgerKit(config = {}) {
  const ledger = new Ledger();
  const kit = await Kit.create({ config, broker: (m) => ledger.wrap(m) });
  return { kit, ledger };
}

function sendN(c: Client, destination: string, n: number): void {
  for (let i = 0; i < n; i++) c.send('SEND', { destination }, `m${i}`);
}

describe('broker contract: every taken queue entry is settled exactly once', () => {
  test('auto-ack deliveries are acked when written', async () => {
    const { kit, ledger } = await ledgerKit();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/a' });
    sendN(c, '/queue/a', 3);
    kit.flush();
    assert.equal(c.take().length, 3);
    assert.deepEqual(ledger.outcomes(), ['ack', 'ack', 'ack']);
  });

  test('client ACKs ack; unacked ones are requeued on close', async () => {
    const { kit, ledger } = await ledgerKit();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/a', ack: 'client' });
    sendN(c, '/queue/a', 3);
    kit.flush();
    const frames = c.take();
    assert.deepEqual(ledger.outcomes(), ['unsettled', 'unsettled', 'unsettled']);
    c.send('ACK', { id: frames[1]!.h('ack')! });
    kit.flush();
    assert.deepEqual(ledger.outcomes(), ['ack', 'ack', 'unsettled']);
    c.closed();
    assert.deepEqual(ledger.outcomes(), ['ack', 'ack', 'requeue']);
  });

  test('NACK requeues; NACK requeue:false acks (after dead-lettering)', async () => {
    const { kit, ledger } = await ledgerKit({ deadLetterDestination: '/queue/dlq' });
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/a', ack: 'client-individual', 'prefetch-count': '2' });
    sendN(c, '/queue/a', 2);
    kit.flush();
    const [a, b] = c.take();
    c.send('NACK', { id: a!.h('ack')! });
    c.send('NACK', { id: b!.h('ack')!, requeue: 'false' });
    kit.flush();
    const [again] = c.take();
    c.send('ACK', { id: again!.h('ack')! });
    kit.flush();
    assert.deepEqual(ledger.outcomes(), ['requeue', 'ack', 'ack']);
  });

  test('UNSUBSCRIBE requeues, and nothing is taken for a consumer without credit', async () => {
    const { kit, ledger } = await ledgerKit();
    const c = kit.connected();
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/a', ack: 'client', 'prefetch-count': '1' });
    sendN(c, '/queue/a', 3);
    kit.flush();
    assert.equal(ledger.taken.length, 1, 'entries stay in the broker until a consumer can take them');
    c.send('UNSUBSCRIBE', { id: 's' });
    kit.flush();
    assert.deepEqual(ledger.outcomes(), ['requeue']);
  });

  test('a reply queue delivery is acked like any auto-ack delivery', async () => {
    const { kit, ledger } = await ledgerKit();
    const server = kit.connected();
    server.send('SUBSCRIBE', { id: 'req', destination: '/queue/req' });
    const client = kit.connected();
    client.send('SEND', { destination: '/queue/req', 'reply-to': '/temp-queue/r' }, 'q');
    kit.flush();
    const [request] = server.take();
    server.send('SEND', { destination: request!.h('reply-to')! }, 'a');
    kit.flush();
    assert.deepEqual(client.takeBodies(), ['a']);
    assert.deepEqual(ledger.outcomes(), ['ack', 'ack']);
  });
});

describe('broker contract: interest bookkeeping is balanced', () => {
  test('watch/unwatch and consume/cancel are balanced after subscribers leave', async () => {
    const { kit, ledger } = await ledgerKit();
    const a = kit.connected();
    const b = kit.connected();
    for (const c of [a, b]) {
      c.send('SUBSCRIBE', { id: '1', destination: '/topic/x' });
      c.send('SUBSCRIBE', { id: '2', destination: '/topic/x.*' });
      c.send('SUBSCRIBE', { id: '3', destination: '/queue/q' });
      c.send('SUBSCRIBE', { id: '4', destination: '/topic/y', ack: 'client' });
    }
    kit.flush();
    // One watch per destination or pattern, one consume per queue, however many subscribers.
    assert.equal(ledger.watched, 3);
    assert.equal(ledger.consumed, 1);
    a.send('UNSUBSCRIBE', { id: '1' });
    a.closed();
    kit.flush();
    assert.equal(ledger.watched, 3);
    assert.equal(ledger.consumed, 1);
    b.send('DISCONNECT', {});
    kit.flush();
    b.closed();
    assert.equal(ledger.watched, 0);
    assert.equal(ledger.consumed, 0);
    assert.deepEqual(kit.hub.router.stats('/'), { topics: 0, queues: 0 });
  });
});

// The ring buffer behind queues and histories (deque.ts), checked against an array model, and the
// outage outbox (redis/outbox.ts): bounded by count and bytes, restored in order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Deque } from '@stompede/broker-api';
import { Outbox, type OutboxEntry } from '../src/redis/outbox.js';

const RUNS = { numRuns: 300 };

type Op = { op: 'push' | 'unshift'; value: number } | { op: 'shift' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('push' as const), value: fc.integer() }),
  fc.record({ op: fc.constant('unshift' as const), value: fc.integer() }),
  fc.record({ op: fc.constant('shift' as const) }),
);

describe('Deque', () => {
  test('behaves like an array under any mix of push, unshift and shift (across growth and wrap-around)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const d = new Deque<number>();
        const model: number[] = [];
        for (const o of ops) {
          if (o.op === 'push') {
            d.push(o.value);
            model.push(o.value);
          } else if (o.op === 'unshift') {
            d.unshift(o.value);
            model.unshift(o.value);
          } else {
            assert.equal(d.shift(), model.shift());
          }
          assert.equal(d.length, model.length);
        }
        assert.deepEqual([...d], model);
      }),
      RUNS,
    );
  });

  test('empty: shift gives undefined, length stays 0', () => {
    const d = new Deque<string>();
    assert.equal(d.shift(), undefined);
    assert.equal(d.length, 0);
    assert.deepEqual([...d], []);
  });

  test('unshift before the first slot wraps and grows past the initial capacity', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 40; i++) d.unshift(i);
    assert.equal(d.length, 40);
    assert.deepEqual([...d], Array.from({ length: 40 }, (_, i) => 39 - i));
  });

  test('shifted slots are cleared (no retained references)', () => {
    const d = new Deque<object>();
    d.push({});
    d.shift();
    const items = (d as unknown as { items: unknown[] }).items;
    assert.ok(items.every((x) => x === undefined));
  });
});

const entry = (n: number, bytes: number): OutboxEntry => ({ key: `k${n}`, maxlen: 10, payload: Buffer.alloc(bytes, n), origin: `inc:${n}`, seq: n });
/** Message `seq` of stream `key`. */
const msg = (key: string, seq: number, bytes = 1): OutboxEntry => ({ key, maxlen: 10, payload: Buffer.alloc(bytes), origin: `inc:${seq}`, seq });
const order = (o: Outbox): string[] => o.drain().map((e) => `${e.key}${e.seq}`);

describe('Outbox', () => {
  test('bounded by count: the entry past maxMessages is refused', () => {
    const o = new Outbox(3, 1_000);
    assert.equal(o.push(entry(1, 1)), true);
    assert.equal(o.push(entry(2, 1)), true);
    assert.equal(o.push(entry(3, 1)), true);
    assert.equal(o.push(entry(4, 1)), false);
    assert.equal(o.length, 3);
    assert.equal(o.bytes, 3);
  });

  test('bounded by bytes: an entry that would pass maxBytes is refused, one that fits exactly is taken', () => {
    const o = new Outbox(100, 10);
    assert.equal(o.push(entry(1, 6)), true);
    assert.equal(o.push(entry(2, 5)), false, '6 + 5 > 10');
    assert.equal(o.push(entry(3, 4)), true, '6 + 4 = 10 fits');
    assert.equal(o.push(entry(4, 0)), true, 'empty payloads still fit');
    assert.equal(o.push(entry(5, 1)), false);
    assert.deepEqual(o.drain().map((e) => e.key), ['k1', 'k3', 'k4']);
  });

  test('a bound of 0 keeps nothing', () => {
    assert.equal(new Outbox(0, 1_000).push(entry(1, 1)), false);
    assert.equal(new Outbox(10, 0).push(entry(1, 1)), false);
  });

  test('drain returns everything in push order and empties it', () => {
    const o = new Outbox(10, 100);
    for (let i = 0; i < 5; i++) o.push(entry(i, i));
    assert.deepEqual(o.drain().map((e) => e.key), ['k0', 'k1', 'k2', 'k3', 'k4']);
    assert.equal(o.length, 0);
    assert.equal(o.bytes, 0);
    assert.deepEqual(o.drain(), []);
  });

  test('restore puts unsent entries back in front, in their order, ahead of entries pushed meanwhile', () => {
    const o = new Outbox(10, 100);
    for (let i = 0; i < 4; i++) o.push(entry(i, 2));
    const sent = o.drain();
    o.push(entry(9, 3)); // published while the flush was out
    o.restore([sent[1]!, sent[3]!]); // those two failed
    assert.deepEqual(o.drain().map((e) => e.key), ['k1', 'k3', 'k9']);
  });

  test('insertInOrder puts a failed batch before the later messages of its stream only', () => {
    const o = new Outbox(100, 100);
    for (const e of [msg('a', 5), msg('b', 1), msg('a', 6), msg('b', 2)]) o.push(e);
    assert.equal(o.insertInOrder([msg('a', 3), msg('a', 4)]), 0);
    assert.deepEqual(order(o), ['a3', 'a4', 'a5', 'b1', 'a6', 'b2']);
  });

  test('insertInOrder appends when nothing later of its stream is kept, and counts what did not fit', () => {
    const o = new Outbox(3, 100);
    o.push(msg('a', 1));
    assert.equal(o.insertInOrder([msg('a', 2)]), 0);
    assert.equal(o.insertInOrder([msg('a', 3), msg('a', 4)]), 1, 'one slot was left');
    assert.equal(o.bytes, 3);
    assert.deepEqual(order(o), ['a1', 'a2', 'a3']);
  });

  test('property: single failed messages inserted in any order leave every stream in seq order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.nat(50)), { maxLength: 40 }), (messages) => {
        const o = new Outbox(1_000, 1_000);
        const seen = new Set<string>();
        for (const [key, seq] of messages) {
          if (seen.has(key + seq)) continue;
          seen.add(key + seq);
          o.insertInOrder([msg(key, seq)]);
        }
        const drained = o.drain();
        for (const key of ['a', 'b']) {
          const seqs = drained.filter((e) => e.key === key).map((e) => e.seq);
          assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
        }
        assert.equal(drained.length, seen.size);
      }),
      RUNS,
    );
  });

  test('byte accounting stays exact through any push / drain / restore sequence', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.nat(20).map((n) => ({ push: n })), fc.constant({ cycle: true as const })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 200 }),
        (ops, maxMessages, maxBytes) => {
          const o = new Outbox(maxMessages, maxBytes);
          const model: OutboxEntry[] = [];
          let n = 0;
          for (const op of ops) {
            if ('push' in op) {
              const e = entry(n++, op.push);
              const bytes = model.reduce((s, x) => s + x.payload.length, 0);
              const fits = model.length < maxMessages && bytes + e.payload.length <= maxBytes;
              assert.equal(o.push(e), fits);
              if (fits) model.push(e);
            } else {
              // A flush where every other entry fails and is restored.
              const drained = o.drain();
              assert.deepEqual(drained, model);
              const failed = drained.filter((_, i) => i % 2 === 0);
              o.restore(failed);
              model.splice(0, model.length, ...failed);
            }
            assert.equal(o.length, model.length);
            assert.equal(o.bytes, model.reduce((s, x) => s + x.payload.length, 0));
          }
        },
      ),
      RUNS,
    );
  });
});

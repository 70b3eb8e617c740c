// The origin-mark bookkeeping of one stream, without Redis: repeats skipped, gaps counted, this
// node's own outage deliveries neither repeated nor counted as gaps, own messages in flight handed
// back in order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { OriginTracker, MAX_OWN } from '../src/redis/origin.js';

const own = (seq: number) => ({ seq, payload: Buffer.from(`m${seq}`) });

describe('OriginTracker', () => {
  test('each publisher\'s entries pass once, in order; a repeat is skipped', () => {
    const t = new OriginTracker(() => 'self');
    assert.deepEqual(t.read('a:1'), { alreadyDelivered: false, missing: 0 });
    assert.deepEqual(t.read('b:1'), { alreadyDelivered: false, missing: 0 });
    assert.deepEqual(t.read('a:2'), { alreadyDelivered: false, missing: 0 });
    assert.deepEqual(t.read('a:2'), { alreadyDelivered: true, missing: 0 }, 'the same entry again (resent from an outbox)');
    assert.deepEqual(t.read('a:1'), { alreadyDelivered: true, missing: 0 });
  });

  test('a seq that jumps is a gap of the numbers skipped; the first entry seen of a publisher is none', () => {
    const t = new OriginTracker(() => 'self');
    assert.deepEqual(t.read('a:40'), { alreadyDelivered: false, missing: 0 }, 'nothing known before it');
    assert.deepEqual(t.read('a:41'), { alreadyDelivered: false, missing: 0 });
    assert.deepEqual(t.read('a:50'), { alreadyDelivered: false, missing: 8 });
    assert.deepEqual(t.read('b:1'), { alreadyDelivered: false, missing: 0 });
    assert.deepEqual(t.read('a:51'), { alreadyDelivered: false, missing: 0 });
  });

  test('own messages delivered here during an outage are skipped when they come back, and their absence is no gap', () => {
    const t = new OriginTracker(() => 'self');
    t.read('self:1');
    t.deliveredHere(2);
    t.deliveredHere(3);
    assert.deepEqual(t.read('self:2'), { alreadyDelivered: true, missing: 0 });
    // 3 never reached the stream (a full outbox dropped it) but was delivered here: 4 follows 2 with no gap.
    assert.deepEqual(t.read('self:4'), { alreadyDelivered: false, missing: 0 });
    // Another publisher's same numbers are not ours.
    t.deliveredHere(7);
    t.read('other:6');
    assert.deepEqual(t.read('other:7'), { alreadyDelivered: false, missing: 0 });
  });

  test('own messages sent and not read back come out in order up to a seq, once; reading one drops it and the earlier ones', () => {
    const t = new OriginTracker(() => 'self');
    for (const s of [1, 2, 3, 4, 5]) t.sent(own(s));
    assert.deepEqual(t.takeSentUpTo(2).map((m) => m.seq), [1, 2]);
    assert.deepEqual(t.takeSentUpTo(2), []);
    t.read('self:4');
    assert.deepEqual(t.takeSentUpTo(10).map((m) => m.seq), [5]);
  });

  test('a failed message already delivered here is known as such; a forgotten one no longer comes back in order', () => {
    const t = new OriginTracker(() => 'self');
    for (const s of [1, 2, 3]) t.sent(own(s));
    assert.equal(t.wasDeliveredHere(2), false);
    t.deliveredHere(2);
    assert.equal(t.wasDeliveredHere(2), true);
    t.forget(1); // its publisher got an ERROR
    assert.deepEqual(t.takeSentUpTo(3).map((m) => m.seq), [2, 3]);
    assert.deepEqual(t.read('self:2'), { alreadyDelivered: true, missing: 0 });
    assert.equal(t.wasDeliveredHere(2), false, 'forgotten once it came back from the stream');
  });

  test('a new incarnation of this process is ours, the old one is another publisher', () => {
    let self = 'one';
    const t = new OriginTracker(() => self);
    t.deliveredHere(1);
    self = 'two';
    t.deliveredHere(1);
    assert.deepEqual(t.read('two:1'), { alreadyDelivered: true, missing: 0 });
  });

  test('bounded: own bookkeeping keeps at most MAX_OWN entries', () => {
    const t = new OriginTracker(() => 'self');
    for (let s = 1; s <= MAX_OWN + 10; s++) t.sent(own(s));
    assert.equal(t.takeSentUpTo(Number.MAX_SAFE_INTEGER).length, MAX_OWN);
  });

  test('property: reading any interleaving of publishers\' entries with repeats passes each (publisher, seq) exactly once', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 30 }), fc.boolean()), { maxLength: 200 }),
      (steps) => {
        const t = new OriginTracker(() => 'self');
        const highest = new Map<string, number>();
        const passed = new Set<string>();
        for (const [p, n, repeat] of steps) {
          const seq = Math.max(n, (highest.get(p) ?? 0) + (repeat ? 0 : 1));
          const v = t.read(`${p}:${seq}`);
          const key = `${p}:${seq}`;
          if (v.alreadyDelivered) assert.ok(seq <= (highest.get(p) ?? 0), `${key} skipped though new`);
          else {
            assert.ok(!passed.has(key), `${key} passed twice`);
            passed.add(key);
            highest.set(p, seq);
          }
        }
      },
    ));
  });
});

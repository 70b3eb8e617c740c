// Message ids (message-id.ts): "<destination>@<ms>-<seq>" formatted and parsed back, positions
// ordered, the position clock strictly increasing; and the history policy (broker.ts historyLength).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { comparePositions, formatMessageId, historyLength, parseMessageId, PositionClock, type StreamPosition } from '@stompede/broker-api';

const RUNS = { numRuns: 300 };

const destinationArb = fc.string({ unit: fc.constantFrom('/', 'a', 'b', '@', '-', '.', '0', '1', ':', ' ', 'é'), maxLength: 16 });
// Plain objects (fc.record makes null-prototype ones, which deepEqual tells apart).
const position = (max: number) => fc.tuple(fc.nat({ max }), fc.nat({ max })).map(([ms, seq]): StreamPosition => ({ ms, seq }));
const positionArb = position(Number.MAX_SAFE_INTEGER);
const smallPositionArb = position(5);

describe('formatMessageId / parseMessageId', () => {
  test('the shape of a Redis Stream id qualified by the destination', () => {
    assert.equal(formatMessageId('/topic/a', { ms: 1700000000000, seq: 3 }), '/topic/a@1700000000000-3');
  });

  test('round trip for any destination (even with "@" and "-") and any safe position', () => {
    fc.assert(
      fc.property(destinationArb, positionArb, (destination, position) => {
        assert.deepEqual(parseMessageId(formatMessageId(destination, position)), { destination, position });
      }),
      RUNS,
    );
  });

  test('ids that are not ours parse to null', () => {
    for (const id of ['', 'plain', '/topic/a', '/topic/a@', '/topic/a@123', '/topic/a@x-1', '/topic/a@1-x', '/topic/a@1-2-3', '/topic/a@1.5-0', '@-x', '/t@99999999999999999999-0', '/t@0-99999999999999999999']) {
      assert.equal(parseMessageId(id), null, id);
    }
  });

  test('the destination is everything before the last "@"', () => {
    assert.deepEqual(parseMessageId('/topic/a@b@5-6'), { destination: '/topic/a@b', position: { ms: 5, seq: 6 } });
    assert.deepEqual(parseMessageId('@0-0'), { destination: '', position: { ms: 0, seq: 0 } });
  });

  // Found while writing these tests: the numbers go through Number(), which takes '' as 0 and
  // accepts whitespace, hex and exponents, so ids the broker never hands out parse (a client's
  // x-resume-after of "/topic/a@-" resumes from 0-0). Harmless for replay, which re-formats the
  // position, but parseMessageId claims "null if it is not one of ours".
  test('only canonical ids parse (what formatMessageId produces)', () => {
    for (const id of ['/t@-5', '/t@1-', '/t@-', '/t@ 1-2', '/t@0x10-1', '/t@1e3-0', '/t@01-0']) {
      assert.equal(parseMessageId(id), null, id);
    }
  });

  test('whatever parses formats back to the same text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('/', 't', '@', '-', '0', '1', '9', ' ', 'x', 'e', '.', '+'), maxLength: 12 }), (id) => {
        const p = parseMessageId(id);
        if (p !== null) assert.equal(formatMessageId(p.destination, p.position), id);
      }),
      RUNS,
    );
  });
});

describe('comparePositions', () => {
  test('orders by ms, then seq (the order of Redis Stream ids)', () => {
    fc.assert(
      fc.property(positionArb, positionArb, (a, b) => {
        const c = comparePositions(a, b);
        const expected = a.ms !== b.ms ? Math.sign(a.ms - b.ms) : Math.sign(a.seq - b.seq);
        assert.equal(Math.sign(c), expected);
        assert.equal(Math.sign(comparePositions(b, a)), -expected || 0, 'antisymmetric');
      }),
      RUNS,
    );
  });

  test('is a total order: sorting with it agrees with sorting the ids as Redis would', () => {
    fc.assert(
      fc.property(fc.array(smallPositionArb, { maxLength: 20 }), (positions) => {
        const sorted = [...positions].sort(comparePositions);
        for (let i = 1; i < sorted.length; i++) {
          const [p, q] = [sorted[i - 1]!, sorted[i]!];
          assert.ok(p.ms < q.ms || (p.ms === q.ms && p.seq <= q.seq), `${p.ms}-${p.seq} before ${q.ms}-${q.seq}`);
        }
      }),
      RUNS,
    );
  });

  test('equal positions compare 0', () => {
    assert.equal(comparePositions({ ms: 7, seq: 2 }, { ms: 7, seq: 2 }), 0);
  });
});

describe('PositionClock', () => {
  test('strictly increasing whatever the clock does (stands still, goes back)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 20 }), { minLength: 1, maxLength: 50 }), (times) => {
        let i = 0;
        const clock = new PositionClock(() => times[Math.min(i++, times.length - 1)]!);
        let last: StreamPosition | undefined;
        for (let n = 0; n < times.length; n++) {
          const p = clock.next();
          if (last !== undefined) assert.ok(comparePositions(last, p) < 0, `${last.ms}-${last.seq} then ${p.ms}-${p.seq}`);
          last = p;
        }
      }),
      RUNS,
    );
  });

  test('the sequence restarts at 0 when the clock moves on, as XADD ids do', () => {
    const times = [10, 10, 10, 11, 9, 12];
    let i = 0;
    const clock = new PositionClock(() => times[i++]!);
    assert.deepEqual(
      times.map(() => clock.next()),
      [{ ms: 10, seq: 0 }, { ms: 10, seq: 1 }, { ms: 10, seq: 2 }, { ms: 11, seq: 0 }, { ms: 11, seq: 1 }, { ms: 12, seq: 0 }],
    );
  });
});

describe('historyLength', () => {
  const policy = [
    { prefix: '/topic/', messages: 100 },
    { prefix: '/topic/prices.', messages: 5 },
    { prefix: '/topic/prices.fx.', messages: 0 },
    { prefix: '/queue/', messages: 7 },
  ];

  test('the longest matching prefix wins, whatever the order of the policy', () => {
    for (const p of [policy, [...policy].reverse()]) {
      assert.equal(historyLength(p, '/topic/news'), 100);
      assert.equal(historyLength(p, '/topic/prices.eq'), 5);
      assert.equal(historyLength(p, '/topic/prices.fx.eurusd'), 0, 'a longer prefix of 0 switches history off');
      assert.equal(historyLength(p, '/topic/prices.'), 5, 'a prefix matches itself');
      assert.equal(historyLength(p, '/queue/a'), 7);
    }
  });

  test('0 when nothing matches or the policy is empty', () => {
    assert.equal(historyLength(policy, '/other/x'), 0);
    assert.equal(historyLength(policy, '/topic'), 0, 'shorter than the prefix');
    assert.equal(historyLength([], '/topic/x'), 0);
  });

  test('an empty prefix matches everything, as the weakest rule', () => {
    const p = [{ prefix: '', messages: 3 }, { prefix: '/topic/', messages: 9 }];
    assert.equal(historyLength(p, '/anything'), 3);
    assert.equal(historyLength(p, '/topic/x'), 9);
  });

  test('matches the longest-prefix model for arbitrary policies', () => {
    const prefixArb = fc.string({ unit: fc.constantFrom('/', 'a', 'b'), maxLength: 4 });
    fc.assert(
      fc.property(fc.uniqueArray(fc.record({ prefix: prefixArb, messages: fc.nat(1000) }), { selector: (p) => p.prefix, maxLength: 6 }), prefixArb, (p, dest) => {
        const matching = p.filter((x) => dest.startsWith(x.prefix)).sort((x, y) => y.prefix.length - x.prefix.length);
        assert.equal(historyLength(p, dest), matching[0]?.messages ?? 0);
      }),
      RUNS,
    );
  });
});

// The cluster load driver's delivery accounting (bench/cluster-accounting.mjs), without a broker:
// refused ranges from x-sends-accepted, lost / told / silent loss per subscriber, delivered-but-refused,
// duplicates and reordering, and the gap headers read from raw MESSAGE frames.
import assert from 'node:assert/strict';
import { test } from 'node:test';

type Range = [number, number];
interface Refusal { reason: string; range: Range | null }
interface Tracker {
  last: number;
  count: number;
  dups: number;
  late: number;
  toldMessages: number;
  toldSum: number;
  toldNoCount: number;
  deliver(seq: number, told: number): number;
}
interface SubAccount {
  delivered: number;
  delivered_accepted: number;
  delivered_refused: number;
  lost: number;
  told_messages: number;
  told_sum: number;
  told_covered: number;
  told_excess: number;
  silent: number;
  lost_tail: number;
  lost_in_window: number | null;
  jumps: number;
  duplicates: number;
  out_of_order: number;
}
interface RunAccount {
  published_total: number;
  accepted_total: number;
  refused_total: number;
  refused_by_reason: Record<string, number>;
  expected_total: number;
  distinct_total: number;
  delivered_distinct_per_sub: number[];
  lost: number;
  delivered_refused: number;
  duplicates: number;
  out_of_order: number;
  told_gap_messages: number;
  told_gap_sum: number;
  told_covered: number;
  told_excess: number;
  silent_loss: number;
  lost_tail: number;
  lost_in_window: number | null;
  per_sub: SubAccount[];
}
interface Accounting {
  normalizeRanges(ranges: Range[]): Range[];
  countInRanges(ranges: Range[], from: number, to: number): number;
  refusedRange(base: number, last: number, accepted: string | undefined): { range: Range | null; accepted: number | null; written: number; problem: string | null };
  publisherTotals(sent: number, refusals: Refusal[]): { accepted: number; refused_total: number; refused_by_reason: Record<string, number>; refused_ranges: Range[] };
  SeqTracker: new () => Tracker;
  accountSubscriber(t: Tracker, a: { sent: number; refused: Range[]; window?: Range | null }): SubAccount;
  accountRun(a: { sent: number; refusals: Refusal[]; trackers: Tracker[]; window?: Range | null }): RunAccount;
  gapHeaders(buf: Buffer, s: number, hdrEnd: number): number;
}

// A plain .mjs module (no type declarations): imported through a string so that tsc leaves it untyped.
const MODULE: string = '../cluster-accounting.mjs';
const acc = (await import(MODULE)) as Accounting;

/** A tracker fed with these deliveries: a number, or [number, told]. */
function tracker(deliveries: (number | [number, number])[]): Tracker {
  const t = new acc.SeqTracker();
  for (const d of deliveries) {
    if (Array.isArray(d)) t.deliver(d[0], d[1]);
    else t.deliver(d, -1);
  }
  return t;
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('ranges: normalized, merged and counted', () => {
  assert.deepEqual(acc.normalizeRanges([[10, 12], [1, 3], [4, 5], [20, 19], [11, 15]]), [[1, 5], [10, 15]]);
  const r = acc.normalizeRanges([[3, 5], [10, 20]]);
  assert.equal(acc.countInRanges(r, 1, 100), 14);
  assert.equal(acc.countInRanges(r, 4, 11), 4);
  assert.equal(acc.countInRanges(r, 6, 9), 0);
  assert.equal(acc.countInRanges(r, 20, 20), 1);
  assert.equal(acc.countInRanges(r, 21, 30), 0);
  assert.equal(acc.countInRanges([], 1, 10), 0);
  assert.equal(acc.countInRanges(r, 9, 3), 0);
});

test('refusedRange: the SENDs a connection wrote after the accepted ones', () => {
  // connection started after #100, wrote #101..#150, the ERROR says 30 were accepted: #131..#150 refused
  assert.deepEqual(acc.refusedRange(100, 150, '30'), { range: [131, 150], accepted: 30, written: 50, problem: null });
  // everything accepted: nothing refused
  assert.deepEqual(acc.refusedRange(100, 150, '50').range, null);
  // nothing accepted: all refused
  assert.deepEqual(acc.refusedRange(100, 150, '0').range, [101, 150]);
  // without the header nothing is known to be refused; any loss among them stays loss
  const none = acc.refusedRange(100, 150, undefined);
  assert.equal(none.range, null);
  assert.match(none.problem ?? '', /no x-sends-accepted/);
  // the broker claims more than was written: a problem, not a range
  const more = acc.refusedRange(100, 150, '51');
  assert.equal(more.range, null);
  assert.match(more.problem ?? '', /more than the 50/);
  assert.match(acc.refusedRange(0, 5, 'x').problem ?? '', /unparsable/);
});

test('publisherTotals: refused by reason, accepted = sent - refused', () => {
  const t = acc.publisherTotals(1000, [
    { reason: 'publisher too fast', range: [101, 150] },
    { reason: 'destination overloaded', range: [401, 401] },
    { reason: 'something else', range: [501, 510] },
    { reason: 'publisher too fast', range: null },
  ]);
  assert.equal(t.refused_total, 61);
  assert.equal(t.accepted, 939);
  assert.deepEqual(t.refused_by_reason, { 'publisher too fast': 50, 'destination overloaded': 1, other: 10 });
  assert.deepEqual(t.refused_ranges, [[101, 150], [401, 401], [501, 510]]);
});

test('everything delivered once, in order: nothing lost', () => {
  const r = acc.accountRun({ sent: 100, refusals: [], trackers: [tracker(range(1, 100)), tracker(range(1, 100))] });
  assert.equal(r.accepted_total, 100);
  assert.equal(r.expected_total, 200);
  assert.equal(r.distinct_total, 200);
  assert.deepEqual(r.delivered_distinct_per_sub, [100, 100]);
  for (const k of ['lost', 'delivered_refused', 'duplicates', 'out_of_order', 'silent_loss', 'told_gap_messages', 'told_excess'] as const) assert.equal(r[k], 0, k);
});

test('a refused range is not lost, and the jump over it is no gap', () => {
  // #41..#60 refused; the subscriber gets 1..40 and 61..100
  const r = acc.accountRun({ sent: 100, refusals: [{ reason: 'publisher too fast', range: [41, 60] }], trackers: [tracker([...range(1, 40), ...range(61, 100)])] });
  assert.equal(r.accepted_total, 80);
  assert.equal(r.refused_total, 20);
  assert.equal(r.lost, 0);
  assert.equal(r.silent_loss, 0);
  assert.equal(r.delivered_refused, 0);
  assert.deepEqual(r.delivered_distinct_per_sub, [80]);
  assert.equal(r.per_sub[0]!.jumps, 0);
});

test('a refused message that is delivered anyway is counted apart, not as accepted', () => {
  // #41..#60 refused, but #41 and #42 arrive (as in order), then 61..100
  const r = acc.accountRun({ sent: 100, refusals: [{ reason: 'destination overloaded', range: [41, 60] }], trackers: [tracker([...range(1, 42), ...range(61, 100)])] });
  assert.equal(r.delivered_refused, 2);
  assert.equal(r.lost, 0);
  assert.equal(r.silent_loss, 0);
  assert.equal(r.distinct_total, 82);
  assert.deepEqual(r.delivered_distinct_per_sub, [80]);
});

test('a told gap covers what the subscriber missed; the rest is silent loss', () => {
  // sub A: 11..20 missing, the MESSAGE #21 says 10 were missed: told, not silent
  // sub B: 11..20 missing, told only 4: 6 silent
  // sub C: 11..20 missing, not told: 10 silent; and 96..100 never arrive (tail): 5 more silent
  const a = tracker([...range(1, 10), [21, 10], ...range(22, 100)]);
  const b = tracker([...range(1, 10), [21, 4], ...range(22, 100)]);
  const c = tracker([...range(1, 10), ...range(21, 95)]);
  const r = acc.accountRun({ sent: 100, refusals: [], trackers: [a, b, c] });
  assert.deepEqual(r.per_sub.map((s) => [s.lost, s.told_covered, s.silent, s.lost_tail]), [[10, 10, 0, 0], [10, 4, 6, 0], [15, 0, 15, 5]]);
  assert.equal(r.lost, 35);
  assert.equal(r.told_gap_messages, 2);
  assert.equal(r.told_gap_sum, 14);
  assert.equal(r.told_covered, 14);
  assert.equal(r.silent_loss, 21);
  assert.equal(r.lost_tail, 5);
  assert.equal(r.expected_total - r.distinct_total, r.lost);
});

test('a gap over a refused range: only the accepted missing messages count, and the told count covers them', () => {
  // #31..#40 refused; the node also lost accepted #41..#45 and says so on #46 (x-gap-messages:5)
  const t = tracker([...range(1, 30), [46, 5], ...range(47, 100)]);
  const r = acc.accountRun({ sent: 100, refusals: [{ reason: 'publisher too fast', range: [31, 40] }], trackers: [t] });
  assert.equal(r.accepted_total, 90);
  assert.equal(r.lost, 5);
  assert.equal(r.told_covered, 5);
  assert.equal(r.silent_loss, 0);
  assert.equal(r.told_excess, 0);
  // the same with the node saying 15 (it should not count refused messages): 10 in excess, flagged apart
  const r2 = acc.accountRun({ sent: 100, refusals: [{ reason: 'publisher too fast', range: [31, 40] }], trackers: [tracker([...range(1, 30), [46, 15], ...range(47, 100)])] });
  assert.equal(r2.silent_loss, 0);
  assert.equal(r2.told_excess, 10);
});

test('x-resume-gap without a count covers the whole hole; a gap header without a hole is excess', () => {
  const r = acc.accountRun({ sent: 20, refusals: [], trackers: [tracker([...range(1, 5), [9, Infinity], ...range(10, 20)])] });
  assert.equal(r.lost, 3);
  assert.equal(r.told_covered, 3);
  assert.equal(r.silent_loss, 0);
  const r2 = acc.accountRun({ sent: 20, refusals: [], trackers: [tracker([...range(1, 5), [6, 2], ...range(7, 20)])] });
  assert.equal(r2.lost, 0);
  assert.equal(r2.told_excess, 2);
});

test('duplicates and late (reordered) deliveries', () => {
  // 1..5, 8, 6 (late), 7 (late), 6 again (dup), 9..10, 3 (dup)
  const t = tracker([1, 2, 3, 4, 5, 8, 6, 7, 6, 9, 10, 3]);
  assert.equal(t.count, 12);
  const s = acc.accountSubscriber(t, { sent: 10, refused: [] });
  assert.equal(s.duplicates, 2);
  assert.equal(s.out_of_order, 2);
  assert.equal(s.lost, 0);
  assert.equal(s.silent, 0);
  assert.equal(s.delivered_accepted, 10);
  // a late delivery of a refused number is still delivered-but-refused
  const t2 = tracker([1, 2, 5, 3]);
  const s2 = acc.accountSubscriber(t2, { sent: 5, refused: [[3, 4]] });
  assert.equal(s2.delivered_refused, 1);
  assert.equal(s2.lost, 0);
  assert.equal(s2.out_of_order, 1);
});

test('lost in the measured window', () => {
  // window = #21..#60; missing #15..#25 (5 inside) and #55..#70 (6 inside, #58 refused): 10
  const t = tracker([...range(1, 14), ...range(26, 54), ...range(71, 80)]);
  const s = acc.accountSubscriber(t, { sent: 80, refused: [[58, 58]], window: [21, 60] });
  assert.equal(s.lost, 11 + 15);
  assert.equal(s.lost_in_window, 10);
  // the tail counts too: window #70..#80, delivered up to #75
  const s2 = acc.accountSubscriber(tracker(range(1, 75)), { sent: 80, refused: [], window: [70, 80] });
  assert.equal(s2.lost_in_window, 5);
  assert.equal(s2.lost_tail, 5);
});

test('arithmetic holds over random runs: lost = accepted - delivered accepted, silent = lost - covered', () => {
  let seed = 7;
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  for (let run = 0; run < 200; run++) {
    const sent = 50 + Math.floor(rnd() * 500);
    // the publisher: connections of random length, some refused at a random point
    const refusals: Refusal[] = [];
    let base = 0;
    while (base < sent) {
      const last = Math.min(sent, base + 1 + Math.floor(rnd() * 80));
      if (last < sent && rnd() < 0.5) {
        const r = acc.refusedRange(base, last, String(Math.floor(rnd() * (last - base + 1))));
        refusals.push({ reason: rnd() < 0.5 ? 'publisher too fast' : 'destination overloaded', range: r.range });
      }
      base = last;
    }
    const refused = acc.normalizeRanges(refusals.flatMap((r) => (r.range ? [r.range] : [])));
    const isRefused = (n: number): boolean => acc.countInRanges(refused, n, n) === 1;
    const trackers: Tracker[] = [];
    const truth: { lost: number; deliveredRefused: number }[] = [];
    for (let s = 0; s < 3; s++) {
      const t = new acc.SeqTracker();
      let lost = 0;
      let deliveredRefused = 0;
      let pendingMissed = 0;
      for (let n = 1; n <= sent; n++) {
        if (isRefused(n)) { if (rnd() < 0.02) { t.deliver(n, pendingMissed > 0 ? pendingMissed : -1); pendingMissed = 0; deliveredRefused++; } continue; }
        if (rnd() < 0.1) { lost++; pendingMissed++; continue; }
        // the node tells what it missed, most of the time
        t.deliver(n, pendingMissed > 0 && rnd() < 0.7 ? pendingMissed : -1);
        pendingMissed = 0;
        if (rnd() < 0.02) t.deliver(n, -1); // a duplicate
      }
      trackers.push(t);
      truth.push({ lost, deliveredRefused });
    }
    const r = acc.accountRun({ sent, refusals, trackers });
    const accepted = sent - acc.countInRanges(refused, 1, sent);
    assert.equal(r.accepted_total, accepted);
    r.per_sub.forEach((p, i) => {
      assert.equal(p.lost, truth[i]!.lost, `run ${run} sub ${i}: lost`);
      assert.equal(p.delivered_refused, truth[i]!.deliveredRefused, `run ${run} sub ${i}: delivered refused`);
      assert.equal(p.delivered_accepted, accepted - p.lost);
      assert.equal(p.silent, p.lost - p.told_covered);
      assert.ok(p.told_covered <= p.lost && p.silent >= 0);
      assert.equal(p.told_excess, 0, `run ${run} sub ${i}: told counts are exact here`);
    });
    assert.equal(r.lost, r.expected_total - (r.distinct_total - r.delivered_refused));
    assert.equal(r.out_of_order, 0);
  }
});

test('gapHeaders: read from a raw MESSAGE frame, wherever the headers are', () => {
  const frame = (headers: string[]): { buf: Buffer; hdrEnd: number } => {
    const text = `MESSAGE\n${headers.join('\n')}\n\nbody\0`;
    const buf = Buffer.from(`junk${text}`);
    return { buf, hdrEnd: buf.indexOf('\n\n', 4) + 1 };
  };
  const at = (h: string[]): number => { const f = frame(h); return acc.gapHeaders(f.buf, 4, f.hdrEnd); };
  assert.equal(at(['subscription:0', 'message-id:m1', 'destination:/topic/x', 'content-length:4']), -1);
  assert.equal(at(['subscription:0', 'x-resume-gap:true', 'x-gap-messages:1234', 'message-id:m1']), 1234);
  assert.equal(at(['subscription:0', 'message-id:m1', 'x-gap-messages:7', 'x-resume-gap:true']), 7);
  assert.equal(at(['subscription:0', 'x-resume-gap:true', 'message-id:m1']), Infinity);
  assert.equal(at(['subscription:0', 'x-resume-gap:false', 'x-gap-messages:3']), -1);
  assert.equal(at(['subscription:0', 'x-resume-gap:true', 'x-gap-messages:lots']), Infinity);
  // the first occurrence counts (STOMP 1.2); a user header that only starts the same does not
  assert.equal(at(['subscription:0', 'x-resume-gap:true', 'x-gap-messages:2', 'x-gap-messages:9']), 2);
  assert.equal(at(['subscription:0', 'x-resume-gap-ish:true', 'x-gap-messages:2']), -1);
  assert.equal(at(['subscription:0\r', 'x-resume-gap:true\r', 'x-gap-messages:5\r']), 5);
});

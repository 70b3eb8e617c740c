// Delivery accounting of the cluster load driver (bench/cluster.mjs load), as pure functions so that
// it can be tested without a broker (bench/test/cluster-accounting.test.ts).
//
// The publisher numbers its SENDs 1, 2, 3, ... across all its connections. A connection that gets an
// ERROR with `x-sends-accepted:<a>` had its first `a` SENDs accepted and the rest refused: the refused
// sequence range is [base + a + 1, last written on it] (base = the number before its first SEND). Every
// subscriber should get every accepted number once, in order, and no refused one. A node that knows it
// missed messages says so on the next MESSAGE (`x-resume-gap:true`, `x-gap-messages:<n>`): a "told" gap.
// What a subscriber misses and was not told about is silent loss.

/** Sorts and merges inclusive [from, to] ranges (empty ones dropped). */
export function normalizeRanges(ranges) {
  const xs = ranges.filter(([a, b]) => b >= a).map(([a, b]) => [a, b]).sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const r of xs) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

/** How many numbers of [from, to] lie in the (normalized) ranges. */
export function countInRanges(ranges, from, to) {
  if (to < from || !ranges.length) return 0;
  // first range that ends at or after `from`
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][1] < from) lo = mid + 1; else hi = mid;
  }
  let n = 0;
  for (let i = lo; i < ranges.length && ranges[i][0] <= to; i++) n += Math.min(to, ranges[i][1]) - Math.max(from, ranges[i][0]) + 1;
  return n;
}

/** Whether `seq` lies in the (normalized) ranges. */
export function inRanges(ranges, seq) {
  return countInRanges(ranges, seq, seq) === 1;
}

/**
 * The refused range of a publisher connection that got an ERROR: `base` = the sequence number before its
 * first SEND, `last` = the last one written on it, `accepted` = its `x-sends-accepted` header (a string;
 * undefined when the ERROR had none). Returns { range: [from, to] | null, accepted, written, problem }:
 * without the header nothing is known to be refused (range null, problem set), so any loss among those
 * SENDs still counts as loss.
 */
export function refusedRange(base, last, acceptedHeader) {
  const written = Math.max(0, last - base);
  if (acceptedHeader == null || !/^\d+$/.test(String(acceptedHeader).trim())) {
    return { range: null, accepted: null, written, problem: acceptedHeader == null ? 'no x-sends-accepted header' : `unparsable x-sends-accepted: ${acceptedHeader}` };
  }
  const accepted = Number(String(acceptedHeader).trim());
  if (accepted > written) return { range: null, accepted, written, problem: `x-sends-accepted ${accepted} is more than the ${written} SENDs written on the connection` };
  return { range: accepted < written ? [base + accepted + 1, last] : null, accepted, written, problem: null };
}

/** Refusal reasons reported apart; anything else is 'other'. */
export const REFUSAL_REASONS = ['publisher too fast', 'destination overloaded'];

/**
 * Publisher totals from the refusals: [{ reason, range }] (range from refusedRange, or null).
 * `sent` = SENDs written in all (the last sequence number).
 */
export function publisherTotals(sent, refusals) {
  const byReason = Object.fromEntries([...REFUSAL_REASONS, 'other'].map((k) => [k, 0]));
  for (const r of refusals) {
    if (!r.range) continue;
    const k = REFUSAL_REASONS.includes(r.reason) ? r.reason : 'other';
    byReason[k] += r.range[1] - r.range[0] + 1;
  }
  const refused = normalizeRanges(refusals.filter((r) => r.range).map((r) => r.range));
  const refusedTotal = countInRanges(refused, 1, sent);
  return { sent, accepted: sent - refusedTotal, refused_total: refusedTotal, refused_by_reason: byReason, refused_ranges: refused };
}

/**
 * What one subscriber got, recorded as messages arrive: the highest number so far, and the holes (numbers
 * skipped by a forward jump) with what the node told about them. `deliver` is on the load driver's hot
 * path: an in-order message without a gap header only bumps two fields.
 */
export class SeqTracker {
  constructor(maxHoles = 100000) {
    this.last = 0; // highest number delivered
    this.count = 0; // deliveries, duplicates included
    this.dups = 0; // a number delivered again
    this.late = 0; // a skipped number delivered after a higher one (reordered)
    this.holes = []; // { from, to, told, filled: Set | null }, from ascending
    this.toldMessages = 0; // MESSAGE frames that carried x-resume-gap
    this.toldSum = 0; // sum of their x-gap-messages (a header without count counts as 0 here)
    this.toldNoCount = 0; // x-resume-gap without a usable x-gap-messages
    this.toldOnLate = 0; // a gap header on a reordered or duplicate message (not attributable)
    this.maxHoles = maxHoles;
    this.holesDropped = 0;
  }

  /**
   * One delivery: `seq` its number, `told` -1 without gap header, else x-gap-messages (Infinity when
   * x-resume-gap came without a count). Returns 0 in order, 1 after a jump, 2 late, 3 duplicate.
   */
  deliver(seq, told) {
    this.count++;
    if (told >= 0) {
      this.toldMessages++;
      if (told === Infinity) this.toldNoCount++; else this.toldSum += told;
    }
    if (seq === this.last + 1 && told < 0) { this.last = seq; return 0; }
    if (seq > this.last) {
      if (this.holes.length < this.maxHoles) this.holes.push({ from: this.last + 1, to: seq - 1, told: told < 0 ? 0 : told, filled: null });
      else this.holesDropped++;
      this.last = seq;
      return 1;
    }
    if (told >= 0) this.toldOnLate++;
    const h = this.holeOf(seq);
    if (h && !(h.filled && h.filled.has(seq))) {
      (h.filled ??= new Set()).add(seq);
      this.late++;
      return 2;
    }
    this.dups++;
    return 3;
  }

  holeOf(seq) {
    const hs = this.holes;
    let lo = 0;
    let hi = hs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const h = hs[mid];
      if (seq < h.from) hi = mid - 1;
      else if (seq > h.to) lo = mid + 1;
      else return h;
    }
    return null;
  }
}

/**
 * One subscriber's account against the publisher's: `refused` normalized ranges, `sent` the last number
 * written, `window` optional [first, last] numbers published inside the measured window.
 *   delivered_accepted  distinct accepted numbers delivered
 *   delivered_refused   distinct refused numbers delivered (must be 0)
 *   lost                accepted numbers not delivered
 *   told_covered        lost numbers covered by a told gap (per hole at most what the node said)
 *   told_excess         what the node said was missing beyond what this subscriber missed there
 *   silent              lost - told_covered (the numbers after the last delivery are never told)
 *   lost_tail           accepted numbers after the last delivery (part of silent)
 *   lost_in_window      lost numbers inside `window`
 *   jumps               holes with at least one accepted number missing
 */
export function accountSubscriber(t, { sent, refused, window = null }) {
  let lost = 0;
  let covered = 0;
  let excess = 0;
  let jumps = 0;
  let refusedInHoles = 0;
  let lostInWindow = 0;
  const refusedFilled = (h) => { let n = 0; if (h.filled) for (const s of h.filled) if (inRanges(refused, s)) n++; return n; };
  const filledIn = (h, a, b) => { let n = 0; if (h.filled) for (const s of h.filled) if (s >= a && s <= b && !inRanges(refused, s)) n++; return n; };
  for (const h of t.holes) {
    const size = h.to - h.from + 1;
    const f = h.filled ? h.filled.size : 0;
    const fr = refusedFilled(h);
    const r = countInRanges(refused, h.from, h.to);
    refusedInHoles += r - fr;
    const missing = size - f - (r - fr);
    lost += missing;
    if (missing > 0) jumps++;
    const told = h.told;
    covered += Math.min(told, missing);
    if (told !== Infinity && told > missing) excess += told - missing;
    if (window) {
      const a = Math.max(h.from, window[0]);
      const b = Math.min(h.to, window[1]);
      if (b >= a) lostInWindow += b - a + 1 - countInRanges(refused, a, b) - filledIn(h, a, b);
    }
  }
  const tailFrom = t.last + 1;
  const tail = sent >= tailFrom ? sent - tailFrom + 1 - countInRanges(refused, tailFrom, sent) : 0;
  if (window) {
    const a = Math.max(tailFrom, window[0]);
    const b = Math.min(sent, window[1]);
    if (b >= a) lostInWindow += b - a + 1 - countInRanges(refused, a, b);
  }
  lost += tail;
  const deliveredRefused = countInRanges(refused, 1, Math.min(t.last, sent)) - refusedInHoles;
  const accepted = sent - countInRanges(refused, 1, sent);
  return {
    delivered: t.count,
    delivered_accepted: accepted - lost,
    delivered_refused: deliveredRefused,
    lost,
    told_messages: t.toldMessages,
    told_sum: t.toldSum,
    told_covered: covered,
    told_excess: excess,
    silent: lost - covered,
    lost_tail: tail,
    lost_in_window: window ? lostInWindow : null,
    jumps,
    duplicates: t.dups,
    out_of_order: t.late,
    holes_dropped: t.holesDropped,
  };
}

const SUMMED = ['delivered', 'delivered_accepted', 'delivered_refused', 'lost', 'told_messages', 'told_sum', 'told_covered', 'told_excess', 'silent', 'lost_tail', 'lost_in_window', 'jumps', 'duplicates', 'out_of_order', 'holes_dropped'];

/**
 * The whole run: publisher totals and every subscriber's account. `trackers` SeqTrackers, `refusals`
 * [{ reason, range }], `sent` the last number written, `window` as in accountSubscriber.
 */
export function accountRun({ sent, refusals, trackers, window = null }) {
  const pub = publisherTotals(sent, refusals);
  const subs = trackers.map((t) => accountSubscriber(t, { sent, refused: pub.refused_ranges, window }));
  const sum = Object.fromEntries(SUMMED.map((k) => [k, subs.reduce((a, s) => a + (s[k] ?? 0), 0)]));
  const distinct = subs.map((s) => s.delivered_accepted);
  return {
    published_total: sent,
    accepted_total: pub.accepted,
    refused_total: pub.refused_total,
    refused_by_reason: pub.refused_by_reason,
    subs: trackers.length,
    expected_total: pub.accepted * trackers.length,
    distinct_total: sum.delivered_accepted + sum.delivered_refused,
    delivered_distinct_per_sub: distinct,
    lost: sum.lost,
    delivered_refused: sum.delivered_refused,
    duplicates: sum.duplicates,
    out_of_order: sum.out_of_order,
    jumps: sum.jumps,
    told_gap_messages: sum.told_messages,
    told_gap_sum: sum.told_sum,
    told_covered: sum.told_covered,
    told_excess: sum.told_excess,
    silent_loss: sum.silent,
    lost_tail: sum.lost_tail,
    lost_in_window: window ? sum.lost_in_window : null,
    holes_dropped: sum.holes_dropped,
    per_sub: subs,
  };
}

// ---------------------------------------------------------------------- gap headers on the wire

const GAP_NAME = Buffer.from('x-resume-gap');
const COUNT_NAME = Buffer.from('x-gap-messages');

function lineIs(buf, p, q, name) {
  // header line buf[p..q) starts with `name:`
  return q - p > name.length && buf[p + name.length] === 58 && buf.compare(name, 0, name.length, p, p + name.length) === 0;
}

/**
 * The gap headers of a MESSAGE frame buf[s..hdrEnd) (hdrEnd = start of the blank line ending the
 * headers): -1 without x-resume-gap:true, else the x-gap-messages count (Infinity when it is missing or
 * not a number). The first occurrence of a header counts (STOMP 1.2).
 */
export function gapHeaders(buf, s, hdrEnd) {
  let gap = null;
  let count = null;
  let p = s;
  while (p < hdrEnd) {
    let q = buf.indexOf(10, p);
    if (q < 0 || q > hdrEnd) q = hdrEnd;
    let e = q;
    if (e > p && buf[e - 1] === 13) e--;
    if (gap === null && lineIs(buf, p, e, GAP_NAME)) gap = buf.toString('latin1', p + GAP_NAME.length + 1, e);
    else if (count === null && lineIs(buf, p, e, COUNT_NAME)) count = buf.toString('latin1', p + COUNT_NAME.length + 1, e);
    p = q + 1;
  }
  if (gap !== 'true') return -1;
  return count !== null && /^\d+$/.test(count) ? Number(count) : Infinity;
}

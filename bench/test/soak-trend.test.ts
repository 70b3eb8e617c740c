// The soak's flatness verdict (bench/soak/trend.ts), its report's rules (report.ts), its command
// line (options.ts) and its chart (chart.ts, Vega-Lite rendered to SVG), without a broker.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderChart } from '../soak/chart.js';
import { parseSoakArgs, UsageError } from '../soak/options.js';
import { failures, markdown, type SoakResult } from '../soak/report.js';
import { samplesCsv, slope, trends, type Sample } from '../soak/trend.js';

const MiB = 1024 * 1024;

function series(process: string, pid: number, fromS: number, toS: number, everyS: number, f: (t: number) => Partial<Sample>): Sample[] {
  const out: Sample[] = [];
  for (let t = fromS; t <= toS; t += everyS) {
    out.push({ t, process, pid, rssBytes: 100 * MiB, heapUsedBytes: 20 * MiB, heapTotalBytes: 30 * MiB, fds: 40, connections: 10, load1: 1, ...f(t) });
  }
  return out;
}

const BOUNDS = { rssBytesPerMin: MiB, heapBytesPerMin: MiB, fdsPerMin: 1 };

describe('slopes', () => {
  test('least squares: exact on a line, NaN without spread', () => {
    assert.equal(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
    assert.ok(Number.isNaN(slope([{ x: 1, y: 1 }])));
    assert.ok(Number.isNaN(slope([{ x: 1, y: 1 }, { x: 1, y: 2 }])));
  });

  test('a leak over the bound fails, noise and a sawtooth around a flat line pass; only the window counts', () => {
    const flat = series('node-a', 1, 0, 600, 5, (t) => ({ rssBytes: 100 * MiB + ((t / 5) % 2) * 3 * MiB, fds: 40 + ((t / 5) % 3) }));
    // Grows 2 MiB/min and gains an fd every 20 s, but only in the second half.
    const leak = series('node-b', 2, 0, 600, 5, (t) => ({ rssBytes: 100 * MiB + Math.max(0, t - 300) / 60 * 2 * MiB, fds: 40 + Math.floor(Math.max(0, t - 300) / 20) }));
    const got = trends([...flat, ...leak], 300, 600, BOUNDS);
    const find = (p: string, q: string) => got.find((t) => t.process === p && t.quantity === q)!;
    assert.equal(find('node-a', 'rssBytes').ok, true);
    assert.equal(find('node-a', 'fds').ok, true);
    assert.equal(find('node-b', 'rssBytes').ok, false);
    assert.ok(Math.abs(find('node-b', 'rssBytes').slopePerMin / MiB - 2) < 0.01);
    assert.equal(find('node-b', 'fds').ok, false);
    assert.equal(find('node-b', 'heapUsedBytes').ok, true);
    // The first half (where node-b was flat) gives it a pass.
    assert.ok(trends(leak, 0, 290, BOUNDS).every((t) => t.ok));
  });

  test('a restarted process counts with its new pid only; too few samples is no verdict', () => {
    const before = series('node-b', 10, 300, 400, 5, () => ({ rssBytes: 500 * MiB })); // the old process, big
    const after = series('node-b', 11, 420, 600, 5, () => ({ rssBytes: 90 * MiB }));
    const t = trends([...before, ...after], 300, 600, BOUNDS).find((x) => x.quantity === 'rssBytes')!;
    assert.equal(t.pid, 11);
    assert.equal(t.samples, after.length);
    assert.equal(t.ok, true);
    const few = trends(series('redis', 3, 300, 310, 5, () => ({})), 300, 600, BOUNDS);
    assert.ok(few.every((x) => !x.ok && /only 3 samples/.test(x.problem ?? '')));
  });

  test('CSV: a header and a row per sample', () => {
    const csv = samplesCsv(series('node-a', 1, 0, 5, 5, () => ({})));
    assert.deepEqual(csv.trim().split('\n'), [
      't_s,process,pid,rss_bytes,heap_used_bytes,heap_total_bytes,fds,connections,load1',
      `0,node-a,1,${100 * MiB},${20 * MiB},${30 * MiB},40,10,1`,
      `5,node-a,1,${100 * MiB},${20 * MiB},${30 * MiB},40,10,1`,
    ]);
  });
});

function result(over: Partial<SoakResult>): SoakResult {
  const samples = series('node-a', 1, 0, 120, 5, () => ({}));
  return {
    command: 'npm run soak', machine: { cpu: 'test' }, settings: {}, startedAt: '2026-01-01T00:00:00Z', loadSeconds: 120,
    window: { fromS: 60, toS: 120 }, samples, trends: trends(samples, 60, 120, BOUNDS),
    restart: { node: 'node-b', oldPid: 2, newPid: 3, stopAt: 30_000, exitedAt: 34_000, upAt: 36_000, exitCode: 0, movedPorts: false, drainLog: [], stopS: 30, upS: 36 },
    topics: [{ subscriber: 's', publisher: 0, first: 1, expected: 10, received: 10, silentLoss: 0, toldLoss: 0, duplicates: 0, examples: [] }],
    topicsPublished: { 0: 10 },
    queues: { confirmedSends: 5, unconfirmedSends: 0, deliveries: 6, redeliveries: 1, nacks: 1, ackedOnce: 5, lost: 0, neverDelivered: 0, duplicates: 0, examples: [] },
    churn: { cycles: { ws: 3, tcp: 3 }, messages: 30, lost: 0, failures: {} },
    errors: {}, drainErrors: 4, sampleMisses: {}, settled: { topics: true, queues: true, seconds: 0.5 },
    ...over,
  };
}

describe('the verdict', () => {
  test('passes when flat and lossless; names every failure otherwise', () => {
    assert.deepEqual(failures(result({})), []);
    assert.match(markdown(result({})), /^\*\*PASS\*\*/);
    const bad = result({
      topics: [{ subscriber: 's', publisher: 0, first: 1, expected: 10, received: 9, silentLoss: 1, toldLoss: 0, duplicates: 0, examples: [7] }],
      queues: { confirmedSends: 5, unconfirmedSends: 0, deliveries: 6, redeliveries: 1, nacks: 1, ackedOnce: 4, lost: 1, neverDelivered: 1, duplicates: 0, examples: ['0:3'] },
      restart: undefined,
    });
    const f = failures(bad);
    assert.equal(f.length, 3);
    assert.match(f[0]!, /topics: 1 confirmed messages lost silently \(e\.g\. s\/pub0: 7\)/);
    assert.match(f[1]!, /queues: 1 confirmed messages never acked/);
    assert.match(f[2]!, /restart did not happen/);
    assert.match(markdown(bad), /^\*\*FAIL\*\*/);
  });
});

describe('options', () => {
  test('defaults, --minutes, and clear errors', () => {
    const d = parseSoakArgs([])!;
    assert.equal(d.minutes, 10);
    assert.equal(d.brokerCore, 0);
    assert.equal(d.loadCore, 1);
    assert.equal(parseSoakArgs(['--minutes', '30'])!.minutes, 30);
    assert.equal(parseSoakArgs(['--no-pin'])!.brokerCore, undefined);
    assert.equal(parseSoakArgs(['--help']), undefined);
    assert.throws(() => parseSoakArgs(['--minutes', '0']), (e: unknown) => e instanceof UsageError && /--minutes must be a number between 0.5/.test(e.message));
    assert.throws(() => parseSoakArgs(['--churners', '1.5']), /whole number/);
    assert.throws(() => parseSoakArgs(['--bogus']), UsageError);
  });
});

describe('chart', () => {
  test('an SVG with a line per process and the three panels', async () => {
    const samples = [
      ...series('node-a', 1, 0, 120, 5, (t) => ({ rssBytes: (100 + t / 60) * MiB })),
      ...series('redis', 2, 0, 120, 5, () => ({ rssBytes: 10 * MiB })),
    ];
    const svg = await renderChart(samples, { title: 'test chart', window: { fromS: 60, toS: 120 }, restart: { stopS: 30, upS: 36 } });
    assert.match(svg, /^<svg/);
    for (const text of ['test chart', 'node-a', 'redis', 'RSS (MiB)', 'open file descriptors', 'minutes since start']) assert.ok(svg.includes(text), `SVG mentions ${text}`);
    assert.ok((svg.match(/<path/g) ?? []).length >= 6, 'lines drawn');
  });
});

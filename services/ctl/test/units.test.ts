// The pure pieces: duration parsing, value formatting, paging and stats rates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { WatchStatsResponse } from '@stompede/admin-api';
import { formatBytes, formatMs } from '../src/format.js';
import { parseDurationMs, parseNameList, parsePositiveInteger } from '../src/options.js';
import { collectPages } from '../src/paging.js';
import { DEFAULT_COLUMNS } from '../src/stats/columns.js';
import { renderStatsSnapshot } from '../src/stats/table.js';

describe('option values', () => {
  test('durations in ms, s, m, h or plain milliseconds', () => {
    const cases: Array<[string, number]> = [['500ms', 500], ['10s', 10_000], ['2m', 120_000], ['1h', 3_600_000], ['250', 250], ['1.5s', 1_500], ['0', 0]];
    for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
    for (const text of ['', 's', '10 s', '-5s', '5d', 'ten', '1e3']) {
      assert.throws(() => parseDurationMs(text), InvalidArgumentError, text);
    }
  });

  test('counts and name lists', () => {
    assert.equal(parsePositiveInteger('25'), 25);
    for (const text of ['0', '-1', '2.5', 'x', '']) assert.throws(() => parsePositiveInteger(text), InvalidArgumentError, text);
    assert.deepEqual(parseNameList(' a, b ,,c'), ['a', 'b', 'c']);
    assert.throws(() => parseNameList(' , '), InvalidArgumentError);
  });
});

describe('formatting', () => {
  test('durations read at a glance', () => {
    const cases: Array<[number, string]> = [
      [0.25, '0.3ms'], [3, '3ms'], [250, '250ms'], [1_500, '1.5s'], [65_000, '1m 5s'], [7_500_000, '2h 5m'], [90_000_000, '1d 1h'],
    ];
    for (const [ms, text] of cases) assert.equal(formatMs(ms), text, String(ms));
    assert.equal(formatMs(Number.NaN), '-');
  });

  test('bytes in binary units', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(2048), '2.0 KiB');
    assert.equal(formatBytes(150 * 1024 * 1024), '150.0 MiB');
  });
});

describe('paging', () => {
  test('a server that repeats its page token does not make the CLI page forever', async () => {
    let pages = 0;
    const collected = await collectPages(async () => {
      pages += 1;
      return { rows: [pages], nextPageToken: 'same', unreachableNodes: [] };
    }, 1_000);
    assert.equal(pages, 2);
    assert.deepEqual(collected.rows, [1, 2]);
  });
});

describe('stats rates', () => {
  const at = (seconds: number, published: number): WatchStatsResponse => WatchStatsResponse.fromPartial({
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, seconds)),
    nodes: [{ nodeId: 'n', reachable: true, samples: [{ name: 'stompede_messages_published_total', value: published }] }],
  });
  const pubPerSecond = (text: string): string => text.trim().split('\n')[2]!.trim().split(/\s{2,}/)[4]!;

  test('the change per second of server time between two snapshots', () => {
    assert.equal(pubPerSecond(renderStatsSnapshot(DEFAULT_COLUMNS, at(4, 900), at(2, 100))), '400.0');
  });

  test('no rate for the first snapshot, nor after a counter reset', () => {
    assert.equal(pubPerSecond(renderStatsSnapshot(DEFAULT_COLUMNS, at(2, 100), undefined)), '-');
    assert.equal(pubPerSecond(renderStatsSnapshot(DEFAULT_COLUMNS, at(4, 10), at(2, 100))), '-');
  });
});

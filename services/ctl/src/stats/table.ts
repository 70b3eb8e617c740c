// One stats snapshot as a table: a row per node, a column per metric (summed over labels), and
// rates against the previous snapshot of the same node.
import type { MetricSample, NodeStats, WatchStatsResponse } from '@stompede/admin-api';
import { formatNumber, formatRate, formatTime, renderTable, type Cell } from '../format.js';
import type { StatsColumn } from './columns.js';

export function renderStatsSnapshot(
  columns: readonly StatsColumn[],
  snapshot: WatchStatsResponse,
  previous: WatchStatsResponse | undefined,
): string {
  const earlier = new Map((previous?.nodes ?? []).map((node) => [node.nodeId, node]));
  const elapsedSeconds = secondsBetween(previous?.time, snapshot.time);
  const rows = snapshot.nodes.map((node): Cell[] => {
    if (!node.reachable) return [node.nodeId, { colSpan: columns.length, content: `unreachable: ${node.error || 'no answer'}` }];
    const sums = sumsByName(node.samples);
    const earlierSums = sumsOf(earlier.get(node.nodeId));
    return [node.nodeId, ...columns.map((column) => cellFor(column, sums, earlierSums, elapsedSeconds))];
  });
  const table = renderTable(['NODE', ...columns.map((column) => column.header)], rows);
  return `at ${formatTime(snapshot.time)}\n${table}`;
}

function cellFor(
  column: StatsColumn,
  sums: ReadonlyMap<string, number>,
  earlierSums: ReadonlyMap<string, number> | undefined,
  elapsedSeconds: number | undefined,
): string {
  const now = sums.get(column.metric);
  if (column.kind === 'value') return now === undefined ? '-' : formatNumber(now);
  const before = earlierSums?.get(column.metric);
  if (now === undefined || before === undefined || elapsedSeconds === undefined) return '-';
  // A counter that went down was reset (the node restarted): no rate for this interval.
  return now < before ? '-' : formatRate((now - before) / elapsedSeconds);
}

function sumsOf(node: NodeStats | undefined): ReadonlyMap<string, number> | undefined {
  return node?.reachable ? sumsByName(node.samples) : undefined;
}

function sumsByName(samples: readonly MetricSample[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const sample of samples) sums.set(sample.name, (sums.get(sample.name) ?? 0) + sample.value);
  return sums;
}

/** Seconds between two snapshot times, by the server's clock; undefined when unknown or not later. */
function secondsBetween(earlier: Date | undefined, later: Date | undefined): number | undefined {
  if (earlier === undefined || later === undefined) return undefined;
  const seconds = (later.getTime() - earlier.getTime()) / 1_000;
  return seconds > 0 ? seconds : undefined;
}

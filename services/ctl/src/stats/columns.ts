// Which metrics `stats` shows, and under which headers. Counters (Prometheus names ending in
// _total) also get a per-second rate column, computed between two snapshots.

export interface StatsColumn {
  readonly header: string;
  /** Summed over all label sets of this metric name. */
  readonly metric: string;
  /** `rate`: the change per second since the previous snapshot. */
  readonly kind: 'value' | 'rate';
}

export const DEFAULT_COLUMNS: readonly StatsColumn[] = [
  { header: 'CONNS', metric: 'stompede_connections', kind: 'value' },
  { header: 'SUBS', metric: 'stompede_subscriptions', kind: 'value' },
  { header: 'PUBLISHED', metric: 'stompede_messages_published_total', kind: 'value' },
  { header: 'PUB/S', metric: 'stompede_messages_published_total', kind: 'rate' },
  { header: 'DELIVERED', metric: 'stompede_messages_delivered_total', kind: 'value' },
  { header: 'DELIV/S', metric: 'stompede_messages_delivered_total', kind: 'rate' },
  { header: 'ERRORS', metric: 'stompede_errors_total', kind: 'value' },
  { header: 'DRAIN', metric: 'stompede_drain_state', kind: 'value' },
];

export function columnsForNames(names: readonly string[]): StatsColumn[] {
  return names.flatMap((metric): StatsColumn[] => {
    const value: StatsColumn = { header: metric, metric, kind: 'value' };
    return metric.endsWith('_total') ? [value, { header: `${metric}/s`, metric, kind: 'rate' }] : [value];
  });
}

/** The names to ask the server for, each once. */
export function metricNames(columns: readonly StatsColumn[]): string[] {
  return [...new Set(columns.map((column) => column.metric))];
}

// Values and tables as people read them. Tables are borderless and colourless (kubectl style), so
// they survive pipes, grep and awk.
import Table from 'cli-table3';
import { msFromDuration, type Duration } from '@stompede/admin-api';

export type Cell = Table.Cell;

const NO_BORDERS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '',
  middle: '   ',
};

/** Columns under a header row. */
export function renderTable(head: readonly string[], rows: readonly Cell[][]): string {
  const table = new Table({ head: [...head], chars: NO_BORDERS, style: plainStyle() });
  table.push(...rows);
  return tidy(table.toString());
}

/** Two columns, names and values: one record. */
export function renderPairs(pairs: ReadonlyArray<readonly [string, string]>): string {
  const table = new Table({ chars: NO_BORDERS, style: plainStyle() });
  table.push(...pairs.map(([name, value]) => [name, value]));
  return tidy(table.toString());
}

function plainStyle(): { 'padding-left': number; 'padding-right': number; head: string[]; border: string[] } {
  return { 'padding-left': 0, 'padding-right': 0, head: [], border: [] };
}

/** The empty border lines and the padding after the last column go. */
function tidy(rendered: string): string {
  return rendered
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .join('\n');
}

/** "NODE_STATE_DRAINING" with prefix "NODE_STATE_" as "draining". */
export function enumLabel(jsonName: string, prefix: string): string {
  const label = jsonName.startsWith(prefix) ? jsonName.slice(prefix.length) : jsonName;
  return label.toLowerCase().replaceAll('_', '-');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** 0.4ms, 12ms, 3.5s, 2m 5s, 3h 10m, 4d 2h: two units at most, enough to read at a glance. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 10) return `${Number(ms.toFixed(1))}ms`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  const seconds = Math.floor(ms / 1_000);
  const [days, hours, minutes] = [Math.floor(seconds / 86_400), Math.floor(seconds / 3_600) % 24, Math.floor(seconds / 60) % 60];
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  return `${minutes}m ${seconds % 60}s`;
}

export function formatDuration(duration: Duration | undefined): string {
  return duration === undefined ? '-' : formatMs(msFromDuration(duration));
}

/** Per-second rates: one decimal, which is what the one-second sampling of a node can tell. */
export function formatRate(perSecond: number | undefined): string {
  return perSecond === undefined || !Number.isFinite(perSecond) ? '-' : perSecond.toFixed(1);
}

/** CPU time per second of wall time, as top shows it: 100% is one core. */
export function formatCores(cores: number): string {
  return `${Math.round(cores * 100)}%`;
}

/** UTC, to the second: 2025-01-02T03:04:05Z. */
export function formatTime(time: Date | undefined): string {
  return time === undefined ? '-' : time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A metric value: integers as they are, fractions with up to three decimals. */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}

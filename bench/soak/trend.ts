// Is a process's memory or descriptor count flat? Least-squares slope of each measured quantity
// over the second half of the load, per process, against a bound. Pure (bench/test/soak-trend.test.ts).

/** One reading of one process. */
export interface Sample {
  /** Seconds since the soak started. */
  readonly t: number;
  /** node-a, node-b, node-c or redis. */
  readonly process: string;
  readonly pid: number;
  readonly rssBytes: number;
  /** V8 heap in use (nodes; Redis: used_memory, its allocator's count). */
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly fds: number;
  readonly connections: number;
  /** 1-minute load average of the machine. */
  readonly load1: number;
}

export type Quantity = 'rssBytes' | 'heapUsedBytes' | 'fds';

/** Upper bounds of the slopes, per minute. */
export interface Bounds {
  readonly rssBytesPerMin: number;
  readonly heapBytesPerMin: number;
  readonly fdsPerMin: number;
}

export interface Trend {
  readonly process: string;
  readonly pid: number;
  readonly quantity: Quantity;
  readonly samples: number;
  /** Least-squares slope, units per minute. */
  readonly slopePerMin: number;
  readonly bound: number;
  readonly first: number;
  readonly last: number;
  readonly ok: boolean;
  /** Why there is no verdict (too few samples), if so. */
  readonly problem?: string;
}

/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function slope(points: readonly { readonly x: number; readonly y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

export const MIN_SAMPLES = 6;

/**
 * Slopes of every process over [fromS, toS]. A process counts with the samples of the pid it had at
 * the end of the window (a restarted node: its new process only).
 */
export function trends(samples: readonly Sample[], fromS: number, toS: number, bounds: Bounds): Trend[] {
  const inWindow = samples.filter((s) => s.t >= fromS && s.t <= toS);
  const out: Trend[] = [];
  for (const name of [...new Set(inWindow.map((s) => s.process))]) {
    const mine = inWindow.filter((s) => s.process === name);
    const pid = mine.at(-1)!.pid;
    const series = mine.filter((s) => s.pid === pid);
    const limits: Record<Quantity, number> = { rssBytes: bounds.rssBytesPerMin, heapUsedBytes: bounds.heapBytesPerMin, fds: bounds.fdsPerMin };
    for (const quantity of Object.keys(limits) as Quantity[]) {
      const perMin = slope(series.map((s) => ({ x: s.t / 60, y: s[quantity] })));
      const problem = series.length < MIN_SAMPLES ? `only ${series.length} samples (at least ${MIN_SAMPLES} needed)` : undefined;
      out.push({
        process: name, pid, quantity, samples: series.length, slopePerMin: perMin, bound: limits[quantity],
        first: series[0]![quantity], last: series.at(-1)![quantity],
        ok: problem === undefined && perMin <= limits[quantity], ...(problem !== undefined && { problem }),
      });
    }
  }
  return out;
}

const CSV_COLUMNS: readonly (keyof Sample)[] = ['t', 'process', 'pid', 'rssBytes', 'heapUsedBytes', 'heapTotalBytes', 'fds', 'connections', 'load1'];

export function samplesCsv(samples: readonly Sample[]): string {
  const header = ['t_s', 'process', 'pid', 'rss_bytes', 'heap_used_bytes', 'heap_total_bytes', 'fds', 'connections', 'load1'].join(',');
  return [header, ...samples.map((s) => CSV_COLUMNS.map((k) => String(s[k])).join(','))].join('\n') + '\n';
}

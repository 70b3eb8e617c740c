// The driver's metrics: k6's counter and trend kinds under the names of METRICS, mergeable across
// worker processes (trends are stompbench's log-linear histograms of microseconds, sent as sparse
// bucket lists).
import { Hist, type SparseHist } from '../../bench/stompbench/lib.js';
import { METRICS, type MetricName } from '../k6/lib/scenario-core.js';

export interface MetricsJson {
  readonly counters: Record<string, number>;
  readonly trends: Record<string, SparseHist>;
}

/** The k6 aggregation methods a threshold can name, of one metric. */
export interface MetricValues {
  readonly [method: string]: number | undefined;
}

export class Metrics {
  private readonly counters = new Map<MetricName, number>();
  private readonly trends = new Map<MetricName, Hist>();

  add(name: MetricName, value = 1): void {
    if (METRICS[name] === 'trend') {
      let h = this.trends.get(name);
      if (h === undefined) this.trends.set(name, (h = new Hist()));
      h.record(value * 1000); // ms in, us buckets
    } else {
      this.counters.set(name, (this.counters.get(name) ?? 0) + value);
    }
  }

  count(name: MetricName): number {
    return METRICS[name] === 'trend' ? (this.trends.get(name)?.n ?? 0) : (this.counters.get(name) ?? 0);
  }

  merge(other: MetricsJson): void {
    for (const [name, v] of Object.entries(other.counters)) this.add(name as MetricName, v);
    for (const [name, sparse] of Object.entries(other.trends)) {
      const h = this.trends.get(name as MetricName);
      if (h === undefined) this.trends.set(name as MetricName, Hist.fromSparse(sparse));
      else h.merge(Hist.fromSparse(sparse));
    }
  }

  toJSON(): MetricsJson {
    return {
      counters: Object.fromEntries(this.counters),
      trends: Object.fromEntries([...this.trends].map(([k, h]) => [k, h.toSparse()])),
    };
  }

  /**
   * Values of `name` as k6 computes them for thresholds: counters have count and rate (per second
   * of `elapsedSec`); trends avg, min, med, max, count and p(N) (ms, from the histogram: within
   * 0.2%). A metric never recorded is a counter at 0, or a trend with no values.
   */
  values(name: MetricName, elapsedSec: number, percentiles: readonly number[] = [50, 90, 95, 99]): MetricValues {
    if (METRICS[name] !== 'trend') {
      const count = this.counters.get(name) ?? 0;
      return { count, rate: elapsedSec > 0 ? count / elapsedSec : 0 };
    }
    const h = this.trends.get(name);
    if (h === undefined || h.n === 0) return { count: 0 };
    const ms = (us: number | null): number | undefined => (us === null ? undefined : us / 1000);
    const out: Record<string, number | undefined> = { count: h.n, avg: h.sum / h.n / 1000, max: h.max / 1000, med: ms(h.pct(50)), min: ms(h.pct(0)) };
    for (const p of percentiles) out[`p(${p})`] = ms(h.pct(p));
    return out;
  }
}

// The k6 metric objects of every name in METRICS (scenario-core.ts), created once per VU in the
// init context, as k6 requires.
import { Counter, Trend } from 'k6/metrics';
import { METRICS, type MetricName } from './scenario-core.ts';

type Recorder = Counter | Trend;

const recorders = {} as Record<MetricName, Recorder>;
for (const [name, kind] of Object.entries(METRICS) as [MetricName, string][]) {
  recorders[name] = kind === 'trend' ? new Trend(name, name.endsWith('_ms')) : new Counter(name);
}

/** Adds `value` to a counter, or records it in a trend. */
export function record(name: MetricName, value = 1): void {
  recorders[name].add(value);
}

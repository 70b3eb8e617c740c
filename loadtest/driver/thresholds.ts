// k6 threshold expressions ("p(99)<250", "count==0", "rate>=100"), evaluated on the driver's
// metrics: the same strings k6 gets in options.thresholds, so both sides pass or fail alike.
import { METRICS, type MetricName } from '../k6/lib/scenario-core.js';
import type { Metrics } from './metrics.js';

export interface ThresholdResult {
  readonly metric: string;
  readonly expression: string;
  /** The aggregated value the expression compared, or undefined when the metric had no values. */
  readonly value: number | undefined;
  readonly ok: boolean;
}

const EXPRESSION = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

interface Parsed {
  readonly method: string;
  readonly percentile: number | undefined;
  readonly op: string;
  readonly bound: number;
}

export function parseThreshold(expression: string): Parsed {
  const m = EXPRESSION.exec(expression);
  if (m === null) throw new Error(`not a k6 threshold expression: "${expression}" (expected e.g. "p(99)<250" or "count==0")`);
  return { method: m[1]!, percentile: m[2] === undefined ? undefined : Number(m[2]), op: m[3]!, bound: Number(m[4]) };
}

function compare(value: number, op: string, bound: number): boolean {
  switch (op) {
    case '<': return value < bound;
    case '<=': return value <= bound;
    case '>': return value > bound;
    case '>=': return value >= bound;
    case '!=': return value !== bound;
    default: return value === bound; // == and ===
  }
}

/**
 * Evaluates every expression. A trend with no values fails any expression on it (k6 would report
 * no data; a threshold on latency that saw no message must not pass).
 */
export function evaluateThresholds(thresholds: Readonly<Record<string, readonly string[]>>, metrics: Metrics, elapsedSec: number): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [metric, expressions] of Object.entries(thresholds)) {
    if (!(metric in METRICS)) throw new Error(`threshold on unknown metric ${metric}`);
    const parsed = expressions.map(parseThreshold);
    const percentiles = parsed.flatMap((p) => (p.percentile === undefined ? [] : [p.percentile]));
    const values = metrics.values(metric as MetricName, elapsedSec, percentiles);
    parsed.forEach((p, i) => {
      const value = values[p.method === 'value' ? 'count' : p.method];
      results.push({ metric, expression: expressions[i]!, value, ok: value !== undefined && compare(value, p.op, p.bound) });
    });
  }
  return results;
}

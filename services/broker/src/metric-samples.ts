// The samples of the metrics registry in the admin API's form: WatchStats streams the very counters
// /metrics exports. Except the event-loop lag gauges: prom-client resets their histogram each time
// they are read, so a WatchStats stream reading them every second would leave Prometheus a lag
// measured over whatever interval remained since the last stream read. GetNode reports the lag
// from the control plane's own monitor instead.
import type { MetricSample } from '@stompede/admin-api';
import type { Registry } from 'prom-client';

const RESET_ON_READ = /^nodejs_eventloop_lag_/;

export async function metricSamples(registry: Registry, names: readonly string[]): Promise<MetricSample[]> {
  const wanted = names.length > 0 ? new Set(names) : undefined;
  const out: MetricSample[] = [];
  for (const { name } of registry.getMetricsAsArray()) {
    if (RESET_ON_READ.test(name) || (wanted !== undefined && !wanted.has(name))) continue;
    const metric = registry.getSingleMetric(name);
    if (metric === undefined) continue;
    const { values } = await metric.get();
    for (const v of values) {
      const labels: Record<string, string> = {};
      for (const [k, l] of Object.entries(v.labels)) labels[k] = String(l);
      out.push({ name: (v as { metricName?: string }).metricName ?? name, labels, value: v.value });
    }
  }
  return out;
}

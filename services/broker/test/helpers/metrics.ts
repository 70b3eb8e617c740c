// What a broker process reports about itself: /metrics (parsed as Prometheus text by a parser, not
// by regular expressions) and /proc readings.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import type { BrokerHandle } from './broker-process.js';

/** Text of /metrics. */
export async function metricsText(broker: BrokerHandle): Promise<string> {
  return (await fetch(`${broker.httpUrl}/metrics`)).text();
}

/** The metric families of a /metrics text, by name. */
export function parseMetrics(text: string): Map<string, PrometheusFamily> {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

/**
 * Sum of the samples of counter or gauge `name` whose labels include `labels` (all samples when
 * none are given), or undefined when the metric is not exported.
 */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const family = parseMetrics(text).get(name);
  if (family === undefined) return undefined;
  let sum = 0;
  for (const sample of family.metrics) {
    if (Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v)) sum += Number(sample.value);
  }
  return sum;
}

/** metricValue() on the broker's /metrics; fails when the metric is not exported. */
export async function metric(broker: BrokerHandle, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number> {
  const value = metricValue(await metricsText(broker), name, labels);
  assert.ok(value !== undefined, `metric ${name} not exported`);
  return value;
}

/** Open file descriptors of a process (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

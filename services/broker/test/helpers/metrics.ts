// What a broker process reports about itself: /metrics values and /proc readings.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { BrokerHandle } from './broker-process.js';

/** Text of /metrics. */
export async function metricsText(broker: BrokerHandle): Promise<string> {
  return (await fetch(`${broker.httpUrl}/metrics`)).text();
}

/** Value of an unlabelled metric in a /metrics text, or undefined when it is not exported. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Value of an unlabelled counter or gauge on /metrics; fails when it is not exported. */
export async function metric(broker: BrokerHandle, name: string): Promise<number> {
  const value = metricValue(await metricsText(broker), name);
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

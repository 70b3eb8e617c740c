// Loading a scenario file in k6 and turning it into k6 options: the scenario JSON is read with
// open() by each script (paths resolve against the script), the profile comes from -e PROFILE=...,
// the node URLs from -e STOMP_URLS=ws://a/ws,ws://b/ws.
import type { Options, Scenario as K6Scenario } from 'k6/options';
import { resolveScenario, type Params, type Scenario, type ScenarioFile } from './scenario-core.ts';

export function loadScenario(name: string, json: string): Scenario {
  const overrides: Record<string, number | string> = {};
  // -e P_<param>=<value> overrides one parameter, as the driver's --set does.
  for (const [key, value] of Object.entries(__ENV)) {
    if (!key.startsWith('P_')) continue;
    const n = Number(value);
    overrides[key.slice(2)] = value !== '' && Number.isFinite(n) ? n : value;
  }
  return resolveScenario(name, JSON.parse(json) as ScenarioFile, __ENV['PROFILE'] ?? 'default', overrides as Params);
}

/** The broker WebSocket URLs (-e STOMP_URLS, comma-separated); default a local node. */
export function nodeUrls(): string[] {
  const urls = (__ENV['STOMP_URLS'] ?? 'ws://127.0.0.1:15674/ws').split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new Error('STOMP_URLS names no URL');
  return urls;
}

/** k6 options: the given k6 scenarios, and the scenario file's thresholds (which fail the run). */
export function k6Options(scenario: Scenario, scenarios: Record<string, K6Scenario>): Options {
  const thresholds: Record<string, string[]> = {};
  for (const [metric, expressions] of Object.entries(scenario.thresholds)) thresholds[metric] = [...expressions];
  return { scenarios, thresholds, summaryTrendStats: ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max', 'count'] };
}

/** k6 duration text for seconds. */
export const seconds = (s: number): string => `${Math.max(0, Math.round(s * 1000))}ms`;

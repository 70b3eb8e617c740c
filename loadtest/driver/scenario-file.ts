// Reads loadtest/scenarios/<name>.json, the same file the k6 script of that name opens.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveScenario, type Params, type Scenario, type ScenarioFile } from '../k6/lib/scenario-core.js';

export const SCENARIO_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadScenario(name: string, profile = 'default', overrides: Params = {}): Scenario {
  if (!scenarioNames().includes(name)) throw new Error(`no scenario "${name}" (there are: ${scenarioNames().join(', ')})`);
  const file = JSON.parse(readFileSync(`${SCENARIO_DIR}${name}.json`, 'utf8')) as ScenarioFile;
  return resolveScenario(name, file, profile, overrides);
}

/** "key=value" pairs from --set; numbers and booleans become numbers and booleans. */
export function parseOverrides(pairs: readonly string[]): Params {
  const out: Record<string, number | string | boolean> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--set needs key=value, got "${pair}"`);
    const raw = pair.slice(eq + 1);
    const n = Number(raw);
    out[pair.slice(0, eq)] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(n) ? n : raw;
  }
  return out;
}

// The k6 scripts cannot run here (k6 is not installed): they are type-checked against @types/k6,
// and each is checked to load its own scenario file, whose thresholds are valid k6 expressions on
// metrics the scenarios record, in every profile.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ScenarioFile } from '../k6/lib/scenario-core.js';
import { parseThreshold } from '../driver/thresholds.js';
import { loadScenario, scenarioNames, SCENARIO_DIR } from '../driver/scenario-file.js';

const K6_DIR = fileURLToPath(new URL('../k6/', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
/** Scenarios only the driver runs (the rollout rehearsal). */
const DRIVER_ONLY = ['rollout'];

test('the k6 scripts type-check against @types/k6', async () => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [TSC, '--noEmit', '-p', `${K6_DIR}tsconfig.json`], { timeout: 180_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : 1, output: stdout + stderr }),
    );
  });
  assert.equal(code, 0, output);
});

test('every scenario file but the rollout rehearsal\'s has a k6 script that opens it, and no script opens another', () => {
  const scripts = readdirSync(K6_DIR).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  assert.deepEqual(scripts, scenarioNames().filter((n) => !DRIVER_ONLY.includes(n)));
  for (const name of scripts) {
    const text = readFileSync(`${K6_DIR}${name}.ts`, 'utf8');
    assert.ok(text.includes(`loadScenario('${name}', open('../scenarios/${name}.json'))`), `${name}.ts loads scenarios/${name}.json`);
    assert.match(text, /from 'k6|from '\.\/lib\//, `${name}.ts uses the shared modules`);
  }
});

test('every profile of every scenario resolves, and its thresholds are k6 expressions', () => {
  for (const name of scenarioNames()) {
    const file = JSON.parse(readFileSync(`${SCENARIO_DIR}${name}.json`, 'utf8')) as ScenarioFile;
    assert.ok(Object.keys(file.thresholds).length > 0, `${name} has thresholds`);
    assert.ok(file.profiles?.['smoke'] !== undefined, `${name} has a smoke profile for CI`);
    for (const profile of ['default', ...Object.keys(file.profiles ?? {})]) {
      const scenario = loadScenario(name, profile);
      for (const expressions of Object.values(scenario.thresholds)) for (const e of expressions) parseThreshold(e);
    }
  }
  assert.throws(() => parseThreshold('p99 < 5'), /not a k6 threshold expression/);
  assert.throws(() => loadScenario('fanout', 'nope'), /has no profile "nope"/);
});

// Every rule of the STOMP 1.2 server checklist (../shared/research/features.md section 2, 62
// rules) must have at least one test titled "#<rule> ...". This test reads the test sources and
// fails naming the rules that have none, so a rule cannot silently lose its test.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const RULES = 62;
const DIR = fileURLToPath(new URL('.', import.meta.url));

test('every checklist rule has a test', () => {
  const covered = new Map<number, string[]>();
  for (const file of readdirSync(DIR).filter((f) => f.startsWith('conformance-') && f.endsWith('.test.ts'))) {
    const source = readFileSync(DIR + file, 'utf8');
    for (const m of source.matchAll(/\btest\(\s*[`'"]#(\d+)\b/g)) {
      const rule = Number(m[1]);
      covered.set(rule, [...(covered.get(rule) ?? []), file]);
    }
  }
  const missing: number[] = [];
  for (let rule = 1; rule <= RULES; rule++) if (!covered.has(rule)) missing.push(rule);
  assert.deepEqual(missing, [], `checklist rules without a test: ${missing.join(', ')}`);
  const unknown = [...covered.keys()].filter((r) => r < 1 || r > RULES);
  assert.deepEqual(unknown, [], `tests name rules that do not exist: ${unknown.join(', ')}`);
});

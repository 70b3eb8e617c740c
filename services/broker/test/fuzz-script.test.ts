// `npm run fuzz` (scripts/fuzz.mjs): a short parser-only run passes and prints its seed for replay,
// and bad arguments are refused. (The live part is fuzz-live.test.ts, which the suite runs itself.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function fuzz(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ['scripts/fuzz.mjs', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

test('npm run fuzz -- --seconds 2 --seed 4242 --only parser passes and prints the seed to replay', () => {
  const { status, output } = fuzz('--seconds', '2', '--seed', '4242', '--only', 'parser');
  assert.equal(status, 0, output);
  assert.match(output, /fuzz: seed 4242, 2 s \(replay: npm run fuzz -- --seconds 2 --seed 4242 --only parser\)/);
  assert.match(output, /fuzz: passed \(seed 4242\)/);
});

test('npm run fuzz refuses bad arguments', () => {
  for (const args of [['--seconds', '0'], ['--seed', 'x'], ['--only', 'everything']]) {
    const { status, output } = fuzz(...args);
    assert.equal(status, 2, `${args.join(' ')}: ${output}`);
    assert.match(output, /usage: npm run fuzz/);
  }
});

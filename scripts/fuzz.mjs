// `npm run fuzz -- [--seconds N] [--seed S] [--only parser|live]`: fuzzes for a chosen time. The
// parser's property tests (libs/stomp/test/parser.property.test.ts: arbitrary, mutated and chunked
// input) take a third of the time, live fuzzing of a started broker node (services/broker/test/
// fuzz-live.test.ts: generated garbage over TCP and WebSocket next to well-behaved clients) the
// rest. The seed is printed first; the same --seed and --seconds replay a run. The test suite runs
// both files with a fixed seed and a small fixed number of cases: the short slice CI runs.
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FILES = {
  parser: 'libs/stomp/test/parser.property.test.ts',
  live: 'services/broker/test/fuzz-live.test.ts',
};
const USAGE = 'usage: npm run fuzz -- [--seconds N] [--seed S] [--only parser|live]';

function options() {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const seconds = Number(values.seconds);
  const seed = values.seed === undefined ? randomInt(1, 2 ** 31 - 1) : Number(values.seed);
  if (!Number.isFinite(seconds) || seconds <= 0) fail(`--seconds must be a positive number, got ${values.seconds}`);
  if (!Number.isInteger(seed)) fail(`--seed must be an integer, got ${values.seed}`);
  if (values.only !== undefined && !(values.only in FILES)) fail(`--only must be parser or live, got ${values.only}`);
  return { seconds, seed, only: values.only };
}

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** Runs one test file with the fuzzing budget; returns whether it passed. */
function run(file, seconds, seed) {
  const env = { ...process.env, FUZZ_SECONDS: seconds.toFixed(1), FUZZ_SEED: String(seed) };
  const args = ['--conditions=source', '--import', 'tsx', '--test', '--test-reporter=spec', file];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
  return r.status === 0;
}

const { seconds, seed, only } = options();
console.log(`fuzz: seed ${seed}, ${seconds} s (replay: npm run fuzz -- --seconds ${seconds} --seed ${seed}${only ? ` --only ${only}` : ''})`);
const parts = only === 'parser' ? [['parser', seconds]] : only === 'live' ? [['live', seconds]] : [['parser', seconds / 3], ['live', (seconds * 2) / 3]];
if (parts.some(([name]) => name === 'live')) {
  // The live part starts the built broker: build it if it is missing or stale.
  const build = spawnSync('make', ['--no-print-directory', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const failed = parts.filter(([name, s]) => !run(FILES[name], s, seed)).map(([name]) => name);
if (failed.length > 0) {
  console.error(`fuzz: ${failed.join(' and ')} failed; replay with --seed ${seed} --seconds ${seconds}`);
  process.exit(1);
}
console.log(`fuzz: passed (seed ${seed})`);

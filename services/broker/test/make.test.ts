// `make run` must not reinstall or rebuild when nothing changed: after `make test` has built the
// tree, a dry run of `make run` may only start the node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('a second `make run` neither installs nor builds', () => {
  const plan = execFileSync('make', ['-n', 'run'], { cwd: ROOT, encoding: 'utf8' });
  assert.doesNotMatch(plan, /npm (ci|install)/, `make run would reinstall:\n${plan}`);
  assert.doesNotMatch(plan, /tsc/, `make run would rebuild:\n${plan}`);
  assert.match(plan, /node services\/broker\/dist\/main\.js/);
});

test('`make run` passes the environment through to the node', () => {
  const plan = execFileSync('make', ['-n', 'run', 'ARGS=--ws-port 25674'], { cwd: ROOT, encoding: 'utf8' });
  // make exports its environment to recipes; the recipe must not pin ports or reset variables.
  assert.match(plan, /^node services\/broker\/dist\/main\.js --ws-port 25674\s*$/m);
  assert.doesNotMatch(plan, /STOMPEDE_\w+=/);
});

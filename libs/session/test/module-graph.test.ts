// The module graph of every package is acyclic, type-only imports included: a module depends on the
// modules below it and on small owner interfaces (host.ts, subscription.ts's SubscriberSession),
// never back on what depends on it. Imports are read with TypeScript's own pre-processor.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['libs/stomp', 'libs/broker-api', 'libs/cluster', 'libs/session', 'libs/auth', 'libs/control', 'services/broker', 'services/ctl'];

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.startsWith('gen/'))
    .map((f) => join(dir, f));
}

/** Relative imports of a module, resolved to source files. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name.replace(/\.js$/, '.ts')));
}

/** A cycle in the graph as a list of files, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

for (const pkg of PACKAGES) {
  test(`${pkg}: no import cycles between its modules`, () => {
    const src = join(ROOT, pkg, 'src');
    const graph = new Map(sources(src).map((f) => [f, importsOf(f)]));
    const cycle = findCycle(graph);
    assert.equal(cycle, undefined, `import cycle: ${cycle?.map((f) => f.slice(src.length + 1)).join(' -> ')}`);
  });
}

test('@stompede/broker-api, the contract, depends on nothing', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'libs/broker-api/package.json'), 'utf8')) as { dependencies?: object };
  assert.equal(pkg.dependencies, undefined);
  for (const file of sources(join(ROOT, 'libs/broker-api/src'))) {
    const external = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.filter((f) => !f.fileName.startsWith('.'));
    assert.deepEqual(external.map((f) => f.fileName), [], file);
  }
});

test('the session layer depends on the contract, not on the cluster plane (loading it loads no ioredis)', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'libs/session/package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@stompede/broker-api', '@stompede/stomp']);
  const { spawnSync } = await import('node:child_process');
  const probe = "import '@stompede/session'; import { createRequire } from 'node:module'; const r = createRequire(import.meta.url); console.log(JSON.stringify(Object.keys(r.cache)));";
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: join(ROOT, 'libs/session'), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const loaded = JSON.parse(run.stdout) as string[];
  assert.ok(!loaded.some((m) => m.includes('ioredis')), 'ioredis is not loaded');
});

// The admin API's protos: buf lint passes, nothing breaks wire compatibility with the previous
// commit's protos (buf breaking), and the generated code in libs/admin-api is what `make proto`
// produces from them now.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUF = join(ROOT, 'node_modules/.bin/buf');
const scratch = mkdtempSync(join(tmpdir(), 'stompede-proto-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

test('buf lint passes', () => {
  const run = spawnSync(BUF, ['lint'], { cwd: join(ROOT, 'proto'), encoding: 'utf8' });
  assert.equal(run.status, 0, `buf lint:\n${run.stdout}${run.stderr}`);
});

test('the protos stay wire-compatible with the previous commit (buf breaking)', (t) => {
  const previous = join(scratch, 'previous');
  const listed = spawnSync('git', ['ls-tree', '-r', '--name-only', 'HEAD~1', 'proto/'], { cwd: ROOT, encoding: 'utf8' });
  const paths = listed.status === 0 ? listed.stdout.split('\n').filter((p) => p.endsWith('.proto') || p.endsWith('buf.yaml')) : [];
  if (!paths.some((p) => p.endsWith('.proto'))) {
    t.skip(`HEAD~1 has no protos to compare with (${listed.status === 0 ? 'they were added since' : listed.stderr.trim()})`);
    return;
  }
  for (const p of paths) {
    const target = join(previous, relative('proto', p));
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, execFileSync('git', ['show', `HEAD~1:${p}`], { cwd: ROOT }));
  }
  const run = spawnSync(BUF, ['breaking', '--against', previous], { cwd: join(ROOT, 'proto'), encoding: 'utf8' });
  assert.equal(run.status, 0, `buf breaking against HEAD~1:\n${run.stdout}${run.stderr}`);
});

test('the generated code and descriptor set are fresh (make proto would not change them)', () => {
  const out = join(scratch, 'fresh');
  execFileSync(process.execPath, [join(ROOT, 'scripts/proto.mjs'), '--out', out], { cwd: ROOT, stdio: 'pipe' });
  const checkedIn = join(ROOT, 'libs/admin-api');
  const generated = files(join(out, 'src/gen'));
  assert.deepEqual(files(join(checkedIn, 'src/gen')), generated, 'the same generated files');
  for (const f of generated) {
    assert.equal(readFileSync(join(checkedIn, 'src/gen', f), 'utf8'), readFileSync(join(out, 'src/gen', f), 'utf8'), `src/gen/${f} is stale: run make proto`);
  }
  assert.ok(readFileSync(join(checkedIn, 'descriptors.binpb')).equals(readFileSync(join(out, 'descriptors.binpb'))), 'descriptors.binpb is stale: run make proto');
});

// Smoke test of the benchmark harness: bench/parser.mjs --quick runs, both parsers see the same frames,
// and every rate is a positive number. No speed is asserted (the machine may be busy).
// Needs the built libs (make build): parser.mjs imports @stompede/stomp from libs/stomp/dist.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface ParserSide {
  mb_s: number;
  frames_s: number;
  frames: number;
  body_bytes: number;
}
interface Chunking {
  chunks: number;
  stompede: ParserSide;
  stompjs: ParserSide;
  ratio: number;
  frames_equal: boolean;
  verify: { stompede: number; stompjs: number; identical: boolean };
  pings_ok: boolean;
}
interface ParserResult {
  bench: string;
  ok: boolean;
  stream_bytes: number;
  frames_generated: number;
  chunkings: Record<string, Chunking>;
}

test('bench/parser.mjs --quick: both parsers count the same frames, rates are positive', () => {
  // The child must load the built dist (no `source` condition), whatever this runner was started with.
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['NODE_TEST_CONTEXT'];
  const run = spawnSync(process.execPath, ['bench/parser.mjs', '--quick'], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `parser.mjs failed:\n${run.stdout}\n${run.stderr}`);

  const lines = run.stdout.trim().split('\n');
  assert.ok(lines.length >= 2, `expected a report and a JSON line, got:\n${run.stdout}`);
  assert.match(lines[0] ?? '', /^parser: [\d.]+ MiB stream, \d+ frames/);
  const result = JSON.parse(lines.at(-1) ?? '') as ParserResult;
  assert.equal(result.bench, 'parser');
  assert.equal(result.ok, true);
  assert.ok(result.stream_bytes > 100_000);
  assert.ok(result.frames_generated > 100);

  const chunkings = Object.entries(result.chunkings);
  assert.deepEqual(chunkings.map(([name]) => name).sort(), ['split', 'ws-messages']);
  for (const [name, c] of chunkings) {
    assert.ok(c.chunks > 0, name);
    assert.equal(c.stompede.frames, result.frames_generated, `${name}: Stompede frame count`);
    assert.equal(c.stompjs.frames, result.frames_generated, `${name}: stompjs frame count`);
    assert.equal(c.stompede.body_bytes, c.stompjs.body_bytes, `${name}: body bytes`);
    assert.equal(c.frames_equal, true, name);
    assert.equal(c.verify.identical, true, `${name}: same frames in the same order`);
    assert.equal(c.pings_ok, true, `${name}: stompjs saw every heart-beat EOL`);
    for (const side of [c.stompede, c.stompjs]) {
      assert.ok(Number.isFinite(side.mb_s) && side.mb_s > 0, `${name}: MB/s ${side.mb_s}`);
      assert.ok(Number.isFinite(side.frames_s) && side.frames_s > 0, `${name}: frames/s ${side.frames_s}`);
    }
    assert.ok(Number.isFinite(c.ratio) && c.ratio > 0, `${name}: ratio ${c.ratio}`);
    // the human-readable report says the same
    assert.match(run.stdout, new RegExp(`frames counted: stompede ${c.stompede.frames}, stompjs ${c.stompjs.frames}, generated ${result.frames_generated} -> EQUAL`));
  }
});

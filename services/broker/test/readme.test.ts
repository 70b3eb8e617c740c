// The README is part of the product: its settings table must match the code, and its quickstarts
// must run as printed (only the ports are swapped for the test broker's).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { settingsTable, SETTINGS } from '@stompede/broker';
import { useBroker } from './helpers/suite.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(`${ROOT}README.md`, 'utf8');
const PYTHON = process.env['STOMPEDE_TEST_PYTHON'] ?? '/usr/bin/python3';

function snippet(marker: string): string {
  const at = README.indexOf(`<!-- quickstart:${marker} -->`);
  assert.ok(at >= 0, `README has no ${marker} quickstart`);
  const m = /```\w*\n([\s\S]*?)```/.exec(README.slice(at));
  assert.ok(m, `no code block after the ${marker} marker`);
  return m[1]!;
}

/** Runs a program until `expected` shows up in its output (then stops it) or it exits. */
function run(cmd: string, args: string[], expected: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${expected} within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = (d: Buffer): void => {
      out += d.toString();
      if (expected.test(out)) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(out);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.on('exit', () => {
      clearTimeout(timer);
      if (expected.test(out)) resolve(out);
      else reject(new Error(`exited without ${expected}:\n${out}`));
    });
  });
}

describe('README', () => {
  test('shows the two commands', () => {
    assert.match(README, /make run/);
    assert.match(README, /make test/);
  });

  test('settings table matches the code (regenerate with `make docs`)', () => {
    const start = README.indexOf('<!-- settings:start -->');
    const end = README.indexOf('<!-- settings:end -->');
    assert.ok(start >= 0 && end > start, 'settings markers missing');
    const table = README.slice(start + '<!-- settings:start -->'.length, end).trim();
    assert.equal(table, settingsTable());
    for (const s of SETTINGS) assert.ok(table.includes(s.env), `${s.env} missing from README`);
  });

  describe('quickstarts run as printed', () => {
    const { broker } = useBroker();
    const ports = (code: string): string =>
      code.replaceAll('localhost:15674', `localhost:${broker().wsPort}`).replaceAll('61613', String(broker().tcpPort));

    test('stompjs in Node.js', async () => {
      const out = await run(process.execPath, ['--input-type=module', '-e', ports(snippet('node'))], /got order 42/);
      assert.match(out, /got order 42/);
    });

    test('stompjs in a browser (same code, with Node providing WebSocket)', async () => {
      const html = snippet('browser');
      const code = html
        .replace(/<\/?script[^>]*>/g, '')
        .replace(/'https:\/\/cdn\.jsdelivr\.net\/npm\/@stomp\/stompjs@[^']+'/, "'@stomp/stompjs'");
      const node = `import WebSocket from 'ws'; Object.assign(globalThis, { WebSocket });\n${ports(code)}`;
      const out = await run(process.execPath, ['--input-type=module', '-e', node], /\/topic\/chat\.general: hello from the browser/);
      assert.match(out, /hello from the browser/);
    });

    test('stomp.py', async () => {
      const out = await run(PYTHON, ['-c', ports(snippet('python'))], /\/topic\/prices\.ACME 42\.00/);
      assert.match(out, /\/topic\/prices\.ACME 42\.00/);
    });
  });
});

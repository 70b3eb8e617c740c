// The README is part of the product: its settings table must match the code, and its quickstarts
// must run as printed (only the ports are swapped for the test broker's).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { settingsTable, SETTINGS } from '@stompede/broker';
import { README, ROOT, snippet } from './helpers/readme.js';
import { useBroker } from './helpers/suite.js';

const PYTHON = process.env['STOMPEDE_TEST_PYTHON'] ?? '/usr/bin/python3';

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

    // The browser quickstart runs in Chromium: browser.test.ts.

    test('stomp.py', async () => {
      const out = await run(PYTHON, ['-c', ports(snippet('python'))], /\/topic\/prices\.ACME 42\.00/);
      assert.match(out, /\/topic\/prices\.ACME 42\.00/);
    });
  });
});

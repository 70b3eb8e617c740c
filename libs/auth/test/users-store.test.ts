// The users file as a broker holds it: reloaded when it changes (also when replaced by a rename,
// as editors and Kubernetes volumes do), the last good version kept when a new one is broken or
// gone, and each problem logged once.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword, UsersFileError, UsersStore } from '@stompede/auth';
import { recordingLogger } from './fixtures.js';

const FAST = { ln: 10, r: 8, p: 1 };

test('reloads on change, keeps the last good version when the file breaks or disappears, logs each problem once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stompede-users-'));
  const file = join(dir, 'users.yaml');
  const h = await hashPassword('pw', FAST);
  writeFileSync(file, `users:\n  alice:\n    password: ${h}\n`);
  const { lines, logger } = recordingLogger();
  const store = new UsersStore(file, logger);
  try {
    assert.ok(store.get('alice'));
    await store.check();
    assert.equal(lines.length, 0, 'no change, no reload');

    writeFileSync(file, `users:\n  alice:\n    password: ${h}\n  bob:\n    password: ${h}\n`);
    await store.check();
    assert.ok(store.get('bob'));
    assert.equal(lines.at(-1)?.msg, 'users file reloaded');

    writeFileSync(file, 'users:\n  alice: [broken\n');
    await store.check();
    await store.check();
    assert.ok(store.get('alice') && store.get('bob'), 'the last good version stays');
    const problems = lines.filter((l) => l.level === 'error');
    assert.equal(problems.length, 1, 'logged once');
    assert.match(String(problems[0]!.obj['problem']), /not valid YAML/);

    // An atomic replace (write aside, rename over), as editors and stompede-ctl passwd do.
    writeFileSync(`${file}.new`, `users:\n  carol:\n    password: ${h}\n`);
    renameSync(`${file}.new`, file);
    await store.check();
    assert.deepEqual([store.get('alice'), store.get('carol')?.login], [undefined, 'carol']);

    rmSync(file);
    await store.check();
    assert.equal(store.get('carol')?.login, 'carol', 'a vanished file keeps the last good version');
    assert.match(String(lines.at(-1)!.obj['problem']), /ENOENT/);
  } finally {
    store.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that cannot be used at start is an error naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stompede-users-'));
  const { logger } = recordingLogger();
  try {
    assert.throws(() => new UsersStore(join(dir, 'missing.yaml'), logger), (e: Error) => e instanceof UsersFileError && /missing\.yaml: ENOENT/.test(e.message));
    writeFileSync(join(dir, 'bad.yaml'), 'users:\n  alice:\n    password: nope\n');
    assert.throws(() => new UsersStore(join(dir, 'bad.yaml'), logger), /bad\.yaml: user "alice": the password is not a scrypt hash/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// `stompede-ctl passwd` end to end: it writes the users file a broker reads, the broker lets the
// user in with that password, and a second run while the broker runs changes the password (the
// broker reloads the file). Also what it refuses: an empty password, a bad login, a broken file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseUsersFile, verifyPassword } from '@stompede/auth';
import { startBroker } from '../../broker/test/helpers/broker-process.js';
import { eventually, expectErrorThenClose } from '../../broker/test/helpers/expect.js';
import { frame, RawClient } from '../../broker/test/helpers/raw-client.js';
import { connectStompjs } from '../../broker/test/helpers/stompjs.js';
import { CTL, runCtl } from './helpers/ctl.js';

const PTY_PROMPT = fileURLToPath(new URL('./helpers/pty_prompt.py', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'stompede-passwd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Cheap hashes for tests (the default cost is for production). */
const COST = ['--cost', '10'];

function passwd(file: string, login: string, input: string, ...extra: string[]) {
  return runCtl(['passwd', '--file', file, '--login', login, ...COST, ...extra], { input });
}

describe('stompede-ctl passwd', () => {
  test('creates the file (mode 0600), adds and updates users; the password is the first line of stdin', async () => {
    const file = join(dir, 'users.yaml');
    const created = await passwd(file, 'alice', 'wonderland\n', '--group', 'ops', '--group', 'traders');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created .*users\.yaml: password of alice set/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((await passwd(file, 'bob', 'builder\r\nignored\n')).code, 0);
    const updated = await passwd(file, 'alice', 'looking-glass');
    assert.match(updated.stdout, /updated/);
    const table = parseUsersFile(readFileSync(file, 'utf8'));
    assert.deepEqual(table.get('alice')!.groups, ['ops', 'traders'], 'groups kept without --group');
    assert.equal(await verifyPassword('looking-glass', table.get('alice')!.password), true);
    assert.equal(await verifyPassword('builder', table.get('bob')!.password), true);
  });

  test('on a terminal it prompts, and the password typed is not echoed', async () => {
    const file = join(dir, 'tty.yaml');
    const run = spawnSync('/usr/bin/python3', [PTY_PROMPT, 'typed-secret', process.execPath, CTL, 'passwd', '--file', file, '--login', 'zed', ...COST], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /password: /);
    assert.doesNotMatch(run.stdout, /typed-secret/);
    assert.equal(await verifyPassword('typed-secret', parseUsersFile(readFileSync(file, 'utf8')).get('zed')!.password), true);
  });

  test('refuses an empty password, a login with control characters, a missing option, and a file that does not parse', async () => {
    const file = join(dir, 'refusals.yaml');
    const empty = await passwd(file, 'alice', '\n');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /empty password/);
    const badLogin = await passwd(file, 'al\tice', 'pw');
    assert.equal(badLogin.code, 2);
    assert.match(badLogin.stderr, /contains control characters/);
    assert.equal((await runCtl(['passwd', '--file', file], { input: 'pw' })).code, 2);
    writeFileSync(file, 'users: [broken\n');
    const broken = await passwd(file, 'alice', 'pw');
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /refusals\.yaml: not valid YAML.*fix it first/s);
    assert.equal(readFileSync(file, 'utf8'), 'users: [broken\n', 'left as it was');
  });

  test('end to end: the broker lets the user in with the password set, and picks up a change while running', async () => {
    const file = join(dir, 'live.yaml');
    assert.equal((await passwd(file, 'carol', 'first-password')).code, 0);
    const broker = await startBroker({ env: { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: file, STOMPEDE_USERS_RELOAD_MS: '50', STOMPEDE_AUTH_FAILURE_DELAY_MS: '0', STOMPEDE_AUTH_MAX_FAILURES_PER_IP: '1000' } });
    try {
      const client = await connectStompjs(broker.wsUrl, { connectHeaders: { login: 'carol', passcode: 'first-password' } });
      await client.deactivate();
      assert.equal((await passwd(file, 'carol', 'second-password')).code, 0);
      await eventually(async () => {
        const c = await RawClient.tcp(broker.tcpPort);
        c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'carol', passcode: 'second-password' }));
        const f = await c.next(5000).catch(() => undefined);
        c.close();
        return f?.command === 'CONNECTED';
      }, () => `the new password never worked:\n${broker.output().slice(-2000)}`);
      const old = await RawClient.tcp(broker.tcpPort);
      old.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'carol', passcode: 'first-password' }));
      await expectErrorThenClose(old, 'access refused');
    } finally {
      await broker.stop();
    }
  });
});

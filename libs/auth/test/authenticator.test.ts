// The chain of methods behind the session's Authenticator: order, "does not apply" versus
// "refused" (never passed on to anonymous), one ERROR for every refusal after a constant delay,
// failed logins per address throttled, counters; and token refresh on a live connection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, mock, test } from 'node:test';
import { ACCESS_REFUSED, createAuth, hashPassword, TOO_MANY_FAILURES, type Auth, type AuthConfig } from '@stompede/auth';
import { ANONYMOUS, isRefusal, type AuthOutcome, type Principal } from '@stompede/session';
import { Headers } from '@stompede/stomp';
import { authConfig, NOW_MS, recordingLogger, secretKey, SECRET, sign } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'stompede-chain-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const usersFile = join(dir, 'users.yaml');
writeFileSync(usersFile, `users:\n  alice:\n    password: ${await hashPassword('wonderland', { ln: 10, r: 8, p: 1 })}\n    groups: [ops]\n`);

let clockMs = NOW_MS;
const auths: Auth[] = [];
after(() => auths.forEach((a) => a.stop()));

function chain(over: Partial<AuthConfig>): { auth: Auth; lines: ReturnType<typeof recordingLogger>['lines'] } {
  const { lines, logger } = recordingLogger();
  const auth = createAuth(authConfig({ usersFile, jwtSecret: SECRET, ...over }), logger, () => clockMs);
  auths.push(auth);
  return { auth, lines };
}

function connect(auth: Auth, headers: Record<string, string>, ip = '198.51.100.1'): AuthOutcome | Promise<AuthOutcome> {
  return auth.authenticator.authenticate({ headers: Headers.of(Object.entries(headers)), remoteIp: ip });
}

async function outcome(auth: Auth, headers: Record<string, string>, ip?: string): Promise<AuthOutcome> {
  return await connect(auth, headers, ip);
}

function nameOf(o: AuthOutcome): string {
  return isRefusal(o) ? `refused: ${o.refused}` : `${o.method}:${o.name}`;
}

describe('methods in order', () => {
  test('users, jwt, anonymous: each applies to its own credentials; nothing at all is anonymous', async () => {
    const { auth } = chain({ auth: ['users', 'jwt', 'anonymous'] });
    assert.equal(nameOf(await outcome(auth, { login: 'alice', passcode: 'wonderland' })), 'users:alice');
    assert.deepEqual((await outcome(auth, { login: 'alice', passcode: 'wonderland' }) as Principal).groups, ['ops']);
    const token = await sign(secretKey, { sub: 'bob' });
    assert.equal(nameOf(await outcome(auth, { login: 'bob', passcode: token })), 'jwt:bob', 'a JWT passcode is for jwt, not users');
    assert.equal(nameOf(await outcome(auth, { Authorization: `Bearer ${token}` })), 'jwt:bob');
    assert.equal(connect(auth, {}), ANONYMOUS, 'anonymous answers at once');
  });

  test('credentials present and wrong are refused, never passed on to anonymous; all refusals look the same', async () => {
    const { auth, lines } = chain({ auth: ['users', 'jwt', 'anonymous'] });
    const refusals = [
      await outcome(auth, { login: 'alice', passcode: 'wrong' }, '198.51.100.2'),
      await outcome(auth, { login: 'mallory', passcode: 'wonderland' }, '198.51.100.2'),
      await outcome(auth, { login: 'alice' }, '198.51.100.2'),
      await outcome(auth, { token: 'garbage' }, '198.51.100.2'),
      await outcome(auth, { passcode: await sign(secretKey, {}, { expInSec: -3600 }) }, '198.51.100.2'),
    ];
    for (const r of refusals) assert.deepEqual(r, ACCESS_REFUSED);
    const reasons = lines.filter((l) => l.msg === 'login refused').map((l) => l.obj['reason']);
    assert.deepEqual(reasons.slice(0, 3), ['wrong password', 'unknown login', 'no passcode'], 'the log tells them apart');
    const m = auth.metrics;
    assert.deepEqual([m.failures.get('users'), m.failures.get('jwt'), m.successes.get('anonymous')], [3, 2, 0]);
  });

  test('without anonymous, a CONNECT no method applies to is refused (method "none")', async () => {
    const { auth } = chain({ auth: ['users'] });
    assert.deepEqual(await outcome(auth, { passcode: 'x' }), ACCESS_REFUSED);
    assert.equal(auth.metrics.failures.get('none'), 1);
  });
});

describe('failed logins', () => {
  test('a refusal is answered failureDelayMs after the CONNECT, whatever was wrong', async () => {
    const { auth } = chain({ auth: ['users'], authFailureDelayMs: 1000 });
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      for (const headers of [{ login: 'mallory', passcode: 'x' }, { login: 'alice' }] as Record<string, string>[]) {
        let answered: AuthOutcome | undefined;
        void Promise.resolve(connect(auth, headers, '198.51.100.3')).then((o) => (answered = o));
        await new Promise<void>((resolve) => setImmediate(resolve));
        mock.timers.tick(999);
        await new Promise<void>((resolve) => setImmediate(resolve));
        assert.equal(answered, undefined, `not before the delay: ${JSON.stringify(headers)}`);
        mock.timers.tick(1);
        await new Promise<void>((resolve) => setImmediate(resolve));
        assert.deepEqual(answered, ACCESS_REFUSED);
      }
    } finally {
      mock.timers.reset();
    }
  });

  test('past the limit an address is refused at once and unchecked (too many failed logins) until its window ends; others are not', async () => {
    const { auth } = chain({ auth: ['users', 'anonymous'], authMaxFailuresPerIp: 3, authFailureWindowMs: 60_000 });
    const ip = '198.51.100.4';
    for (let i = 0; i < 3; i++) assert.deepEqual(await outcome(auth, { login: 'alice', passcode: `guess-${i}` }, ip), ACCESS_REFUSED);
    const blocked = connect(auth, { login: 'alice', passcode: 'wonderland' }, ip);
    assert.ok(!(blocked instanceof Promise), 'refused at once');
    assert.equal(nameOf(blocked), `refused: ${TOO_MANY_FAILURES}`);
    assert.match((blocked as { detail: string }).detail, /3 times within 60000 ms/);
    assert.equal(auth.metrics.rateLimited, 1);
    assert.equal(nameOf(await outcome(auth, { login: 'alice', passcode: 'wonderland' }, '198.51.100.5')), 'users:alice', 'another address');
    clockMs += 60_000;
    try {
      assert.equal(nameOf(await outcome(auth, { login: 'alice', passcode: 'wonderland' }, ip)), 'users:alice', 'a new window');
    } finally {
      clockMs -= 60_000;
    }
  });
});

describe('token refresh', () => {
  async function jwtPrincipal(auth: Auth, sub = 'alice'): Promise<Principal> {
    return (await outcome(auth, { token: await sign(secretKey, { sub }, { expInSec: 60 }) })) as Principal;
  }

  function refresh(auth: Auth, current: Principal, headers: Record<string, string>): Promise<AuthOutcome> {
    return Promise.resolve(auth.authenticator.refresh(current, { headers: Headers.of(Object.entries(headers)), remoteIp: '198.51.100.6' }));
  }

  test('a valid token for the same principal is accepted, with its new expiry', async () => {
    const { auth } = chain({ auth: ['jwt'] });
    const current = await jwtPrincipal(auth);
    const next = await refresh(auth, current, { token: await sign(secretKey, {}, { expInSec: 3600 }) });
    assert.equal(nameOf(next), 'jwt:alice');
    assert.ok((next as Principal).expiresAtMs! > current.expiresAtMs!);
    assert.equal(auth.metrics.refreshes.get('accepted'), 1);
  });

  test('another principal\'s token, an invalid one, none, or a session that did not log in with a JWT: refused', async () => {
    const { auth } = chain({ auth: ['users', 'jwt'] });
    const current = await jwtPrincipal(auth);
    const cases = [
      await refresh(auth, current, { token: await sign(secretKey, { sub: 'mallory' }) }),
      await refresh(auth, current, { token: await sign(secretKey, {}, { expInSec: -3600 }) }),
      await refresh(auth, current, {}),
      await refresh(auth, (await outcome(auth, { login: 'alice', passcode: 'wonderland' })) as Principal, { token: await sign(secretKey) }),
    ];
    for (const r of cases) assert.equal(nameOf(r), 'refused: access refused');
    assert.match((cases[0] as { detail: string }).detail, /another principal/);
    assert.equal(auth.metrics.refreshes.get('refused'), 4);
  });
});

describe('password checks in progress', () => {
  test('past STOMPEDE_AUTH_MAX_PENDING_CHECKS a login is turned away at once (too many logins in progress), unchecked and not counted as failed', async () => {
    const { auth } = chain({ auth: ['users'], authMaxPendingChecks: 2, authMaxFailuresPerIp: 1 });
    const ip = '198.51.100.7';
    const first = connect(auth, { login: 'alice', passcode: 'wonderland' }, ip);
    const second = connect(auth, { login: 'alice', passcode: 'wonderland' }, ip);
    assert.ok(first instanceof Promise && second instanceof Promise);
    const third = connect(auth, { login: 'nobody', passcode: 'x' }, ip);
    assert.ok(!(third instanceof Promise), 'at once');
    assert.equal(nameOf(third), 'refused: too many logins in progress');
    assert.match((third as { detail: string }).detail, /2 password checks are in progress/);
    assert.deepEqual([nameOf(await first), nameOf(await second)], ['users:alice', 'users:alice']);
    assert.equal(auth.metrics.busy, 1);
    assert.equal(auth.metrics.failures.get('users'), 0);
    assert.equal(nameOf(await outcome(auth, { login: 'alice', passcode: 'wonderland' }, ip)), 'users:alice', 'the slots are free again, and the address was not throttled');
  });
});

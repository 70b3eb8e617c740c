// Attacks on authentication against a live node with a users file: a password brute force from one
// address over TCP and WebSocket (every guess gets ERROR access refused after the failure delay,
// and past STOMPEDE_AUTH_MAX_FAILURES_PER_IP ERROR too many failed logins at once; none gets in; the
// node stays up, RSS bounded, a logged-in pair keeps exchanging), and one user opening connections
// past maxConnectionsPerPrincipal (ERROR too many connections for this user at CONNECT).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { hashPassword } from '@stompede/auth';
import { eventually, expectErrorThenClose } from './helpers/expect.js';
import { assertUnharmed, baseline, pool } from './helpers/hostile.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header, RawClient, TRANSPORTS } from './helpers/raw-client.js';
import { useHealthyPair } from './helpers/robustness.js';
import { useBroker } from './helpers/suite.js';

const dir = mkdtempSync(join(tmpdir(), 'stompede-hostile-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FAST = { ln: 10, r: 8, p: 1 };
const usersFile = join(dir, 'users.yaml');
writeFileSync(usersFile, [
  'users:',
  `  alice:\n    password: ${await hashPassword('wonderland', FAST)}`,
  `  bob:\n    password: ${await hashPassword('builder', FAST)}`,
  `  carol:\n    password: ${await hashPassword('secret', FAST)}`,
  '',
].join('\n'));
const ALICE = { login: 'alice', passcode: 'wonderland' };

describe('hostile: auth brute force', () => {
  const MAX_FAILURES = 10;
  const CONCURRENCY = 40;
  const suite = useBroker({
    env: {
      STOMPEDE_AUTH: 'users',
      STOMPEDE_USERS_FILE: usersFile,
      STOMPEDE_AUTH_FAILURE_DELAY_MS: '200',
      STOMPEDE_AUTH_MAX_FAILURES_PER_IP: String(MAX_FAILURES),
      STOMPEDE_AUTH_FAILURE_WINDOW_MS: '600000',
    },
  });
  // Logged in before the attack: the attack locks the test's address out of new logins.
  const pair = useHealthyPair(suite, '/topic/hostile-auth-healthy', ALICE);

  test(`400 password guesses, ${CONCURRENCY} at a time: access refused, then too many failed logins; nobody gets in (RSS bound 64 MiB)`, async (t) => {
    const broker = suite.broker();
    await pair().exchange(3);
    const before = await baseline(broker);
    const exchanging = (async () => {
      for (let i = 0; i < 10; i++) await pair().exchange(3);
    })();
    const outcomes = await pool(400, CONCURRENCY, async (i) => {
      const c = await RawClient.open(TRANSPORTS[i % 2]!, broker);
      c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'bob', passcode: `guess-${i}` }));
      const first = await c.next(15_000);
      assert.equal(first.command, 'ERROR', `guess ${i} got ${first.command}`);
      const message = header(first, 'message')!;
      await expectErrorThenClose(c, message, 15_000);
      return message;
    });
    await exchanging;
    const refused = outcomes.filter((m) => m === 'access refused').length;
    const throttled = outcomes.filter((m) => m === 'too many failed logins').length;
    t.diagnostic(`${refused} access refused, ${throttled} too many failed logins`);
    assert.equal(refused + throttled, outcomes.length, `other answers: ${[...new Set(outcomes)].join(', ')}`);
    // Guesses already being checked when the limit was reached still get their answer.
    assert.ok(refused >= MAX_FAILURES && refused <= MAX_FAILURES + CONCURRENCY, `${refused} checked`);
    assert.equal(await metric(broker, 'stompede_auth_successes_total', { method: 'users' }), 2, 'only the pair logged in');
    const grown = await assertUnharmed(broker, before, pair(), 64, 'none');
    t.diagnostic(`RSS grew by ${grown.toFixed(1)} MiB`);
    // Even the right password is refused from the locked-out address.
    const right = await RawClient.tcp(broker.tcpPort);
    right.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'bob', passcode: 'builder' }));
    await expectErrorThenClose(right, 'too many failed logins');
  });
});

describe('maxConnectionsPerPrincipal against a live node', () => {
  const MAX = 3;
  const suite = useBroker({ env: { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: usersFile, STOMPEDE_MAX_CONNECTIONS_PER_PRINCIPAL: String(MAX) } });
  const pair = useHealthyPair(suite, '/topic/per-principal-healthy', ALICE);

  test('a user holds that many connections; one more gets ERROR at CONNECT; other users are not affected; a closed one frees a slot', async () => {
    const carol = await Promise.all(Array.from({ length: MAX }, (_, i) => suite.connectRaw(TRANSPORTS[i % 2]!, { login: 'carol', passcode: 'secret' })));
    for (const kind of TRANSPORTS) {
      const extra = await suite.openRaw(kind);
      extra.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'carol', passcode: 'secret' }));
      const e = await expectErrorThenClose(extra, 'too many connections for this user');
      assert.match(bodyText(e), /maxConnectionsPerPrincipal/);
    }
    assert.equal(await metric(suite.broker(), 'stompede_limit_hits_total', { limit: 'maxConnectionsPerPrincipal' }), 2);
    await suite.connectRaw('tcp', { login: 'bob', passcode: 'builder' });
    await pair().exchange(5);
    carol[0]!.close();
    await eventually(async () => {
      const c = await RawClient.tcp(suite.broker().tcpPort);
      const ok = await c.connect({ login: 'carol', passcode: 'secret' }).then(() => true, () => false);
      if (!ok) c.close();
      return ok;
    }, () => 'the closed connection\'s slot never came back');
  });
});

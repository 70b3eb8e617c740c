// Authentication with a users file, against real broker processes and real clients: stompjs with
// connectHeaders, raw sockets, stomp.py. A refused login gets the same ERROR (access refused)
// whether the login is unknown or the password wrong, then a close; frames pipelined behind a
// CONNECT being checked wait for CONNECTED; the file is reloaded when it changes and a broken
// version keeps the last good one; failed logins per address are throttled and counted, an IPv4
// client's under one key whichever transport spells its address.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { hashPassword } from '@stompede/auth';
import { runBroker, startBroker } from './helpers/broker-process.js';
import { eventually, expectErrorThenClose } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header, RawClient, type RawFrame } from './helpers/raw-client.js';
import { connectStompjs, Inbox, subscribed } from './helpers/stompjs.js';
import { runStomppy } from './helpers/stomppy.js';
import { useBroker } from './helpers/suite.js';

const FAST = { ln: 10, r: 8, p: 1 };
const dir = mkdtempSync(join(tmpdir(), 'stompede-auth-users-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function usersYaml(users: Record<string, { password: string; groups?: string[] }>): Promise<string> {
  const lines = ['users:'];
  for (const [login, u] of Object.entries(users)) {
    lines.push(`  ${login}:`, `    password: ${await hashPassword(u.password, FAST)}`);
    if (u.groups) lines.push(`    groups: [${u.groups.join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

const usersFile = join(dir, 'users.yaml');
writeFileSync(usersFile, await usersYaml({ alice: { password: 'wonderland', groups: ['ops'] }, bob: { password: 'builder' } }));

/** A fresh connection (TCP to 127.0.0.1:`port`, or what `to` opens) sends CONNECT with `headers`; returns the ERROR that ends it. */
async function refusedLogin(to: number | (() => Promise<RawClient>), headers: Record<string, string>, message = 'access refused'): Promise<RawFrame> {
  const c = typeof to === 'number' ? await RawClient.tcp(to) : await to();
  c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', ...headers }));
  try {
    return await expectErrorThenClose(c, message);
  } finally {
    c.close();
  }
}

describe('users file', () => {
  // Many refusals come from 127.0.0.1 here: throttling is the next block's business.
  const suite = useBroker({ env: { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: usersFile, STOMPEDE_AUTH_FAILURE_DELAY_MS: '50', STOMPEDE_USERS_RELOAD_MS: '50', STOMPEDE_AUTH_MAX_FAILURES_PER_IP: '1000' } });

  test('stompjs logs in with connectHeaders and works as usual', async () => {
    const client = await suite.stompjs({ connectHeaders: { login: 'alice', passcode: 'wonderland' } });
    const inbox = new Inbox();
    await subscribed(client, '/topic/users.a', inbox.push);
    client.publish({ destination: '/topic/users.a', body: 'hello' });
    assert.deepEqual((await inbox.until(1)).map((m) => m.body), ['hello']);
  });

  test('a wrong password and an unknown login get the same ERROR, then a close; so does a CONNECT without credentials', async () => {
    const port = suite.broker().tcpPort;
    const wrong = await refusedLogin(port, { login: 'alice', passcode: 'guess' });
    const unknown = await refusedLogin(port, { login: 'mallory', passcode: 'wonderland' });
    const none = await refusedLogin(port, {});
    for (const e of [unknown, none]) {
      assert.deepEqual(e.headers, wrong.headers);
      assert.equal(bodyText(e), bodyText(wrong));
    }
    const log = suite.broker().output();
    assert.match(log, /"reason":"wrong password"/);
    assert.match(log, /"reason":"unknown login"/);
    assert.doesNotMatch(log, /guess/, 'passwords are not logged');
  });

  test('stompjs with a wrong password gets the ERROR through onStompError', async () => {
    await assert.rejects(connectStompjs(suite.broker().wsUrl, { connectHeaders: { login: 'bob', passcode: 'wrong' } }), /STOMP ERROR: access refused/);
  });

  test('frames pipelined in the CONNECT\'s write wait for CONNECTED, then run in order; after a refusal none runs', async () => {
    const watcher = await suite.subscriber('tcp', '/topic/users.pipe', {}, { login: 'alice', passcode: 'wonderland' });
    const c = await suite.openRaw('tcp');
    c.send(Buffer.concat([
      frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'bob', passcode: 'builder' }),
      frame('SUBSCRIBE', { id: 's', destination: '/topic/users.pipe', receipt: 'r1' }),
      frame('SEND', { destination: '/topic/users.pipe', receipt: 'r2' }, 'pipelined'),
    ]));
    await c.waitFor((f) => header(f, 'receipt-id') === 'r2');
    assert.deepEqual(c.frames.map((f) => f.command), ['CONNECTED', 'RECEIPT', 'MESSAGE', 'RECEIPT']);
    await watcher.waitFor((f) => f.command === 'MESSAGE' && bodyText(f) === 'pipelined');

    const forger = await suite.openRaw('tcp');
    forger.send(Buffer.concat([
      frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'bob', passcode: 'nope' }),
      frame('SEND', { destination: '/topic/users.pipe', receipt: 'f1' }, 'forged'),
    ]));
    await expectErrorThenClose(forger, 'access refused');
    // The watcher's RECEIPT round trip orders after anything the forger could have published.
    await watcher.sendWithReceipt('SUBSCRIBE', { id: 'later', destination: '/topic/users.other' });
    assert.ok(!watcher.frames.some((f) => bodyText(f) === 'forged'));
  });

  test('stomp.py logs in with its username and passcode', async () => {
    const ok = await runStomppy({ port: suite.broker().tcpPort, version: '1.2', login: 'alice', passcode: 'wonderland', steps: [{ op: 'subscribe', destination: '/topic/users.py', id: 's', receipt: 'r' }] }).result;
    assert.equal(ok.exception, undefined);
    assert.ok(ok.connected !== null);
    const no = await runStomppy({ port: suite.broker().tcpPort, version: '1.2', login: 'alice', passcode: 'nope', timeout: 5, steps: [] }).result;
    assert.equal(no.connected, null);
    assert.equal(no.errors[0]?.headers['message'], 'access refused');
  });

  test('the file is reloaded when it changes; a broken version keeps the last good one and the log says why', async () => {
    const port = suite.broker().tcpPort;
    writeFileSync(usersFile, await usersYaml({ alice: { password: 'looking-glass' }, bob: { password: 'builder' } }));
    await eventually(async () => {
      const c = await RawClient.tcp(port);
      c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'alice', passcode: 'looking-glass' }));
      const f = await c.next(5000).catch(() => undefined);
      c.close();
      return f?.command === 'CONNECTED';
    }, () => 'the new password never worked');
    await refusedLogin(port, { login: 'alice', passcode: 'wonderland' });

    writeFileSync(usersFile, 'users:\n  alice:\n    password: [oops\n');
    await eventually(() => /users file not reloaded: keeping the last good version/.test(suite.broker().output()), () => 'no log line');
    const c = await RawClient.tcp(port);
    await c.connect({ login: 'alice', passcode: 'looking-glass' });
    c.close();
  });
});

const limitedFile = join(dir, 'limited.yaml');
writeFileSync(limitedFile, await usersYaml({ carol: { password: 'right' } }));
/** carol's password is "right"; an address gets 3 failed logins per window (10 minutes). */
const LIMITED_ENV = {
  STOMPEDE_AUTH: 'users',
  STOMPEDE_USERS_FILE: limitedFile,
  STOMPEDE_AUTH_FAILURE_DELAY_MS: '10',
  STOMPEDE_AUTH_MAX_FAILURES_PER_IP: '3',
  STOMPEDE_AUTH_FAILURE_WINDOW_MS: '600000',
};

describe('failed logins per address', () => {
  const suite = useBroker({
    env: LIMITED_ENV,
  });

  test('past the limit the address gets ERROR too many failed logins at once, even with the right password; counted in /metrics', async () => {
    const broker = suite.broker();
    const ok = await RawClient.tcp(broker.tcpPort);
    await ok.connect({ login: 'carol', passcode: 'right' });
    ok.close();
    for (let i = 0; i < 3; i++) await refusedLogin(broker.tcpPort, { login: 'carol', passcode: `guess-${i}` });
    const e = await refusedLogin(broker.tcpPort, { login: 'carol', passcode: 'right' }, 'too many failed logins');
    assert.match(bodyText(e), /3 times within 600000 ms/);
    assert.equal(await metric(broker, 'stompede_auth_rate_limited_total'), 1);
    assert.equal(await metric(broker, 'stompede_auth_failures_total', { method: 'users' }), 3);
    assert.equal(await metric(broker, 'stompede_auth_successes_total', { method: 'users' }), 1);
    assert.equal(await metric(broker, 'stompede_errors_total', { reason: 'access refused' }), 3);
  });
});

/** Whether this machine reaches itself over IPv6 loopback (a container may have IPv6 off). */
async function ipv6Loopback(): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '::1', resolve));
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

describe('failed logins per address on a dual-stack listener', { skip: (await ipv6Loopback()) ? false : 'no IPv6 loopback' }, () => {
  // Bound to ::, the node sees an IPv4 client as IPv4-mapped IPv6, spelled ::ffff:127.0.0.1 by
  // node:net (TCP) and 0000:...:ffff:7f00:0001 by uWS (WebSocket): one address all the same.
  const suite = useBroker({
    host: '::',
    env: LIMITED_ENV,
  });
  const guess = (i: number): Record<string, string> => ({ login: 'carol', passcode: `guess-${i}` });
  const right = { login: 'carol', passcode: 'right' };

  test('an IPv4 client\'s failures over TCP and WebSocket count together; ::1 is another address, counted on its own', async () => {
    const broker = suite.broker();
    const ws = (): Promise<RawClient> => RawClient.ws(`ws://127.0.0.1:${broker.wsPort}/ws`);
    const v6 = (): Promise<RawClient> => RawClient.tcp(broker.tcpPort, '::1');
    await refusedLogin(broker.tcpPort, guess(0));
    await refusedLogin(ws, guess(1));
    await refusedLogin(ws, guess(2));
    await refusedLogin(broker.tcpPort, right, 'too many failed logins');
    await refusedLogin(ws, right, 'too many failed logins');

    // ::1 (its /64 is not 127.0.0.1's address) has no failures yet: the right password gets in.
    const ok = await v6();
    await ok.connect(right);
    ok.close();
    for (let i = 3; i < 6; i++) await refusedLogin(v6, guess(i));
    await refusedLogin(v6, right, 'too many failed logins');
    assert.equal(await metric(broker, 'stompede_auth_failures_total', { method: 'users' }), 6);
    assert.equal(await metric(broker, 'stompede_auth_rate_limited_total'), 3);
    assert.match(broker.output(), /"remote":"::1".*login refused|login refused.*"remote":"::1"/, 'the log names the address itself, not its key');
  });
});

const slowFile = join(dir, 'slow.yaml');
// A costly hash (2^17 x 8 x 128 bytes = 128 MiB per check): the first check is still running when the
// other CONNECTs, sent together with it, arrive.
writeFileSync(slowFile, `users:\n  dave:\n    password: ${await hashPassword('pw', { ln: 17, r: 8, p: 1 })}\n`);

describe('password checks in progress', () => {
  const suite = useBroker({ env: { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: slowFile, STOMPEDE_AUTH_MAX_PENDING_CHECKS: '1' } });

  test('past the bound a login gets ERROR too many logins in progress at once; the one being checked gets in', async () => {
    const broker = suite.broker();
    const clients = await Promise.all([0, 1, 2].map(() => RawClient.tcp(broker.tcpPort)));
    for (const c of clients) c.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'dave', passcode: 'pw' }));
    const answers = await Promise.all(clients.map((c) => c.next(20_000)));
    const summary = answers.map((f) => (f.command === 'ERROR' ? header(f, 'message') : f.command)).sort();
    assert.deepEqual(summary, ['CONNECTED', 'too many logins in progress', 'too many logins in progress']);
    for (const c of clients) c.close();
    assert.equal(await metric(broker, 'stompede_auth_busy_total'), 2);
    assert.equal(await metric(broker, 'stompede_auth_failures_total', { method: 'users' }), 0);
  });
});

describe('start-up', () => {
  test('users without a users file, or with a broken one, is a start-up error naming the setting', async () => {
    const missing = await runBroker([], { STOMPEDE_AUTH: 'users', STOMPEDE_ADMIN_PORT: '0' });
    assert.equal(missing.code, 2);
    assert.match(missing.output, /STOMPEDE_AUTH lists users, which needs STOMPEDE_USERS_FILE/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'users:\n  x:\n    password: plain\n');
    const bad = await runBroker([], { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: broken, STOMPEDE_ADMIN_PORT: '0' });
    assert.equal(bad.code, 2);
    assert.match(bad.output, /STOMPEDE_USERS_FILE: .*broken\.yaml: user "x": the password is not a scrypt hash/);
    const order = await runBroker(['--auth', 'anonymous,users'], { STOMPEDE_USERS_FILE: usersFile, STOMPEDE_ADMIN_PORT: '0' });
    assert.equal(order.code, 2);
    assert.match(order.output, /anonymous accepts every client, so it must come last/);
  });

  test('the default is open: anyone connects, as anonymous, and the start-up log warns about it', async () => {
    const broker = await startBroker({ env: { STOMPEDE_AUTH: 'anonymous' } });
    try {
      assert.match(broker.output(), /"level":40.*STOMP authentication is OFF/);
      const c = await RawClient.tcp(broker.tcpPort);
      await c.connect({ login: 'whoever', passcode: 'whatever' });
      c.close();
      assert.equal(await metric(broker, 'stompede_auth_successes_total', { method: 'anonymous' }), 1);
    } finally {
      await broker.stop();
    }
  });
});

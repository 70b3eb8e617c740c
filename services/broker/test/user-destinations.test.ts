// User destinations on one embedded node with real logins (a users file): stompjs over WebSocket
// and a raw STOMP client over TCP logged in as the same user both get what is sent to
// /user/<login>/queue/<name>, once each, as destination:/user/queue/<name>; other users get
// nothing; the streams behind them cannot be named (docs/security.md "User destinations").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, frame, header } from './helpers/raw-client.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';
import { usersFile } from './helpers/users.js';

const LONG = 10_000;
const USERS = { alice: 'alice-secret', 'team/ops': 'ops-secret', bob: 'bob-secret' };
type Login = keyof typeof USERS;
const users = await usersFile(USERS);

describe('user destinations on an embedded node', () => {
  const { stompjs, connectRaw } = useBroker({ env: { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: users } });
  const as = (login: Login): Promise<Client> => stompjs({ connectHeaders: { login, passcode: USERS[login] } });
  const raw = (login: Login) => connectRaw('tcp', { login, passcode: USERS[login] });

  test("a WebSocket and a TCP session of one user each get the user's messages once; other users nothing", async () => {
    const ws = new Inbox();
    await subscribed(await as('alice'), '/user/queue/notes', ws.push);
    const tcp = await raw('alice');
    await tcp.sendWithReceipt('SUBSCRIBE', { id: 'notes', destination: '/user/queue/notes' });
    const bob = new Inbox();
    await subscribed(await as('bob'), '/user/queue/notes', bob.push);
    const sender = await as('bob');
    await publishAll(sender, '/user/alice/queue/notes', [...range(5), 'end']);
    await ws.until(6, LONG);
    await tcp.waitFor((f) => f.command === 'MESSAGE' && bodyText(f) === 'end', LONG);
    assert.deepEqual(ws.bodies, [...range(5), 'end']);
    const frames = tcp.frames.filter((f) => f.command === 'MESSAGE');
    assert.deepEqual(frames.map(bodyText), [...range(5), 'end']);
    assert.ok(frames.every((f) => header(f, 'destination') === '/user/queue/notes' && header(f, 'subscription') === 'notes'));
    assert.ok(ws.messages.every((m) => m.headers['destination'] === '/user/queue/notes'));
    await publishAll(sender, '/user/bob/queue/notes', ['fence']);
    await bob.until(1, LONG);
    assert.deepEqual(bob.bodies, ['fence']);
  });

  test('a login with "/" is reached as %2F, as Spring encodes it', async () => {
    const ops = new Inbox();
    await subscribed(await as('team/ops'), '/user/topic/alerts', ops.push);
    await publishAll(await as('alice'), `/user/${encodeURIComponent('team/ops')}/topic/alerts`, ['disk full']);
    await ops.until(1, LONG);
    assert.deepEqual(ops.bodies, ['disk full']);
    assert.equal(ops.messages[0]!.headers['destination'], '/user/topic/alerts');
  });

  test('the streams behind user destinations cannot be named; a SUBSCRIBE names no login', async () => {
    for (const [command, headers] of [
      ['SUBSCRIBE', { id: '0', destination: '/x-user/alice/queue/notes' }],
      ['SEND', { destination: '/x-user/alice/queue/notes' }],
      ['SUBSCRIBE', { id: '0', destination: '/user/alice/queue/notes' }],
    ] as const) {
      const c = await raw('bob');
      c.send(frame(command, headers));
      const e = await expectErrorThenClose(c, 'invalid destination');
      assert.match(bodyText(e), command === 'SUBSCRIBE' && headers.destination.startsWith('/user/') ? /names no login/ : /reserved/);
    }
  });
});

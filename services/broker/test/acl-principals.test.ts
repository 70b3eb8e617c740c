// Authorization for logged-in principals, end to end: a users file (STOMPEDE_AUTH=users) with
// groups, and an ACL file whose rules name a group, a user, `authenticated` and `{user}`. Checks
// that groups from the users file reach the rules, that `{user}` gives each login its own
// destinations and no one else's, and that user destinations are judged by the name as written
// (`/user/queue/...` to subscribe, `/user/<login>/...` to send), not by the stream behind them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Client } from '@stomp/stompjs';
import { hashPassword } from '@stompede/auth';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, frame, header } from './helpers/raw-client.js';
import { Inbox, publishAll, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const LONG = 10_000;
const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret' } as const;
type Login = keyof typeof PASSWORDS;

const dir = mkdtempSync(join(tmpdir(), 'stompede-acl-principals-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fast = { ln: 10, r: 8, p: 1 };
const usersPath = join(dir, 'users.yaml');
writeFileSync(
  usersPath,
  `users:
  alice:
    password: ${await hashPassword(PASSWORDS.alice, fast)}
    groups: [ops]
  bob:
    password: ${await hashPassword(PASSWORDS.bob, fast)}
`,
);
const aclPath = join(dir, 'acl.yaml');
writeFileSync(
  aclPath,
  `rules:
  - who: authenticated
    send: [/topic/chat, /user/#]
    subscribe: [/topic/chat, '/topic/user.{user}.#', /user/#]
  - who: group:ops
    send: [/topic/ops.#]
    subscribe: [/topic/ops.#]
  - who: user:bob
    send: [/topic/user.alice.inbox]
`,
);

describe('authorization for logged-in principals (users file groups, {user}, user destinations)', () => {
  const { stompjs, connectRaw } = useBroker({ env: { STOMPEDE_AUTH: 'users', STOMPEDE_USERS_FILE: usersPath, STOMPEDE_ACL_FILE: aclPath } });
  const as = (login: Login): Promise<Client> => stompjs({ connectHeaders: { login, passcode: PASSWORDS[login] } });
  const raw = (login: Login) => connectRaw('tcp', { login, passcode: PASSWORDS[login] });

  test('a group from the users file grants its rule; a user without the group is refused, and his wildcard skips it', async () => {
    const ops = new Inbox();
    await subscribed(await as('alice'), '/topic/ops.#', ops.push);
    // A wildcard is accepted when anything under its prefix may be read (bob may read /topic/chat),
    // then bound only to the destinations bob may read.
    const bobWide = new Inbox();
    const bobClient = await as('bob');
    await subscribed(bobClient, '/topic/#', bobWide.push);
    const bob = await raw('bob');
    bob.send(frame('SUBSCRIBE', { id: 'ops', destination: '/topic/ops.deploy', receipt: 'r-ops' }));
    const e = await expectErrorThenClose(bob, 'access refused');
    assert.equal(header(e, 'receipt-id'), 'r-ops');
    assert.equal(header(e, 'x-denied-operation'), 'subscribe');
    await publishAll(await as('alice'), '/topic/ops.deploy', ['deploying']);
    await publishAll(await as('alice'), '/topic/chat', ['after']);
    await ops.until(1, LONG);
    await bobWide.until(1, LONG);
    assert.deepEqual(ops.bodies, ['deploying']);
    assert.deepEqual(bobWide.bodies, ['after'], 'the ops message, published first, never reached bob');
  });

  test('{user} is each login\'s own: alice reads user.alice.*, bob may not, and a user:bob rule lets bob send there', async () => {
    const inbox = new Inbox();
    await subscribed(await as('alice'), '/topic/user.alice.inbox', inbox.push);
    const bobSub = await raw('bob');
    bobSub.send(frame('SUBSCRIBE', { id: 'spy', destination: '/topic/user.alice.inbox', receipt: 'r-spy' }));
    await expectErrorThenClose(bobSub, 'access refused');
    await publishAll(await as('bob'), '/topic/user.alice.inbox', ['hello alice']);
    await inbox.until(1, LONG);
    assert.deepEqual(inbox.bodies, ['hello alice']);
    // alice has no rule to send to her own inbox topic: {user} was granted for subscribe only.
    const alice = await raw('alice');
    alice.send(frame('SEND', { destination: '/topic/user.alice.inbox', receipt: 'r-send' }, 'x'));
    const e = await expectErrorThenClose(alice, 'access refused');
    assert.equal(header(e, 'receipt-id'), 'r-send');
    assert.equal(header(e, 'x-denied-operation'), 'send');
  });

  test('user destinations are judged as written: /user/queue/... to subscribe, /user/<login>/... to send', async () => {
    const notes = new Inbox();
    await subscribed(await as('alice'), '/user/queue/notes', notes.push);
    await publishAll(await as('bob'), '/user/alice/queue/notes', ['note']);
    await notes.until(1, LONG);
    assert.deepEqual(notes.bodies, ['note']);
    assert.equal(notes.messages[0]!.headers['destination'], '/user/queue/notes');
    const denied = await raw('bob');
    denied.send(frame('SEND', { destination: '/topic/elsewhere', receipt: 'r-else' }, 'x'));
    const e = await expectErrorThenClose(denied, 'access refused');
    assert.match(bodyText(e), /\/topic\/elsewhere/);
  });
});

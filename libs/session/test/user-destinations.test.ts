// User destinations (docs/security.md "User destinations"): /user/queue/<name> subscribed by a
// logged-in session, /user/<login>/queue/<name> sent to by anyone, both mapped to one topic stream
// per user under the reserved /x-user/ prefix. The mapping as a pure function, then through
// sessions, which authenticate through the session's Authenticator seam: here one that takes the
// CONNECT's login at its word (libs/auth checks passwords and tokens; the black-box tests use it).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ANONYMOUS,
  clientDestination,
  DEFAULT_SESSION_CONFIG,
  LOGIN_REQUIRED,
  nameAsWritten,
  resolveUserDestination,
  type Authenticator,
  type Destination,
  type Principal,
} from '@stompede/session';
import { Kit, type Client } from './kit.js';

const prefixes = DEFAULT_SESSION_CONFIG.destinationPrefixes;

function principal(name: string, method = 'users'): Principal {
  return { name, method, expiresAtMs: undefined, groups: [], permissions: undefined };
}

function stream(name: string, use: 'send' | 'subscribe', subscriber?: Principal): Destination {
  const d = resolveUserDestination(name, use, prefixes, subscriber);
  if ('error' in d) assert.fail(`${name}: ${d.error} (${d.detail})`);
  return d;
}

function refused(name: string, use: 'send' | 'subscribe', subscriber?: Principal): { error: string; detail: string } {
  const d = resolveUserDestination(name, use, prefixes, subscriber);
  if (!('error' in d)) assert.fail(`${name} resolved to ${d.name}`);
  return d;
}

describe('user destinations: the mapping', () => {
  test("a user's SUBSCRIBE and a SEND naming that user meet on one topic stream", () => {
    const sub = stream('/user/queue/notes', 'subscribe', principal('alice'));
    assert.deepEqual(sub, { kind: 'topic', name: '/x-user/alice/queue/notes', prefixLength: 8, wildcard: false, written: '/user/queue/notes' });
    const send = stream('/user/alice/queue/notes', 'send');
    assert.equal(send.name, sub.name);
    // ACL rules are about the name as written.
    assert.equal(nameAsWritten(send), '/user/alice/queue/notes');
    assert.equal(nameAsWritten(sub), '/user/queue/notes');
    assert.equal(stream('/user/topic/news', 'subscribe', principal('alice')).name, '/x-user/alice/topic/news');
    assert.equal(stream('/user/alice/topic/news', 'send').name, '/x-user/alice/topic/news');
  });

  test('other users, and other names of the same user, are other streams', () => {
    const names = new Set([
      stream('/user/queue/notes', 'subscribe', principal('alice')).name,
      stream('/user/queue/notes', 'subscribe', principal('bob')).name,
      stream('/user/topic/notes', 'subscribe', principal('alice')).name,
      stream('/user/queue/notes.x', 'subscribe', principal('alice')).name,
    ]);
    assert.equal(names.size, 4);
  });

  test('logins are escaped unambiguously: no two logins share a stream, none leaves its segment', () => {
    const logins = ['a/b', 'a%2Fb', 'a', 'a%', '%', '/', 'a.b', '*', '#', 'a b', 'ä', '日本', 'x:y', 'a\nb', 'user/queue', '..', 'a*b', "o'neil"];
    const byStream = new Map<string, string>();
    for (const login of logins) {
      const name = stream('/user/queue/n', 'subscribe', principal(login)).name;
      const segment = name.slice('/x-user/'.length, name.length - '/queue/n'.length);
      assert.ok(!segment.includes('/'), `${login} -> ${name}`);
      assert.ok(!/^[*#]$|(^|\.)[*#](\.|$)/.test(segment), `${login} -> a wildcard segment in ${name}`);
      assert.equal(byStream.get(name), undefined, `${login} and ${byStream.get(name)} share ${name}`);
      byStream.set(name, login);
      assert.equal(clientDestination(name), '/user/queue/n');
    }
  });

  test('a SEND writes the login percent-encoded, as Spring does for "/" (%2F), and reaches its stream', () => {
    const slashed = stream('/user/queue/n', 'subscribe', principal('a/b')).name;
    assert.equal(stream('/user/a%2Fb/queue/n', 'send').name, slashed);
    assert.equal(stream('/user/a%2fb/queue/n', 'send').name, slashed);
    assert.equal(stream('/user/100%25/queue/n', 'send').name, stream('/user/queue/n', 'subscribe', principal('100%')).name);
    // Characters other than "/" and "%" may be written as they are.
    assert.equal(stream('/user/alice@example.com/queue/n', 'send').name, stream('/user/queue/n', 'subscribe', principal('alice@example.com')).name);
    assert.equal(stream('/user/日本/queue/n', 'send').name, stream('/user/queue/n', 'subscribe', principal('日本')).name);
  });

  test('a SUBSCRIBE needs a login: anonymous sessions and sessions without a principal are refused', () => {
    for (const who of [undefined, principal('guest', 'anonymous'), principal('', 'users')]) {
      const e = refused('/user/queue/notes', 'subscribe', who);
      assert.equal(e.error, LOGIN_REQUIRED);
      assert.match(e.detail, /needs a logged-in connection/);
    }
  });

  test('malformed user destinations are refused with what the form is', () => {
    const cases: [string, 'send' | 'subscribe', RegExp][] = [
      ['/user/alice/queue/notes', 'subscribe', /names no login/],
      ['/user/queue/notes', 'send', /is not a user destination/], // "queue" read as the login: /notes has no prefix
      ['/user/alice', 'send', /names the user/],
      ['/user//queue/notes', 'send', /names the user/],
      ['/user/', 'subscribe', /is not a user destination/],
      ['/user/queue/', 'subscribe', /no name after/],
      ['/user/a%zz/queue/n', 'send', /not valid percent-encoding/],
      ['/user/a%E0%A4%A/queue/n', 'send', /not valid percent-encoding/],
      ['/user/topic/prices.*', 'subscribe', /no wildcards/],
      ['/user/topic/#', 'subscribe', /no wildcards/],
      ['/user/alice/topic/a.*', 'send', /wildcard/],
      ['/user/temp-queue/x', 'subscribe', /reply-to/],
      ['/user/alice/reply-queue/n/s/x', 'send', /is not a user destination/],
      ['/user/user/queue/x', 'subscribe', /stands for one user's sessions/],
      ['/user/x-user/alice/queue/x', 'subscribe', /reserved/],
      ['/user/bob/x-user/alice/queue/x', 'send', /reserved/],
      ['/user/alice/nowhere/x', 'send', /is not a user destination/],
    ];
    for (const [name, use, detail] of cases) {
      const e = refused(name, use, principal('alice'));
      assert.equal(e.error, 'invalid destination', name);
      assert.match(e.detail, detail, name);
    }
  });

  test('a login that has no UTF-8 form (a lone surrogate) is refused, not thrown', () => {
    assert.equal(refused('/user/queue/n', 'subscribe', principal('a\uD800')).error, 'invalid destination');
  });

  test('clientDestination leaves every other destination alone', () => {
    for (const d of ['/topic/a', '/queue/x-user/a', '/reply-queue/n/s/x', '/topic/x-user']) assert.equal(clientDestination(d), d);
  });
});

/** A CONNECT with a login acts for that login; one without is anonymous. */
const TRUSTING: Authenticator = {
  authenticate: ({ headers }) => {
    const login = headers.get('login');
    return login === undefined ? ANONYMOUS : principal(login);
  },
  refresh: (current) => current,
};

const userKit = (options: Parameters<typeof Kit.create>[0] = {}): Promise<Kit> => Kit.create({ ...options, authenticator: TRUSTING });

/** A session connected as `login`. */
function userSession(kit: Kit, login: string, native = true, version = '1.2'): Client {
  const c = kit.connected({ 'accept-version': version, host: '/', login }, native);
  assert.equal(c.session.principal?.name, login);
  return c;
}

function subscribeNotes(kit: Kit, c: Client, id = 'sub-0', extra: Record<string, string> = {}): void {
  c.send('SUBSCRIBE', { id, destination: '/user/queue/notes', receipt: `r-${id}`, ...extra });
  kit.flush();
  assert.deepEqual(c.take().map((f) => f.h('receipt-id')), [`r-${id}`]);
}

describe('user destinations: through sessions', () => {
  test("a SEND to /user/<login>/queue/<name> reaches each of that user's subscribed sessions once, and nobody else", async () => {
    const kit = await userKit();
    const alice = [userSession(kit, 'alice'), userSession(kit, 'alice'), userSession(kit, 'alice', false)];
    const bob = userSession(kit, 'bob');
    for (const c of [...alice, bob]) subscribeNotes(kit, c);
    const sender = kit.connected(); // anonymous: sending to a user needs no login
    sender.send('SEND', { destination: '/user/alice/queue/notes', 'content-type': 'text/plain', receipt: 's' }, 'for alice');
    kit.flush();
    assert.deepEqual(sender.take().map((f) => f.h('receipt-id')), ['s']);
    for (const c of alice) {
      const frames = c.take();
      assert.equal(frames.length, 1);
      const [m] = frames;
      assert.equal(m?.command, 'MESSAGE');
      assert.equal(m.text, 'for alice');
      assert.equal(m.h('destination'), '/user/queue/notes');
      assert.equal(m.h('subscription'), 'sub-0');
      assert.equal(m.h('content-type'), 'text/plain');
    }
    assert.deepEqual(bob.take(), []);
    sender.send('SEND', { destination: '/user/bob/queue/notes' }, 'for bob');
    kit.flush();
    assert.deepEqual(bob.takeBodies(), ['for bob']);
    for (const c of alice) assert.deepEqual(c.take(), []);
  });

  test('the MESSAGE says /user/queue/<name> on acked subscriptions and for STOMP 1.0 and 1.1 escaping too', async () => {
    const kit = await userKit();
    const acked = userSession(kit, 'carol');
    subscribeNotes(kit, acked, 'c', { ack: 'client-individual' });
    const old = userSession(kit, 'carol', true, '1.1');
    subscribeNotes(kit, old, 'o');
    const ancient = userSession(kit, 'carol', false, '1.0');
    ancient.send('SUBSCRIBE', { destination: '/user/queue/notes' }, undefined, '1.0');
    const sender = kit.connected();
    sender.send('SEND', { destination: '/user/carol/queue/notes' }, 'x');
    kit.flush();
    const [m] = acked.take();
    assert.equal(m?.h('destination'), '/user/queue/notes');
    assert.ok(m.h('ack') !== undefined);
    assert.equal(old.take()[0]?.h('destination'), '/user/queue/notes');
    const [m10] = ancient.take();
    assert.equal(m10?.h('destination'), '/user/queue/notes');
    assert.equal(m10.h('subscription'), '/user/queue/notes'); // a 1.0 subscription without id is known by its destination
    ancient.send('UNSUBSCRIBE', { destination: '/user/queue/notes', receipt: 'u' }, undefined, '1.0');
    kit.flush();
    assert.deepEqual(ancient.take().map((f) => f.h('receipt-id')), ['u']);
  });

  test("a session's two subscriptions to one user destination each get a copy; UNSUBSCRIBE stops one", async () => {
    const kit = await userKit();
    const alice = userSession(kit, 'alice');
    subscribeNotes(kit, alice, 'a');
    subscribeNotes(kit, alice, 'b');
    const sender = kit.connected();
    sender.send('SEND', { destination: '/user/alice/queue/notes' }, '1');
    kit.flush();
    assert.deepEqual(alice.take().map((f) => f.h('subscription')).sort(), ['a', 'b']);
    alice.send('UNSUBSCRIBE', { id: 'a' });
    sender.send('SEND', { destination: '/user/alice/queue/notes' }, '2');
    kit.flush();
    assert.deepEqual(alice.take().map((f) => f.h('subscription')), ['b']);
  });

  test('an anonymous SUBSCRIBE to /user/... gets ERROR login required and the connection closes', async () => {
    const kit = await userKit();
    const anonymous = kit.connected();
    anonymous.send('SUBSCRIBE', { id: '0', destination: '/user/queue/notes', receipt: 'r' });
    kit.flush();
    const [e] = anonymous.take();
    assert.equal(e?.command, 'ERROR');
    assert.equal(e.h('message'), LOGIN_REQUIRED);
    assert.equal(e.h('receipt-id'), 'r');
    assert.match(e.text, /logged-in/);
    assert.equal(anonymous.session.state, 'closing');
  });

  test('the internal /x-user/ streams cannot be subscribed or sent to directly', async () => {
    const kit = await userKit();
    const alice = userSession(kit, 'alice');
    subscribeNotes(kit, alice);
    for (const [command, headers] of [
      ['SUBSCRIBE', { id: '0', destination: '/x-user/alice/queue/notes' }],
      ['SEND', { destination: '/x-user/alice/queue/notes' }],
    ] as const) {
      const mallory = userSession(kit, 'mallory');
      mallory.send(command, headers, command === 'SEND' ? 'forged' : undefined);
      kit.flush();
      const [e] = mallory.take();
      assert.equal(e?.command, 'ERROR');
      assert.equal(e.h('message'), 'invalid destination');
      assert.match(e.text, /reserved/);
    }
    assert.deepEqual(alice.take(), []);
  });

  test('wildcard topic subscriptions never see user streams', async () => {
    const kit = await userKit();
    const watcher = userSession(kit, 'watcher');
    watcher.send('SUBSCRIBE', { id: 'all', destination: '/topic/#' });
    const alice = userSession(kit, 'alice');
    subscribeNotes(kit, alice);
    const sender = kit.connected();
    sender.send('SEND', { destination: '/user/alice/topic/x' }, 'private');
    sender.send('SEND', { destination: '/user/alice/queue/notes' }, 'private');
    sender.send('SEND', { destination: '/topic/x' }, 'public');
    kit.flush();
    assert.deepEqual(watcher.takeBodies(), ['public']);
    assert.deepEqual(alice.takeBodies(), ['private']);
  });

  test('nothing is kept for a user with no subscribed session (topic semantics)', async () => {
    const kit = await userKit();
    const sender = kit.connected();
    sender.send('SEND', { destination: '/user/alice/queue/notes', receipt: 's' }, 'lost');
    kit.flush();
    assert.deepEqual(sender.take().map((f) => f.h('receipt-id')), ['s']);
    const alice = userSession(kit, 'alice');
    subscribeNotes(kit, alice);
    sender.send('SEND', { destination: '/user/alice/queue/notes' }, 'kept');
    kit.flush();
    assert.deepEqual(alice.takeBodies(), ['kept']);
  });

  test("a user resumes after a message of its own stream, and only its own (x-resume-after)", async () => {
    const kit = await userKit({ history: [{ prefix: '/x-user/', messages: 100 }] });
    const first = userSession(kit, 'alice');
    subscribeNotes(kit, first);
    const sender = kit.connected();
    sender.send('SEND', { destination: '/user/alice/queue/notes' }, 'm1');
    kit.flush();
    const [m1] = first.take();
    const lastId = m1!.h('message-id')!;
    first.closed();
    sender.send('SEND', { destination: '/user/alice/queue/notes' }, 'm2');
    kit.flush();
    const again = userSession(kit, 'alice');
    again.send('SUBSCRIBE', { id: 'sub-0', destination: '/user/queue/notes', 'x-resume-after': lastId });
    kit.flush();
    const [m2] = again.take();
    assert.equal(m2?.text, 'm2');
    assert.equal(m2.h('destination'), '/user/queue/notes');
    const bob = userSession(kit, 'bob');
    bob.send('SUBSCRIBE', { id: 'sub-0', destination: '/user/queue/notes', 'x-resume-after': lastId });
    kit.flush();
    const [e] = bob.take();
    assert.equal(e?.command, 'ERROR');
    assert.equal(e.h('message'), 'invalid x-resume-after');
  });
});

// The session's abuse limits, with a fake transport and a fake clock: the SEND rate (a token
// bucket that holds the input, never refuses), the body size per destination prefix, the distinct
// destinations of one publisher, connections per authenticated principal, and a frame left
// incomplete (slow-loris). Each refusal is one ERROR naming the setting, then the close.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type AuthOutcome, type Authenticator, type Credentials, type Principal } from '@stompede/session';
import { Kit, settle, type Client } from './kit.js';

function send(c: Client, destination: string, body = 'x', extra: Record<string, string> = {}): void {
  c.send('SEND', { destination, ...extra }, body);
}

/** The last frame `c` received must be ERROR `message`, naming `setting`, and the session closing. */
function assertRefused(c: Client, message: string, setting: string): void {
  const frames = c.take();
  const e = frames.at(-1);
  assert.equal(e?.command, 'ERROR', `frames: ${frames.map((f) => f.command).join(',')}`);
  assert.equal(e.h('message'), message);
  assert.ok(e.text.includes(setting), e.text);
  assert.ok(c.session.state === 'closing' || c.session.state === 'closed');
}

describe('SEND rate (maxSendsPerSecond, sendBurst)', () => {
  test('a burst is taken at once; past it the input is held (TCP paused) and released as tokens come back', async () => {
    const kit = await Kit.create({ config: { maxSendsPerSecond: 10, sendBurst: 3 } });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/rate' });
    const pub = kit.connected();
    pub.transport.pausable();
    for (let i = 0; i < 6; i++) send(pub, '/topic/rate', `m${i}`);
    kit.flush();
    // Three tokens: the third SEND empties the bucket and holds what follows it.
    assert.deepEqual(sub.takeBodies(), ['m0', 'm1', 'm2']);
    assert.equal(pub.transport.paused, true);
    assert.equal(kit.hub.metrics.limitHits.get('maxSendsPerSecond'), 1);
    kit.advance(50);
    kit.hub.tick();
    kit.flush();
    assert.deepEqual(sub.takeBodies(), [], 'no token yet after 50 ms at 10/s');
    kit.advance(60);
    kit.hub.tick();
    kit.flush();
    // One token after 100 ms: one more SEND, then held again.
    assert.deepEqual(sub.takeBodies(), ['m3']);
    assert.equal(pub.transport.paused, true);
    kit.advance(1_000);
    kit.hub.tick();
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['m4', 'm5']);
    assert.equal(pub.transport.paused, false, 'reading resumes once everything held was processed');
    assert.equal(pub.session.state, 'connected');
  });

  test('a WebSocket over the rate keeps its input up to maxHeldInputBytes, then gets ERROR publisher too fast', async () => {
    const kit = await Kit.create({ config: { maxSendsPerSecond: 5, sendBurst: 1, maxHeldInputBytes: 200 } });
    const pub = kit.connected();
    send(pub, '/topic/ws-rate', 'first');
    for (let i = 0; i < 10 && pub.session.state === 'connected'; i++) send(pub, '/topic/ws-rate', 'y'.repeat(40));
    kit.flush();
    const frames = pub.take();
    const e = frames.at(-1)!;
    assert.equal(e.command, 'ERROR');
    assert.equal(e.h('message'), 'publisher too fast');
    assert.match(e.text, /maxSendsPerSecond/);
    assert.equal(e.h('x-sends-accepted'), '1');
  });

  test('transactional SENDs count as they arrive, not again at COMMIT', async () => {
    const kit = await Kit.create({ config: { maxSendsPerSecond: 1, sendBurst: 3 } });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/tx-rate' });
    const pub = kit.connected();
    pub.transport.pausable();
    pub.send('BEGIN', { transaction: 't' });
    send(pub, '/topic/tx-rate', 'a', { transaction: 't' });
    send(pub, '/topic/tx-rate', 'b', { transaction: 't' });
    pub.send('COMMIT', { transaction: 't' });
    kit.flush();
    assert.deepEqual(sub.takeBodies(), ['a', 'b']);
    assert.equal(pub.transport.paused, false, 'two SENDs of three tokens: not held');
  });

  test('0 switches the rate off', async () => {
    const kit = await Kit.create({ config: { maxSendsPerSecond: 0, sendBurst: 1 } });
    const pub = kit.connected();
    pub.transport.pausable();
    for (let i = 0; i < 100; i++) send(pub, '/topic/off', String(i));
    assert.equal(pub.transport.paused, false);
  });
});

describe('maxBodyBytes per destination prefix', () => {
  const limits = [{ prefix: '/topic/', bytes: 10 }, { prefix: '/topic/big.', bytes: 100 }, { prefix: '/queue/', bytes: 20 }];

  test('at the limit of the longest matching prefix is accepted, one byte more refused', async () => {
    const kit = await Kit.create({ config: { maxBodyBytes: limits } });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/#' });
    const pub = kit.connected();
    send(pub, '/topic/small', 'a'.repeat(10));
    send(pub, '/topic/big.one', 'b'.repeat(100));
    kit.flush();
    assert.deepEqual(sub.takeBodies().map((b) => b.length), [10, 100]);
    send(pub, '/topic/small', 'a'.repeat(11), { receipt: 'r1' });
    kit.flush();
    assertRefused(pub, 'message too large', 'maxBodyBytes');
    assert.deepEqual(sub.takeBodies(), []);
  });

  test('inside a transaction the SEND is refused as it arrives: nothing of the transaction is applied', async () => {
    const kit = await Kit.create({ config: { maxBodyBytes: limits } });
    const consumer = kit.connected();
    consumer.send('SUBSCRIBE', { id: 'q', destination: '/queue/tx-size' });
    const pub = kit.connected();
    pub.send('BEGIN', { transaction: 't' });
    send(pub, '/queue/tx-size', 'fits', { transaction: 't' });
    send(pub, '/queue/tx-size', 'z'.repeat(21), { transaction: 't' });
    kit.flush();
    assertRefused(pub, 'message too large', 'maxBodyBytes');
    assert.deepEqual(consumer.takeBodies(), []);
  });

  test('a destination matching no prefix is bounded by maxFrameBytes only', async () => {
    const kit = await Kit.create({ config: { maxBodyBytes: [{ prefix: '/queue/', bytes: 1 }] } });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/free' });
    const pub = kit.connected();
    send(pub, '/topic/free', 'f'.repeat(5000));
    kit.flush();
    assert.equal(sub.takeBodies()[0]?.length, 5000);
  });
});

describe('maxPublishDestinations', () => {
  test('a connection may send to that many distinct destinations, again to each, and not to one more', async () => {
    const kit = await Kit.create({ config: { maxPublishDestinations: 3 } });
    const pub = kit.connected();
    for (const d of ['/topic/d1', '/topic/d2', '/queue/d3', '/topic/d1', '/queue/d3']) send(pub, d);
    kit.flush();
    assert.deepEqual(pub.take(), []);
    assert.equal(pub.session.sendsAccepted, 5);
    send(pub, '/topic/d4');
    kit.flush();
    assertRefused(pub, 'too many destinations', 'maxPublishDestinations');
    assert.equal(kit.hub.metrics.limitHits.get('maxPublishDestinations'), 1);
  });

  test('the count is per connection', async () => {
    const kit = await Kit.create({ config: { maxPublishDestinations: 1 } });
    const a = kit.connected();
    const b = kit.connected();
    send(a, '/topic/a');
    send(b, '/topic/b');
    kit.flush();
    assert.deepEqual([a.take(), b.take()], [[], []]);
  });
});

describe('maxConnectionsPerPrincipal', () => {
  const user = (name: string, method = 'users'): Principal => ({ name, method, expiresAtMs: undefined, groups: [], permissions: undefined });

  /**
   * The login is the principal's name; login "anon" is anonymous. Login "later" is answered when
   * the test calls `answer`, as a slow password check would be.
   */
  class NamingAuthenticator implements Authenticator {
    private readonly waiting: ((p: AuthOutcome) => void)[] = [];
    authenticate(c: Credentials): AuthOutcome | Promise<AuthOutcome> {
      const login = c.headers.get('login') ?? '';
      if (login === 'anon') return ANONYMOUS;
      if (login === 'later') return new Promise((resolve) => this.waiting.push(resolve));
      return user(login);
    }
    refresh(): AuthOutcome {
      return { refused: 'access refused', detail: 'no refresh here' };
    }
    answer(outcome: AuthOutcome): void {
      this.waiting.shift()!(outcome);
    }
  }

  function connectAs(kit: Kit, login: string): Client {
    const c = kit.open();
    c.send('CONNECT', { 'accept-version': '1.2', host: '/', login });
    kit.flush();
    return c;
  }

  test('a user may hold that many connections; one more is refused at CONNECT; a closed one frees a slot', async () => {
    const kit = await Kit.create({ config: { maxConnectionsPerPrincipal: 2 }, authenticator: new NamingAuthenticator() });
    const first = connectAs(kit, 'alice');
    const second = connectAs(kit, 'alice');
    assert.deepEqual([first, second].map((c) => c.take()[0]?.command), ['CONNECTED', 'CONNECTED']);
    const third = connectAs(kit, 'alice');
    assertRefused(third, 'too many connections for this user', 'maxConnectionsPerPrincipal');
    third.closed();
    const bob = connectAs(kit, 'bob');
    assert.equal(bob.take()[0]?.command, 'CONNECTED', 'another user is not affected');
    first.closed();
    assert.equal(kit.hub.principalConnections.of('alice'), 1);
    const again = connectAs(kit, 'alice');
    assert.equal(again.take()[0]?.command, 'CONNECTED');
    assert.equal(kit.hub.metrics.limitHits.get('maxConnectionsPerPrincipal'), 1);
  });

  test('counted when an asynchronous authentication answers; frames pipelined after a refused CONNECT are never processed', async () => {
    const auth = new NamingAuthenticator();
    const kit = await Kit.create({ config: { maxConnectionsPerPrincipal: 1 }, authenticator: auth });
    const sub = kit.connected({ 'accept-version': '1.2', host: '/', login: 'watcher' });
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/pipelined' });
    const holder = connectAs(kit, 'carol');
    assert.equal(holder.take()[0]?.command, 'CONNECTED');
    const late = kit.open();
    late.send('CONNECT', { 'accept-version': '1.2', host: '/', login: 'later' });
    late.send('SEND', { destination: '/topic/pipelined' }, 'never');
    auth.answer(user('carol'));
    await settle(kit);
    assertRefused(late, 'too many connections for this user', 'maxConnectionsPerPrincipal');
    assert.deepEqual(sub.takeBodies(), []);
  });

  test('anonymous principals are not counted', async () => {
    const kit = await Kit.create({ config: { maxConnectionsPerPrincipal: 1 }, authenticator: new NamingAuthenticator() });
    const clients = [0, 1, 2].map(() => connectAs(kit, 'anon'));
    assert.deepEqual(clients.map((c) => c.take()[0]?.command), ['CONNECTED', 'CONNECTED', 'CONNECTED']);
    assert.equal(kit.hub.principalConnections.of('anonymous'), 0);
  });
});

describe('frameTimeoutMs (slow-loris)', () => {
  test('a frame begun and not completed in time gets ERROR frame timeout', async () => {
    const kit = await Kit.create({ config: { frameTimeoutMs: 1_000, heartbeatMs: [0, 0] } });
    const c = kit.connected();
    c.raw('SEND\ndestination:/topic/slow\n');
    kit.advance(600);
    c.raw('x-more:1\n');
    kit.advance(600);
    kit.hub.tick();
    kit.flush();
    assertRefused(c, 'frame timeout', 'frameTimeoutMs');
  });

  test('frames each split across reads are not one slow frame; idle time between frames does not count', async () => {
    const kit = await Kit.create({ config: { frameTimeoutMs: 1_000, heartbeatMs: [0, 0] } });
    const sub = kit.connected();
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/split' });
    const c = kit.connected();
    // Every read completes one frame and begins the next: each frame takes 600 ms, the stream 6 s.
    c.raw('SEND\ndestination:/topic/split\n\n0');
    for (let i = 1; i < 10; i++) {
      kit.advance(600);
      kit.hub.tick();
      c.raw(`\0SEND\ndestination:/topic/split\n\n${i}`);
    }
    kit.advance(600);
    c.raw('\0');
    kit.advance(5_000);
    kit.hub.tick();
    kit.flush();
    assert.equal(c.session.state, 'connected');
    assert.deepEqual(sub.takeBodies(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
});

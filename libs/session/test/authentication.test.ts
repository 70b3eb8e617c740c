// Authentication as a session sees it, through the Authenticator seam with a test authenticator:
// an answer known at once (anonymous) connects in the same turn; a pending one holds whatever the
// client pipelined after CONNECT, in order, until CONNECTED, and a refusal discards it unread; the
// CONNECT deadline still runs; credentials that expire end a live connection; a SEND to
// /stompede/token refreshes them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANONYMOUS, type AuthOutcome, type Authenticator, type Credentials, type Principal } from '@stompede/session';
import { encodeFrame } from '@stompede/stomp';
import { Kit, settle, type Client } from './kit.js';

function principal(name: string, expiresAtMs?: number): Principal {
  return { name, method: 'test', expiresAtMs, groups: [], permissions: undefined };
}

const REFUSED = { refused: 'access refused', detail: 'The credentials were not accepted.' };

/** Answers the login "now" at once; every other CONNECT or refresh waits until the test answers it. */
class TestAuthenticator implements Authenticator {
  readonly seen: { login: string | undefined; ip: string }[] = [];
  readonly refreshes: { current: Principal; token: string | undefined }[] = [];
  private readonly waiting: ((outcome: AuthOutcome) => void)[] = [];
  /** What refresh answers; a function of the token. */
  refreshWith: (token: string | undefined) => AuthOutcome | Promise<AuthOutcome> = () => REFUSED;
  /** What a CONNECT with login "now" gets (at once); login "no" is refused at once. */
  now: AuthOutcome = principal('now');

  authenticate(c: Credentials): AuthOutcome | Promise<AuthOutcome> {
    const login = c.headers.get('login');
    this.seen.push({ login, ip: c.remoteIp });
    if (login === 'now') return this.now;
    if (login === 'no') return REFUSED;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  refresh(current: Principal, c: Credentials): AuthOutcome | Promise<AuthOutcome> {
    const token = c.headers.get('token');
    this.refreshes.push({ current, token });
    return this.refreshWith(token);
  }

  get pending(): number {
    return this.waiting.length;
  }

  answer(outcome: AuthOutcome): void {
    this.waiting.shift()!(outcome);
  }
}

const CONNECT = { 'accept-version': '1.2', host: '/', login: 'alice', passcode: 'secret' };

function frames(...parts: [string, Record<string, string>, string?][]): Uint8Array {
  const encoded = parts.map(([command, headers, body]) => encodeFrame(command, headers, body));
  return Buffer.concat(encoded);
}

function commands(c: Client): string[] {
  return c.take().map((f) => (f.command === 'RECEIPT' ? `RECEIPT ${f.h('receipt-id')}` : f.command === 'ERROR' ? `ERROR ${f.h('message')}` : f.command === 'MESSAGE' ? `MESSAGE ${f.text}` : f.command));
}

async function setup(config = {}): Promise<{ kit: Kit; auth: TestAuthenticator; watcher: Client }> {
  const auth = new TestAuthenticator();
  const kit = await Kit.create({ authenticator: auth, config });
  const watcher = kit.connected({ 'accept-version': '1.2', host: '/', login: 'now' }, false);
  watcher.send('SUBSCRIBE', { id: 'w', destination: '/topic/a' });
  kit.flush();
  return { kit, auth, watcher };
}

describe('authentication at CONNECT', () => {
  test('without an authenticator every client is anonymous, connected in the same call (no promise, no turn)', async () => {
    const kit = await Kit.create();
    const c = kit.open();
    c.send('CONNECT', CONNECT);
    assert.equal(c.session.state, 'connected');
    assert.equal(c.session.principal, ANONYMOUS);
    assert.deepEqual({ ...ANONYMOUS }, { name: 'anonymous', method: 'anonymous', expiresAtMs: undefined, groups: [], permissions: undefined });
    assert.equal(c.session.login, 'alice');
  });

  test('the authenticator sees the CONNECT headers and the peer IP; its principal is the session\'s', async () => {
    const { kit, auth } = await setup();
    const c = kit.open(false);
    c.transport.remoteIp = '203.0.113.7';
    c.send('CONNECT', CONNECT);
    assert.deepEqual(auth.seen.at(-1), { login: 'alice', ip: '203.0.113.7' });
    auth.answer(principal('alice'));
    await settle(kit);
    assert.deepEqual(commands(c), ['CONNECTED']);
    assert.equal(c.session.principal?.name, 'alice');
  });

  test('frames pipelined after CONNECT, in its chunk and in later ones, wait for CONNECTED and then run in order', async () => {
    const { kit, auth, watcher } = await setup();
    const c = kit.open(false);
    c.raw(frames(['CONNECT', CONNECT], ['SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'r1' }], ['SEND', { destination: '/topic/a', receipt: 'r2' }, 'one']));
    c.raw(frames(['SEND', { destination: '/topic/a', receipt: 'r3' }, 'two']));
    kit.flush();
    assert.deepEqual(c.take(), [], 'nothing is answered while the CONNECT is checked');
    assert.deepEqual(watcher.takeBodies(), [], 'nothing pipelined was published');
    assert.equal(c.session.state, 'connecting');
    auth.answer(principal('alice'));
    await settle(kit);
    assert.deepEqual(commands(c), ['CONNECTED', 'RECEIPT r1', 'MESSAGE one', 'RECEIPT r2', 'MESSAGE two', 'RECEIPT r3']);
    assert.deepEqual(watcher.takeBodies(), ['one', 'two']);
  });

  test('a pausable transport stops being read while the CONNECT is checked, and reads again after', async () => {
    const { kit, auth } = await setup();
    const c = kit.open(false);
    c.transport.pausable();
    c.send('CONNECT', CONNECT);
    assert.equal(c.transport.paused, true);
    auth.answer(principal('alice'));
    await settle(kit);
    assert.equal(c.transport.paused, false);
    assert.equal(kit.hub.inputsHeld, 0, 'not counted as publish pressure');
  });

  test('a refusal: ERROR access refused, the pipelined frames are discarded unread, the transport reads again and ends', async () => {
    const { kit, auth, watcher } = await setup();
    const c = kit.open(false);
    c.transport.pausable();
    c.raw(frames(['CONNECT', CONNECT], ['SEND', { destination: '/topic/a' }, 'forged'], ['SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'r' }]));
    auth.answer(REFUSED);
    await settle(kit);
    const answer = c.take();
    assert.deepEqual(answer.map((f) => `${f.command} ${f.h('message')}`), ['ERROR access refused']);
    assert.equal(answer[0]!.text, REFUSED.detail);
    assert.deepEqual(watcher.takeBodies(), []);
    assert.equal(c.session.subscriptionCount, 0);
    assert.equal(c.session.principal, undefined);
    assert.equal(c.transport.paused, false, 'unread input would make the close a reset');
    assert.equal(c.transport.ended, true);
    assert.equal(kit.hub.metrics.errors.get('access refused'), 1);
  });

  test('a refusal known at once: nothing pipelined in the same read runs either', async () => {
    const { kit, watcher } = await setup();
    const c = kit.open(false);
    c.raw(frames(['CONNECT', { ...CONNECT, login: 'no' }], ['SEND', { destination: '/topic/a' }, 'forged']));
    kit.flush();
    assert.deepEqual(commands(c), ['ERROR access refused']);
    assert.deepEqual(watcher.takeBodies(), []);
  });

  test('the CONNECT deadline runs while the check is pending; a late answer changes nothing', async () => {
    const { kit, auth } = await setup({ connectTimeoutMs: 1_000 });
    const c = kit.open(false);
    c.send('CONNECT', CONNECT);
    kit.advance(500);
    kit.hub.tick();
    assert.equal(c.session.state, 'connecting');
    kit.advance(501);
    kit.hub.tick();
    kit.flush();
    assert.deepEqual(commands(c), ['ERROR connect timeout']);
    auth.answer(principal('alice'));
    await settle(kit);
    assert.deepEqual(c.take(), []);
    assert.equal(c.session.principal, undefined);
  });

  test('input that keeps coming while the CONNECT is checked is bounded (maxHeldInputBytes) on a transport that cannot pause', async () => {
    const { kit } = await setup({ maxHeldInputBytes: 100 });
    const c = kit.open(false);
    c.send('CONNECT', CONNECT);
    c.send('SEND', { destination: '/topic/a' }, 'x'.repeat(200));
    kit.flush();
    assert.deepEqual(commands(c), ['ERROR too much input before CONNECTED']);
  });

  test('the socket closing while the check is pending: the answer is dropped', async () => {
    const { kit, auth } = await setup();
    const c = kit.open(false);
    c.send('CONNECT', CONNECT);
    c.closed();
    auth.answer(principal('alice'));
    await settle(kit);
    assert.equal(c.session.state, 'closed');
    assert.deepEqual(c.take(), []);
  });
});

describe('credentials expiry and refresh', () => {
  async function expiring(expiresInMs: number): Promise<{ kit: Kit; auth: TestAuthenticator; c: Client }> {
    const auth = new TestAuthenticator();
    const kit = await Kit.create({ authenticator: auth });
    auth.now = principal('now', kit.ms + expiresInMs);
    const c = kit.connected({ 'accept-version': '1.2', host: '/', login: 'now' });
    return { kit, auth, c };
  }

  test('a live connection gets ERROR credentials expired and closes when they expire', async () => {
    const { kit, c } = await expiring(5_000);
    kit.advance(4_999);
    kit.hub.tick();
    assert.equal(c.session.state, 'connected');
    kit.advance(1);
    kit.hub.tick();
    kit.flush();
    const [error] = c.take();
    assert.equal(error?.h('message'), 'credentials expired');
    assert.match(error!.text, /\/stompede\/token/);
    assert.equal(c.transport.ended, true);
  });

  test('SEND to /stompede/token: the authenticator gets the current principal and the token; the new expiry holds; RECEIPT', async () => {
    const { kit, auth, c } = await expiring(5_000);
    auth.refreshWith = () => principal('now', kit.ms + 60_000);
    c.send('SEND', { destination: '/stompede/token', token: 'fresh', receipt: 't1' });
    kit.flush();
    assert.deepEqual(commands(c), ['RECEIPT t1']);
    assert.equal(auth.refreshes[0]!.current.name, 'now');
    assert.equal(auth.refreshes[0]!.token, 'fresh');
    kit.advance(30_000);
    kit.hub.tick();
    assert.equal(c.session.state, 'connected');
    assert.equal(kit.hub.metrics.messagesPublished, 0, 'a refresh publishes nothing');
  });

  test('an asynchronous refresh: later receipts wait for it', async () => {
    const { kit, auth, c } = await expiring(5_000);
    let accept!: (o: AuthOutcome) => void;
    auth.refreshWith = () => new Promise((resolve) => (accept = resolve));
    c.send('SEND', { destination: '/stompede/token', token: 'fresh', receipt: 't1' });
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'r2' });
    await settle(kit);
    assert.deepEqual(c.take(), []);
    accept(principal('now', kit.ms + 60_000));
    await settle(kit);
    await settle(kit);
    assert.deepEqual(commands(c), ['RECEIPT t1', 'RECEIPT r2']);
    assert.equal(c.session.principal?.expiresAtMs, kit.ms + 60_000);
  });

  test('a refused refresh (sync or async): ERROR with the receipt-id, and the connection closes', async () => {
    for (const async of [false, true]) {
      const { kit, auth, c } = await expiring(5_000);
      auth.refreshWith = () => (async ? Promise.resolve(REFUSED) : REFUSED);
      c.send('SEND', { destination: '/stompede/token', token: 'stale', receipt: 't1' });
      await settle(kit);
      const [error] = c.take();
      assert.equal(error?.h('message'), 'access refused', `async: ${async}`);
      assert.equal(error?.h('receipt-id'), 't1');
      assert.equal(c.session.state, 'closing');
    }
  });
});

// Authorization through sessions, with a fake rule engine behind the Authorizer seam: refused SENDs
// and SUBSCRIBEs (ERROR access refused, receipt-id, nothing published), the cost model (rules asked
// once per SUBSCRIBE, once per new SEND destination, once per wildcard binding, never per message),
// and wildcard subscriptions that never deliver from a destination their principal may not read,
// destinations first used after the SUBSCRIBE included.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ANONYMOUS,
  MAX_ALLOWED_SENDS,
  splitName,
  UNRESTRICTED,
  WildcardTrie,
  type Access,
  type Authorizer,
  type Operation,
  type Principal,
} from '@stompede/session';
import { Kit, type Client } from './kit.js';

type Rights = Partial<Record<Operation, string[]>>;

/** Patterns per operation, matched with the destinations' own trie; counts every question asked. */
class FakeAccess implements Access {
  readonly unrestricted = false;
  readonly asked: string[] = [];
  private readonly tries = new Map<Operation, WildcardTrie<true>>();

  constructor(rights: Rights) {
    for (const op of ['send', 'subscribe', 'consume'] as const) {
      const trie = new WildcardTrie<true>();
      for (const p of rights[op] ?? []) trie.set(split(p), true);
      this.tries.set(op, trie);
    }
  }

  mayPublish(d: string): boolean {
    return this.ask('send', d);
  }

  maySubscribe(d: string): boolean {
    return this.ask('subscribe', d);
  }

  mayConsume(d: string): boolean {
    return this.ask('consume', d);
  }

  maySubscribeUnder(prefix: string): boolean {
    return (this.tries.get('subscribe')!.size > 0) && (prefix === '/topic/');
  }

  private ask(op: Operation, d: string): boolean {
    this.asked.push(`${op} ${d}`);
    return this.tries.get(op)!.match(split(d)).length > 0;
  }
}

function split(name: string): string[] {
  return splitName(name, name.indexOf('/', 1) + 1);
}

/** One Access per principal name (as a real engine shares one among principals with equal rights). */
class FakeAuthorizer implements Authorizer {
  generation = 0;
  readonly principals: Principal[] = [];
  private readonly accesses = new Map<string, FakeAccess>();

  constructor(private readonly rights: Record<string, Rights>) {}

  access(principal: Principal): Access {
    this.principals.push(principal);
    if (principal.name === 'root') return UNRESTRICTED;
    let a = this.accesses.get(principal.name);
    if (a === undefined) {
      a = new FakeAccess(this.rights[principal.name] ?? {});
      this.accesses.set(principal.name, a);
    }
    return a;
  }

  of(name: string): FakeAccess {
    return this.accesses.get(name)!;
  }

  reload(rights: Record<string, Rights>): void {
    Object.assign(this.rights, rights);
    this.accesses.clear();
    this.generation++;
  }
}

const user = (name: string): Principal => ({ name, method: 'users', expiresAtMs: undefined, groups: [], permissions: undefined });

async function setup(rights: Record<string, Rights>): Promise<{ kit: Kit; authz: FakeAuthorizer; as: (name: string, native?: boolean) => Client }> {
  const authz = new FakeAuthorizer(rights);
  const kit = await Kit.create({ authorizer: authz });
  const as = (name: string, native = true): Client => {
    const c = kit.connected(undefined, native);
    // What authentication does at CONNECT (its own helper's work); 'anonymous' keeps the default.
    if (name !== 'anonymous') c.session.principal = user(name);
    return c;
  };
  return { kit, authz, as };
}

function error(c: Client): { message: string | undefined; receipt: string | undefined; operation: string | undefined; text: string } {
  const frames = c.take();
  const e = frames.at(-1);
  assert.equal(e?.command, 'ERROR', `frames: ${frames.map((f) => f.command).join(',')}`);
  assert.ok(c.transport.ended, 'the connection is closed after the ERROR');
  return { message: e.h('message'), receipt: e.h('receipt-id'), operation: e.h('x-denied-operation'), text: e.text };
}

describe('authorization: refusals', () => {
  test('a SEND to a forbidden destination gets ERROR access refused with its receipt-id, and nothing is published', async () => {
    const { kit, as } = await setup({ alice: { send: ['/topic/public.#'], subscribe: ['/topic/#'] } });
    const watcher = as('alice');
    watcher.send('SUBSCRIBE', { id: 's', destination: '/topic/secret.x' });
    kit.flush();
    watcher.take();
    const pub = as('alice');
    pub.send('SEND', { destination: '/topic/secret.x', receipt: 'r-1' }, 'nope');
    kit.flush();
    const e = error(pub);
    assert.equal(e.message, 'access refused');
    assert.equal(e.receipt, 'r-1');
    assert.equal(e.operation, 'send');
    assert.match(e.text, /user "alice" may not send to \/topic\/secret\.x/);
    assert.deepEqual(watcher.take(), [], 'nothing was published');
    assert.equal(kit.hub.metrics.messagesPublished, 0);
    assert.equal(kit.hub.metrics.accessDenied.get('send'), 1);
    assert.equal(kit.hub.metrics.errors.get('access refused'), 1);
  });

  test('a session without a principal is the anonymous one', async () => {
    const { kit, authz, as } = await setup({ anonymous: { send: ['/topic/a'] } });
    const c = as('anonymous');
    c.send('SEND', { destination: '/topic/a' }, 'ok');
    c.send('SEND', { destination: '/topic/b' }, 'no');
    kit.flush();
    assert.deepEqual(authz.principals, [ANONYMOUS]);
    assert.match(error(c).text, /an anonymous session may not send to \/topic\/b/);
    assert.equal(kit.hub.metrics.messagesPublished, 1);
  });

  test('SUBSCRIBE: a topic needs subscribe, a queue consume; refusals carry the receipt-id', async () => {
    const { kit, as } = await setup({ bob: { subscribe: ['/topic/news.*'], consume: ['/queue/jobs'] } });
    const cases: [string, string][] = [['/topic/sports.x', 'subscribe'], ['/queue/other', 'consume'], ['/topic/news.a.b', 'subscribe']];
    for (const [destination, operation] of cases) {
      const c = as('bob');
      c.send('SUBSCRIBE', { id: 's', destination, receipt: 'r' });
      kit.flush();
      const e = error(c);
      assert.deepEqual([e.message, e.receipt, e.operation], ['access refused', 'r', operation], destination);
    }
    const ok = as('bob');
    ok.send('SUBSCRIBE', { id: 't', destination: '/topic/news.a', receipt: 'r1' });
    ok.send('SUBSCRIBE', { id: 'q', destination: '/queue/jobs', receipt: 'r2' });
    kit.flush();
    assert.deepEqual(ok.take().map((f) => f.h('receipt-id')), ['r1', 'r2']);
    assert.deepEqual(Object.fromEntries(kit.hub.metrics.accessDenied), { send: 0, subscribe: 2, consume: 1 });
  });

  test('a wildcard SUBSCRIBE is refused only when nothing under its prefix may be subscribed to', async () => {
    const { kit, as } = await setup({ carol: { send: ['/topic/#'] }, dave: { subscribe: ['/topic/public.#'] } });
    const carol = as('carol');
    carol.send('SUBSCRIBE', { id: 's', destination: '/topic/#', receipt: 'r' });
    kit.flush();
    const e = error(carol);
    assert.deepEqual([e.message, e.receipt, e.operation], ['access refused', 'r', 'subscribe']);
    assert.match(e.text, /wildcard subscription needs/);
    const dave = as('dave');
    dave.send('SUBSCRIBE', { id: 's', destination: '/topic/#', receipt: 'r' });
    kit.flush();
    assert.deepEqual(dave.take().map((f) => f.command), ['RECEIPT']);
  });

  test('a transactional SEND is checked when received, not at COMMIT', async () => {
    const { kit, as } = await setup({ erin: { send: ['/queue/ok'], consume: ['/queue/#'] } });
    const consumer = as('erin');
    consumer.send('SUBSCRIBE', { id: 's', destination: '/queue/ok' });
    const c = as('erin');
    c.send('BEGIN', { transaction: 't' });
    c.send('SEND', { destination: '/queue/ok', transaction: 't' }, 'first');
    c.send('SEND', { destination: '/queue/forbidden', transaction: 't', receipt: 'r' }, 'second');
    kit.flush();
    const e = error(c);
    assert.deepEqual([e.message, e.receipt], ['access refused', 'r']);
    kit.flush();
    assert.deepEqual(consumer.take().filter((f) => f.command === 'MESSAGE'), [], 'the transaction was discarded with the connection');
  });
});

describe('authorization: cost', () => {
  test('a publisher is checked once per destination, within a bounded set, and again after a reload', async () => {
    const { kit, authz, as } = await setup({ frank: { send: ['/topic/#'] } });
    const c = as('frank');
    for (let i = 0; i < 100; i++) c.send('SEND', { destination: '/topic/a' }, 'm');
    kit.flush();
    assert.deepEqual(authz.of('frank').asked, ['send /topic/a']);
    // Past the bound the oldest is forgotten (checked again), never refused.
    for (let i = 0; i <= MAX_ALLOWED_SENDS; i++) c.send('SEND', { destination: `/topic/d${i}` }, 'm');
    c.send('SEND', { destination: '/topic/a' }, 'm');
    c.send('SEND', { destination: `/topic/d${MAX_ALLOWED_SENDS}` }, 'm');
    kit.flush();
    assert.equal(authz.of('frank').asked.length, 1 + (MAX_ALLOWED_SENDS + 1) + 1);
    assert.equal(c.take().length, 0, 'no ERROR');
    // A reload (new generation): the next SEND is checked against the new rules.
    authz.reload({ frank: { send: ['/topic/b'] } });
    c.send('SEND', { destination: '/topic/a', receipt: 'r' }, 'm');
    kit.flush();
    assert.deepEqual(authz.of('frank').asked, ['send /topic/a']);
    assert.equal(error(c).receipt, 'r');
  });

  test('a new principal (token refresh) is checked afresh', async () => {
    const { kit, as } = await setup({ gina: { send: ['/topic/a'] }, hank: { send: ['/topic/b'] } });
    const c = as('gina');
    c.send('SEND', { destination: '/topic/a' }, 'm');
    kit.flush();
    c.session.principal = user('hank');
    c.send('SEND', { destination: '/topic/a' }, 'm');
    kit.flush();
    assert.match(error(c).text, /user "hank" may not send/);
  });

  test('a wildcard binding is checked once, however many messages and subscribers it gets', async () => {
    const { kit, authz, as } = await setup({ ivan: { send: ['/topic/#'], subscribe: ['/topic/public.#'] } });
    const subs = [as('ivan'), as('ivan'), as('ivan', false)];
    for (const s of subs) s.send('SUBSCRIBE', { id: 'w', destination: '/topic/#' });
    kit.flush();
    const pub = as('ivan');
    for (let i = 0; i < 50; i++) {
      pub.send('SEND', { destination: '/topic/public.a' }, `p${i}`);
      pub.send('SEND', { destination: '/topic/secret.a' }, `s${i}`);
    }
    kit.flush();
    for (const s of subs) assert.equal(s.takeBodies().length, 50);
    // Same rights, one fan-out group: one native publish per turn for both WebSocket subscribers.
    assert.equal(new Set(kit.publisher.publications.map((p) => p.topic)).size, 1);
    // A new pattern clears the router's match cache: the bindings are rebuilt, the rules not asked again.
    const other = as('ivan');
    other.send('SUBSCRIBE', { id: 'o', destination: '/topic/*.a' });
    kit.flush();
    pub.send('SEND', { destination: '/topic/public.a' }, 'again');
    pub.send('SEND', { destination: '/topic/secret.a' }, 'again');
    kit.flush();
    for (const s of [...subs, other]) assert.deepEqual(s.takeBodies(), ['again']);
    const bindings = authz.of('ivan').asked.filter((q) => q.startsWith('subscribe'));
    assert.deepEqual(bindings, ['subscribe /topic/public.a', 'subscribe /topic/secret.a', 'subscribe /topic/public.a', 'subscribe /topic/secret.a']);
    assert.equal(kit.hub.metrics.wildcardExclusions, 2);
  });
});

describe('authorization: wildcard subscriptions', () => {
  test('destinations first used after the SUBSCRIBE: a wildcard delivers only what its principal may read', async () => {
    for (const native of [true, false]) {
      for (const ack of ['auto', 'client']) {
        const { kit, as } = await setup({ jane: { subscribe: ['/topic/public.#', '/topic/mixed.ok'] }, pub: { send: ['/topic/#'] } });
        const sub = as('jane', native);
        sub.send('SUBSCRIBE', { id: 'w', destination: '/topic/#', ack, receipt: 'r' });
        kit.flush();
        assert.deepEqual(sub.take().map((f) => f.command), ['RECEIPT']);
        // None of these destinations existed before the SUBSCRIBE.
        const p = as('pub');
        for (const d of ['secret.x', 'public.a', 'mixed.no', 'public', 'mixed.ok', 'secret.public', 'public.b.c']) {
          p.send('SEND', { destination: `/topic/${d}` }, d);
        }
        kit.flush();
        const got = sub.take().map((f) => f.h('destination'));
        assert.deepEqual(got, ['/topic/public.a', '/topic/public', '/topic/mixed.ok', '/topic/public.b.c'], `native ${native}, ack ${ack}`);
      }
    }
  });

  test('principals with different rights on one pattern: each gets only what it may read', async () => {
    const { kit, as } = await setup({ kim: { subscribe: ['/topic/a.#'] }, lee: { subscribe: ['/topic/b.#'] }, pub: { send: ['/topic/#'] } });
    const kim = as('kim');
    const lee = as('lee', false);
    const root = as('root');
    for (const c of [kim, lee, root]) c.send('SUBSCRIBE', { id: 'w', destination: '/topic/*.x' });
    kit.flush();
    const p = as('pub');
    for (const d of ['a.x', 'b.x', 'c.x']) p.send('SEND', { destination: `/topic/${d}` }, d);
    kit.flush();
    assert.deepEqual(kim.takeBodies(), ['a.x']);
    assert.deepEqual(lee.takeBodies(), ['b.x']);
    assert.deepEqual(root.takeBodies(), ['a.x', 'b.x', 'c.x'], 'an unrestricted principal is not scoped');
    // Another session with the same rights joins the existing scoped node, bindings included.
    const kim2 = as('kim');
    kim2.send('SUBSCRIBE', { id: 'w2', destination: '/topic/*.x' });
    kit.flush();
    for (const d of ['a.x', 'b.x']) p.send('SEND', { destination: `/topic/${d}` }, d);
    kit.flush();
    assert.deepEqual(kim2.takeBodies(), ['a.x']);
    assert.deepEqual(lee.takeBodies(), ['b.x']);
  });

  test('scoped nodes go with their last subscriber, and the pattern with the last of all', async () => {
    const { kit, as } = await setup({ max: { subscribe: ['/topic/a.#'] }, ned: { subscribe: ['/topic/#'] }, pub: { send: ['/topic/#'] } });
    const max = as('max');
    const ned = as('ned');
    max.send('SUBSCRIBE', { id: 'w', destination: '/topic/#' });
    ned.send('SUBSCRIBE', { id: 'w', destination: '/topic/#' });
    kit.flush();
    assert.deepEqual(kit.hub.router.localDestinations('/'), [{ name: '/topic/#', kind: 'topic', pattern: true, subscribers: 2 }]);
    max.send('UNSUBSCRIBE', { id: 'w' });
    kit.flush();
    const p = as('pub');
    p.send('SEND', { destination: '/topic/a.b' }, 'after');
    kit.flush();
    assert.deepEqual(max.take(), []);
    assert.deepEqual(ned.takeBodies(), ['after']);
    // max subscribes again: a fresh scoped node, bound to the destination seen before.
    max.send('SUBSCRIBE', { id: 'w', destination: '/topic/#' });
    kit.flush();
    p.send('SEND', { destination: '/topic/a.b' }, 'again');
    kit.flush();
    assert.deepEqual(max.takeBodies(), ['again']);
    max.closed();
    ned.closed();
    assert.deepEqual(kit.hub.router.stats('/'), { topics: 0, queues: 0 });
  });
});

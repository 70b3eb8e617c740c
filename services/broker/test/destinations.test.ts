// Destination semantics end to end: topic fan-out, the wildcard matrix, refused destinations,
// prefix mapping (STOMPEDE_DESTINATION_PREFIXES) and virtual-host isolation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Client, IMessage } from '@stomp/stompjs';
import { expectRefused } from './helpers/expect.js';
import { bodyText, header } from './helpers/raw-client.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const LONG = 20_000;

/**
 * Subscribes `client` to a fresh queue, sends it `fence` and waits for it. The broker wrote the
 * fence after everything it had published before, so all of that has reached `client` too.
 */
async function fence(client: Client, producer: Client, queue: string): Promise<void> {
  const box = new Inbox();
  await subscribed(client, queue, box.push);
  await publishAll(producer, queue, ['fence']);
  await box.until(1, LONG);
}

describe('destinations', () => {
  const { broker, connectRaw, stompjs } = useBroker();

  test('topic fan-out: each subscriber gets, in order, every message published after its SUBSCRIBE receipt', async () => {
    const t = '/topic/fan';
    const producer = await stompjs();
    const stages = 3;
    const perStage = 4;
    const perBatch = 25;
    const joined: { stage: number; inbox: Inbox }[] = [];
    // A raw STOMP 1.0 TCP subscriber (per-socket writes, its own encoding) next to the WebSocket ones.
    const raw = await connectRaw('tcp', { 'accept-version': '1.0' });
    await raw.sendWithReceipt('SUBSCRIBE', { id: 'raw', destination: t });
    for (let stage = 0; stage < stages; stage++) {
      for (let i = 0; i < perStage; i++) {
        const inbox = new Inbox();
        await subscribed(await stompjs(), t, inbox.push);
        joined.push({ stage, inbox });
      }
      await publishAll(producer, t, range(perBatch, `s${stage}-`));
    }
    await publishAll(producer, t, ['end']);
    for (const { stage, inbox } of joined) {
      const expected = [...Array.from({ length: stages - stage }, (_, k) => range(perBatch, `s${stage + k}-`)).flat(), 'end'];
      await inbox.until(expected.length, LONG);
      assert.deepEqual(inbox.bodies, expected, `subscriber joined at stage ${stage}`);
    }
    const all = [...Array.from({ length: stages }, (_, k) => range(perBatch, `s${k}-`)).flat(), 'end'];
    await raw.waitFor((f) => f.command === 'MESSAGE' && bodyText(f) === 'end', LONG);
    const rawMessages = raw.frames.filter((f) => f.command === 'MESSAGE');
    assert.deepEqual(rawMessages.map(bodyText), all);
    assert.ok(rawMessages.every((f) => header(f, 'subscription') === 'raw'));
  });

  test('wildcard matrix: * is one segment, # zero or more, only . separates', async () => {
    const dests = [
      'prices', 'prices.ACME', 'prices.ACME.eu', 'pricesX', 'ACME.eu', 'eu', 'a.b.eu',
      'a.z', 'a.b.z', 'a.b.c.z', 'a.b', 'a/b', 'a/b.c', 'a*',
    ];
    const matrix: Record<string, string[]> = {
      'prices.*': ['prices.ACME'],
      'prices.#': ['prices', 'prices.ACME', 'prices.ACME.eu'],
      'prices.*.eu': ['prices.ACME.eu'],
      '*.eu': ['ACME.eu'],
      '#.eu': ['prices.ACME.eu', 'ACME.eu', 'eu', 'a.b.eu'],
      '#': dests,
      'a.#.z': ['a.z', 'a.b.z', 'a.b.c.z'],
      '*': ['prices', 'pricesX', 'eu', 'a/b', 'a*'],
      'a.*': ['a.z', 'a.b'],
      'a.*.*': ['a.b.eu', 'a.b.z'],
      '*.*': ['prices.ACME', 'ACME.eu', 'a.z', 'a.b', 'a/b.c'],
      'a*': ['a*'], // not a wildcard: an ordinary name
      'a/b': ['a/b'],
      'a.b': ['a.b'],
    };
    const client = await stompjs();
    const producer = await stompjs();
    const got = new Map<string, IMessage[]>();
    for (const [i, pattern] of Object.keys(matrix).entries()) {
      const list: IMessage[] = [];
      got.set(pattern, list);
      await subscribed(client, `/topic/${pattern}`, (m) => list.push(m), { id: `p${i}` });
    }
    for (const d of dests) await publishAll(producer, `/topic/${d}`, [d]);
    await fence(client, producer, '/queue/wildcard-fence');
    for (const [i, [pattern, expected]] of Object.entries(matrix).entries()) {
      const messages = got.get(pattern)!;
      assert.deepEqual(messages.map((m) => m.body), expected, `/topic/${pattern}`);
      for (const m of messages) {
        assert.equal(m.headers['subscription'], `p${i}`);
        assert.equal(m.headers['destination'], `/topic/${m.body}`, 'the concrete destination, not the pattern');
      }
    }
  });

  test('a SEND to a wildcard destination gets ERROR invalid destination', async () => {
    for (const d of ['/topic/a.*', '/topic/#', '/topic/x.#.y', '/topic/*']) {
      const e = await expectRefused(broker(), 'SEND', { destination: d }, 'invalid destination', { receipt: 'w', body: 'x' });
      assert.match(bodyText(e), /SEND/);
    }
  });

  test('wildcards on a queue get ERROR invalid destination', async () => {
    for (const [command, d] of [['SUBSCRIBE', '/queue/jobs.*'], ['SUBSCRIBE', '/queue/#'], ['SEND', '/queue/*']] as const) {
      const e = await expectRefused(broker(), command, { destination: d, id: '0' }, 'invalid destination', { receipt: 'q' });
      assert.match(bodyText(e), /only supported on topic/);
    }
  });

  test('empty names after a prefix get ERROR invalid destination', async () => {
    await expectRefused(broker(), 'SEND', { destination: '/topic/' }, 'invalid destination');
    await expectRefused(broker(), 'SUBSCRIBE', { destination: '/queue/', id: '0' }, 'invalid destination');
  });

  test('unknown prefixes get ERROR unknown destination prefix, with Spring hints', async () => {
    const plain = await expectRefused(broker(), 'SEND', { destination: '/foo/bar' }, 'unknown destination prefix', { receipt: 'u' });
    assert.match(bodyText(plain), /\/topic\//);
    assert.match(bodyText(plain), /\/queue\//);
    assert.match(bodyText(plain), /STOMPEDE_DESTINATION_PREFIXES/);
    await expectRefused(broker(), 'SUBSCRIBE', { destination: '/topicx/a', id: '0' }, 'unknown destination prefix');
    for (const command of ['SEND', 'SUBSCRIBE']) {
      const app = await expectRefused(broker(), command, { destination: '/app/greeting', id: '0' }, 'unknown destination prefix');
      assert.match(bodyText(app), /@MessageMapping/);
    }
  });

  test('user destinations: an anonymous SUBSCRIBE needs a login, a SEND must name the user, /x-user/ is reserved', async () => {
    const anonymous = await expectRefused(broker(), 'SUBSCRIBE', { destination: '/user/queue/reply', id: '0' }, 'login required');
    assert.match(bodyText(anonymous), /logged-in connection/);
    const unnamed = await expectRefused(broker(), 'SEND', { destination: '/user/queue/reply' }, 'invalid destination');
    assert.match(bodyText(unnamed), /\/user\/<login>\/queue\/<name>/);
    for (const command of ['SEND', 'SUBSCRIBE']) {
      const internal = await expectRefused(broker(), command, { destination: '/x-user/alice/queue/reply', id: '0' }, 'invalid destination');
      assert.match(bodyText(internal), /reserved/);
    }
  });
});

describe('destination prefix mapping', () => {
  const { broker, stompjs } = useBroker({ env: { STOMPEDE_DESTINATION_PREFIXES: '/topic/=topic,/queue/=queue,/exchange/=topic,/app/=queue' } });

  test('a prefix mapped to topic fans out, takes wildcards, and patterns never cross prefixes', async () => {
    const a = await stompjs();
    const b = await stompjs();
    const producer = await stompjs();
    const exact = [new Inbox(), new Inbox()];
    await subscribed(a, '/exchange/orders.eu', exact[0]!.push);
    await subscribed(b, '/exchange/orders.eu', exact[1]!.push);
    const wild = new Inbox();
    const topicAll = new Inbox();
    await subscribed(a, '/exchange/orders.*', wild.push);
    await subscribed(a, '/topic/#', topicAll.push);
    await subscribed(b, '/exchange/#', (m) => wild.push(m));
    await publishAll(producer, '/exchange/orders.eu', ['o1', 'o2']);
    await publishAll(producer, '/topic/orders.eu', ['t1']);
    await fence(a, producer, '/queue/map-fence-a');
    await fence(b, producer, '/queue/map-fence-b');
    for (const inbox of exact) assert.deepEqual(inbox.bodies, ['o1', 'o2']);
    assert.deepEqual(wild.bodies.sort(), ['o1', 'o1', 'o2', 'o2']);
    assert.deepEqual(topicAll.bodies, ['t1']);
    assert.equal(exact[0]!.messages[0]!.headers['destination'], '/exchange/orders.eu');
  });

  test('a prefix mapped to queue has competing consumers and keeps messages for later', async () => {
    const producer = await stompjs();
    await publishAll(producer, '/app/greet', range(2, 'early-'));
    const consumers = [new Inbox(), new Inbox()];
    const all = new Inbox();
    for (const inbox of consumers) {
      await subscribed(await stompjs(), '/app/greet', (m) => {
        inbox.push(m);
        all.push(m);
      });
    }
    await publishAll(producer, '/app/greet', range(10));
    const got = await all.until(12, LONG);
    await publishAll(producer, '/app/greet', ['f-0', 'f-1']); // one per consumer, behind the rest
    await all.until(14, LONG);
    assert.deepEqual(consumers[0]!.bodies.slice(0, 2), ['early-0', 'early-1'], 'waiting messages went to the first consumer');
    assert.deepEqual([...all.bodies].sort(), [...range(2, 'early-'), ...range(10), 'f-0', 'f-1'].sort(), 'each exactly once');
    assert.ok(consumers.every((c) => c.messages.length > 2), 'both consumers take turns');
    assert.equal(got[0]!.headers['destination'], '/app/greet');
  });

  test('mapped queues refuse wildcards; unmapped prefixes stay unknown and the hint lists the mapping', async () => {
    await expectRefused(broker(), 'SUBSCRIBE', { destination: '/app/greet.*', id: '0' }, 'invalid destination');
    await expectRefused(broker(), 'SEND', { destination: '/exchange/a.#' }, 'invalid destination');
    // A user destination may use any mapped prefix after /user/<login>; /x has none.
    const user = await expectRefused(broker(), 'SEND', { destination: '/user/queue/x' }, 'invalid destination');
    assert.match(bodyText(user), /\/exchange\//);
    const e = await expectRefused(broker(), 'SEND', { destination: '/events/x' }, 'unknown destination prefix');
    assert.match(bodyText(e), /\/exchange\//);
    assert.match(bodyText(e), /\/app\//);
  });
});

describe('virtual hosts', () => {
  const { connectRaw, openRaw, stompjs } = useBroker({ env: { STOMPEDE_VHOSTS: '/,other' } });
  const on = (host: string): Promise<Client> => stompjs({ connectHeaders: { host } });

  test('topic messages stay in their vhost, wildcards included', async () => {
    const vhosts = ['/', 'other'];
    const subs = await Promise.all(vhosts.map(on));
    const pubs = await Promise.all(vhosts.map(on));
    const exact = [new Inbox(), new Inbox()];
    const wild = [new Inbox(), new Inbox()];
    for (const i of [0, 1]) {
      await subscribed(subs[i]!, '/topic/news', exact[i]!.push);
      await subscribed(subs[i]!, '/topic/#', wild[i]!.push);
    }
    // host:127.0.0.1 is an alias of the default vhost.
    const aliased = await connectRaw('tcp', { host: '127.0.0.1' });
    await aliased.sendWithReceipt('SEND', { destination: '/topic/news' }, 'via-alias');
    for (const i of [0, 1]) await publishAll(pubs[i]!, '/topic/news', [`from-${vhosts[i]}`]);
    for (const i of [0, 1]) await fence(subs[i]!, pubs[i]!, '/queue/vh-fence');
    assert.deepEqual(exact[0]!.bodies, ['via-alias', 'from-/']);
    assert.deepEqual(wild[0]!.bodies, ['via-alias', 'from-/']);
    assert.deepEqual(exact[1]!.bodies, ['from-other']);
    assert.deepEqual(wild[1]!.bodies, ['from-other']);
  });

  test('queues with the same name in two vhosts are separate queues', async () => {
    const producerOther = await on('other');
    await publishAll(producerOther, '/queue/jobs', ['other-job']);
    const root = await on('/');
    const rootJobs = new Inbox();
    await subscribed(root, '/queue/jobs', rootJobs.push);
    const other = await on('other');
    const otherJobs = new Inbox();
    await subscribed(other, '/queue/jobs', otherJobs.push);
    await otherJobs.until(1, LONG);
    const producerRoot = await on('/');
    await publishAll(producerRoot, '/queue/jobs', ['root-job']);
    await rootJobs.until(1, LONG);
    await fence(other, producerOther, '/queue/vh-fence-q');
    await fence(root, producerRoot, '/queue/vh-fence-q');
    assert.deepEqual(otherJobs.bodies, ['other-job']);
    assert.deepEqual(rootJobs.bodies, ['root-job']);
  });

  test('an unknown host is refused', async () => {
    const c = await openRaw('tcp');
    c.send(`CONNECT\naccept-version:1.2\nhost:nowhere\n\n\0`);
    const e = await c.waitForCommand('ERROR', LONG);
    assert.equal(header(e, 'message'), 'unknown virtual host');
    assert.match(bodyText(e), /other/);
    await c.waitClosed(LONG);
  });
});

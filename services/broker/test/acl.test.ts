// Authorization end to end (STOMPEDE_ACL_FILE), with anonymous sessions (the only principal until
// authentication lands): anonymous may send to every topic and to /queue/jobs, subscribe to
// /topic/public.# and consume /queue/jobs. Wildcard subscriptions over stompjs and raw TCP never
// deliver a forbidden destination, destinations first used after the SUBSCRIBE included; forbidden
// SENDs and SUBSCRIBEs get ERROR access refused with their receipt-id; the file is reloaded.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, runBroker } from './helpers/broker-process.js';
import { eventually, expectErrorThenClose, expectRefused, refused } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header, RawClient } from './helpers/raw-client.js';
import { Inbox, receipt, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const LONG = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'stompede-acl-test-'));
const aclFile = join(dir, 'acl.yaml');
const RULES = `# anonymous: publish anywhere on topics, read only public ones
rules:
  - who: anonymous
    send: [/topic/#, /queue/jobs]
    subscribe: [/topic/public.#]
    consume: [/queue/jobs]
`;
writeFileSync(aclFile, RULES);

let seq = 0;
/** A name no earlier test used: destinations under it are first used now. */
const fresh = (): string => `t${Date.now().toString(36)}${++seq}`;

describe('authorization (ACL file, anonymous sessions)', () => {
  const { broker, connectRaw, stompjs } = useBroker({ env: { STOMPEDE_ACL_FILE: aclFile } });

  test('a wildcard subscription receives the public destinations, never the secret ones, including destinations first used after the SUBSCRIBE', async () => {
    const tag = fresh();
    const sub = await stompjs();
    const inbox = new Inbox();
    await subscribed(sub, '/topic/#', inbox.push);
    const raw = await connectRaw('tcp');
    await raw.sendWithReceipt('SUBSCRIBE', { id: 'w', destination: '/topic/*.*.*' });
    const excludedBefore = await metric(broker(), 'stompede_access_wildcard_exclusions_total');
    // One publisher, secret before public on each round: had a secret message been routed to the
    // subscription, it would have reached it before the public one that follows it.
    const pub = await stompjs();
    const expected: string[] = [];
    for (let i = 0; i < 5; i++) {
      pub.publish({ destination: `/topic/secret.${tag}.${i}`, body: `secret-${i}` });
      pub.publish({ destination: `/topic/public.${tag}.${i}`, body: `public-${i}` });
      expected.push(`public-${i}`);
    }
    const id = `r-${tag}`;
    pub.publish({ destination: `/topic/public.${tag}.end`, body: 'end', headers: { receipt: id } });
    await receipt(pub, id);
    await inbox.until(expected.length + 1, LONG);
    // A round trip on the subscriber's own connection: anything written to it before is in.
    await subscribed(sub, `/topic/public.${tag}.fence`, () => {});
    assert.deepEqual(inbox.bodies, [...expected, 'end']);
    assert.ok(inbox.messages.every((m) => m.headers['destination']!.startsWith(`/topic/public.${tag}.`)));
    await raw.waitFor((f) => f.command === 'MESSAGE' && bodyText(f) === 'end', LONG);
    await raw.sendWithReceipt('UNSUBSCRIBE', { id: 'w' });
    assert.deepEqual(raw.frames.filter((f) => f.command === 'MESSAGE').map(bodyText), [...expected, 'end']);
    // Five secret destinations, each refused to both patterns' scoped nodes when first bound.
    assert.ok((await metric(broker(), 'stompede_access_wildcard_exclusions_total')) - excludedBefore >= 5);
  });

  test('SUBSCRIBE to a forbidden topic, or to a queue it may not consume: ERROR access refused with the receipt-id', async () => {
    const before = await metric(broker(), 'stompede_access_denied_total', { operation: 'subscribe' });
    const e = await expectRefused(broker(), 'SUBSCRIBE', { id: 's', destination: '/topic/secret.x' }, 'access refused', { receipt: 'r-sub' });
    assert.equal(header(e, 'x-denied-operation'), 'subscribe');
    assert.match(bodyText(e), /an anonymous session may not subscribe to \/topic\/secret\.x/);
    const q = await refused(broker(), frame('SUBSCRIBE', { id: 'q', destination: '/queue/other', receipt: 'r-q' }), 'access refused', { kind: 'ws', receipt: 'r-q' });
    assert.equal(header(q, 'x-denied-operation'), 'consume');
    assert.equal(await metric(broker(), 'stompede_access_denied_total', { operation: 'subscribe' }), before + 1);
    assert.ok((await metric(broker(), 'stompede_access_denied_total', { operation: 'consume' })) >= 1);
  });

  test('a SEND to a forbidden destination: ERROR with the receipt-id, nothing published, then the close', async () => {
    const published = await metric(broker(), 'stompede_messages_published_total');
    const e = await refused(
      broker(),
      frame('SEND', { destination: '/queue/other', receipt: 'r-send' }, 'must not arrive'),
      'access refused',
      {
        receipt: 'r-send',
        // An allowed SEND first, on the same connection: it goes through.
        setup: async (c) => void (await c.sendWithReceipt('SEND', { destination: '/queue/jobs' }, 'allowed')),
      },
    );
    assert.equal(header(e, 'x-denied-operation'), 'send');
    assert.match(bodyText(e), /may not send to \/queue\/other/);
    assert.equal(await metric(broker(), 'stompede_messages_published_total'), published + 1);
    const consumer = await connectRaw('tcp');
    await consumer.sendWithReceipt('SUBSCRIBE', { id: 'j', destination: '/queue/jobs' });
    const m = await consumer.waitForCommand('MESSAGE');
    assert.equal(bodyText(m), 'allowed');
  });

  test('stompjs sees a refused SEND as a STOMP error carrying its receipt-id', async () => {
    const client = await stompjs();
    const errored = new Promise<Record<string, string>>((resolve) => (client.onStompError = (f) => resolve(f.headers)));
    client.publish({ destination: '/queue/forbidden', body: 'x', headers: { receipt: 'r-js' } });
    const headers = await errored;
    assert.equal(headers['message'], 'access refused');
    assert.equal(headers['receipt-id'], 'r-js');
  });

  test('the file is reloaded: a new rule applies to new frames; a broken file keeps the last good rules', async () => {
    const dest = `/topic/secret.${fresh()}`;
    const subscribes = async (): Promise<boolean> => {
      const c = await RawClient.open('tcp', broker());
      try {
        await c.connect();
        c.send(frame('SUBSCRIBE', { id: 's', destination: dest, receipt: 'r' }));
        const f = await c.waitFor((x) => x.command === 'RECEIPT' || x.command === 'ERROR');
        if (f.command === 'ERROR') await expectErrorThenClose(c, 'access refused');
        return f.command === 'RECEIPT';
      } finally {
        c.close();
      }
    };
    try {
      assert.equal(await subscribes(), false);
      writeFileSync(aclFile, `${RULES}  - who: everyone\n    subscribe: [/topic/secret.#]\n    send: [/queue/other]\n    consume: [/queue/other]\n`);
      await eventually(subscribes, () => broker().output().slice(-2000));
      assert.match(broker().output(), /"msg":"ACL reloaded"/);
      // The SEND refused by the previous test left nothing in /queue/other.
      const c = await connectRaw('tcp');
      await c.sendWithReceipt('SUBSCRIBE', { id: 'o', destination: '/queue/other' });
      await c.sendWithReceipt('SEND', { destination: '/queue/other' }, 'fence');
      const m = await c.waitForCommand('MESSAGE');
      assert.equal(bodyText(m), 'fence', 'the refused message was never enqueued');
      writeFileSync(aclFile, 'rules:\n  - who: anonymous\n    subscribe: [/topic/#\n');
      await eventually(() => broker().output().includes('keeping the last good rules'), () => broker().output().slice(-2000));
      assert.equal(await subscribes(), true, 'the last good rules stay in force');
    } finally {
      writeFileSync(aclFile, RULES);
    }
  });
});

describe('authorization: a broken ACL file at start', () => {
  test('the broker does not start, and says which file and what is wrong', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - who: anonymous\n    subscribe: [/app/x]\n');
    const env = { STOMPEDE_ACL_FILE: bad, STOMPEDE_BIND: '127.0.0.1', STOMPEDE_ADMIN_PORT: '0', STOMPEDE_WS_PORT: String(await freePort()), STOMPEDE_TCP_PORT: '0' };
    const { code, output } = await runBroker([], env);
    assert.notEqual(code, 0);
    // The log is JSON: the quotes around the pattern come escaped.
    assert.match(output, /STOMPEDE_ACL_FILE .*bad\.yaml: rules\[0\]\.subscribe\[0\]: \\?"\/app\/x\\?" must start with one of/);
  });
});

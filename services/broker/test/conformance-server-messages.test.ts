// STOMP 1.2 server checklist, section 2.5 server frames: MESSAGE headers (rules #50, #51) and the
// headers every server frame must carry (#57). ERROR is in conformance-server-errors.test.ts, RECEIPT
// in conformance-server-receipts.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectExactly, messages, sendAll, settle, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, frame, header, headerAll, unescape12 } from './helpers/raw-client.js';
import { Inbox, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

describe('server frames: MESSAGE and required headers (#50, #51, #57)', () => {
  const { connectRaw, openRaw, stompjs } = useBroker();

  // ---------------------------------------------------------------- #50 MESSAGE headers

  test('#50 MESSAGE carries destination (= the SEND destination), a unique message-id and subscription (= the SUBSCRIBE id)', async () => {
    const run = unique('s50-');
    const destinations = [`/topic/${run}.a`, `/topic/${run}.b`, `/queue/${run}-a`, `/queue/${run}-b`];
    const sub = await connectRaw('tcp');
    const ws = await connectRaw('ws');
    const pubs = await Promise.all([connectRaw('tcp'), connectRaw('ws'), connectRaw('tcp')]);
    // Ids with characters that need escaping; one wildcard subscription on top.
    const ids = ['plain', 'with:colon', 'back\\slash', 'ünïcode'];
    for (const [i, d] of destinations.entries()) {
      await sub.sendWithReceipt('SUBSCRIBE', { id: ids[i]!.replaceAll('\\', '\\\\').replaceAll(':', '\\c'), destination: d });
    }
    await ws.sendWithReceipt('SUBSCRIBE', { id: 'wild', destination: `/topic/${run}.*` });
    const perDestination = 100;
    await Promise.all(
      pubs.map(async (p, pi) => {
        for (const d of destinations) {
          const list = Array.from({ length: Math.ceil(perDestination / pubs.length) }, (_, i) => `${pi}-${i}`);
          await sendAll(p, d, list);
        }
      }),
    );
    const total = destinations.length * pubs.length * Math.ceil(perDestination / pubs.length);
    const got = await waitMessages(sub, total, undefined, 10_000);
    const wild = await waitMessages(ws, total / 2, 'wild', 10_000);
    const all = [...got, ...wild];
    for (const m of all) {
      assert.equal(headerAll(m, 'destination').length, 1);
      assert.equal(headerAll(m, 'message-id').length, 1);
      assert.equal(headerAll(m, 'subscription').length, 1);
    }
    for (const [i, d] of destinations.entries()) {
      const of = got.filter((m) => header(m, 'destination') === d);
      assert.equal(of.length, total / destinations.length, `${d}: every message, destination unchanged`);
      for (const m of of) assert.equal(unescape12(header(m, 'subscription')!), ids[i], 'subscription is the SUBSCRIBE id');
    }
    for (const m of wild) assert.ok(header(m, 'destination')!.startsWith(`/topic/${run}.`), 'a wildcard subscription sees the concrete destination');
    // Unique over all deliveries of distinct messages (the wildcard copies repeat the topic ones).
    const distinct = new Set(got.map((m) => header(m, 'message-id')));
    assert.equal(distinct.size, got.length, 'message-id unique across messages and destinations');
    for (const m of wild) assert.ok(distinct.has(header(m, 'message-id')), 'one message has one id for every subscriber');
  });

  test('#50 MESSAGE destination, message-id and subscription over stompjs', async () => {
    const topic = unique('/topic/s50-js-');
    const js = await stompjs();
    const inbox = new Inbox();
    const s = await subscribed(js, topic, inbox.push, { id: 'my-sub' });
    for (let i = 0; i < 10; i++) js.publish({ destination: topic, body: String(i) });
    const got = await inbox.until(10);
    assert.equal(s.id, 'my-sub');
    assert.deepEqual(new Set(got.map((m) => m.headers['subscription'])), new Set(['my-sub']));
    assert.deepEqual(new Set(got.map((m) => m.headers['destination'])), new Set([topic]));
    assert.equal(new Set(got.map((m) => m.headers['message-id'])).size, 10);
  });

  // ---------------------------------------------------------------- #51 ack header

  test('#51 MESSAGE has ack in client and client-individual mode (usable as the ACK id), none in auto mode', async () => {
    const run = unique('s51-');
    const c = await connectRaw('tcp');
    for (const [id, ack] of [['a', 'auto'], ['c', 'client'], ['i', 'client-individual'], ['n', undefined]] as const) {
      for (const kind of ['topic', 'queue']) {
        const destination = `/${kind}/${run}-${id}`;
        await c.sendWithReceipt('SUBSCRIBE', ack === undefined ? { id: `${id}-${kind}`, destination } : { id: `${id}-${kind}`, destination, ack });
        await sendAll(c, destination, ['x', 'y']);
        const got = await waitMessages(c, 2, `${id}-${kind}`);
        if (ack === 'client' || ack === 'client-individual') {
          const acks = got.map((m) => header(m, 'ack'));
          assert.ok(acks.every((a) => a !== undefined && a.length > 0), `${ack} ${kind}: ack present`);
          assert.equal(new Set(acks).size, 2);
          for (const m of got) await settle(c, m);
        } else {
          for (const m of got) assert.equal(header(m, 'ack'), undefined, `${ack ?? 'default'} ${kind}: no ack`);
        }
      }
    }
    // Every ack value of the connection is distinct.
    const acks = messages(c).map((m) => header(m, 'ack')).filter((a) => a !== undefined);
    assert.equal(acks.length, 8);
    assert.equal(new Set(acks).size, 8);
  });

  // ---------------------------------------------------------------- #57 required headers

  test('#57 CONNECTED has version, MESSAGE has destination, message-id and subscription, RECEIPT has receipt-id (all versions)', async () => {
    for (const version of ['1.0', '1.1', '1.2']) {
      const c = await openRaw('tcp');
      const connected = await connectExactly(c, version === '1.0' ? {} : { 'accept-version': version, host: '/' });
      assert.equal(header(connected, 'version'), version);
      const q = unique('/queue/s57-');
      const r = await c.sendWithReceipt('SUBSCRIBE', { id: 'sub', destination: q, ack: 'client' });
      assert.ok(header(r, 'receipt-id'));
      await sendAll(c, q, ['x']);
      const [m] = await waitMessages(c, 1);
      assert.equal(header(m!, 'destination'), q);
      assert.equal(header(m!, 'subscription'), 'sub');
      assert.ok(header(m!, 'message-id'));
    }
  });

  test('#57 a client frame without a required header gets ERROR missing header, then close', async () => {
    const rows: [string, string, Record<string, string>, string][] = [
      ['1.2', 'SEND', {}, 'destination'],
      ['1.2', 'SUBSCRIBE', { id: '0' }, 'destination'],
      ['1.2', 'SUBSCRIBE', { destination: '/topic/x' }, 'id'],
      ['1.2', 'UNSUBSCRIBE', {}, 'id'],
      ['1.2', 'ACK', {}, 'id'],
      ['1.2', 'NACK', {}, 'id'],
      ['1.2', 'BEGIN', {}, 'transaction'],
      ['1.2', 'COMMIT', {}, 'transaction'],
      ['1.2', 'ABORT', {}, 'transaction'],
      ['1.1', 'SUBSCRIBE', { destination: '/topic/x' }, 'id'],
      ['1.1', 'ACK', { subscription: 's' }, 'message-id'],
      ['1.1', 'ACK', { 'message-id': 'm' }, 'subscription'],
      ['1.1', 'NACK', { 'message-id': 'm' }, 'subscription'],
      ['1.1', 'UNSUBSCRIBE', { destination: '/topic/x' }, 'id'],
      ['1.0', 'SEND', {}, 'destination'],
      ['1.0', 'SUBSCRIBE', {}, 'destination'],
      ['1.0', 'ACK', { subscription: 's' }, 'message-id'],
      ['1.0', 'UNSUBSCRIBE', {}, 'id'],
    ];
    await Promise.all(
      rows.map(async ([version, command, headers, missing]) => {
        const c = await openRaw('tcp');
        await connectExactly(c, version === '1.0' ? {} : { 'accept-version': version, host: '/' });
        c.send(frame(command, { ...headers, receipt: 'r' }, command === 'SEND' ? 'x' : ''));
        const e = await expectErrorThenClose(c, 'missing header');
        assert.ok(bodyText(e).includes(`${command} requires the "${missing}" header`), `${version} ${command}: ${bodyText(e)}`);
        assert.equal(header(e, 'receipt-id'), 'r');
      }),
    );
  });
});

// STOMP 1.2 server checklist, section 2.6 implementation-defined points (rules #60-#62), tested
// against the decisions in scratch/DESIGN-NOTES.md:
// #60 message-id = <destination>@<ms>-<seq>, unique across destinations.
// #61 The SUBSCRIBE RECEIPT is sent once routing is active.
// #62 Server-initiated subscription loss is ERROR + close. Tested: a client-ack subscriber that
//     stops acknowledging until its held messages exceed maxPendingOutboundBytes, a TCP subscriber
//     that stops reading (ERROR slow consumer), and node shutdown (SIGTERM drains: ERROR node draining).
//     Not tested: a WebSocket auto-ack subscriber that stops reading is closed by uWS
//     (closeOnBackpressureLimit) without an ERROR frame, as documented.
// Rules #58 and #59 are in conformance-impl-versions.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messages, sendAll, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { metric } from './helpers/metrics.js';
import { bodyText, frame, header, TRANSPORTS, unescape12 } from './helpers/raw-client.js';
import { Inbox, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('implementation-defined points: message ids and subscriptions (#60-#62)', () => {
  const { connectRaw, stompjs } = useBroker();

  // ---------------------------------------------------------------- #60 message ids

  test('#60 message-id is <destination>@<ms>-<seq>, ordered per destination and unique across destinations', async () => {
    const run = unique('i60-');
    const destinations = [`/topic/${run}.a`, `/topic/${run}.b`, `/queue/${run}-a`, `/queue/${run}-b`, `/topic/${run}.with@at`, `/queue/${run}-with:colon`];
    const sub = await connectRaw('tcp');
    const pub = await connectRaw('ws');
    for (const [i, d] of destinations.entries()) await sub.sendWithReceipt('SUBSCRIBE', { id: `s${i}`, destination: d.replace(':', '\\c') });
    const t0 = Date.now();
    // Interleaved, so several destinations share milliseconds.
    for (let round = 0; round < 20; round++) {
      pub.send(Buffer.concat(destinations.map((d) => frame('SEND', { destination: d.replace(':', '\\c') }, String(round)))));
    }
    await pub.sendWithReceipt('SUBSCRIBE', { id: 'sync', destination: `/topic/${run}.sync` });
    const t1 = Date.now();
    const got = await waitMessages(sub, 20 * destinations.length);
    const ids = got.map((m) => unescape12(header(m, 'message-id')!));
    assert.equal(new Set(ids).size, ids.length, 'unique');
    for (const [i, d] of destinations.entries()) {
      const of = got.filter((m) => header(m, 'subscription') === `s${i}`);
      assert.equal(of.length, 20);
      let last = [-1, -1];
      for (const m of of) {
        const id = unescape12(header(m, 'message-id')!);
        assert.equal(unescape12(header(m, 'destination')!), d);
        const match = new RegExp(`^${escapeRegExp(d)}@(\\d+)-(\\d+)$`).exec(id);
        assert.ok(match, `${id} is <destination>@<ms>-<seq>`);
        const ms = Number(match[1]);
        const seq = Number(match[2]);
        assert.ok(ms >= t0 - 5 && ms <= t1 + 5, `${ms} is the publish time in ms (${t0}..${t1})`);
        assert.ok(ms > last[0]! || (ms === last[0] && seq > last[1]!), `${id} after ${last.join('-')}`);
        last = [ms, seq];
      }
    }
  });

  // ---------------------------------------------------------------- #61 subscription readiness

  test('#61 a SEND right after the SUBSCRIBE RECEIPT is delivered (topic, wildcard, queue; both transports)', async () => {
    const pub = await connectRaw('tcp');
    const rounds = 15;
    await Promise.all(
      TRANSPORTS.flatMap((kind) =>
        Array.from({ length: rounds }, async (_, i) => {
          const run = unique(`i61-${kind}-${i}-`);
          const cases: [string, string][] = [
            [`/topic/${run}.x`, `/topic/${run}.x`],
            [`/topic/${run}.*`, `/topic/${run}.y`],
            [`/topic/${run}.#`, `/topic/${run}.y.z`],
            [`/queue/${run}`, `/queue/${run}`],
          ];
          const sub = await connectRaw(kind);
          for (const [j, [subscribeTo, sendTo]] of cases.entries()) {
            await sub.sendWithReceipt('SUBSCRIBE', { id: `s${j}`, destination: subscribeTo });
            pub.send(frame('SEND', { destination: sendTo }, `${kind}-${i}-${j}`));
            const [m] = await waitMessages(sub, 1, `s${j}`);
            assert.equal(bodyText(m!), `${kind}-${i}-${j}`);
          }
        }),
      ),
    );
  });

  test('#61 SUBSCRIBE then SEND in one packet: the SEND is delivered to the new subscription', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/i61-pipe-');
      const c = await connectRaw(kind);
      c.send(Buffer.concat([frame('SUBSCRIBE', { id: 's', destination: topic }), frame('SEND', { destination: topic }, 'same packet')]));
      const [m] = await waitMessages(c, 1, 's');
      assert.equal(bodyText(m!), 'same packet');
    }
  });

  test('#61 stompjs: subscribe with a receipt, publish from another client on the receipt', async () => {
    const sub = await stompjs();
    const pub = await stompjs();
    for (let i = 0; i < 10; i++) {
      const topic = unique('/topic/i61-js-');
      const inbox = new Inbox();
      await subscribed(sub, topic, inbox.push);
      pub.publish({ destination: topic, body: `b${i}` });
      assert.deepEqual((await inbox.until(1)).map((m) => m.body), [`b${i}`]);
    }
  });
});

describe('server-initiated subscription loss', () => {
  const MAX_PENDING = 65536;
  const { broker, connectRaw, openRaw } = useBroker({ env: { STOMPEDE_MAX_PENDING_OUTBOUND_BYTES: String(MAX_PENDING) } });

  test('#62 a client-ack subscriber that stops acknowledging gets ERROR slow consumer, then close; others go on', async () => {
    const topic = unique('/topic/i62-acks-');
    const slow = await connectRaw('tcp');
    const other = await connectRaw('ws');
    const pub = await connectRaw('tcp');
    await slow.sendWithReceipt('SUBSCRIBE', { id: 'slow', destination: topic, ack: 'client', 'prefetch-count': '1' });
    await other.sendWithReceipt('SUBSCRIBE', { id: 'other', destination: topic });
    const body = 'x'.repeat(1024);
    const n = 100; // 100 KiB held for `slow`: over the 64 KiB limit
    await sendAll(pub, topic, Array.from({ length: n }, () => body));
    const e = await expectErrorThenClose(slow, 'slow consumer');
    assert.match(bodyText(e), /maxPendingOutboundBytes/);
    // prefetch-count 1: at most one message went out (output still unwritten at the abort is dropped).
    assert.ok(messages(slow, 'slow').length <= 1);
    assert.equal((await waitMessages(other, n, 'other')).length, n, 'the other subscriber got everything');
    // The broker is fine: the publisher goes on.
    await pub.sendWithReceipt('SEND', { destination: topic }, 'after');
  });

  test('#62 a TCP subscriber that stops reading gets ERROR slow consumer (after the MESSAGEs it had), then close', async () => {
    const topic = unique('/topic/i62-read-');
    const disconnects = (): Promise<number> => metric(broker(), 'stompede_slow_consumer_disconnects_total');
    const before = await disconnects();
    const slow = await openRaw('tcp');
    const pub = await connectRaw('tcp');
    slow.send(frame('CONNECT', { 'accept-version': '1.2', host: '/' }));
    slow.send(frame('SUBSCRIBE', { id: 's', destination: topic, receipt: 'sub' }));
    await slow.waitFor((f) => f.command === 'RECEIPT');
    slow.pause();
    // Fill the kernel buffers on both sides, then the broker's allowance: in steps well under
    // the limit per event-loop turn, so that it is the unread backlog that trips the limit.
    const body = 'y'.repeat(16 * 1024);
    let sent = 0;
    let disconnected = false;
    while (!disconnected && sent < 4096) {
      for (let i = 0; i < 8; i++) {
        await sendAll(pub, topic, [body, body]);
        sent += 2;
      }
      disconnected = (await disconnects()) > before;
    }
    assert.ok(disconnected, `no slow-consumer disconnect after ${sent} MESSAGEs of 16 KiB`);
    slow.resume();
    await slow.waitClosed(30_000);
    const last = slow.frames.at(-1)!;
    assert.equal(last.command, 'ERROR');
    assert.equal(header(last, 'message'), 'slow consumer');
    const delivered = messages(slow).length;
    assert.ok(delivered > 0 && delivered < sent, `${delivered} of ${sent} MESSAGEs (the ones already written) before the ERROR`);
    assert.deepEqual(
      slow.frames.map((f) => f.command),
      ['CONNECTED', 'RECEIPT', ...Array(delivered).fill('MESSAGE'), 'ERROR'],
    );
    await pub.sendWithReceipt('SEND', { destination: topic }, 'after');
  });
});

describe('subscriptions lost at shutdown', () => {
  const { broker, connectRaw } = useBroker();

  test('#62 node shutdown: every client gets ERROR node draining, then close', async () => {
    const clients = await Promise.all(TRANSPORTS.flatMap((kind) => [connectRaw(kind), connectRaw(kind)]));
    for (const [i, c] of clients.entries()) {
      await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: i % 2 === 0 ? '/topic/i62-down' : '/queue/i62-down', ack: 'client' });
    }
    const code = broker().stop();
    for (const c of clients) {
      const e = await expectErrorThenClose(c, 'node draining');
      assert.match(bodyText(e), /reconnect/);
    }
    assert.equal(await code, 0);
  });
});

// STOMP 1.2 server checklist, section 2.6 implementation-defined points (rules #58-#62), tested
// against the decisions in scratch/DESIGN-NOTES.md:
// #58 STOMP 1.0 and 1.1 are accepted. 1.1 ACK/NACK name subscription + message-id, 1.0 ACK names
//     message-id (subscription optional); 1.0 SUBSCRIBE id is optional (the destination stands in);
//     1.0 headers are neither unescaped nor escaped (except CR/LF written as \r \n); CRLF is
//     accepted in every version.
// #59 A raw colon in a header value is allowed: the line is split at the first colon.
// #60 message-id = <destination>@<ms>-<seq>, unique across destinations.
// #61 The SUBSCRIBE RECEIPT is sent once routing is active.
// #62 Server-initiated subscription loss is ERROR + close. Tested: a client-ack subscriber that
//     stops acknowledging until its held messages exceed maxPendingOutboundBytes, a TCP subscriber
//     that stops reading (ERROR slow consumer), and node shutdown (ERROR server shutting down).
//     Not tested: a WebSocket auto-ack subscriber that stops reading is closed by uWS
//     (closeOnBackpressureLimit) without an ERROR frame, as documented.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type BrokerHandle } from './helpers/broker-process.js';
import { barrier, bodies, connectExactly, killAndWait, messages, PausableTcp, sendAll, waitMessages } from './helpers/checklist.js';
import {
  bodyText,
  connectRaw,
  expectErrorThenClose,
  frame,
  frameWithEol,
  header,
  metricsText,
  metricValue,
  RawClient,
  TRANSPORTS,
  unescape12,
  unique,
} from './helpers/conformance-kit.js';
import { connectStompjs, Inbox, receipt } from './helpers/stompjs.js';

async function connectVersion(broker: BrokerHandle, version: '1.0' | '1.1' | '1.2'): Promise<RawClient> {
  const c = await RawClient.tcp(broker.tcpPort);
  const f = await connectExactly(c, version === '1.0' ? {} : { 'accept-version': version, host: '/' });
  assert.equal(header(f, 'version'), version);
  return c;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('implementation-defined points', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  // ---------------------------------------------------------------- #58 STOMP 1.1 and 1.0

  test('#58 STOMP 1.1: ACK and NACK by subscription + message-id', async () => {
    const c = await connectVersion(broker, '1.1');
    try {
      const q = unique('/queue/i58-11-');
      await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q, ack: 'client-individual' });
      await sendAll(c, q, ['one', 'two', 'three']);
      const [m1, m2] = await waitMessages(c, 3, 's');
      await c.sendWithReceipt('ACK', { subscription: 's', 'message-id': header(m1!, 'message-id')! });
      await c.sendWithReceipt('NACK', { subscription: 's', 'message-id': header(m2!, 'message-id')! });
      const again = (await waitMessages(c, 4, 's'))[3]!;
      assert.equal(bodyText(again), 'two');
      assert.equal(header(again, 'message-id'), header(m2!, 'message-id'), 'redelivered under the same message-id');
      assert.equal(header(again, 'redelivered'), 'true');
      await c.sendWithReceipt('ACK', { subscription: 's', 'message-id': header(again, 'message-id')! });
      // m1 is settled: acknowledging it again is an error.
      c.send(frame('ACK', { subscription: 's', 'message-id': header(m1!, 'message-id')!, receipt: 'again' }));
      const e = await expectErrorThenClose(c, 'unknown ack id');
      assert.equal(header(e, 'receipt-id'), 'again');
    } finally {
      c.close();
    }
  });

  test('#58 STOMP 1.1: the subscription must be the one the message came on; the 1.2 id header is not enough', async () => {
    for (const [headers, message] of [
      [(mid: string, ack: string) => ({ subscription: 'other', 'message-id': mid, id: ack }), 'unknown ack id'],
      [(_mid: string, ack: string) => ({ id: ack }), 'missing header'],
    ] as const) {
      const c = await connectVersion(broker, '1.1');
      try {
        const q = unique('/queue/i58-11-wrong-');
        await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q, ack: 'client' });
        await c.sendWithReceipt('SUBSCRIBE', { id: 'other', destination: unique('/queue/i58-11-other-'), ack: 'client' });
        await sendAll(c, q, ['m']);
        const [m] = await waitMessages(c, 1, 's');
        c.send(frame('ACK', headers(header(m!, 'message-id')!, header(m!, 'ack') ?? '')));
        await expectErrorThenClose(c, message);
      } finally {
        c.close();
      }
    }
  });

  test('#58 STOMP 1.1: client mode ACK by message-id is cumulative', async () => {
    const q = unique('/queue/i58-11-cum-');
    const c = await connectVersion(broker, '1.1');
    await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q, ack: 'client' });
    await sendAll(c, q, ['a', 'b', 'c', 'd']);
    const got = await waitMessages(c, 4, 's');
    await c.sendWithReceipt('ACK', { subscription: 's', 'message-id': header(got[2]!, 'message-id')! });
    await killAndWait(broker, c);
    const d = await connectRaw(broker, 'tcp');
    try {
      await d.sendWithReceipt('SUBSCRIBE', { id: 'd', destination: q });
      assert.deepEqual(bodies(await barrier(d, d, q, 'd')), ['d']);
    } finally {
      d.close();
    }
  });

  test('#58 STOMP 1.1 escaping: \\c \\n \\\\ are decoded and encoded, \\r is not a 1.1 escape', async () => {
    const topic = unique('/topic/i58-esc-');
    const c11 = await connectVersion(broker, '1.1');
    const c12 = await connectVersion(broker, '1.2');
    try {
      await c11.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
      await c12.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
      await c11.sendWithReceipt('SEND', { destination: topic, x: 'a\\cb\\nc\\\\d' }, 'from 1.1');
      const [m11] = await waitMessages(c11, 1);
      const [m12] = await waitMessages(c12, 1);
      assert.equal(header(m11!, 'x'), 'a\\cb\\nc\\\\d');
      assert.equal(unescape12(header(m12!, 'x')!), 'a:b\nc\\d');
      c11.send(frame('SEND', { destination: topic, x: 'a\\rb' }, 'x'));
      await expectErrorThenClose(c11, 'undefined escape sequence');
    } finally {
      c11.close();
      c12.close();
    }
  });

  test('#58 CRLF line endings are accepted in STOMP 1.1 sessions too', async () => {
    const c = await RawClient.tcp(broker.tcpPort);
    try {
      c.send(frameWithEol('\r\n', 'CONNECT', [['accept-version', '1.1'], ['host', '/']]));
      const f = await c.next();
      assert.equal(header(f, 'version'), '1.1');
      const topic = unique('/topic/i58-crlf-');
      c.send(frameWithEol('\r\n', 'SUBSCRIBE', [['id', 's'], ['destination', topic], ['receipt', 'sub']]));
      await c.waitFor((x) => x.command === 'RECEIPT');
      c.send(frameWithEol('\r\n', 'SEND', [['destination', topic], ['x', 'v']], 'crlf'));
      const [m] = await waitMessages(c, 1, 's');
      assert.equal(header(m!, 'x'), 'v', 'the CR is not part of the value');
      assert.equal(bodyText(m!), 'crlf');
    } finally {
      c.close();
    }
  });

  test('#58 STOMP 1.0: SUBSCRIBE without id is known by its destination; UNSUBSCRIBE by destination', async () => {
    const topic = unique('/topic/i58-10-');
    const other = `${topic}-other`;
    const c = await connectVersion(broker, '1.0');
    try {
      await c.sendWithReceipt('SUBSCRIBE', { destination: topic });
      await c.sendWithReceipt('SUBSCRIBE', { destination: other });
      await sendAll(c, topic, ['first']);
      const [m] = await waitMessages(c, 1, topic);
      assert.equal(header(m!, 'subscription'), topic, 'subscription = destination');
      await c.sendWithReceipt('UNSUBSCRIBE', { destination: topic });
      await sendAll(c, topic, ['after']);
      // Over one TCP connection, auto-ack topic messages arrive in publish order across destinations.
      await barrier(c, c, other, other);
      assert.deepEqual(bodies(messages(c, topic)), ['first'], 'nothing after UNSUBSCRIBE by destination');
      // The id-less subscription is gone; the destination may be subscribed again.
      await c.sendWithReceipt('SUBSCRIBE', { destination: topic });
    } finally {
      c.close();
    }
  });

  test('#58 STOMP 1.0: ACK by message-id alone (subscription optional)', async () => {
    const q = unique('/queue/i58-10-ack-');
    const c = await connectVersion(broker, '1.0');
    try {
      await c.sendWithReceipt('SUBSCRIBE', { destination: q, ack: 'client' });
      await sendAll(c, q, ['a', 'b']);
      const [a, b] = await waitMessages(c, 2);
      await c.sendWithReceipt('ACK', { 'message-id': header(a!, 'message-id')! });
      await c.sendWithReceipt('ACK', { 'message-id': header(b!, 'message-id')!, subscription: q });
      c.send(frame('ACK', { 'message-id': header(a!, 'message-id')! }));
      await expectErrorThenClose(c, 'unknown ack id');
    } finally {
      c.close();
    }
  });

  test('#58 STOMP 1.0: header values are taken and given verbatim (no escaping), CR/LF excepted', async () => {
    const topic = unique('/topic/i58-10-raw-');
    const c10 = await connectVersion(broker, '1.0');
    const c12 = await connectVersion(broker, '1.2');
    try {
      await c10.sendWithReceipt('SUBSCRIBE', { destination: topic });
      await c12.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
      // From 1.0: a backslash is just a backslash.
      await c10.sendWithReceipt('SEND', { destination: topic, x: 'a\\cb\\t' }, 'from 1.0');
      // From 1.2: a colon and a line feed.
      await c12.sendWithReceipt('SEND', { destination: topic, x: 'a\\cb\\nc' }, 'from 1.2');
      const [a10, b10] = await waitMessages(c10, 2);
      const [a12, b12] = await waitMessages(c12, 2);
      assert.equal(header(a10!, 'x'), 'a\\cb\\t', '1.0 -> 1.0 verbatim');
      assert.equal(unescape12(header(a12!, 'x')!), 'a\\cb\\t', '1.0 -> 1.2: the backslashes are data');
      assert.equal(header(b10!, 'x'), 'a:b\\nc', '1.2 -> 1.0: colon raw, LF written as \\n');
      assert.equal(unescape12(header(b12!, 'x')!), 'a:b\nc');
    } finally {
      c10.close();
      c12.close();
    }
  });

  // ---------------------------------------------------------------- #59 raw colons

  test('#59 a raw colon in a header value is accepted: split at the first colon', async () => {
    const base = unique('/queue/i59-');
    const q = `${base}:part`;
    const c = await connectRaw(broker, 'tcp');
    try {
      // Subscribed with the raw colon, sent to with the escaped one: the same destination.
      await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
      c.send(frame('SEND', { destination: q.replace(':', '\\c'), 'x-time': '12:30:45', 'x-url': 'http://h:80/p', receipt: 'r:1' }, 'colons'));
      // The receipt value r:1 comes back escaped.
      await c.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'r\\c1');
      const [m] = await waitMessages(c, 1, 's');
      assert.equal(unescape12(header(m!, 'destination')!), q);
      assert.equal(unescape12(header(m!, 'x-time')!), '12:30:45');
      assert.equal(unescape12(header(m!, 'x-url')!), 'http://h:80/p');
      assert.equal(header(m!, 'x-time'), '12\\c30\\c45', 'and is escaped on the way out');
    } finally {
      c.close();
    }
  });

  test('#59 raw colons in CONNECT and in a STOMP 1.0 session', async () => {
    const c = await RawClient.tcp(broker.tcpPort);
    try {
      const f = await connectExactly(c, { 'accept-version': '1.0,1.2', host: '/', login: 'user:name', passcode: 'a:b:c' });
      assert.equal(header(f, 'version'), '1.2');
    } finally {
      c.close();
    }
    const c10 = await connectVersion(broker, '1.0');
    try {
      const topic = unique('/topic/i59-10-');
      await c10.sendWithReceipt('SUBSCRIBE', { destination: topic });
      await c10.sendWithReceipt('SEND', { destination: topic, 'x-time': '12:30' }, 'x');
      const [m] = await waitMessages(c10, 1);
      assert.equal(header(m!, 'x-time'), '12:30');
    } finally {
      c10.close();
    }
  });

  // ---------------------------------------------------------------- #60 message ids

  test('#60 message-id is <destination>@<ms>-<seq>, ordered per destination and unique across destinations', async () => {
    const run = unique('i60-');
    const destinations = [`/topic/${run}.a`, `/topic/${run}.b`, `/queue/${run}-a`, `/queue/${run}-b`, `/topic/${run}.with@at`, `/queue/${run}-with:colon`];
    const sub = await connectRaw(broker, 'tcp');
    const pub = await connectRaw(broker, 'ws');
    try {
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
    } finally {
      sub.close();
      pub.close();
    }
  });

  // ---------------------------------------------------------------- #61 subscription readiness

  test('#61 a SEND right after the SUBSCRIBE RECEIPT is delivered (topic, wildcard, queue; both transports)', async () => {
    const pub = await connectRaw(broker, 'tcp');
    try {
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
            const sub = await connectRaw(broker, kind);
            try {
              for (const [j, [subscribeTo, sendTo]] of cases.entries()) {
                await sub.sendWithReceipt('SUBSCRIBE', { id: `s${j}`, destination: subscribeTo });
                pub.send(frame('SEND', { destination: sendTo }, `${kind}-${i}-${j}`));
                const [m] = await waitMessages(sub, 1, `s${j}`);
                assert.equal(bodyText(m!), `${kind}-${i}-${j}`);
              }
            } finally {
              sub.close();
            }
          }),
        ),
      );
    } finally {
      pub.close();
    }
  });

  test('#61 SUBSCRIBE then SEND in one packet: the SEND is delivered to the new subscription', async () => {
    for (const kind of TRANSPORTS) {
      const topic = unique('/topic/i61-pipe-');
      const c = await connectRaw(broker, kind);
      try {
        c.send(Buffer.concat([frame('SUBSCRIBE', { id: 's', destination: topic }), frame('SEND', { destination: topic }, 'same packet')]));
        const [m] = await waitMessages(c, 1, 's');
        assert.equal(bodyText(m!), 'same packet');
      } finally {
        c.close();
      }
    }
  });

  test('#61 stompjs: subscribe with a receipt, publish from another client on the receipt', async () => {
    const sub = await connectStompjs(broker.wsUrl);
    const pub = await connectStompjs(broker.wsUrl);
    try {
      for (let i = 0; i < 10; i++) {
        const topic = unique('/topic/i61-js-');
        const inbox = new Inbox();
        const r = receipt(sub, `r${i}`);
        sub.subscribe(topic, inbox.push, { receipt: `r${i}` });
        await r;
        pub.publish({ destination: topic, body: `b${i}` });
        assert.deepEqual((await inbox.until(1)).map((m) => m.body), [`b${i}`]);
      }
    } finally {
      await sub.deactivate();
      await pub.deactivate();
    }
  });
});

describe('server-initiated subscription loss', () => {
  const MAX_PENDING = 65536;
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ env: { STOMPEDE_MAX_PENDING_OUTBOUND_BYTES: String(MAX_PENDING) } });
  });
  after(async () => {
    await broker.stop();
  });

  test('#62 a client-ack subscriber that stops acknowledging gets ERROR slow consumer, then close; others go on', async () => {
    const topic = unique('/topic/i62-acks-');
    const slow = await connectRaw(broker, 'tcp');
    const other = await connectRaw(broker, 'ws');
    const pub = await connectRaw(broker, 'tcp');
    try {
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
    } finally {
      for (const c of [slow, other, pub]) c.close();
    }
  });

  test('#62 a TCP subscriber that stops reading gets ERROR slow consumer (after the MESSAGEs it had), then close', async () => {
    const topic = unique('/topic/i62-read-');
    const before = metricValue(await metricsText(broker), 'stompede_slow_consumer_disconnects_total') ?? 0;
    const slow = await PausableTcp.open(broker.tcpPort);
    const pub = await connectRaw(broker, 'tcp');
    try {
      slow.write(frame('CONNECT', { 'accept-version': '1.2', host: '/' }));
      slow.write(frame('SUBSCRIBE', { id: 's', destination: topic, receipt: 'sub' }));
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
        disconnected = (metricValue(await metricsText(broker), 'stompede_slow_consumer_disconnects_total') ?? 0) > before;
      }
      assert.ok(disconnected, `no slow-consumer disconnect after ${sent} MESSAGEs of 16 KiB`);
      slow.resume();
      await slow.closed;
      const last = slow.frames.at(-1)!;
      assert.equal(last.command, 'ERROR');
      assert.equal(header(last, 'message'), 'slow consumer');
      const delivered = slow.frames.filter((f) => f.command === 'MESSAGE').length;
      assert.ok(delivered > 0 && delivered < sent, `${delivered} of ${sent} MESSAGEs (the ones already written) before the ERROR`);
      assert.deepEqual(
        slow.frames.map((f) => f.command),
        ['CONNECTED', 'RECEIPT', ...Array(delivered).fill('MESSAGE'), 'ERROR'],
      );
      await pub.sendWithReceipt('SEND', { destination: topic }, 'after');
    } finally {
      slow.destroy();
      pub.close();
    }
  });
});

describe('subscriptions lost at shutdown', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  test('#62 node shutdown: every client gets ERROR server shutting down, then close', async () => {
    const clients = await Promise.all(TRANSPORTS.flatMap((kind) => [connectRaw(broker, kind), connectRaw(broker, kind)]));
    for (const [i, c] of clients.entries()) {
      await c.sendWithReceipt('SUBSCRIBE', { id: 's', destination: i % 2 === 0 ? '/topic/i62-down' : '/queue/i62-down', ack: 'client' });
    }
    const code = broker.stop();
    for (const c of clients) {
      const e = await expectErrorThenClose(c, 'server shutting down');
      assert.match(bodyText(e), /reconnect/);
    }
    assert.equal(await code, 0);
  });
});

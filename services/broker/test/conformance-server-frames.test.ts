// STOMP 1.2 server checklist, section 2.5 server frames (rules #50-#57): MESSAGE, ERROR and
// RECEIPT headers, ERROR-then-close on every error path, receipts as cumulative acknowledgements,
// and required headers per frame type.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type BrokerHandle } from './helpers/broker-process.js';
import { connectStompjs, Inbox, receipt } from './helpers/stompjs.js';
import { barrier, bodies, connectExactly, messages, sendAll, sendConnect, settle, waitMessages } from './helpers/checklist.js';
import {
  bodyText,
  connectRaw,
  expectErrorThenClose,
  frame,
  header,
  headerAll,
  metricsText,
  metricValue,
  openRaw,
  RawClient,
  TRANSPORTS,
  unescape12,
  unique,
  type RawFrame,
  type TransportKind,
} from './helpers/conformance-kit.js';

const LIMITS = {
  STOMPEDE_MAX_FRAME_BYTES: '4096',
  STOMPEDE_MAX_HEADER_LINE_BYTES: '512',
  STOMPEDE_MAX_HEADERS: '12',
  STOMPEDE_MAX_QUEUE_BYTES: '1024',
  STOMPEDE_MAX_SUBSCRIPTIONS: '8',
  STOMPEDE_MAX_TRANSACTIONS: '2',
  STOMPEDE_MAX_TRANSACTION_FRAMES: '2',
};

/** One way to make the broker send ERROR. */
interface ErrorCase {
  readonly name: string;
  /** CONNECT headers before `bytes`, or false to send `bytes` as the first thing. */
  readonly connect?: Record<string, string> | false;
  /** Frames sent (with receipts awaited) after CONNECT and before `bytes`. */
  readonly setup?: (c: RawClient) => Promise<void>;
  readonly bytes: Buffer | ((c: RawClient) => Buffer);
  readonly message: string;
}

async function runErrorCase(broker: BrokerHandle, kind: TransportKind, row: ErrorCase): Promise<RawFrame> {
  const c = await openRaw(broker, kind);
  try {
    if (row.connect !== false) await c.connect(row.connect ?? {});
    await row.setup?.(c);
    c.send(typeof row.bytes === 'function' ? row.bytes(c) : row.bytes);
    return await expectErrorThenClose(c, row.message);
  } catch (err) {
    throw new Error(`${row.name} over ${kind}: ${(err as Error).message}`);
  } finally {
    c.close();
  }
}

async function runErrorCases(broker: BrokerHandle, rows: readonly ErrorCase[]): Promise<void> {
  for (const kind of TRANSPORTS) await Promise.all(rows.map((row) => runErrorCase(broker, kind, row)));
}

const subscribe = (id: string, destination: string, extra: Record<string, string> = {}) => async (c: RawClient) => {
  await c.sendWithReceipt('SUBSCRIBE', { id, destination, ...extra });
};

/** Setup: a client-ack subscription to a fresh queue holding one delivered message. */
const oneUnacked = async (c: RawClient) => {
  const q = unique('/queue/s-unacked-');
  await c.sendWithReceipt('SUBSCRIBE', { id: 'c', destination: q, ack: 'client' });
  await sendAll(c, q, ['m']);
  await waitMessages(c, 1, 'c');
};
const ackOfFirst = (c: RawClient) => header(messages(c, 'c')[0]!, 'ack')!;
/** The queue a "queue full" case filled, per client. */
const fullQueue = new WeakMap<RawClient, string>();

describe('server frames', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ env: LIMITS });
  });
  after(async () => {
    await broker.stop();
  });

  // ---------------------------------------------------------------- #50 MESSAGE headers

  test('#50 MESSAGE carries destination (= the SEND destination), a unique message-id and subscription (= the SUBSCRIBE id)', async () => {
    const run = unique('s50-');
    const destinations = [`/topic/${run}.a`, `/topic/${run}.b`, `/queue/${run}-a`, `/queue/${run}-b`];
    const sub = await connectRaw(broker, 'tcp');
    const ws = await connectRaw(broker, 'ws');
    const pubs = await Promise.all([connectRaw(broker, 'tcp'), connectRaw(broker, 'ws'), connectRaw(broker, 'tcp')]);
    try {
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
    } finally {
      for (const c of [sub, ws, ...pubs]) c.close();
    }
  });

  test('#50 MESSAGE destination, message-id and subscription over stompjs', async () => {
    const topic = unique('/topic/s50-js-');
    const js = await connectStompjs(broker.wsUrl);
    try {
      const inbox = new Inbox();
      const s = js.subscribe(topic, inbox.push, { id: 'my-sub', receipt: 'r' });
      await receipt(js, 'r');
      for (let i = 0; i < 10; i++) js.publish({ destination: topic, body: String(i) });
      const got = await inbox.until(10);
      assert.equal(s.id, 'my-sub');
      assert.deepEqual(new Set(got.map((m) => m.headers['subscription'])), new Set(['my-sub']));
      assert.deepEqual(new Set(got.map((m) => m.headers['destination'])), new Set([topic]));
      assert.equal(new Set(got.map((m) => m.headers['message-id'])).size, 10);
    } finally {
      await js.deactivate();
    }
  });

  // ---------------------------------------------------------------- #51 ack header

  test('#51 MESSAGE has ack in client and client-individual mode (usable as the ACK id), none in auto mode', async () => {
    const run = unique('s51-');
    const c = await connectRaw(broker, 'tcp');
    try {
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
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- #52 ERROR then close

  test('#52 errors before and during CONNECT: ERROR, then close', async () => {
    await runErrorCases(broker, [
      { name: 'SEND before CONNECT', connect: false, bytes: frame('SEND', { destination: '/queue/x' }, 'x'), message: 'not connected' },
      { name: 'SUBSCRIBE before CONNECT', connect: false, bytes: frame('SUBSCRIBE', { id: '0', destination: '/topic/x' }), message: 'not connected' },
      { name: 'garbage first', connect: false, bytes: Buffer.from('HELLO\n\n\0'), message: 'not connected' },
      { name: 'no common version', connect: false, bytes: frame('CONNECT', { 'accept-version': '3.0', host: '/' }), message: 'unsupported protocol version' },
      { name: 'unknown vhost', connect: false, bytes: frame('CONNECT', { 'accept-version': '1.2', host: 'elsewhere' }), message: 'unknown virtual host' },
      { name: 'bad heart-beat', connect: false, bytes: frame('STOMP', { 'accept-version': '1.2', 'heart-beat': '1' }), message: 'invalid heart-beat' },
      { name: 'CONNECT with body', connect: false, bytes: frame('CONNECT', { 'accept-version': '1.2' }, 'hi'), message: 'unexpected body' },
      { name: 'second CONNECT', bytes: frame('CONNECT', { 'accept-version': '1.2' }), message: 'already connected' },
      { name: 'STOMP after CONNECT', bytes: frame('STOMP', { 'accept-version': '1.2' }), message: 'already connected' },
    ]);
  });

  test('#52 framing errors: ERROR, then close', async () => {
    await runErrorCases(broker, [
      { name: 'unknown command', bytes: frame('FOO'), message: 'unknown command' },
      { name: 'header without colon', bytes: Buffer.from('SEND\ndestination:/queue/x\nnocolon\n\nx\0'), message: 'malformed header' },
      { name: 'empty header name', bytes: Buffer.from('SEND\n:value\n\nx\0'), message: 'malformed header' },
      { name: 'undefined escape', bytes: frame('SEND', { destination: '/queue/x', x: 'a\\tb' }), message: 'undefined escape sequence' },
      { name: 'trailing backslash', bytes: frame('SEND', { destination: '/queue/x', x: 'a\\' }), message: 'undefined escape sequence' },
      { name: 'bad content-length', bytes: frame('SEND', { destination: '/queue/x', 'content-length': 'ten' }), message: 'invalid content-length' },
      { name: 'negative content-length', bytes: frame('SEND', { destination: '/queue/x', 'content-length': '-1' }), message: 'invalid content-length' },
      { name: 'no NUL after content-length', bytes: Buffer.from('SEND\ndestination:/queue/x\ncontent-length:2\n\nabcd\0'), message: 'malformed frame' },
      { name: 'body on SUBSCRIBE', bytes: frame('SUBSCRIBE', { id: '0', destination: '/topic/x' }, 'body'), message: 'unexpected body' },
      { name: 'body on DISCONNECT', bytes: frame('DISCONNECT', { receipt: 'r' }, 'body'), message: 'unexpected body' },
      { name: 'frame too large', bytes: frame('SEND', { destination: '/queue/x' }, 'x'.repeat(5000)), message: 'frame too large' },
      { name: 'content-length too large', bytes: frame('SEND', { destination: '/queue/x', 'content-length': '100000' }), message: 'frame too large' },
      {
        name: 'too many headers',
        bytes: frame('SEND', Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`h${i}`, 'v']))),
        message: 'too many headers',
      },
      { name: 'header line too long', bytes: frame('SEND', { destination: '/queue/x', long: 'x'.repeat(600) }), message: 'header line too long' },
      { name: 'command line too long', bytes: frame('X'.repeat(600)), message: 'header line too long' },
    ]);
  });

  test('#52 errors in frame handling: ERROR, then close', async () => {
    await runErrorCases(broker, [
      { name: 'missing header', bytes: frame('SEND', {}, 'x'), message: 'missing header' },
      { name: 'unknown prefix', bytes: frame('SEND', { destination: '/exchange/x' }, 'x'), message: 'unknown destination prefix' },
      { name: 'wildcard SEND', bytes: frame('SEND', { destination: '/topic/a.*' }, 'x'), message: 'invalid destination' },
      { name: 'empty reply-to name', bytes: frame('SEND', { destination: '/topic/x', 'reply-to': '/temp-queue/' }, 'x'), message: 'invalid reply-to' },
      { name: 'duplicate subscription', setup: subscribe('d', '/topic/x'), bytes: frame('SUBSCRIBE', { id: 'd', destination: '/topic/y' }), message: 'duplicate subscription' },
      { name: 'invalid ack mode', bytes: frame('SUBSCRIBE', { id: 'd', destination: '/topic/x', ack: 'nope' }), message: 'invalid ack mode' },
      { name: 'invalid prefetch', bytes: frame('SUBSCRIBE', { id: 'd', destination: '/topic/x', 'prefetch-count': 'x' }), message: 'invalid prefetch-count' },
      {
        name: 'too many subscriptions',
        setup: async (c) => {
          for (let i = 0; i < 8; i++) await c.sendWithReceipt('SUBSCRIBE', { id: `s${i}`, destination: `/topic/s52.${i}` });
        },
        bytes: frame('SUBSCRIBE', { id: 's8', destination: '/topic/s52.8' }),
        message: 'too many subscriptions',
      },
      { name: 'unknown subscription', bytes: frame('UNSUBSCRIBE', { id: 'nope' }), message: 'unknown subscription' },
      { name: 'unknown ack id', setup: oneUnacked, bytes: frame('ACK', { id: 'nope' }), message: 'unknown ack id' },
      { name: 'unknown nack id', setup: oneUnacked, bytes: frame('NACK', { id: 'nope' }), message: 'unknown nack id' },
      { name: 'invalid requeue', setup: oneUnacked, bytes: (c) => frame('NACK', { id: ackOfFirst(c), requeue: 'maybe' }), message: 'invalid requeue' },
      { name: 'unknown transaction', bytes: frame('COMMIT', { transaction: 'nope' }), message: 'unknown transaction' },
      {
        name: 'duplicate transaction',
        setup: async (c) => {
          await c.sendWithReceipt('BEGIN', { transaction: 't' });
        },
        bytes: frame('BEGIN', { transaction: 't' }),
        message: 'duplicate transaction',
      },
      {
        name: 'too many transactions',
        setup: async (c) => {
          for (const t of ['t1', 't2']) await c.sendWithReceipt('BEGIN', { transaction: t });
        },
        bytes: frame('BEGIN', { transaction: 't3' }),
        message: 'too many transactions',
      },
      {
        name: 'transaction too large',
        setup: async (c) => {
          await c.sendWithReceipt('BEGIN', { transaction: 't' });
          for (let i = 0; i < 2; i++) await c.sendWithReceipt('SEND', { destination: '/topic/x', transaction: 't' }, 'x');
        },
        bytes: frame('SEND', { destination: '/topic/x', transaction: 't' }, 'x'),
        message: 'transaction too large',
      },
      {
        name: 'queue full',
        setup: async (c) => {
          fullQueue.set(c, unique('/queue/s52-full-'));
          await sendAll(c, fullQueue.get(c)!, ['x'.repeat(1000)]);
        },
        bytes: (c) => frame('SEND', { destination: fullQueue.get(c)! }, 'y'.repeat(1000)),
        message: 'queue full',
      },
    ]);
  });

  test('#52 nothing is processed after the frame that caused the ERROR', async () => {
    const q = unique('/queue/s52-after-');
    const c = await connectRaw(broker, 'ws');
    c.send(Buffer.concat([frame('SUBSCRIBE', { id: 'x', destination: '/nowhere' }), frame('SEND', { destination: q }, 'not sent'), frame('DISCONNECT', { receipt: 'r' })]));
    await expectErrorThenClose(c, 'unknown destination prefix');
    const sub = await connectRaw(broker, 'tcp');
    try {
      await sub.sendWithReceipt('SUBSCRIBE', { id: 's', destination: q });
      assert.deepEqual(bodies(await barrier(sub, sub, q)), []);
    } finally {
      sub.close();
    }
  });

  // ---------------------------------------------------------------- #53 ERROR message header

  test('#53 ERROR has a short message header and the details in a text/plain body', async () => {
    for (const [bytes, message, detail] of [
      [frame('SEND', { destination: '/app/x' }, 'x'), 'unknown destination prefix', /\/app is Spring's application-destination prefix/],
      [frame('SUBSCRIBE', { destination: '/topic/x' }), 'missing header', /SUBSCRIBE requires the "id" header/],
      [frame('SEND', { destination: '/queue/x' }, 'x'.repeat(5000)), 'frame too large', /at most 4096 bytes \(maxFrameBytes\)/],
    ] as const) {
      const c = await connectRaw(broker, 'tcp');
      try {
        c.send(bytes);
        const e = await expectErrorThenClose(c, message);
        assert.equal(headerAll(e, 'message').length, 1);
        assert.ok(message.length <= 40 && !message.includes('\n'), 'short');
        assert.equal(header(e, 'content-type'), 'text/plain;charset=utf-8');
        assert.match(bodyText(e), detail);
      } finally {
        c.close();
      }
    }
  });

  test('#53 the version ERROR lists the supported versions', async () => {
    const c = await RawClient.tcp(broker.tcpPort);
    try {
      sendConnect(c, { 'accept-version': '2.0,3.0', host: '/' });
      const e = await expectErrorThenClose(c, 'unsupported protocol version');
      assert.equal(header(e, 'version'), '1.0,1.1,1.2');
      assert.match(bodyText(e), /1\.0 1\.1 1\.2/);
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- #54 receipt-id on ERROR

  test('#54 ERROR for a frame with receipt carries receipt-id', async () => {
    for (const kind of TRANSPORTS) {
      const c = await connectRaw(broker, kind);
      try {
        c.send(frame('SEND', { destination: '/app/forbidden', receipt: 'send-77' }, 'x'));
        const e = await expectErrorThenClose(c, 'unknown destination prefix');
        assert.equal(header(e, 'receipt-id'), 'send-77');
        assert.equal(c.frames.filter((f) => f.command === 'RECEIPT').length, 0);
      } finally {
        c.close();
      }
    }
  });

  test('#54 receipt-id is escaped like every header; no receipt, no receipt-id; earlier receipts do not leak', async () => {
    const a = await connectRaw(broker, 'tcp');
    try {
      a.send(frame('SUBSCRIBE', { id: 'x', destination: '/queue/a.*', receipt: 'r\\c1\\n\\\\' }));
      const e = await expectErrorThenClose(a, 'invalid destination');
      assert.equal(header(e, 'receipt-id'), 'r\\c1\\n\\\\');
      assert.equal(unescape12(header(e, 'receipt-id')!), 'r:1\n\\');
    } finally {
      a.close();
    }
    const b = await connectRaw(broker, 'tcp');
    try {
      await b.sendWithReceipt('SUBSCRIBE', { id: 'ok', destination: '/topic/s54' });
      b.send(frame('SUBSCRIBE', { id: 'ok', destination: '/topic/s54' }));
      const e = await expectErrorThenClose(b, 'duplicate subscription');
      assert.equal(header(e, 'receipt-id'), undefined);
    } finally {
      b.close();
    }
  });

  // ---------------------------------------------------------------- #55 RECEIPT

  test('#55 RECEIPT carries receipt-id equal to the receipt header, for every client frame', async () => {
    const ids = ['plain', 'r\\c1', 'ünï', ' spaced ', 'a\\\\b', ''];
    for (const kind of TRANSPORTS) {
      for (const id of ids) {
        const q = unique('/queue/s55-');
        const c = await connectRaw(broker, kind);
        try {
          const steps: [string, Record<string, string>][] = [
            ['SUBSCRIBE', { id: 's', destination: q, ack: 'client-individual' }],
            ['SEND', { destination: q }],
            ['SEND', { destination: q }],
            ['BEGIN', { transaction: 't' }],
            ['SEND', { destination: q, transaction: 't' }],
            ['COMMIT', { transaction: 't' }],
            ['BEGIN', { transaction: 'u' }],
            ['ABORT', { transaction: 'u' }],
          ];
          let n = 0;
          const check = async (command: string, headers: Record<string, string>) => {
            const before = c.frames.filter((f) => f.command === 'RECEIPT').length;
            c.send(frame(command, { ...headers, receipt: id }, command === 'SEND' ? `b${n++}` : ''));
            const r = await c.waitFor(() => c.frames.filter((f) => f.command === 'RECEIPT').length > before);
            const receipt = c.frames.filter((f) => f.command === 'RECEIPT')[before]!;
            assert.deepEqual(receipt.headers, [['receipt-id', id]], `${kind} ${command} ${JSON.stringify(id)}`);
            assert.equal(receipt.body.length, 0);
            return r;
          };
          for (const [command, headers] of steps) await check(command, headers);
          const [m1, m2] = await waitMessages(c, 2, 's');
          await check('ACK', { id: header(m1!, 'ack')! });
          await check('NACK', { id: header(m2!, 'ack')!, requeue: 'false' });
          await check('UNSUBSCRIBE', { id: 's' });
          await check('DISCONNECT', {});
          await c.waitClosed();
        } finally {
          c.close();
        }
      }
    }
  });

  test('#55 receipts come back in the order of the frames', async () => {
    const c = await connectRaw(broker, 'tcp');
    try {
      const n = 200;
      c.send(Buffer.concat(Array.from({ length: n }, (_, i) => frame('SEND', { destination: `/topic/s55-order.${i % 7}`, receipt: `o${i}` }, String(i)))));
      await c.waitFor(() => c.frames.filter((f) => f.command === 'RECEIPT').length >= n);
      assert.deepEqual(
        c.frames.filter((f) => f.command === 'RECEIPT').map((f) => header(f, 'receipt-id')),
        Array.from({ length: n }, (_, i) => `o${i}`),
      );
    } finally {
      c.close();
    }
  });

  // ---------------------------------------------------------------- #57 required headers

  test('#57 CONNECTED has version, MESSAGE has destination, message-id and subscription, RECEIPT has receipt-id (all versions)', async () => {
    for (const version of ['1.0', '1.1', '1.2']) {
      const c = await RawClient.tcp(broker.tcpPort);
      try {
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
      } finally {
        c.close();
      }
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
        const c = await RawClient.tcp(broker.tcpPort);
        try {
          await connectExactly(c, version === '1.0' ? {} : { 'accept-version': version, host: '/' });
          c.send(frame(command, { ...headers, receipt: 'r' }, command === 'SEND' ? 'x' : ''));
          const e = await expectErrorThenClose(c, 'missing header');
          assert.ok(bodyText(e).includes(`${command} requires the "${missing}" header`), `${version} ${command}: ${bodyText(e)}`);
          assert.equal(header(e, 'receipt-id'), 'r');
        } finally {
          c.close();
        }
      }),
    );
  });
});

describe('server frames: receipts are cumulative', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    await broker.stop();
  });

  test('#56 SEND xN to a queue, then SUBSCRIBE with receipt: after the RECEIPT all N are in the queue', async () => {
    for (const kind of TRANSPORTS) {
      const q = unique('/queue/s56-');
      const n = 100;
      const before = metricValue(await metricsText(broker), 'stompede_queued_messages')!;
      const p = await connectRaw(broker, kind);
      try {
        // N SENDs without receipts, then one SUBSCRIBE (elsewhere) with a receipt, in one go.
        const sends = Array.from({ length: n }, (_, i) => frame('SEND', { destination: q }, `m${i}`));
        if (kind === 'tcp') p.send(Buffer.concat(sends));
        else for (const s of sends) p.send(s);
        await p.sendWithReceipt('SUBSCRIBE', { id: 'other', destination: unique('/topic/s56-') });
        assert.equal(metricValue(await metricsText(broker), 'stompede_queued_messages'), before + n, 'every SEND before the RECEIPT was processed');
        // The same connection subscribes: all N, in order.
        await p.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
        assert.deepEqual(bodies(await waitMessages(p, n, 'q')), Array.from({ length: n }, (_, i) => `m${i}`));
      } finally {
        p.close();
      }
    }
  });

  test('#56 frames before DISCONNECT are processed: SEND xN + DISCONNECT receipt, then another consumer gets all N', async () => {
    for (const kind of TRANSPORTS) {
      const q = unique('/queue/s56-disc-');
      const n = 50;
      const p = await connectRaw(broker, kind);
      const frames = [...Array.from({ length: n }, (_, i) => frame('SEND', { destination: q }, `d${i}`)), frame('DISCONNECT', { receipt: 'bye' })];
      if (kind === 'tcp') p.send(Buffer.concat(frames));
      else for (const f of frames) p.send(f);
      await p.waitForCommand('RECEIPT');
      await p.waitClosed();
      const c = await connectRaw(broker, 'tcp');
      try {
        await c.sendWithReceipt('SUBSCRIBE', { id: 'q', destination: q });
        assert.deepEqual(bodies(await barrier(c, c, q, 'q')), Array.from({ length: n }, (_, i) => `d${i}`));
      } finally {
        c.close();
      }
    }
  });

  test('#56 a receipt on the last of N topic SENDs: every subscriber gets all N, in order', async () => {
    const topic = unique('/topic/s56-');
    const subs = await Promise.all([connectRaw(broker, 'tcp'), connectRaw(broker, 'ws')]);
    const p = await connectRaw(broker, 'tcp');
    try {
      for (const s of subs) await s.sendWithReceipt('SUBSCRIBE', { id: 's', destination: topic });
      const list = Array.from({ length: 100 }, (_, i) => `t${i}`);
      await sendAll(p, topic, list);
      for (const s of subs) assert.deepEqual(bodies(await waitMessages(s, 100, 's')), list);
    } finally {
      for (const c of [...subs, p]) c.close();
    }
  });
});

describe('server frames: connect timeout', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ env: { STOMPEDE_CONNECT_TIMEOUT_MS: '300' } });
  });
  after(async () => {
    await broker.stop();
  });

  test('#52 no CONNECT in time: ERROR connect timeout, then close', async () => {
    await Promise.all(
      TRANSPORTS.map(async (kind) => {
        const c = await openRaw(broker, kind);
        try {
          const t0 = Date.now();
          const e = await expectErrorThenClose(c, 'connect timeout');
          assert.ok(Date.now() - t0 >= 290, 'not before the timeout');
          assert.match(bodyText(e), /connectTimeoutMs/);
        } finally {
          c.close();
        }
      }),
    );
  });
});

describe('server frames: connection limit', () => {
  let broker: BrokerHandle;
  before(async () => {
    broker = await startBroker({ env: { STOMPEDE_MAX_CONNECTIONS: '1' } });
  });
  after(async () => {
    await broker.stop();
  });

  test('#52 a connection over maxConnections: ERROR too many connections, then close', async () => {
    const first = await connectRaw(broker, 'tcp');
    try {
      for (const kind of TRANSPORTS) {
        const c = await openRaw(broker, kind);
        try {
          const e = await expectErrorThenClose(c, 'too many connections');
          assert.match(bodyText(e), /maxConnections/);
        } finally {
          c.close();
        }
      }
      // The first connection is unaffected.
      await first.sendWithReceipt('SUBSCRIBE', { id: 's', destination: '/topic/s52-limit' });
    } finally {
      first.close();
    }
  });
});

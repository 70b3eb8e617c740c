// Hostile bytes against a live node over raw sockets (docs/security.md, "Hostile input"): a
// header-count flood, content-lengths that lie (shorter and longer than the body, and a longer one
// that would smuggle the next frame), invalid UTF-8 in headers, frames one byte at a time, partial
// frames held open, frames pipelined before CONNECTED, WebSocket messages over uWS's payload limit,
// and a WebSocket SEND flood past the rate limit. For each: the attacker gets the documented ERROR
// (or, past the WebSocket payload limit, a close without one), the node stays up, its RSS grows by
// less than the stated bound, every attacker connection is released, and a well-behaved pair keeps
// exchanging messages.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { messages, unique, waitMessages } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { assertUnharmed, baseline, pool } from './helpers/hostile.js';
import { bodyText, delay, frame, header, RawClient, TRANSPORTS, type RawFrame, type TransportKind } from './helpers/raw-client.js';
import { useHealthyPair } from './helpers/robustness.js';
import { useBroker } from './helpers/suite.js';

const MAX_FRAME_BYTES = 8192;
const MAX_HEADERS = 50;
const TIMEOUT_MS = 1500;
/** The broker's tick (250 ms) and a loaded machine, on top of a timeout. */
const SLACK_MS = 5000;

describe('hostile input', () => {
  const suite = useBroker({
    env: {
      STOMPEDE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
      STOMPEDE_MAX_HEADERS: String(MAX_HEADERS),
      STOMPEDE_MAX_HEADER_LINE_BYTES: '1024',
      STOMPEDE_FRAME_TIMEOUT_MS: String(TIMEOUT_MS),
      STOMPEDE_CONNECT_TIMEOUT_MS: String(TIMEOUT_MS),
      STOMPEDE_MAX_SENDS_PER_SECOND: '1000',
      STOMPEDE_SEND_BURST: '200',
      STOMPEDE_MAX_HELD_INPUT_BYTES: '65536',
    },
  });
  const pair = useHealthyPair(suite, '/topic/hostile-frames-healthy');

  /** Runs `attack` while the pair exchanges messages, then checks the node is unharmed. */
  async function underAttack(t: TestContext, rssBoundMiB: number, attack: () => Promise<void>): Promise<void> {
    await pair().exchange(3);
    const before = await baseline(suite.broker());
    let attacking = true;
    const exchanging = (async () => {
      while (attacking) await pair().exchange(3);
    })();
    try {
      await attack();
    } finally {
      attacking = false;
      await exchanging;
    }
    const grown = await assertUnharmed(suite.broker(), before, pair(), rssBoundMiB);
    t.diagnostic(`RSS grew by ${grown.toFixed(1)} MiB (bound ${rssBoundMiB} MiB)`);
  }

  const open = (kind: TransportKind): Promise<RawClient> => RawClient.open(kind, suite.broker());
  const connected = async (kind: TransportKind): Promise<RawClient> => {
    const c = await open(kind);
    await c.connect();
    return c;
  };

  test('header-count flood: 200,000 header lines streamed in one frame get ERROR too many headers (20 attackers, RSS bound 32 MiB)', async (t) => {
    await underAttack(t, 32, async () => {
      await pool(20, 20, async (i) => {
        const kind = TRANSPORTS[i % 2]!;
        const c = i % 4 < 2 ? await connected(kind) : await open(kind);
        // Connected attackers flood a SEND; the others a CONNECT, before any session state exists.
        c.send(i % 4 < 2 ? 'SEND\ndestination:/topic/hostile\n' : 'CONNECT\naccept-version:1.2\n');
        // Pieces under uWS's payload limit (2 x maxFrameBytes), so that the STOMP parser sees them.
        const piece = Buffer.from('x-h:v\n'.repeat(2000));
        for (let sent = 0; sent < 100 && !c.closed; sent++) {
          c.send(piece);
          await delay(1);
        }
        await expectErrorThenClose(c, 'too many headers', 15_000);
      });
    });
  });

  for (const kind of TRANSPORTS) {
    test(`content-length that lies over ${kind}: shorter gives malformed frame, longer gives frame timeout, and a smuggled frame is never delivered`, async (t) => {
      const dest = unique('/topic/smuggled-');
      const sub = await suite.subscriber(kind, dest);
      await underAttack(t, 32, async () => {
        const shorter = await connected(kind);
        shorter.send(frame('SEND', { destination: dest, 'content-length': '3' }, 'abcdef'));
        await expectErrorThenClose(shorter, 'malformed frame');

        const longer = await connected(kind);
        longer.send(frame('SEND', { destination: dest, 'content-length': '100' }, 'abc'));
        await expectErrorThenClose(longer, 'frame timeout', TIMEOUT_MS + SLACK_MS);

        // The announced length swallows the next frame, whose SEND must not reach the subscriber.
        const smuggler = await connected(kind);
        const inner = frame('SEND', { destination: dest }, 'smuggled');
        smuggler.send(Buffer.concat([frame('SEND', { destination: dest, 'content-length': String(4 + inner.length - 2) }, 'abc'), inner]));
        await expectErrorThenClose(smuggler, 'malformed frame');
      });
      assert.deepEqual(messages(sub), []);
    });

    test(`invalid UTF-8 in headers over ${kind} gives ERROR malformed header, before and after CONNECT`, async (t) => {
      const dest = unique('/topic/utf8-');
      const sub = await suite.subscriber(kind, dest);
      const bad: Buffer[] = [Buffer.from([0xff, 0xfe]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82])];
      await underAttack(t, 32, async () => {
        for (const bytes of bad) {
          const c = await connected(kind);
          c.send(Buffer.concat([Buffer.from(`SEND\ndestination:${dest}\nx-bad:`), bytes, Buffer.from('\n\nbody\0')]));
          const e = await expectErrorThenClose(c, 'malformed header');
          assert.match(bodyText(e), /UTF-8/);
          const d = await connected(kind);
          d.send(Buffer.concat([Buffer.from(`SEND\ndestination:${dest}`), bytes, Buffer.from('\n\nbody\0')]));
          await expectErrorThenClose(d, 'malformed header');
          const login = await open(kind);
          login.send(Buffer.concat([Buffer.from('CONNECT\naccept-version:1.2\nlogin:'), bytes, Buffer.from('\n\n\0')]));
          await expectErrorThenClose(login, 'malformed header');
        }
      });
      assert.deepEqual(messages(sub), []);
      // Valid UTF-8 (including U+FFFD itself) is untouched.
      const pub = await connected(kind);
      await pub.sendWithReceipt('SEND', { destination: dest, 'x-ok': 'é \uFFFD 日本' }, 'fine');
      assert.equal(header((await waitMessages(sub, 1))[0]!, 'x-ok'), 'é \uFFFD 日本');
    });

    test(`frames one byte at a time over ${kind}: CONNECT, SUBSCRIBE and SEND arrive whole and in order (10 clients)`, async (t) => {
      await underAttack(t, 32, async () => {
        await pool(10, 10, async (i) => {
          const dest = unique('/topic/bytewise-');
          const c = await open(kind);
          const bytes = Buffer.concat([
            frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' }),
            frame('SUBSCRIBE', { id: 's', destination: dest, receipt: 'sub' }),
            frame('SEND', { destination: dest, receipt: 'sent', 'x-i': String(i) }, `byte by byte ${i}`),
          ]);
          for (const b of bytes) {
            c.send(Buffer.from([b]));
            await delay(1);
          }
          const m = await c.waitForCommand('MESSAGE', 15_000);
          assert.equal(bodyText(m), `byte by byte ${i}`);
          await c.waitFor((f) => f.command === 'RECEIPT' && header(f, 'receipt-id') === 'sent', 15_000);
          assert.deepEqual(c.frames.slice(0, 2).map((f) => [f.command, header(f, 'receipt-id')]), [['CONNECTED', undefined], ['RECEIPT', 'sub']]);
          c.close();
        });
      });
    });
  }

  test('partial frames held open: 40 connections each get ERROR frame timeout (or connect timeout before CONNECT) and are released (RSS bound 32 MiB)', async (t) => {
    await underAttack(t, 32, async () => {
      await pool(40, 40, async (i) => {
        const kind = TRANSPORTS[i % 2]!;
        if (i % 4 < 2) {
          const c = await connected(kind);
          c.send(`SEND\ndestination:/topic/held-open\ncontent-length:${MAX_FRAME_BYTES / 2}\n\n${'p'.repeat(100)}`);
          await expectErrorThenClose(c, 'frame timeout', TIMEOUT_MS + SLACK_MS);
        } else {
          const c = await open(kind);
          c.send('CONNECT\naccept-version:1.2\nhost:/\n');
          await expectErrorThenClose(c, 'connect timeout', TIMEOUT_MS + SLACK_MS);
        }
      });
    });
  });

  for (const kind of TRANSPORTS) {
    test(`frames pipelined before CONNECTED over ${kind} are processed in order after it; a frame before CONNECT is refused`, async () => {
      const dest = unique('/topic/pipelined-');
      const c = await open(kind);
      c.send(Buffer.concat([
        frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' }),
        frame('SUBSCRIBE', { id: 's', destination: dest, receipt: 'r1' }),
        frame('SEND', { destination: dest, receipt: 'r2' }, 'pipelined'),
        frame('DISCONNECT', { receipt: 'r3' }),
      ]));
      await c.waitClosed(15_000);
      const seen = c.frames.map((f: RawFrame) => f.command === 'RECEIPT' ? `RECEIPT ${header(f, 'receipt-id')}` : f.command);
      assert.equal(seen[0], 'CONNECTED');
      assert.deepEqual(seen.filter((s) => s.startsWith('RECEIPT')), ['RECEIPT r1', 'RECEIPT r2', 'RECEIPT r3']);
      assert.equal(bodyText(c.frames.find((f) => f.command === 'MESSAGE')!), 'pipelined');

      const sub = await suite.subscriber(kind, dest);
      const early = await open(kind);
      early.send(Buffer.concat([frame('SEND', { destination: dest }, 'before CONNECT'), frame('CONNECT', { 'accept-version': '1.2', host: '/' })]));
      await expectErrorThenClose(early, 'not connected');
      await pair().exchange(3);
      assert.deepEqual(messages(sub), []);
    });
  }

  test('WebSocket messages over the payload limit are cut by uWS (1009, no ERROR); between the limits ERROR frame too large (RSS bound 48 MiB)', async (t) => {
    await underAttack(t, 48, async () => {
      await pool(10, 10, async (i) => {
        const c = await connected('ws');
        if (i % 2 === 0) {
          // 8 MiB each, 40 MiB in all: far past maxPayloadLength (2 x maxFrameBytes), never buffered.
          c.send(Buffer.alloc(8 * 1024 * 1024, 'w'));
          await c.waitClosed(15_000);
          assert.deepEqual(c.frames.map((f) => f.command), ['CONNECTED']);
        } else {
          c.send(Buffer.concat([Buffer.from('SEND\ndestination:/topic/big\n\n'), Buffer.alloc(MAX_FRAME_BYTES + 100, 'b'), Buffer.from([0])]));
          await expectErrorThenClose(c, 'frame too large');
        }
      });
    });
  });

  test('a WebSocket SEND flood past maxSendsPerSecond: input held up to maxHeldInputBytes, then ERROR publisher too fast (5 attackers x 8 MiB, RSS bound 32 MiB)', async (t) => {
    await underAttack(t, 32, async () => {
      await pool(5, 5, async () => {
        const c = await connected('ws');
        const send = frame('SEND', { destination: '/topic/ws-flood' }, 'f'.repeat(100));
        const batch = Buffer.concat(Array<Buffer>(64).fill(send));
        for (let sent = 0; sent < (8 * 1024 * 1024) / batch.length && !c.closed; sent++) c.send(batch);
        const e = await expectErrorThenClose(c, 'publisher too fast', 15_000);
        assert.match(bodyText(e), /maxSendsPerSecond/);
      });
    });
  });
});

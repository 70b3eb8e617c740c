// STOMP 1.2 server checklist, section 2.1 "Framing and encoding", rule #18: configured limits on
// header count, header line length and frame size. Each limit is probed at its value (accepted) and
// one over (ERROR naming the setting, then close), over TCP and WebSocket, against a broker started
// with small limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messages, messageTagged, unique } from './helpers/conformance-kit.js';
import { expectErrorThenClose } from './helpers/expect.js';
import { bodyText, delay, frame, frameWithEol, header, TRANSPORTS, type RawClient, type TransportKind } from './helpers/raw-client.js';
import { sendOfSize } from './helpers/robustness.js';
import { useBroker } from './helpers/suite.js';

const MAX_FRAME_BYTES = 1024;
const MAX_HEADERS = 6;
const MAX_HEADER_LINE_BYTES = 128;

/** `n` user headers x0..x(n-1). */
function userHeaders(n: number): [string, string][] {
  return Array.from({ length: n }, (_, i) => [`x${i}`, 'v'] as [string, string]);
}

describe('conformance: configured frame limits (#18)', () => {
  const { connectRaw, openRaw, subscriber } = useBroker({
    env: {
      STOMPEDE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
      STOMPEDE_MAX_HEADERS: String(MAX_HEADERS),
      STOMPEDE_MAX_HEADER_LINE_BYTES: String(MAX_HEADER_LINE_BYTES),
    },
  });

  /** Sends `bytes` (in pieces when `pieces` > 1) after CONNECT and expects the limit's ERROR, then close. */
  async function overLimit(t: TransportKind, bytes: Buffer, message: string, setting: string, pieces = 1, connect = true): Promise<void> {
    const c = await openRaw(t);
    if (connect) await c.connect();
    const step = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length; at += step) {
      c.send(bytes.subarray(at, at + step));
      if (pieces > 1) await delay(20);
    }
    const e = await expectErrorThenClose(c, message);
    assert.ok(bodyText(e).includes(`(${setting})`), `body names ${setting}: ${bodyText(e)}`);
  }

  async function accepted(c: RawClient, bytes: Buffer): Promise<void> {
    const before = c.frames.length;
    c.send(bytes);
    await c.waitFor(() => c.frames.length > before);
    assert.deepEqual(c.frames.slice(before).map((f) => f.command), ['RECEIPT'], bodyText(c.frames.at(-1)!));
  }

  for (const t of TRANSPORTS) {
    test(`#18 maxHeaders: ${MAX_HEADERS} headers are accepted, ${MAX_HEADERS + 1} give ERROR naming maxHeaders (${t})`, async () => {
      const dest = unique('/topic/lim-h-');
      const c = await connectRaw(t);
      await accepted(c, frame('SEND', [['destination', dest], ['receipt', 'at'], ...userHeaders(MAX_HEADERS - 2)], 'x'));
      await overLimit(t, frame('SEND', [['destination', dest], ['receipt', 'over'], ...userHeaders(MAX_HEADERS - 1)], 'x'), 'too many headers', 'maxHeaders');
      // Before CONNECT too.
      const connect = frame('CONNECT', [['accept-version', '1.2'], ['host', '/'], ...userHeaders(MAX_HEADERS - 1)]);
      await overLimit(t, connect, 'too many headers', 'maxHeaders', 1, false);
    });

    test(`#18 maxHeaderLineBytes: a ${MAX_HEADER_LINE_BYTES}-byte line is accepted (LF or CRLF), one byte more gives ERROR (${t})`, async () => {
      const dest = unique('/topic/lim-l-');
      const line = (bytes: number): [string, string] => ['x-long', 'a'.repeat(bytes - 'x-long:'.length)];
      const c = await connectRaw(t);
      await accepted(c, frame('SEND', [['destination', dest], ['receipt', 'lf'], line(MAX_HEADER_LINE_BYTES)], 'x'));
      // The CR of a CRLF is part of the EOL, not of the line.
      await accepted(c, frameWithEol('\r\n', 'SEND', [['destination', dest], ['receipt', 'crlf'], line(MAX_HEADER_LINE_BYTES)], 'x'));
      const over = frame('SEND', [['destination', dest], line(MAX_HEADER_LINE_BYTES + 1)], 'x');
      await overLimit(t, over, 'header line too long', 'maxHeaderLineBytes');
      await overLimit(t, frameWithEol('\r\n', 'SEND', [['destination', dest], line(MAX_HEADER_LINE_BYTES + 1)], 'x'), 'header line too long', 'maxHeaderLineBytes');
      // Split over several writes, the line is still measured as a whole.
      await overLimit(t, over, 'header line too long', 'maxHeaderLineBytes', 4);
      // The command line counts as a line.
      await overLimit(t, frame('X'.repeat(MAX_HEADER_LINE_BYTES + 1)), 'header line too long', 'maxHeaderLineBytes');
    });

    for (const length of ['none', 'last', 'first'] as const) {
      // content-length first: the header lines after it must count as well.
      const how = length === 'none' ? 'NUL-terminated' : `content-length ${length}`;
      test(`#18 maxFrameBytes: a ${MAX_FRAME_BYTES}-byte SEND (${how}) is delivered, one byte more gives ERROR (${t})`, async () => {
        const dest = unique('/topic/lim-f-');
        const sub = await subscriber(t, dest);
        const c = await connectRaw(t);
        const atLimit = sendOfSize(MAX_FRAME_BYTES, [['destination', dest], ['x-tag', 'at'], ['receipt', 'at'], ['x-pad', 'p'.repeat(100)]], length);
        await accepted(c, atLimit);
        const m = await messageTagged(sub, 'at');
        assert.ok(m.body.length > MAX_FRAME_BYTES - 300 && bodyText(m) === 'b'.repeat(m.body.length));
        const over = sendOfSize(MAX_FRAME_BYTES + 1, [['destination', dest], ['x-tag', 'over'], ['x-pad', 'p'.repeat(100)]], length);
        await overLimit(t, over, 'frame too large', 'maxFrameBytes');
        await overLimit(t, over, 'frame too large', 'maxFrameBytes', 3);
        // None of the refused frames reached the subscriber.
        const pub = await connectRaw(t);
        pub.send(frame('SEND', { destination: dest, 'x-tag': 'after' }, 'after'));
        await messageTagged(sub, 'after');
        assert.deepEqual(messages(sub).map((f) => header(f, 'x-tag')), ['at', 'after']);
      });
    }
  }
});

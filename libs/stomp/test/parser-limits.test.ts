// Parser limits: each must hold exactly at its boundary (N passes, N+1 fails) however the frame is
// chunked, and must fail before the bytes it guards are buffered.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PARSER_LIMITS, type ParserLimits } from '@stompede/stomp';
import {
  assertErrorResult,
  assertProtocolError,
  byteByByte,
  bytes,
  everySplit,
  parseChunks,
  parser,
  parseResult,
  type Parsed,
} from './helpers.js';

const LOOSE: ParserLimits = { maxFrameBytes: 1 << 20, maxHeaders: 1000, maxHeaderLineBytes: 1 << 16 };

function chunkings(data: Uint8Array): Uint8Array[][] {
  return [[data], byteByByte(data), ...everySplit(data)];
}

/** The frame parses under `limits` whatever the chunking, and gives the same frames each time. */
function assertAccepted(data: Uint8Array, limits: Partial<ParserLimits>): Parsed[] {
  const opts = { limits: { ...LOOSE, ...limits } };
  const expected = parseChunks([data], opts);
  assert.ok(expected.length > 0, 'test input should contain a complete frame');
  for (const chunks of chunkings(data)) assert.deepEqual(parseChunks(chunks, opts), expected);
  return expected;
}

/** The frame fails with this limit whatever the chunking. */
function assertRejected(data: Uint8Array, limits: Partial<ParserLimits>, message: string, limit: string): void {
  const opts = { limits: { ...LOOSE, ...limits } };
  for (const chunks of chunkings(data)) {
    const r = parseResult(chunks, opts);
    assertErrorResult(r, message, limit);
    assert.deepEqual(r.frames, []);
  }
}

test('defaults are the documented ones', () => {
  assert.deepEqual(DEFAULT_PARSER_LIMITS, { maxFrameBytes: 4194304, maxHeaders: 100, maxHeaderLineBytes: 65536 });
});

describe('maxFrameBytes', () => {
  // The frame size counts everything from the command to the NUL inclusive.
  const frames: Record<string, Uint8Array> = {
    'body to NUL': bytes('SEND\ndestination:/queue/a\n\n', 'x'.repeat(40), '\0'),
    'content-length last': bytes('SEND\ndestination:/queue/a\ncontent-length:40\n\n', 'x'.repeat(40), '\0'),
    'content-length before other headers': bytes(
      'SEND\ncontent-length:40\ndestination:/queue/a\nx-pad:', 'p'.repeat(30), '\n\n', [0].concat(Array(39).fill(7)), '\0',
    ),
    'no body': bytes('SUBSCRIBE\nid:0\ndestination:/topic/a\nack:client-individual\n\n\0'),
    'CRLF lines': bytes('SEND\r\ndestination:/queue/a\r\n\r\n', 'y'.repeat(10), '\0'),
  };

  for (const [name, frame] of Object.entries(frames)) {
    test(`${name}: exactly at the limit parses`, () => {
      assertAccepted(frame, { maxFrameBytes: frame.length });
    });

    test(`${name}: one byte over the limit throws`, () => {
      assertRejected(frame, { maxFrameBytes: frame.length - 1 }, 'frame too large', 'maxFrameBytes');
    });
  }

  test('EOLs between frames do not count, and the count restarts with each frame', () => {
    const frame = frames['content-length last']!;
    const data = bytes('\r\n\n', frame, '\n\r\n\n', frame, frames['body to NUL']!);
    assert.equal(assertAccepted(data, { maxFrameBytes: frame.length }).length, 3);
  });

  test('a content-length over the limit throws before the body arrives', () => {
    const p = parser({ limits: { ...LOOSE, maxFrameBytes: 100 } }, () => assert.fail('no frame expected'));
    p.push(bytes('SEND\ndestination:/a\n'));
    assertProtocolError(() => p.push(bytes('content-length:1000\n')), 'frame too large', 'maxFrameBytes');
  });

  test('a huge content-length is refused at its header line, without allocating it', () => {
    const p = parser({}, () => assert.fail('no frame expected'));
    assertProtocolError(() => p.push(bytes('SEND\ncontent-length:9999999999\n')), 'frame too large', 'maxFrameBytes');
  });

  test('content-length plus headers after it over the limit throws when the headers end', () => {
    const frame = frames['content-length before other headers']!;
    const headEnd = Buffer.from(frame).indexOf('\n\n') + 2;
    const p = parser({ limits: { ...LOOSE, maxFrameBytes: frame.length - 1 } }, () => assert.fail('no frame expected'));
    assertProtocolError(() => p.push(frame.subarray(0, headEnd)), 'frame too large', 'maxFrameBytes');
  });

  test('a body without content-length fails as soon as it outgrows the limit, before any NUL', () => {
    const p = parser({ limits: { ...LOOSE, maxFrameBytes: 64 } }, () => assert.fail('no frame expected'));
    p.push(bytes('SEND\n\n'));
    p.push(bytes('z'.repeat(40)));
    assertProtocolError(() => p.push(bytes('z'.repeat(40))), 'frame too large', 'maxFrameBytes');
  });

  test('headers alone over the limit throw, split or not', () => {
    const data = bytes('SEND\n', 'h:v\n'.repeat(20), '\n\0');
    assertRejected(data, { maxFrameBytes: 40 }, 'frame too large', 'maxFrameBytes');
  });
});

describe('maxHeaders', () => {
  const withHeaders = (n: number, command = 'SEND') =>
    bytes(command, '\n', Array.from({ length: n }, (_, i) => `h${i % 3}:${i}\n`).join(''), '\n\0');

  test('exactly N headers parse, repeats counted', () => {
    const [f] = assertAccepted(withHeaders(5), { maxHeaders: 5 });
    assert.equal(f!.headers.length, 5);
  });

  test('N+1 headers throw too many headers', () => {
    assertRejected(withHeaders(6), { maxHeaders: 5 }, 'too many headers', 'maxHeaders');
  });

  test('content-length counts as a header', () => {
    const data = bytes('SEND\na:1\nb:2\ncontent-length:1\n\nx\0');
    assertAccepted(data, { maxHeaders: 3 });
    assertRejected(data, { maxHeaders: 2 }, 'too many headers', 'maxHeaders');
  });

  test('CONNECT frames are limited too', () => {
    assertRejected(withHeaders(4, 'CONNECT'), { maxHeaders: 3 }, 'too many headers', 'maxHeaders');
  });

  test('the count is per frame', () => {
    const data = bytes(withHeaders(5), '\n', withHeaders(5), withHeaders(5));
    assert.equal(assertAccepted(data, { maxHeaders: 5 }).length, 3);
  });

  test('maxHeaders 0 allows only frames without headers', () => {
    assertAccepted(bytes('DISCONNECT\n\n\0'), { maxHeaders: 0 });
    assertRejected(withHeaders(1), { maxHeaders: 0 }, 'too many headers', 'maxHeaders');
  });
});

describe('maxHeaderLineBytes', () => {
  const LIMIT = 12;
  const line12 = 'abcdef:ghijk!'.slice(0, 12);
  const line13 = 'abcdef:ghijk!';
  const reject = (data: Uint8Array) =>
    assertRejected(data, { maxHeaderLineBytes: LIMIT }, 'header line too long', 'maxHeaderLineBytes');

  test('a header line of exactly N bytes parses, with LF or CRLF', () => {
    assertAccepted(bytes(`SEND\n${line12}\n\n\0`), { maxHeaderLineBytes: LIMIT });
    assertAccepted(bytes(`SEND\r\n${line12}\r\n\r\n\0`), { maxHeaderLineBytes: LIMIT });
  });

  test('a header line of N+1 bytes throws, with LF or CRLF', () => {
    reject(bytes(`SEND\n${line13}\n\n\0`));
    reject(bytes(`SEND\r\n${line13}\r\n\r\n\0`));
  });

  test('a CR that is content, not EOL, counts', () => {
    // 12 bytes of text plus a CR that the next byte shows is not the start of CRLF.
    reject(bytes(`SEND\n${line12}\rx\n\n\0`));
  });

  test('the command line is limited too', () => {
    assertAccepted(bytes('UNSUBSCRIBE\nid:1\n\n\0'), { maxHeaderLineBytes: 11 });
    assertRejected(bytes('UNSUBSCRIBE\nid:1\n\n\0'), { maxHeaderLineBytes: 10 }, 'header line too long', 'maxHeaderLineBytes');
  });

  test('bytes on the wire are counted: escapes and UTF-8', () => {
    // 12 wire bytes that decode to 7 characters; then 13 UTF-8 bytes that are only 8 characters.
    assertAccepted(bytes('SEND\nk:\\n\\n\\n\\n\\n\n\n\0'), { maxHeaderLineBytes: LIMIT });
    reject(bytes('SEND\nkk:', 'é'.repeat(5), '\n\n\0'));
  });

  test('body bytes are not header lines', () => {
    assertAccepted(bytes('SEND\n\n', 'b'.repeat(500), '\0'), { maxHeaderLineBytes: LIMIT });
  });

  test('a line growing over chunks fails as soon as it passes the limit, before its LF', () => {
    const p = parser({ limits: { ...LOOSE, maxHeaderLineBytes: LIMIT } }, () => assert.fail('no frame expected'));
    p.push(bytes('SEND\n'));
    for (const b of bytes(line12)) p.push(Uint8Array.of(b));
    assertProtocolError(() => p.push(bytes('x')), 'header line too long', 'maxHeaderLineBytes');
  });

  test('a line growing over bigger chunks fails too', () => {
    const p = parser({ limits: { ...LOOSE, maxHeaderLineBytes: LIMIT } }, () => assert.fail('no frame expected'));
    p.push(bytes('SEND\nabcd'));
    p.push(bytes('efgh'));
    assertProtocolError(() => p.push(bytes('ijklm')), 'header line too long', 'maxHeaderLineBytes');
  });

  test('a trailing CR at the limit waits for the next byte to decide', () => {
    let frames = 0;
    const p = parser({ limits: { ...LOOSE, maxHeaderLineBytes: LIMIT } }, () => frames++);
    p.push(bytes(`SEND\n${line12}\r`));
    p.push(bytes('\n\n\0'));
    assert.equal(frames, 1);

    const q = parser({ limits: { ...LOOSE, maxHeaderLineBytes: LIMIT } }, () => assert.fail('no frame expected'));
    q.push(bytes(`SEND\n${line12}\r`));
    assertProtocolError(() => q.push(bytes('y')), 'header line too long', 'maxHeaderLineBytes');
  });

  test('a long command line split over chunks fails', () => {
    reject(bytes('X'.repeat(40), '\n\n\0'));
  });
});

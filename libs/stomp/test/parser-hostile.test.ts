// Parser behaviour the abuse limits rely on: headers that are not valid UTF-8 are refused (whatever
// the chunking), and a caller can tell whether a frame is begun and unfinished (inFrame) and whether
// a new one began since it last looked (framesParsed), for the frame timeout (slow-loris).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PARSER_LIMITS, FrameParser } from '@stompede/stomp';
import { assertErrorResult, byteByByte, bytes, everySplit, parseAll, parseResult } from './helpers.js';

describe('header encoding', () => {
  const invalid: Array<[string, number[]]> = [
    ['a byte that is never UTF-8', [0xff]],
    ['an overlong encoding of /', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a sequence cut short', [0xe2, 0x82]],
    ['a stray continuation byte', [0x80]],
  ];

  for (const [what, seq] of invalid) {
    test(`${what} in a value or a name is ERROR malformed header, however the frame is chunked`, () => {
      for (const data of [
        bytes('SEND\ndestination:/a', seq, '\n\n\0'),
        bytes('SEND\nx-', seq, ':v\n\n\0'),
        bytes('CONNECT\nlogin:', seq, '\n\n\0'),
      ]) {
        for (const chunks of [[data], byteByByte(data), ...everySplit(data)]) {
          const r = parseResult(chunks, { version: '1.2' });
          assertErrorResult(r, 'malformed header');
          assert.match(r.error!.detail, /not valid UTF-8/);
          assert.deepEqual(r.frames, []);
        }
      }
    });
  }

  test('valid UTF-8 passes, U+FFFD itself included', () => {
    const [f] = parseAll('SEND\nx:\uFFFD caf\u00e9 🎉\n\uFFFD:y\n\n\0');
    assert.deepEqual(f!.headers, [['x', '\uFFFD café 🎉'], ['\uFFFD', 'y']]);
  });

  test('bodies are bytes: invalid UTF-8 there is delivered as it came', () => {
    const [f] = parseAll(bytes('SEND\ncontent-length:2\n\n', [0xff, 0xfe], [0]));
    assert.deepEqual([...f!.body], [0xff, 0xfe]);
  });
});

describe('inFrame and framesParsed', () => {
  test('EOLs between frames are not a frame; a begun frame is until its NUL', () => {
    const p = new FrameParser(DEFAULT_PARSER_LIMITS, () => {});
    const push = (s: string): [boolean, number] => {
      p.push(bytes(s));
      return [p.inFrame, p.framesParsed];
    };
    assert.deepEqual(push('\n\r\n'), [false, 0]);
    assert.deepEqual(push('SE'), [true, 0]);
    assert.deepEqual(push('ND\ndestination:/a\n\nbody'), [true, 0]);
    assert.deepEqual(push('\0\n'), [false, 1]);
    // One read that ends one frame and begins the next.
    assert.deepEqual(push('SEND\n\n\0SEND\ncontent-length:3\n\nab'), [true, 2]);
    assert.deepEqual(push('c\0'), [false, 3]);
  });
});

// FrameParser at the byte level: framing, EOLs, content-length, header decoding per version, chunking.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PARSER_LIMITS, FrameParser, Headers, StompProtocolError, type Frame, type StompVersion } from '@stompede/stomp';
import {
  assertErrorResult,
  assertProtocolError,
  byteByByte,
  bytes,
  everySplit,
  parseAll,
  parseChunks,
  parser,
  parseResult,
  pushAll,
  splitAt,
  text,
} from './helpers.js';

const VERSIONS: StompVersion[] = ['1.0', '1.1', '1.2'];

describe('framing', () => {
  test('LF line endings', () => {
    const [f, ...rest] = parseAll('SEND\ndestination:/queue/a\nreceipt:r1\n\nhello\0');
    assert.equal(rest.length, 0);
    assert.equal(f!.command, 'SEND');
    assert.deepEqual(f!.headers, [['destination', '/queue/a'], ['receipt', 'r1']]);
    assert.equal(text(f!.body), 'hello');
  });

  test('CRLF line endings give the same frame as LF', () => {
    const lf = parseAll('SEND\ndestination:/queue/a\nreceipt:r1\n\nhello\0');
    const crlf = parseAll('SEND\r\ndestination:/queue/a\r\nreceipt:r1\r\n\r\nhello\0');
    assert.deepEqual(crlf, lf);
  });

  test('LF and CRLF mixed within one frame', () => {
    const [f] = parseAll('SEND\r\ndestination:/queue/a\nreceipt:r1\r\n\nhello\0');
    assert.deepEqual(f!.headers, [['destination', '/queue/a'], ['receipt', 'r1']]);
    assert.equal(text(f!.body), 'hello');
  });

  test('only the CR right before LF belongs to the EOL', () => {
    // A CR elsewhere is content; a frame must not lose it.
    const [f] = parseAll('SEND\nx:a\rb\r\r\n\n\0');
    assert.deepEqual(f!.headers, [['x', 'a\rb\r']]);
  });

  test('several frames in one chunk', () => {
    const frames = parseAll('SEND\ndestination:/a\n\none\0SEND\ndestination:/b\n\ntwo\0DISCONNECT\n\n\0');
    assert.deepEqual(frames.map((f) => [f.command, f.headers, text(f.body)]), [
      ['SEND', [['destination', '/a']], 'one'],
      ['SEND', [['destination', '/b']], 'two'],
      ['DISCONNECT', [], ''],
    ]);
  });

  test('EOLs before, between and after frames are skipped (heart-beats)', () => {
    const frames = parseAll('\n\r\n\nSEND\n\na\0\n\n\nSEND\n\nb\0\r\n\r\n\nSEND\n\nc\0\n\r\n');
    assert.deepEqual(frames.map((f) => text(f.body)), ['a', 'b', 'c']);
  });

  test('a stream of only heart-beats yields nothing and no error', () => {
    assert.deepEqual(parseChunks([bytes('\n'), bytes('\r\n'), bytes('\n\n\r\n')]), []);
  });

  test('empty body', () => {
    const [f] = parseAll('DISCONNECT\nreceipt:77\n\n\0');
    assert.equal(f!.body.length, 0);
    assert.deepEqual(f!.headers, [['receipt', '77']]);
  });

  test('frame with no headers', () => {
    const [f] = parseAll('SEND\n\nx\0');
    assert.deepEqual(f!.headers, []);
    assert.equal(text(f!.body), 'x');
  });

  test('body without content-length runs to the first NUL', () => {
    const frames = parseAll('SEND\n\nab\ncd\0SEND\n\nef\0');
    assert.deepEqual(frames.map((f) => text(f.body)), ['ab\ncd', 'ef']);
  });

  test('a frame is not emitted before its NUL arrives', () => {
    assert.deepEqual(parseAll('SEND\ndestination:/a\n\nhello'), []);
  });
});

describe('content-length', () => {
  test('is honoured with NULs inside the body', () => {
    const body = [0, 1, 0, 0, 0x0a, 0xff, 0];
    const [f, g] = parseAll(bytes('SEND\ncontent-length:7\n\n', body, [0], 'SEND\n\nz\0'));
    assert.deepEqual(f!.body, Uint8Array.from(body));
    assert.deepEqual(f!.headers, [['content-length', '7']]);
    assert.equal(text(g!.body), 'z');
  });

  test('content-length:0 gives an empty body', () => {
    const [f] = parseAll('SEND\ncontent-length:0\n\n\0');
    assert.equal(f!.body.length, 0);
  });

  test('a non-NUL byte after content-length bytes is a malformed frame', () => {
    const data = bytes('SEND\ncontent-length:3\n\nhello\0');
    assertProtocolError(() => pushAll(data), 'malformed frame');
    // The same check when the body is carried over chunks.
    for (const chunks of [byteByByte(data), ...everySplit(data)]) {
      assertErrorResult(parseResult(chunks), 'malformed frame');
    }
  });

  test('content-length longer than the body swallows the NUL and waits', () => {
    // 6 bytes requested, "hello\0" is 6 bytes: the NUL must then follow.
    const r = parseResult([bytes('SEND\ncontent-length:6\n\nhello\0')]);
    assert.deepEqual(r, { frames: [] });
    assertErrorResult(parseResult([bytes('SEND\ncontent-length:6\n\nhello\0X')]), 'malformed frame');
  });

  for (const value of ['-1', 'abc', '', '1 ', ' 1', '+1', '1.5', '0x10', '１', '12345678901']) {
    test(`invalid value ${JSON.stringify(value)} is an error`, () => {
      const data = bytes(`SEND\ncontent-length:${value}\n\n\0`);
      assertProtocolError(() => pushAll(data), 'invalid content-length');
    });
  }

  test('the first content-length wins, later ones are kept but not interpreted', () => {
    const [f] = parseAll('SEND\ncontent-length:2\ncontent-length:junk\n\na\0\0');
    assert.deepEqual(f!.body, Uint8Array.of(0x61, 0));
    assert.deepEqual(f!.headers, [['content-length', '2'], ['content-length', 'junk']]);
  });

  test('a header merely containing content-length is not interpreted', () => {
    const [f] = parseAll('SEND\nx-content-length:5\ncontent-length2:x\n\nab\0');
    assert.equal(text(f!.body), 'ab');
  });
});

describe('header decoding', () => {
  test('1.2 unescapes \\r \\n \\c \\\\ in names and values', () => {
    const [f] = parseAll('SEND\na\\cb\\\\:x\\r\\ny\\cz\\\\\\\\w\n\n\0', { version: '1.2' });
    assert.deepEqual(f!.headers, [['a:b\\', 'x\r\ny:z\\\\w']]);
  });

  test('1.1 unescapes \\n \\c \\\\', () => {
    const [f] = parseAll('SEND\nk\\c:a\\nb\\cc\\\\d\n\n\0', { version: '1.1' });
    assert.deepEqual(f!.headers, [['k:', 'a\nb:c\\d']]);
  });

  test('1.1 treats \\r as an undefined escape', () => {
    assertProtocolError(() => pushAll('SEND\nk:a\\rb\n\n\0', { version: '1.1' }), 'undefined escape sequence');
  });

  test('1.0 unescapes nothing, so any backslash is literal', () => {
    const [f] = parseAll('SEND\nk\\c:a\\nb\\tc\\\n\n\0', { version: '1.0' });
    assert.deepEqual(f!.headers, [['k\\c', 'a\\nb\\tc\\']]);
  });

  for (const version of ['1.1', '1.2'] as const) {
    for (const line of ['k:a\\tb', 'k:ab\\', 'k:\\', 'k:\\C', 'k:\\N', 'k\\t:v', 'k\\:v', 'k:\\x\\n']) {
      test(`${version} rejects ${JSON.stringify(line)}`, () => {
        assertProtocolError(() => pushAll(`SEND\n${line}\n\n\0`, { version }), 'undefined escape sequence');
      });
    }
  }

  test('an escaped backslash followed by a letter is not an escape of that letter', () => {
    const [f] = parseAll('SEND\nk:\\\\t\\\\n\n\n\0', { version: '1.2' });
    assert.deepEqual(f!.headers, [['k', '\\t\\n']]);
  });

  for (const command of ['CONNECT', 'STOMP', 'CONNECTED']) {
    for (const version of VERSIONS) {
      test(`${command} headers are never unescaped (parser.version ${version})`, () => {
        const [f] = parseAll(`${command}\nlogin:u\\c1\npasscode:p\\a\\ss\\t\\\n\n\0`, { version });
        assert.deepEqual(f!.headers, [['login', 'u\\c1'], ['passcode', 'p\\a\\ss\\t\\']]);
      });
    }
  }

  test('a version set inside onFrame applies to the next frame of the same chunk', () => {
    const data = bytes('CONNECT\npasscode:a\\r\n\n\0SEND\nk:a\\rb\n\n\0');
    const seen: string[] = [];
    const p = parser({}, (f) => {
      seen.push(f.headers.get(f.command === 'CONNECT' ? 'passcode' : 'k')!);
      p.version = '1.1';
    });
    assertProtocolError(() => p.push(data), 'undefined escape sequence');
    assert.deepEqual(seen, ['a\\r']);
  });

  test('repeated headers are kept in order and get() returns the first', () => {
    const [f] = parseAll('MESSAGE\nfoo:1\nbar:x\nfoo:2\nfoo:3\n\n\0');
    assert.deepEqual(f!.headers, [['foo', '1'], ['bar', 'x'], ['foo', '2'], ['foo', '3']]);
    const live: Frame[] = [];
    parser({}, (fr) => live.push(fr)).push(bytes('MESSAGE\nfoo:1\nbar:x\nfoo:2\n\n\0'));
    assert.equal(live[0]!.headers.get('foo'), '1');
    assert.equal(live[0]!.headers.get('nope'), undefined);
    assert.deepEqual(live[0]!.headers.toObject(), { foo: '1', bar: 'x' });
  });

  test('values and names are never trimmed', () => {
    const [f] = parseAll('SEND\nfoo: bar\nbaz:qux \n spaced :\t\nempty:\n\n\0');
    assert.deepEqual(f!.headers, [['foo', ' bar'], ['baz', 'qux '], [' spaced ', '\t'], ['empty', '']]);
  });

  test('UTF-8 names and values are decoded', () => {
    const [f] = parseAll('SEND\nключ:значение\n名前:値🎉\nx:caf\u00e9\n\n\0');
    assert.deepEqual(f!.headers, [['ключ', 'значение'], ['名前', '値🎉'], ['x', 'café']]);
  });

  test('a raw colon in a value: the line is split at the first colon', () => {
    const [f] = parseAll('SEND\ndestination:/topic/a:b:c\nx::\n\n\0', { version: '1.2' });
    assert.deepEqual(f!.headers, [['destination', '/topic/a:b:c'], ['x', ':']]);
  });

  for (const line of ['nocolon', ':value', ':', 'a\\cb']) {
    test(`header line ${JSON.stringify(line)} is a malformed header`, () => {
      assertProtocolError(() => pushAll(`SEND\n${line}\n\n\0`), 'malformed header');
    });
  }

  test('malformed header in a CONNECT frame too', () => {
    assertProtocolError(() => pushAll('CONNECT\n:x\n\n\0'), 'malformed header');
  });
});

describe('commands', () => {
  test('are case sensitive and passed through as written, as are header names', () => {
    const frames = parseAll('send\n\n\0Send\n\n\0SEND\nDestination:/a\n\n\0FOO\n\n\0');
    assert.deepEqual(frames.map((f) => f.command), ['send', 'Send', 'SEND', 'FOO']);
    assert.deepEqual(frames[2]!.headers, [['Destination', '/a']]);
  });

  test('a command near a known one is not mistaken for it', () => {
    const frames = parseAll('SENDX\n\n\0SEN\n\n\0ACKS\n\n\0ACK\n\n\0');
    assert.deepEqual(frames.map((f) => f.command), ['SENDX', 'SEN', 'ACKS', 'ACK']);
  });

  test('CRLF after the command is not part of it, and UTF-8 commands decode', () => {
    const frames = parseAll('SUBSCRIBE\r\n\r\n\0ÜBER\r\n\r\n\0');
    assert.deepEqual(frames.map((f) => f.command), ['SUBSCRIBE', 'ÜBER']);
  });
});

describe('stop()', () => {
  test('inside onFrame stops the remaining frames of the chunk and later pushes', () => {
    const seen: string[] = [];
    const p = parser({}, (f) => {
      seen.push(text(f.body));
      p.stop();
    });
    p.push(bytes('SEND\n\na\0SEND\n\nb\0SEND\n\nc\0'));
    p.push(bytes('SEND\n\nd\0'));
    assert.deepEqual(seen, ['a']);
  });

  test('also stops after a frame completed from a carried body', () => {
    const seen: string[] = [];
    const p = parser({}, (f) => {
      seen.push(text(f.body));
      p.stop();
    });
    p.push(bytes('SEND\ncontent-length:3\n\nab'));
    p.push(bytes('c\0SEND\n\nb\0'));
    assert.deepEqual(seen, ['abc']);
  });

  test('stopped parser ignores even invalid bytes', () => {
    const p = parser({}, () => assert.fail('no frame expected'));
    p.stop();
    p.push(bytes('SEND\n:bad\n\n\0'));
  });
});

describe('chunking', () => {
  // Covers a split inside every token kind: command, CR/LF pairs, escapes, multi-byte UTF-8,
  // content-length bodies with NULs, NUL-terminated bodies and heart-beat EOLs between frames.
  const corpus = bytes(
    '\r\nCONNECT\r\naccept-version:1.2\r\npasscode:a\\b\r\n\r\n\0\n',
    'SEND\ndestination:/queue/é\nx:a\\cb\\nc\\\\\ncontent-length:5\n\n',
    [0, 0xe2, 0, 0x82, 0xac],
    [0],
    '\r\n\r\nSEND\r\n名:値🎉\r\n\r\nplain body\0',
    'DISCONNECT\nreceipt:9\n\n\0\n\n',
  );
  const expected = parseAll(corpus);

  test('the corpus parses as intended', () => {
    assert.deepEqual(expected.map((f) => f.command), ['CONNECT', 'SEND', 'SEND', 'DISCONNECT']);
    assert.deepEqual(expected[1]!.headers[1], ['x', 'a:b\nc\\']);
    assert.deepEqual(expected[1]!.body, Uint8Array.of(0, 0xe2, 0, 0x82, 0xac));
    assert.deepEqual(expected[2]!.headers, [['名', '値🎉']]);
  });

  test('split at every byte offset gives identical frames', () => {
    for (const chunks of everySplit(corpus)) assert.deepEqual(parseChunks(chunks), expected);
  });

  test('split at every pair of offsets gives identical frames', () => {
    for (let i = 1; i < corpus.length; i++) {
      for (let j = i + 1; j < corpus.length; j++) {
        assert.deepEqual(parseChunks(splitAt(corpus, [i, j])), expected, `split at ${i},${j}`);
      }
    }
  });

  test('fed byte by byte gives identical frames', () => {
    assert.deepEqual(parseChunks(byteByByte(corpus)), expected);
  });

  test('large split bodies, then small split tokens: nothing stale is carried over', () => {
    // Bodies above the parser's carry-reuse size are released; the next split tokens must not see them.
    const big = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251 + 1);
    const data = bytes(
      'SEND\ncontent-length:70000\n\n', big, [0],
      'SEND\n\n', big, [0],
      'SEND\nkey:value\n\nsmall\0',
    );
    const expected = [
      { command: 'SEND', headers: [['content-length', '70000']], body: big },
      { command: 'SEND', headers: [], body: big },
      { command: 'SEND', headers: [['key', 'value']], body: bytes('small') },
    ];
    assert.deepEqual(parseAll(data), expected);
    const cuts = [10, 9_000, 30_000, 70_020, 70_030, 120_000, 140_045, 140_052, data.length - 3];
    assert.deepEqual(parseChunks(splitAt(data, cuts)), expected);
  });

  test('empty chunks anywhere change nothing', () => {
    const chunks = byteByByte(corpus).flatMap((c) => [new Uint8Array(0), c]);
    assert.deepEqual(parseChunks(chunks), expected);
  });
});

describe('zero copy', () => {
  function bodiesOf(chunks: Uint8Array[]): Array<{ body: Uint8Array; text: string }> {
    const out: Array<{ body: Uint8Array; text: string }> = [];
    const p = parser({}, (f) => out.push({ body: f.body, text: text(f.body) }));
    for (const c of chunks) p.push(c);
    return out;
  }

  test('bodies of frames inside one chunk are views of that chunk', () => {
    const chunk = bytes('SEND\n\nfirst\0SEND\ncontent-length:6\n\nsecond\0');
    const [a, b] = bodiesOf([chunk]);
    for (const f of [a!, b!]) assert.equal(f.body.buffer, chunk.buffer);
    assert.equal(a!.body.byteOffset, 6);
    assert.equal(b!.body.byteOffset, chunk.length - 'second\0'.length);
    assert.deepEqual([a!.text, b!.text], ['first', 'second']);
  });

  test('views stay correct for a chunk that is itself a view into a bigger buffer', () => {
    const backing = bytes('____SEND\n\nbody\0____');
    const chunk = backing.subarray(4, backing.length - 4);
    const [f] = bodiesOf([chunk]);
    assert.equal(f!.body.buffer, backing.buffer);
    assert.equal(f!.text, 'body');
  });

  test('a body in the chunk that completes a split header section is a view of that chunk', () => {
    const first = bytes('SEND\ndestina');
    for (const tail of ['tion:/a\n\nbody\0', 'tion:/a\ncontent-length:4\n\nbody\0']) {
      const second = bytes(tail);
      const [f] = bodiesOf([first, second]);
      assert.equal(f!.body.buffer, second.buffer);
      assert.equal(f!.text, 'body');
    }
  });

  test('a body split over chunks is assembled into one buffer', () => {
    for (const head of ['SEND\n\n', 'SEND\ncontent-length:6\n\n']) {
      const chunks = [bytes(head, 'spl'), bytes('it'), bytes('s\0')];
      const [f] = bodiesOf(chunks);
      assert.equal(f!.text, 'splits');
      for (const c of chunks) assert.notEqual(f!.body.buffer, c.buffer);
    }
  });
});

describe('Headers and errors', () => {
  test('of() keeps order and repeats; has/size', () => {
    const h = Headers.of([['a', '1'], ['b', '2'], ['a', '3']]);
    assert.equal(h.size, 3);
    assert.ok(h.has('a') && !h.has('c'));
    assert.equal(h.get('a'), '1');
    assert.deepEqual([...h.entries()], [['a', '1'], ['b', '2'], ['a', '3']]);
  });

  test('thrown errors are StompProtocolError with a detail for the ERROR body', () => {
    const e = assertProtocolError(() => pushAll('SEND\nno colon here\n\n\0'), 'malformed header');
    assert.ok(e instanceof StompProtocolError && e.name === 'StompProtocolError');
    assert.match(e.detail, /no colon here/);
  });
});

describe('yieldAfterFrame', () => {
  const frames = ['1', '2', '3'].map((b) => `SEND\ndestination:/q\n\n${b}\0`).join('');

  test('the push returns after the frame that asked, with how much it consumed; pushing the rest goes on', () => {
    const got: string[] = [];
    const p = new FrameParser(DEFAULT_PARSER_LIMITS, (f) => {
      got.push(text(f.body));
      if (got.length === 1) p.yieldAfterFrame();
    });
    const chunk = bytes(frames);
    const consumed = p.push(chunk);
    assert.deepEqual(got, ['1']);
    assert.equal(consumed, frames.indexOf('\0') + 1);
    assert.equal(p.push(chunk.subarray(consumed)), chunk.length - consumed);
    assert.deepEqual(got, ['1', '2', '3']);
  });

  test('a frame completed from a carried token can yield too (content-length body and NUL-terminated)', () => {
    for (const f of ['SEND\ncontent-length:1\n\n1\0', 'SEND\n\n1\0']) {
      const got: string[] = [];
      const p = new FrameParser(DEFAULT_PARSER_LIMITS, (frame) => {
        got.push(text(frame.body));
        p.yieldAfterFrame();
      });
      const all = bytes(f + 'SEND\n\n2\0');
      const split = f.length - 2;
      assert.equal(p.push(all.subarray(0, split)), split);
      const consumed = p.push(all.subarray(split));
      assert.equal(consumed, 2, 'the rest of the carried frame, nothing after it');
      assert.deepEqual(got, ['1']);
      p.push(all.subarray(split + consumed));
      assert.deepEqual(got, ['1', '2']);
    }
  });
});

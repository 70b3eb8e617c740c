// encodeFrame / encodeHead / encodeWithHead: exact bytes per version, and agreement with the parser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFrame, encodeHead, encodeWithHead, encodeUtf8, Headers, type StompVersion } from '@stompede/stomp';
import { byteByByte, bytes, parseAll, parseChunks, text } from './helpers.js';

const latin1 = (b: Uint8Array) => Buffer.from(b).toString('latin1');
const wire = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('encodeFrame bytes', () => {
  test('command, headers, blank line, body, NUL', () => {
    const out = encodeFrame('SEND', { destination: '/queue/a', 'content-type': 'text/plain' }, 'hi');
    assert.equal(wire(out), 'SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhi\0');
  });

  test('no body gives just the trailing NUL', () => {
    assert.equal(wire(encodeFrame('RECEIPT', { 'receipt-id': '7' })), 'RECEIPT\nreceipt-id:7\n\n\0');
    assert.equal(wire(encodeFrame('DISCONNECT', [])), 'DISCONNECT\n\n\0');
  });

  test('a string body is written as UTF-8', () => {
    const out = encodeFrame('SEND', [], 'né 🎉');
    assert.deepEqual(out.subarray('SEND\n\n'.length, -1), encodeUtf8('né 🎉'));
    assert.equal(out.length, 6 + 8 + 1);
  });

  test('a binary body is copied verbatim, NULs included; content-length is the caller\'s', () => {
    const body = Uint8Array.of(0, 255, 0, 10, 13, 0);
    const out = encodeFrame('MESSAGE', [['content-length', '6']], body);
    assert.equal(latin1(out), 'MESSAGE\ncontent-length:6\n\n\x00\xff\x00\n\r\x00\x00');
    // The output owns its bytes: changing the input afterwards does not change it.
    body[1] = 1;
    assert.equal(out[out.length - 6], 255);
  });

  test('content-length is not added automatically', () => {
    assert.ok(!wire(encodeFrame('SEND', { destination: '/a' }, 'x')).includes('content-length'));
  });

  test('header inputs: Headers, tuple list with repeats, record, all in order', () => {
    const expected = 'MESSAGE\na:1\nb:2\na:3\n\n\0';
    assert.equal(wire(encodeFrame('MESSAGE', Headers.of([['a', '1'], ['b', '2'], ['a', '3']]))), expected);
    assert.equal(wire(encodeFrame('MESSAGE', [['a', '1'], ['b', '2'], ['a', '3']])), expected);
    assert.equal(wire(encodeFrame('MESSAGE', { a: '1', b: '2' })), 'MESSAGE\na:1\nb:2\n\n\0');
  });

  test('UTF-8 names and values', () => {
    assert.equal(wire(encodeFrame('MESSAGE', { ключ: '値🎉' })), 'MESSAGE\nключ:値🎉\n\n\0');
  });
});

describe('escaping per version', () => {
  const headers: Array<[string, string]> = [['k:\n\r\\', 'v:\n\r\\x']];
  const expected: Record<StompVersion, string> = {
    '1.0': 'ERROR\nk:\\n\\r\\:v:\\n\\r\\x\n\n\0',
    '1.1': 'ERROR\nk\\c\\n\r\\\\:v\\c\\n\r\\\\x\n\n\0',
    '1.2': 'ERROR\nk\\c\\n\\r\\\\:v\\c\\n\\r\\\\x\n\n\0',
  };

  for (const version of ['1.0', '1.1', '1.2'] as const) {
    test(`${version} escapes names and values`, () => {
      assert.equal(wire(encodeFrame('ERROR', headers, undefined, version)), expected[version]);
    });
  }

  test('the default version is 1.2', () => {
    assert.equal(wire(encodeFrame('ERROR', headers)), expected['1.2']);
  });

  for (const command of ['CONNECTED', 'CONNECT', 'STOMP']) {
    test(`${command} is never escaped, whatever the version`, () => {
      for (const version of ['1.0', '1.1', '1.2'] as const) {
        const out = encodeFrame(command, [['server', 'Stompede/0.1.0 (a:b\\c)']], undefined, version);
        assert.equal(wire(out), `${command}\nserver:Stompede/0.1.0 (a:b\\c)\n\n\0`);
      }
    });
  }

  test('escaping is by exact command: lowercase connected is escaped', () => {
    assert.equal(wire(encodeFrame('connected', { a: 'b:c' })), 'connected\na:b\\cc\n\n\0');
  });
});

describe('encodeHead and encodeWithHead', () => {
  test('together equal encodeFrame', () => {
    const h: Array<[string, string]> = [['destination', '/topic/x:y'], ['ü', 'é\n']];
    for (const version of ['1.0', '1.1', '1.2'] as const) {
      const body = Uint8Array.of(1, 0, 2);
      assert.deepEqual(encodeWithHead(encodeHead('MESSAGE', h, version), body), encodeFrame('MESSAGE', h, body, version));
    }
  });

  test('a multi-byte head is sized in bytes, not characters', () => {
    const out = encodeWithHead('X\n🎉:é\n\n', Uint8Array.of(7));
    assert.equal(out.length, encodeUtf8('X\n🎉:é\n\n').length + 2);
    assert.deepEqual([...out.subarray(-2)], [7, 0]);
  });
});

describe('encode then parse', () => {
  const tricky: Array<[string, string]> = [
    ['destination', '/queue/a:b'],
    ['x\\name:with\ncolon', 'line1\nline2\r\nend\\'],
    ['x', ''],
    ['x', ' padded '],
    ['ключ', '値🎉'],
  ];

  for (const version of ['1.1', '1.2'] as const) {
    test(`${version}: escaped headers and a binary body come back identical, whole or byte by byte`, () => {
      const body = Uint8Array.of(0, 1, 2, 0, 0x0a, 0);
      const hs: Array<[string, string]> = [...tricky, ['content-length', String(body.length)]];
      // 1.1 cannot carry a CR right before the EOL: it has no \r escape and the parser accepts CRLF.
      const input = version === '1.1' ? hs.map(([k, v]): [string, string] => [k, v.replace(/\r/g, '')]) : hs;
      const data = encodeFrame('MESSAGE', input, body, version);
      const expected = [{ command: 'MESSAGE', headers: input, body }];
      assert.deepEqual(parseAll(data, { version }), expected);
      assert.deepEqual(parseChunks(byteByByte(data), { version }), expected);
    });
  }

  test('1.1 keeps a raw CR inside a value, as long as it does not end the value', () => {
    const data = encodeFrame('MESSAGE', [['k', 'a\rb']], undefined, '1.1');
    assert.deepEqual(parseAll(data, { version: '1.1' })[0]!.headers, [['k', 'a\rb']]);
  });

  test('CONNECTED round-trips backslashes literally', () => {
    const data = encodeFrame('CONNECTED', [['version', '1.2'], ['server', 'S/1 (x\\y)']], undefined, '1.2');
    assert.deepEqual(parseAll(data)[0]!.headers, [['version', '1.2'], ['server', 'S/1 (x\\y)']]);
  });

  test('1.0: plain values round-trip; CR/LF arrive as literal escapes (1.0 has no unescaping)', () => {
    const data = encodeFrame('MESSAGE', [['a', 'b:c\\d'], ['e', 'f\ng\rh']], 'body', '1.0');
    const [f] = parseAll(data, { version: '1.0' });
    assert.deepEqual(f!.headers, [['a', 'b:c\\d'], ['e', 'f\\ng\\rh']]);
    assert.equal(text(f!.body), 'body');
  });

  test('a body with NULs needs content-length to survive', () => {
    const body = bytes('ab', [0], 'cd');
    const frames = parseAll(encodeFrame('SEND', [], body));
    assert.equal(text(frames[0]!.body), 'ab');
  });
});

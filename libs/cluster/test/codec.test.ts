// The stream entry codec (redis/codec.ts): a round trip for arbitrary headers and bodies, and
// malformed entries rejected with an Error rather than anything else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeEntry, encodeEntry, messageOf, readEntry, type StreamEntry } from '../src/redis/codec.js';

const RUNS = { numRuns: 300 };

/** Header text: anything, with the characters that matter to STOMP and JSON made frequent. */
const headerText = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', ':', '\n', '\r', '\\', '"', '\u0000', 'é', '中', '🎉', ' '), maxLength: 12 }),
  // Any code point, lone surrogates included (fc's 'binary' unit would do, but costs a second to build).
  fc.array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 12 }).map((cps) => String.fromCodePoint(...cps)),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

const headersArb = fc
  .array(fc.tuple(headerText, headerText), { maxLength: 8 })
  .map((pairs) => ({ names: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) }));

const bodyArb = fc.uint8Array({ maxLength: 256 });

describe('encodeEntry / decodeEntry', () => {
  test('round trip: headers (names, values, order, repeats) and body bytes come back', () => {
    fc.assert(
      fc.property(headersArb, bodyArb, (headers, body) => {
        const decoded = decodeEntry(encodeEntry(headers, body));
        assert.deepEqual(decoded.headers.names, headers.names);
        assert.deepEqual(decoded.headers.values, headers.values);
        assert.deepEqual(Buffer.from(decoded.body), Buffer.from(body));
      }),
      RUNS,
    );
  });

  test('no headers: a 4-byte zero length, then the body as is', () => {
    const body = Uint8Array.from([0, 1, 2, 255]);
    const e = encodeEntry({ names: [], values: [] }, body);
    assert.deepEqual([...e], [0, 0, 0, 0, 0, 1, 2, 255]);
    const d = decodeEntry(e);
    assert.deepEqual(d.headers, { names: [], values: [] });
    assert.deepEqual([...d.body], [0, 1, 2, 255]);
  });

  test('an empty header name and value survive (they are not "no headers")', () => {
    const d = decodeEntry(encodeEntry({ names: [''], values: [''] }, new Uint8Array()));
    assert.deepEqual(d.headers, { names: [''], values: [''] });
    assert.equal(d.body.length, 0);
  });

  test('the decoded body is a view into the entry, not a copy', () => {
    const e = encodeEntry({ names: ['k'], values: ['v'] }, Buffer.from('body'));
    const d = decodeEntry(e);
    assert.equal(d.body.buffer, e.buffer);
  });

  test('the header length prefix counts UTF-8 bytes, not UTF-16 units', () => {
    fc.assert(
      fc.property(headersArb.filter((h) => h.names.length > 0), bodyArb, (headers, body) => {
        const e = encodeEntry(headers, body);
        const head = JSON.stringify([headers.names, headers.values]);
        assert.equal(e.readUInt32BE(0), Buffer.byteLength(head));
        assert.equal(e.length, 4 + Buffer.byteLength(head) + body.length);
      }),
      RUNS,
    );
  });
});

describe('decodeEntry rejects malformed entries', () => {
  const withHead = (head: string, body = ''): Buffer => {
    const h = Buffer.from(head);
    const out = Buffer.alloc(4 + h.length + body.length);
    out.writeUInt32BE(h.length, 0);
    h.copy(out, 4);
    out.write(body, 4 + h.length);
    return out;
  };

  test('shorter than the length prefix', () => {
    for (const n of [0, 1, 2, 3]) assert.throws(() => decodeEntry(Buffer.alloc(n)), /too short/, `${n} bytes`);
  });

  test('header length past the end of the entry', () => {
    const e = encodeEntry({ names: ['a'], values: ['b'] }, Buffer.from('xy'));
    e.writeUInt32BE(e.length - 3, 0);
    assert.throws(() => decodeEntry(e), /out of range/);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0xffffffff, 0);
    assert.throws(() => decodeEntry(huge), /out of range/);
  });

  test('header bytes that are not JSON', () => {
    assert.throws(() => decodeEntry(withHead('[["a"],["b"]')), SyntaxError);
    assert.throws(() => decodeEntry(withHead('\u00ff\u00fe')), SyntaxError);
  });

  test('JSON of the wrong shape', () => {
    for (const head of ['{}', 'null', '"x"', '[]', '[[]]', '[[],[],[]]', '["a",[]]', '[[],"b"]', '{"0":[],"1":[]}']) {
      assert.throws(() => decodeEntry(withHead(head)), /malformed/, head);
    }
  });

  test('arbitrary bytes: decoded or an Error, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeEntry(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof Error, `threw ${String(err)}`);
        }
      }),
      RUNS,
    );
  });

  // Found while writing these tests: the shape check looks at the two arrays only, so an entry whose
  // names and values differ in length, or hold non-strings, decodes into UserHeaders that break
  // later code (entrySize reads values[i]!.length). Entries are written by the broker itself, so
  // only a foreign or corrupted writer produces them.
  test('names and values of different lengths or types are rejected', () => {
    for (const head of ['[["a","b"],["x"]]', '[["a"],[1]]', '[[null],["x"]]']) {
      assert.throws(() => decodeEntry(withHead(head)), /malformed/, head);
    }
  });
});

describe('readEntry and messageOf', () => {
  const entry = (...s: string[]): StreamEntry => [Buffer.from('1700000000000-7'), s.map((x) => Buffer.from(x))];

  test('finds every field Stompede writes in one pass, by name', () => {
    const e = readEntry(entry('d', 'data', 'o', 'origin', 'q', '/reply-queue/n/1/x', 'v', '/'));
    assert.equal(e.id, '1700000000000-7');
    assert.deepEqual([e.data?.toString(), e.origin?.toString(), e.queue?.toString(), e.vhost?.toString()], ['data', 'origin', '/reply-queue/n/1/x', '/']);
  });

  test('never takes a value for a name, nor a dangling name, nor a longer name that starts alike', () => {
    assert.equal(readEntry(entry('x', 'd', 'y', 'z')).data, undefined);
    assert.equal(readEntry(entry('a', 'b', 'd')).data, undefined);
    assert.equal(readEntry(entry('dd', 'x')).data, undefined);
    assert.equal(readEntry(entry()).data, undefined);
  });

  test('messageOf: the message-id is the destination and the stream id; no data field, no message', () => {
    const payload = encodeEntry({ names: ['k'], values: ['v'] }, Buffer.from('body'));
    const m = messageOf('/topic/a', readEntry([Buffer.from('5-1'), [Buffer.from('d'), payload]]))!;
    assert.equal(m.id, '/topic/a@5-1');
    assert.equal(m.header('k'), 'v');
    assert.equal(Buffer.from(m.body).toString(), 'body');
    assert.equal(messageOf('/topic/a', readEntry(entry('o', 'x:1'))), undefined);
  });
});

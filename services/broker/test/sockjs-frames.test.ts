// SockJS framing as pure functions: message encoding (the characters the protocol asks servers to
// escape), client payload parsing, close frames and each transport's envelope.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sockjsFrames } from '@stompede/broker';

const {
  ANOTHER_CONNECTION, BrokenJson, CALLBACK, closeFrame, encodeMessage, EVENTSOURCE, GO_AWAY, htmlfile, INTERRUPTED,
  messagesFrame, parseClientMessages, XHR, XHR_STREAMING,
} = sockjsFrames;

describe('SockJS frames', () => {
  test('close frames carry a code and a JSON reason', () => {
    assert.equal(GO_AWAY, 'c[3000,"Go away!"]');
    assert.equal(ANOTHER_CONNECTION, 'c[2010,"Another connection still open"]');
    assert.equal(INTERRUPTED, 'c[1002,"Connection interrupted"]');
    assert.equal(closeFrame(4000, 'a "quoted" reason'), 'c[4000,"a \\"quoted\\" reason"]');
  });

  test('messages are JSON strings with the characters browsers mangle escaped', () => {
    assert.equal(encodeMessage('SEND\n\n\0'), '"SEND\\n\\n\\u0000"');
    assert.equal(encodeMessage('\u2028\u200c\u2060\ufff0\uffff'), '"\\u2028\\u200c\\u2060\\ufff0\\uffff"');
    assert.equal(encodeMessage('héllo ✓ 😀'), '"héllo ✓ 😀"', 'other non-ASCII goes as it is');
    assert.equal(encodeMessage('\ud800'), '"\\ud800"', 'lone surrogates are escaped');
    const text = 'x\u2028y\0z"\\';
    assert.equal(JSON.parse(encodeMessage(text)), text, 'escaping round-trips');
    assert.equal(messagesFrame([encodeMessage('a'), encodeMessage('b')]), 'a["a","b"]');
  });

  test('client payloads: an array of strings or one string; anything else is broken JSON', () => {
    assert.deepEqual(parseClientMessages('["a","b"]'), ['a', 'b']);
    assert.deepEqual(parseClientMessages('"a"'), ['a']);
    assert.deepEqual(parseClientMessages('["\\u0000\\u2028"]'), ['\0\u2028']);
    for (const bad of ['["a', '', '[1]', '{"a":1}', 'null', '["a",null]']) {
      assert.throws(() => parseClientMessages(bad), BrokenJson, bad);
    }
  });

  test('envelopes: xhr lines, a 2 KiB xhr-streaming prelude, event-stream events, htmlfile scripts', () => {
    assert.equal(XHR.wrap('o'), 'o\n');
    assert.equal(XHR.streaming, false);
    assert.equal(XHR_STREAMING.prelude(), `${'h'.repeat(2048)}\n`);
    assert.equal(EVENTSOURCE.prelude() + EVENTSOURCE.wrap('a["x"]'), '\r\ndata: a["x"]\r\n\r\n');
    const hf = htmlfile('cb.x');
    assert.ok(hf.prelude().length > 1024);
    assert.match(hf.prelude(), /var c = parent\.cb\.x;/);
    assert.equal(hf.wrap('a["x"]'), '<script>\np("a[\\"x\\"]");\n</script>\r\n');
    for (const ok of ['callback', 'a.b_c1']) assert.ok(CALLBACK.test(ok), ok);
    for (const bad of ['', 'a(b)', 'a;alert(1)', 'a b', '</script>', 'x'.repeat(65)]) assert.ok(!CALLBACK.test(bad), bad);
  });
});

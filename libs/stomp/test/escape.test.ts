// Header value escaping per version (spec "Value Encoding"), in both directions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { escapeHeaderValue, unescapeHeaderValue } from '@stompede/stomp';

// Every character the rules treat specially, plus neighbours that must be left alone.
const NASTY = 'a\\b:c\nd\re\tf\\\\g::h\r\n';

describe('escapeHeaderValue', () => {
  test('none leaves everything verbatim', () => {
    assert.equal(escapeHeaderValue(NASTY, 'none'), NASTY);
  });

  test('1.0 writes only CR and LF as \\r \\n; backslash and colon stay raw', () => {
    assert.equal(escapeHeaderValue(NASTY, '1.0'), 'a\\b:c\\nd\\re\tf\\\\g::h\\r\\n');
  });

  test('1.1 escapes backslash, LF and colon; CR stays raw (1.1 has no \\r)', () => {
    assert.equal(escapeHeaderValue(NASTY, '1.1'), 'a\\\\b\\cc\\nd\re\tf\\\\\\\\g\\c\\ch\r\\n');
  });

  test('1.2 escapes backslash, CR, LF and colon', () => {
    assert.equal(escapeHeaderValue(NASTY, '1.2'), 'a\\\\b\\cc\\nd\\re\tf\\\\\\\\g\\c\\ch\\r\\n');
  });

  test('a backslash is escaped before the escapes that introduce backslashes', () => {
    // Escaping "\" after "\n" would turn the produced "\n" into "\\n".
    assert.equal(escapeHeaderValue('\n', '1.2'), '\\n');
    assert.equal(escapeHeaderValue('\\n', '1.2'), '\\\\n');
    assert.equal(escapeHeaderValue('\\\n', '1.1'), '\\\\\\n');
  });

  test('strings with nothing to escape are returned unchanged, including UTF-8', () => {
    for (const v of ['', 'plain', '/topic/a.b', 'ключ 🎉', 'tab\there']) {
      for (const e of ['1.0', '1.1', '1.2', 'none'] as const) assert.equal(escapeHeaderValue(v, e), v);
    }
  });
});

describe('unescapeHeaderValue', () => {
  test('1.2 decodes \\r \\n \\c \\\\', () => {
    assert.equal(unescapeHeaderValue('a\\rb\\nc\\cd\\\\e', '1.2'), 'a\rb\nc:d\\e');
  });

  test('1.1 decodes \\n \\c \\\\', () => {
    assert.equal(unescapeHeaderValue('a\\nc\\cd\\\\e', '1.1'), 'a\nc:d\\e');
  });

  test('1.1 rejects \\r', () => {
    assert.equal(unescapeHeaderValue('a\\rb', '1.1'), null);
  });

  test('raw CR, LF and colon pass through (the parser splits lines and names itself)', () => {
    assert.equal(unescapeHeaderValue('a:b\rc', '1.2'), 'a:b\rc');
    assert.equal(unescapeHeaderValue('a:b\rc', '1.1'), 'a:b\rc');
  });

  test('consecutive and adjacent escapes', () => {
    assert.equal(unescapeHeaderValue('\\\\\\\\', '1.2'), '\\\\');
    assert.equal(unescapeHeaderValue('\\\\n', '1.2'), '\\n');
    assert.equal(unescapeHeaderValue('\\c\\c\\n\\n', '1.1'), '::\n\n');
  });

  for (const version of ['1.1', '1.2'] as const) {
    for (const bad of ['\\t', 'abc\\', '\\', '\\C', '\\N', '\\R', '\\ ', '\\:', 'ok\\n\\x', '\\\\\\']) {
      test(`${version} rejects ${JSON.stringify(bad)}`, () => {
        assert.equal(unescapeHeaderValue(bad, version), null);
      });
    }
  }

  test('strings without a backslash come back unchanged', () => {
    for (const v of ['', 'x', 'ключ 🎉', 'a:b']) assert.equal(unescapeHeaderValue(v, '1.2'), v);
  });
});

describe('round trip', () => {
  const anyText = fc.string({
    unit: fc.constantFrom('a', 'Z', '0', ' ', '\\', ':', '\n', '\r', 'c', 'n', 'r', '\t', 'é', '🎉'),
    maxLength: 24,
  });

  for (const version of ['1.1', '1.2'] as const) {
    test(`unescape(escape(s)) === s under ${version}`, () => {
      fc.assert(
        fc.property(anyText, (s) => {
          const escaped = escapeHeaderValue(s, version);
          assert.equal(unescapeHeaderValue(escaped, version), s);
          // An escaped value must be safe on a header line: no LF, no colon, no CR under 1.2.
          assert.ok(!/[\n:]/.test(escaped));
          if (version === '1.2') assert.ok(!escaped.includes('\r'));
        }),
        { numRuns: 300 },
      );
    });
  }
});

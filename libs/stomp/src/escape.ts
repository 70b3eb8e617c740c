// Header value escaping, which differs per STOMP version:
// - 1.0 has none. A raw LF would end the header line, so values bound for 1.0 peers get CR and LF
//   written as the 1.2 escapes `\r` `\n`; everything else goes out verbatim.
// - 1.1 escapes `\\` `\n` `\c`.
// - 1.2 adds `\r`.
// CONNECT and CONNECTED frames are never escaped, whatever the version.
import type { StompVersion } from './version.js';

/** How header values are escaped: per the peer's version, or not at all for CONNECT/CONNECTED. */
export type Escaping = StompVersion | 'none';

const NEEDS_ESCAPE_11 = /[\\\n:]/;
const NEEDS_ESCAPE_12 = /[\\\r\n:]/;
const NEEDS_ESCAPE_10 = /[\r\n]/;

export function escapeHeaderValue(value: string, escaping: Escaping): string {
  switch (escaping) {
    case 'none':
      return value;
    case '1.0':
      return NEEDS_ESCAPE_10.test(value) ? value.replace(/\r/g, '\\r').replace(/\n/g, '\\n') : value;
    case '1.1':
      return NEEDS_ESCAPE_11.test(value)
        ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/:/g, '\\c')
        : value;
    case '1.2':
      return NEEDS_ESCAPE_12.test(value)
        ? value.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/:/g, '\\c')
        : value;
  }
}

/**
 * Reverses escaping on a decoded header name or value that contains a backslash. Returns null for an
 * undefined escape sequence (`\t`, a trailing `\`, or `\r` under 1.1), which the spec makes fatal.
 */
export function unescapeHeaderValue(raw: string, escaping: '1.1' | '1.2'): string | null {
  let out = '';
  let from = 0;
  for (let i = raw.indexOf('\\'); i >= 0; i = raw.indexOf('\\', from)) {
    out += raw.slice(from, i);
    switch (raw.charCodeAt(i + 1)) {
      case 0x6e: out += '\n'; break; // n
      case 0x63: out += ':'; break; // c
      case 0x5c: out += '\\'; break; // backslash
      case 0x72: // r
        if (escaping === '1.1') return null;
        out += '\r';
        break;
      default:
        return null;
    }
    from = i + 2;
  }
  return out + raw.slice(from);
}

// Frames to bytes. The general encoder below serves control frames (CONNECTED, RECEIPT, ERROR) and
// clients in tests; the broker's MESSAGE hot path builds its header text itself and uses
// `encodeWithHead` so the body is copied exactly once, straight into the output.
import { escapeHeaderValue, type Escaping } from './escape.js';
import { isConnectCommand } from './frame.js';
import { Headers } from './headers.js';
import { encodeUtf8, utf8Length, writeUtf8 } from './text.js';
import type { StompVersion } from './version.js';

export type HeaderInput = Headers | ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;

/** Header text (command line, header lines and the blank line) for a frame. */
export function encodeHead(command: string, headers: HeaderInput, version: StompVersion): string {
  const escaping: Escaping = isConnectCommand(command) ? 'none' : version;
  let head = command + '\n';
  for (const [k, v] of entriesOf(headers)) {
    head += escapeHeaderValue(k, escaping) + ':' + escapeHeaderValue(v, escaping) + '\n';
  }
  return head + '\n';
}

/** Encodes a whole frame; `headers` should already contain `content-length` when wanted. */
export function encodeFrame(
  command: string,
  headers: HeaderInput,
  body: Uint8Array | string = EMPTY,
  version: StompVersion = '1.2',
): Uint8Array {
  const bytes = typeof body === 'string' ? encodeUtf8(body) : body;
  return encodeWithHead(encodeHead(command, headers, version), bytes);
}

/** Writes `head` then `body` then NUL into one new buffer: the only copy of the body. */
export function encodeWithHead(head: string, body: Uint8Array): Uint8Array {
  const headBytes = utf8Length(head);
  const out = new Uint8Array(headBytes + body.length + 1);
  writeUtf8(out, head, 0);
  out.set(body, headBytes);
  out[out.length - 1] = 0;
  return out;
}

function entriesOf(headers: HeaderInput): Iterable<readonly [string, string]> {
  if (headers instanceof Headers) return headers.entries();
  if (Array.isArray(headers)) return headers as ReadonlyArray<readonly [string, string]>;
  return Object.entries(headers as Record<string, string>);
}

const EMPTY = new Uint8Array(0);

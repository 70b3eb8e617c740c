// Shared helpers for the codec tests: building input bytes, feeding a parser in chunks, and copying
// frames out of the callback (a frame's body is only valid while onFrame runs).
import assert from 'node:assert/strict';
import {
  DEFAULT_PARSER_LIMITS,
  FrameParser,
  StompProtocolError,
  type Frame,
  type ParserLimits,
  type StompVersion,
} from '@stompede/stomp';

export interface Parsed {
  command: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export interface ParseOptions {
  version?: StompVersion;
  limits?: Partial<ParserLimits>;
}

export interface ParseResult {
  frames: Parsed[];
  error?: StompProtocolError;
}

/** Every message the parser may throw; anything else escaping the parser is a bug. */
export const PARSER_ERRORS = [
  'malformed frame',
  'malformed header',
  'invalid content-length',
  'undefined escape sequence',
  'frame too large',
  'too many headers',
  'header line too long',
] as const;

const utf8 = new TextEncoder();

/** Concatenates strings (as UTF-8), byte arrays and byte values into one fresh Uint8Array. */
export function bytes(...parts: Array<string | Uint8Array | number[]>): Uint8Array {
  const encoded = parts.map((p) => (typeof p === 'string' ? utf8.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(encoded.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of encoded) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function text(body: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(body);
}

/** Copies a frame out of the callback, with a body that owns its bytes. */
export function snapshot(frame: Frame): Parsed {
  return { command: frame.command, headers: [...frame.headers.entries()], body: new Uint8Array(frame.body) };
}

export function parser(opts: ParseOptions, onFrame: (frame: Frame) => void): FrameParser {
  const p = new FrameParser({ ...DEFAULT_PARSER_LIMITS, ...opts.limits }, onFrame);
  if (opts.version) p.version = opts.version;
  return p;
}

/**
 * Feeds `chunks` in order and collects frames until the end or the first StompProtocolError.
 * Any other exception propagates, so callers that assert on the result also catch crashes.
 */
export function parseResult(chunks: Iterable<Uint8Array>, opts: ParseOptions = {}): ParseResult {
  const frames: Parsed[] = [];
  const p = parser(opts, (f) => frames.push(snapshot(f)));
  try {
    for (const c of chunks) p.push(c);
  } catch (e) {
    if (e instanceof StompProtocolError) return { frames, error: e };
    throw e;
  }
  return { frames };
}

/** Parses and fails the test on a protocol error. */
export function parseChunks(chunks: Iterable<Uint8Array>, opts: ParseOptions = {}): Parsed[] {
  const r = parseResult(chunks, opts);
  if (r.error) assert.fail(`unexpected ${r.error.message}: ${r.error.detail}`);
  return r.frames;
}

export function parseAll(data: Uint8Array | string, opts: ParseOptions = {}): Parsed[] {
  return parseChunks([typeof data === 'string' ? bytes(data) : data], opts);
}

/** Pushes one chunk and lets any exception escape, for assertProtocolError. */
export function pushAll(data: Uint8Array | string, opts: ParseOptions = {}): Parsed[] {
  const frames: Parsed[] = [];
  parser(opts, (f) => frames.push(snapshot(f))).push(typeof data === 'string' ? bytes(data) : data);
  return frames;
}

/** Splits at the given offsets; each chunk is a copy with its own ArrayBuffer, as off a socket. */
export function splitAt(data: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(offsets.map((o) => Math.min(Math.max(o, 0), data.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...cuts, data.length]) {
    out.push(data.slice(from, c));
    from = c;
  }
  return out;
}

export function byteByByte(data: Uint8Array): Uint8Array[] {
  return Array.from(data, (b) => Uint8Array.of(b));
}

/** Every way of cutting `data` into two chunks (including an empty first or last chunk). */
export function* everySplit(data: Uint8Array): Generator<Uint8Array[]> {
  for (let i = 0; i <= data.length; i++) yield splitAt(data, [i]);
}

/** Asserts that `fn` throws StompProtocolError with this message (and limit, when given). */
export function assertProtocolError(fn: () => unknown, message: string, limit?: string): StompProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof StompProtocolError, `expected StompProtocolError "${message}", got ${String(caught)}`);
  assert.equal(caught.message, message);
  assert.equal(caught.limit, limit);
  return caught;
}

/** The result must be exactly this error; frames before it are checked separately by callers. */
export function assertErrorResult(r: ParseResult, message: string, limit?: string): void {
  assert.ok(r.error, `expected "${message}", got ${r.frames.length} frame(s) and no error`);
  assert.equal(r.error.message, message);
  assert.equal(r.error.limit, limit);
}

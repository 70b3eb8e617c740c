/*
 * STOMP frame parser: bytes in, frames out.
 *
 * Design notes
 * - A byte state machine in the style of nats.js's parser: IDLE (EOLs between frames, which are
 *   heart-beats), COMMAND line, HEADER lines, BODY. It never builds strings from partial input and
 *   never runs a regex over bytes; strings are decoded once a line is complete.
 * - Zero copy. A frame that lies entirely inside the chunk being parsed is handed out with its body
 *   as a `subarray` view of that chunk. Views live only as long as the `onFrame` callback: uWS
 *   neuters its ArrayBuffer when its callback returns, so whoever keeps a body must copy it (once).
 * - Split frames. Everything parsed so far is already decoded, so only the one unfinished token
 *   (a line, or the body) is carried over to the next chunk. The carry is completed from the next
 *   chunk and parsing goes back to working on that chunk directly.
 * - Bodies with `content-length` are skipped, not scanned: the parser jumps to the expected NUL,
 *   which lets bodies contain NULs. Without it, the body runs to the first NUL.
 * - Limits (frame bytes, header count, header line bytes) are checked before the bytes they guard
 *   are buffered, and a `content-length` over the frame limit fails before anything is allocated.
 * - Lenient where the spec allows a choice: a CR before LF is accepted in every version, a header
 *   value may contain raw colons (split at the first), and CR or LF bytes between frames are skipped.
 */
import { BACKSLASH, COLON, CR, LF, NUL } from './bytes.js';
import { StompProtocolError } from './errors.js';
import { isConnectCommand, type Frame } from './frame.js';
import { Headers } from './headers.js';
import { decodeAscii, decodeUtf8, decodeUtf8Strict } from './text.js';
import { unescapeHeaderValue, type Escaping } from './escape.js';
import type { StompVersion } from './version.js';

export interface ParserLimits {
  /** Largest frame, counting command, headers and body. */
  readonly maxFrameBytes: number;
  /** Most header lines in one frame. */
  readonly maxHeaders: number;
  /** Longest command or header line, without its EOL. */
  readonly maxHeaderLineBytes: number;
}

/** Receives parsed frames; a frame is only valid during the call. */
export interface FrameSink {
  onFrame(frame: Frame): void;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxHeaders: 100,
  maxHeaderLineBytes: 64 * 1024,
};

const IDLE = 0;
const COMMAND = 1;
const HEADER = 2;
const BODY = 3;

const KNOWN_COMMANDS = [
  'CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT',
  'DISCONNECT', 'CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR',
].map((name) => ({ name, bytes: Uint8Array.from(name, (c) => c.charCodeAt(0)) }));

const EMPTY = new Uint8Array(0);
const NO_HEADERS = new Headers();
/** Carry buffers up to this size are kept for the next split token; bigger ones are released. */
const KEEP_CARRY_BYTES = 16 * 1024;

export class FrameParser {
  /** Selects the header escaping rules for frames after CONNECT; set once the version is known. */
  version: StompVersion = '1.2';

  private state = IDLE;
  /** Frames delivered so far: with inFrame, tells a caller whether a partial frame is a new one. */
  framesParsed = 0;
  private stopped = false;
  /** Set by yieldAfterFrame during a push: the push returns after the frame being delivered. */
  private yielding = false;
  private command = '';
  private escaping: Escaping = 'none';
  /** Replaced by a fresh instance at every frame start; the initial one is never written to. */
  private headers = NO_HEADERS;
  private readonly sink: FrameSink;
  private contentLength = -1;
  private frameBytes = 0;
  /** Set while one unfinished token (a line, or a body) waits in `carry` for the next chunk. */
  private carrying = false;
  private carry: Uint8Array = EMPTY;
  private carryLen = 0;

  constructor(
    private readonly limits: ParserLimits,
    onFrame: ((frame: Frame) => void) | FrameSink,
  ) {
    // An object sink saves an idle connection the closure a callback would cost.
    this.sink = typeof onFrame === 'function' ? { onFrame } : onFrame;
  }

  /** Whether a frame has begun and is not complete yet (EOLs between frames do not count). */
  get inFrame(): boolean {
    return this.state !== IDLE;
  }

  /** Stops delivering frames, e.g. once the session decided to close. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Called from onFrame: the push in progress returns once this frame is delivered, telling its
   * caller how much of the chunk it consumed; the caller pushes the rest later (a session that
   * stops taking input mid-chunk, e.g. under publish pressure).
   */
  yieldAfterFrame(): void {
    this.yielding = true;
  }

  /**
   * Parses `chunk`, calling onFrame for each complete frame. Returns how many bytes of it were
   * consumed: all of them, unless onFrame called yieldAfterFrame. Throws StompProtocolError.
   */
  push(chunk: Uint8Array): number {
    const end = chunk.length;
    if (this.stopped) return end;
    this.yielding = false;
    let pos = this.carrying ? this.resume(chunk) : 0;
    while (pos >= 0 && pos < end && !this.stopped && !this.yielding) {
      if (this.state === IDLE) {
        const b = chunk[pos];
        if (b === LF || b === CR) {
          pos++;
          continue;
        }
        this.beginFrame();
      }
      if (this.state === BODY) {
        pos = this.body(chunk, pos, end);
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) {
        this.checkLineLength(end - pos, chunk[end - 1]!);
        this.append(chunk, pos, end);
        return end;
      }
      this.checkLineLength(lf - pos, chunk[lf - 1]!);
      this.line(chunk, pos, lf);
      pos = lf + 1;
    }
    return this.yielding && pos >= 0 ? pos : end;
  }

  private beginFrame(): void {
    this.state = COMMAND;
    this.headers = new Headers();
    this.contentLength = -1;
    this.frameBytes = 0;
  }

  /** Completes the carried token from the start of `chunk`; returns where parsing goes on, or -1. */
  private resume(chunk: Uint8Array): number {
    if (this.state !== BODY) {
      const lf = chunk.indexOf(LF);
      const take = lf < 0 ? chunk.length : lf;
      this.checkLineLength(this.carryLen + take, take > 0 ? chunk[take - 1]! : this.carry[this.carryLen - 1]!);
      this.append(chunk, 0, take);
      if (lf < 0) return -1;
      const len = this.endCarry();
      this.line(this.carry, 0, len);
      this.releaseCarry();
      return lf + 1;
    }
    if (this.contentLength >= 0) {
      const need = this.contentLength + 1 - this.carryLen;
      if (chunk.length < need) {
        this.carry.set(chunk, this.carryLen);
        this.carryLen += chunk.length;
        return -1;
      }
      this.carry.set(chunk.subarray(0, need), this.carryLen);
      const carried = this.carry;
      this.endCarry();
      this.carry = EMPTY;
      if (carried[this.contentLength] !== NUL) throw this.missingNul();
      this.emit(carried.subarray(0, this.contentLength));
      return need;
    }
    const nul = chunk.indexOf(NUL);
    const take = nul < 0 ? chunk.length : nul;
    this.checkBodyBytes(this.carryLen + take);
    this.append(chunk, 0, take);
    if (nul < 0) return -1;
    const len = this.endCarry();
    this.emit(this.carry.subarray(0, len));
    this.releaseCarry();
    return nul + 1;
  }

  private body(chunk: Uint8Array, pos: number, end: number): number {
    const length = this.contentLength;
    if (length >= 0) {
      if (end - pos > length) {
        if (chunk[pos + length] !== NUL) throw this.missingNul();
        this.emit(chunk.subarray(pos, pos + length));
        return pos + length + 1;
      }
      // The size was checked against maxFrameBytes when the headers ended.
      this.carry = new Uint8Array(length + 1);
      this.carry.set(chunk.subarray(pos, end));
      this.carryLen = end - pos;
      this.carrying = true;
      return -1;
    }
    const nul = chunk.indexOf(NUL, pos);
    if (nul < 0) {
      this.checkBodyBytes(end - pos);
      this.append(chunk, pos, end);
      return -1;
    }
    this.checkBodyBytes(nul - pos);
    this.emit(chunk.subarray(pos, nul));
    return nul + 1;
  }

  private line(buf: Uint8Array, start: number, lf: number): void {
    this.frameBytes += lf - start + 1;
    if (this.frameBytes > this.limits.maxFrameBytes) throw this.frameTooLarge();
    const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    if (this.state === COMMAND) {
      this.command = commandName(buf, start, end);
      this.escaping = isConnectCommand(this.command) ? 'none' : this.version;
      this.state = HEADER;
      return;
    }
    if (end === start) {
      // Header lines after content-length count too, so its body is checked again now.
      if (this.contentLength >= 0) this.checkBodyBytes(this.contentLength);
      this.state = BODY;
      return;
    }
    this.header(buf, start, end);
  }

  private header(buf: Uint8Array, start: number, end: number): void {
    if (this.headers.size >= this.limits.maxHeaders) {
      throw new StompProtocolError(
        'too many headers',
        `A frame may carry at most ${this.limits.maxHeaders} headers (maxHeaders).`,
        'maxHeaders',
      );
    }
    let colon = -1;
    let backslash = false;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b === COLON) {
        if (colon < 0) colon = i;
      } else if (b === BACKSLASH) backslash = true;
      else if (b >= 0x80) ascii = false;
    }
    if (colon < 0) {
      throw new StompProtocolError('malformed header', `Header line without a colon: ${preview(buf, start, end)}`);
    }
    if (colon === start) {
      throw new StompProtocolError('malformed header', `Header line with an empty name: ${preview(buf, start, end)}`);
    }
    let name = ascii ? decodeAscii(buf, start, colon) : decodeUtf8Strict(buf, start, colon);
    let value = ascii ? decodeAscii(buf, colon + 1, end) : decodeUtf8Strict(buf, colon + 1, end);
    // Headers are UTF-8 (spec "Value Encoding"): replacing bad bytes would change names and
    // destinations behind the client's back, so the frame is refused.
    if (name === null || value === null) {
      throw new StompProtocolError('malformed header', `Header line is not valid UTF-8: ${preview(buf, start, end)}`);
    }
    if (backslash && (this.escaping === '1.1' || this.escaping === '1.2')) {
      const n = unescapeHeaderValue(name, this.escaping);
      const v = unescapeHeaderValue(value, this.escaping);
      if (n === null || v === null) {
        throw new StompProtocolError(
          'undefined escape sequence',
          `STOMP ${this.escaping} defines only ${this.escaping === '1.2' ? '\\r ' : ''}\\n \\c \\\\ in headers: ${preview(buf, start, end)}`,
        );
      }
      name = n;
      value = v;
    }
    if (name === 'content-length' && !this.headers.has('content-length')) this.setContentLength(value);
    this.headers.add(name, value);
  }

  private setContentLength(value: string): void {
    let n = 0;
    if (value.length === 0 || value.length > 10) throw this.badContentLength(value);
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i) - 48;
      if (c < 0 || c > 9) throw this.badContentLength(value);
      n = n * 10 + c;
    }
    if (this.frameBytes + n + 1 > this.limits.maxFrameBytes) throw this.frameTooLarge();
    this.contentLength = n;
  }

  private emit(body: Uint8Array): void {
    const frame: Frame = { command: this.command, headers: this.headers, body };
    this.state = IDLE;
    // An idle connection should not keep its last frame's headers alive.
    this.headers = NO_HEADERS;
    this.framesParsed++;
    this.sink.onFrame(frame);
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const need = this.carryLen + (end - start);
    if (need > this.carry.length) {
      const grown = new Uint8Array(Math.max(need, this.carry.length * 2, 256));
      grown.set(this.carry.subarray(0, this.carryLen));
      this.carry = grown;
    }
    this.carry.set(chunk.subarray(start, end), this.carryLen);
    this.carryLen = need;
    this.carrying = true;
  }

  /** Ends carrying and returns how many bytes the carry holds. */
  private endCarry(): number {
    const len = this.carryLen;
    this.carryLen = 0;
    this.carrying = false;
    return len;
  }

  private releaseCarry(): void {
    if (this.carry.length > KEEP_CARRY_BYTES) this.carry = EMPTY;
  }

  /** `bytes` of a line so far, ending with `last`: a trailing CR may be the EOL's and is not counted. */
  private checkLineLength(bytes: number, last: number): void {
    if (bytes - (last === CR ? 1 : 0) > this.limits.maxHeaderLineBytes) {
      throw new StompProtocolError(
        'header line too long',
        `A command or header line may be at most ${this.limits.maxHeaderLineBytes} bytes (maxHeaderLineBytes).`,
        'maxHeaderLineBytes',
      );
    }
  }

  private checkBodyBytes(bodyBytes: number): void {
    if (this.frameBytes + bodyBytes + 1 > this.limits.maxFrameBytes) throw this.frameTooLarge();
  }

  private frameTooLarge(): StompProtocolError {
    return new StompProtocolError(
      'frame too large',
      `A frame may be at most ${this.limits.maxFrameBytes} bytes (maxFrameBytes).`,
      'maxFrameBytes',
    );
  }

  private badContentLength(value: string): StompProtocolError {
    return new StompProtocolError('invalid content-length', `content-length must be a decimal byte count, got "${value}".`);
  }

  private missingNul(): StompProtocolError {
    return new StompProtocolError(
      'malformed frame',
      `The body is not followed by NUL after content-length (${this.contentLength}) bytes.`,
    );
  }
}

function commandName(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  for (const c of KNOWN_COMMANDS) {
    if (c.bytes.length !== len || c.bytes[0] !== buf[start]) continue;
    let i = 1;
    while (i < len && c.bytes[i] === buf[start + i]) i++;
    if (i === len) return c.name;
  }
  return decodeUtf8(buf, start, end);
}

function preview(buf: Uint8Array, start: number, end: number): string {
  return JSON.stringify(decodeUtf8(buf, start, Math.min(end, start + 80)));
}

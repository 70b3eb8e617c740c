// UTF-8 helpers. Node's Buffer methods run on any Uint8Array and are several times faster than
// TextDecoder for the short strings STOMP headers are made of (nodejs/performance#18), so they are
// used when present; the WHATWG fallbacks keep this library runtime-agnostic.
type NodeBufferProto = {
  utf8Slice(this: Uint8Array, start: number, end: number): string;
  latin1Slice(this: Uint8Array, start: number, end: number): string;
  utf8Write(this: Uint8Array, text: string, offset: number): number;
};
type NodeBufferCtor = {
  prototype: NodeBufferProto;
  byteLength(text: string, encoding: 'utf8'): number;
};

const NodeBuffer = (globalThis as { Buffer?: NodeBufferCtor }).Buffer;
const proto = NodeBuffer?.prototype;
const decoder = new TextDecoder('utf-8');
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Decodes bytes [start, end) as UTF-8; invalid sequences become U+FFFD. */
export const decodeUtf8: (bytes: Uint8Array, start: number, end: number) => string = proto
  ? (bytes, start, end) => proto.utf8Slice.call(bytes, start, end)
  : (bytes, start, end) => decoder.decode(bytes.subarray(start, end));

/**
 * Decodes bytes [start, end) as UTF-8, or returns null when they are not valid UTF-8. The fast
 * lenient decoder runs first: only a result holding U+FFFD (a replacement, or a real U+FFFD) is
 * decoded again strictly.
 */
export function decodeUtf8Strict(bytes: Uint8Array, start: number, end: number): string | null {
  const text = decodeUtf8(bytes, start, end);
  if (!text.includes('\uFFFD')) return text;
  try {
    return strictDecoder.decode(bytes.subarray(start, end));
  } catch {
    return null;
  }
}

/** Decodes bytes [start, end) that the caller knows are all below 0x80. */
export const decodeAscii: (bytes: Uint8Array, start: number, end: number) => string = proto
  ? (bytes, start, end) => proto.latin1Slice.call(bytes, start, end)
  : (bytes, start, end) => decoder.decode(bytes.subarray(start, end));

/** Number of bytes `text` takes in UTF-8. */
export const utf8Length: (text: string) => number = NodeBuffer
  ? (text) => NodeBuffer.byteLength(text, 'utf8')
  : (text) => encoder.encode(text).length;

/** Writes `text` as UTF-8 at `offset`; the caller sized `target` with utf8Length. Returns bytes written. */
export const writeUtf8: (target: Uint8Array, text: string, offset: number) => number = proto
  ? (target, text, offset) => proto.utf8Write.call(target, text, offset)
  : (target, text, offset) => encoder.encodeInto(text, target.subarray(offset)).written;

export function encodeUtf8(text: string): Uint8Array {
  const out = new Uint8Array(utf8Length(text));
  writeUtf8(out, text, 0);
  return out;
}

// A message as one stream entry field: the user headers as JSON, then the body bytes, so an entry
// has a single field `d` (entries with the same fields share the listpack master entry, see
// docs/architecture.md) and the body is taken back out as a view without copying.
import type { UserHeaders } from '../message.js';

export const DATA_FIELD = 'd';
/** "<incarnation>:<seq>" of the publishing node process: readers skip repeats (topics.ts). */
export const ORIGIN_FIELD = 'o';
/** Set only on inbox entries: the reply queue the entry is for. */
export const QUEUE_FIELD = 'q';

export function encodeEntry(headers: UserHeaders, body: Uint8Array): Buffer {
  const head = headers.names.length === 0 ? '' : JSON.stringify([headers.names, headers.values]);
  const headBytes = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(4 + headBytes + body.length);
  out.writeUInt32BE(headBytes, 0);
  out.write(head, 4, 'utf8');
  out.set(body, 4 + headBytes);
  return out;
}

export function decodeEntry(data: Buffer): { headers: UserHeaders; body: Uint8Array } {
  if (data.length < 4) throw new Error('stream entry too short');
  const headBytes = data.readUInt32BE(0);
  if (4 + headBytes > data.length) throw new Error('stream entry header length out of range');
  const body = data.subarray(4 + headBytes);
  if (headBytes === 0) return { headers: { names: [], values: [] }, body };
  const parsed: unknown = JSON.parse(data.toString('utf8', 4, 4 + headBytes));
  if (
    !Array.isArray(parsed) || parsed.length !== 2 || !Array.isArray(parsed[0]) || !Array.isArray(parsed[1])
    || parsed[0].length !== parsed[1].length || !parsed[0].every(isString) || !parsed[1].every(isString)
  ) {
    throw new Error('stream entry headers malformed');
  }
  return { headers: { names: parsed[0] as string[], values: parsed[1] as string[] }, body };
}

/** The fields of an entry as XREAD returns them ([name, value, name, value, ...]). */
export function field(fields: readonly Buffer[], name: string): Buffer | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (sameName(fields[i]!, name)) return fields[i + 1];
  return undefined;
}

/** Compares bytes, not strings: runs for every field of every entry read, and names are ASCII. */
function sameName(bytes: Buffer, name: string): boolean {
  if (bytes.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (bytes[i] !== name.charCodeAt(i)) return false;
  return true;
}

function isString(x: unknown): x is string {
  return typeof x === 'string';
}

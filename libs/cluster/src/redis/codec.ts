// Stream entries as Stompede writes and reads them. A message is one field (`d`): the user headers
// as JSON, then the body bytes, so entries with the same fields share the listpack master entry
// (docs/architecture.md) and the body is taken back out as a view without copying. Every entry read
// goes through readEntry(), one pass over its fields, and a message through messageOf().
import { Message, type UserHeaders } from '@stompede/broker-api';
import { DATA_FIELD, ORIGIN_FIELD, QUEUE_FIELD, VHOST_FIELD } from './fields.js';

/** A stream entry as XREAD/XREADGROUP/XRANGE return it (ioredis, buffers): [id, [name, value, ...]]. */
export type StreamEntry = [id: Buffer, fields: Buffer[]];

/** The fields of an entry Stompede uses; undefined where the entry has none. */
export interface EntryFields {
  readonly id: string;
  readonly data: Buffer | undefined;
  readonly origin: Buffer | undefined;
  readonly queue: Buffer | undefined;
  readonly vhost: Buffer | undefined;
}

const DATA = DATA_FIELD.charCodeAt(0);
const ORIGIN = ORIGIN_FIELD.charCodeAt(0);
const QUEUE = QUEUE_FIELD.charCodeAt(0);
const VHOST = VHOST_FIELD.charCodeAt(0);

/** One pass over an entry's fields. Names are one byte (fields.ts): compared as bytes, never decoded. */
export function readEntry([id, fields]: StreamEntry): EntryFields {
  let data: Buffer | undefined;
  let origin: Buffer | undefined;
  let queue: Buffer | undefined;
  let vhost: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length !== 1) continue;
    switch (name[0]) {
      case DATA: data = fields[i + 1]; break;
      case ORIGIN: origin = fields[i + 1]; break;
      case QUEUE: queue = fields[i + 1]; break;
      case VHOST: vhost = fields[i + 1]; break;
    }
  }
  return { id: id.toString('latin1'), data, origin, queue, vhost };
}

/**
 * The message an entry carries, with the stream id in its message-id (the same on every node);
 * undefined when the entry carries none. Throws on a malformed payload.
 */
export function messageOf(destination: string, entry: EntryFields): Message | undefined {
  if (entry.data === undefined) return undefined;
  const { headers, body } = decodeEntry(entry.data);
  return new Message(destination, `${destination}@${entry.id}`, headers, body, true);
}

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

function isString(x: unknown): x is string {
  return typeof x === 'string';
}

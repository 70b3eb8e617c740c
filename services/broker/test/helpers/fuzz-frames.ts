// fast-check arbitraries for live fuzzing: client input a real broker must survive. Frames that are
// valid or nearly so, the same frames mutated (bit flips, truncations, insertions, deletions),
// bogus commands, absurd content-lengths, undefined escapes, oversized pieces and random bytes.
// Sized for a broker with maxFrameBytes 8192 and maxHeaderLineBytes 1024. Destinations stay under
// /topic/fuzz and /queue/fuzz, away from the well-behaved clients.
import fc from 'fast-check';

export interface FuzzCase {
  readonly kind: 'tcp' | 'ws';
  /** Send a valid CONNECT (heart-beats off) before the payload. */
  readonly connectFirst: boolean;
  readonly payload: Uint8Array;
  /** Offsets (0..1) where the payload is cut into separate writes / WebSocket messages. */
  readonly cuts: readonly number[];
  readonly label: string;
}

const COMMANDS = ['CONNECT', 'STOMP', 'SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT'];
const HEADER_NAMES = [
  'destination', 'id', 'ack', 'receipt', 'transaction', 'content-length', 'content-type', 'accept-version', 'host',
  'heart-beat', 'subscription', 'message-id', 'prefetch-count', 'reply-to', 'requeue', 'login', 'passcode',
];
const HEADER_VALUES = [
  '/topic/fuzz', '/topic/fuzz.a.b', '/topic/fuzz.*', '/topic/fuzz.#', '/queue/fuzz', '/queue/fuzz.*', '/temp-queue/fuzz',
  '/reply-queue/x', '/app/fuzz', '/fuzz', '', '0', '1', '-1', '1.2', '1.0,1.1,1.2', '9.9', '0,0', '1,1', 'x,y', '1000000,0',
  'auto', 'client', 'client-individual', 'bogus', 'true', 'false', 'tx-1', '1.1', '/', 'nohost', 'text/plain',
  'application/octet-stream',
];
/** Escape sequences, defined and undefined ones. */
const ESCAPES = ['\\n', '\\c', '\\\\', '\\r', '\\t', '\\x', '\\0', '\\', '\\u0041'];

const headerName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...HEADER_NAMES) }, fc.string({ minLength: 0, maxLength: 12 }));
const headerValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HEADER_VALUES) },
  fc.string({ maxLength: 30 }),
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...ESCAPES), fc.string({ maxLength: 8 })).map(([a, e, b]) => a + e + b),
);
const body = fc.oneof(
  { weight: 4, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 3, arbitrary: fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)) },
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 8000, max: 9000 }).map((n) => Buffer.alloc(n, 'o')),
);

interface FrameSpec {
  command: string;
  headers: [string, string][];
  body: Buffer;
  contentLength: boolean;
  crlf: boolean;
}

const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  command: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...COMMANDS) }, fc.constantFrom('send', 'MESSAGE', 'CONNECTED', 'ERROR', 'RECEIPT', ''), fc.string({ maxLength: 10 })),
  headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
  body,
  contentLength: fc.boolean(),
  crlf: fc.boolean(),
});

function encode(f: FrameSpec): Buffer {
  const eol = f.crlf ? '\r\n' : '\n';
  const headers = f.contentLength ? [...f.headers, ['content-length', String(f.body.length)]] : f.headers;
  const head = f.command + eol + headers.map(([k, v]) => `${k}:${v}${eol}`).join('') + eol;
  return Buffer.concat([Buffer.from(head), f.body, Buffer.from([0])]);
}

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...[':', '\n', '\0', '\r', '\\'].map((s) => Buffer.from(s)))) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of mutations) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.op === 'flip') b[at] = b[at]! ^ (1 << m.bit);
    else if (m.op === 'truncate') b = b.subarray(0, at);
    else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
  }
  return b;
}

const labelled = (label: string, a: fc.Arbitrary<Buffer>): fc.Arbitrary<[string, Buffer]> => a.map((b) => [label, b]);

/** Mostly well-formed frames of a connected session, so deeper paths (acks, transactions) get hit. */
const sessionFrame: fc.Arbitrary<FrameSpec> = fc
  .record({
    command: fc.constantFrom('SEND', 'SEND', 'SEND', 'SUBSCRIBE', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT'),
    id: fc.constantFrom('0', '1', '1.1', '1.2', '1.3', '2.1', '2.4', 'sub-0'),
    destination: fc.constantFrom('/topic/fuzz', '/topic/fuzz.a', '/topic/fuzz.*', '/topic/fuzz.#', '/queue/fuzz', '/queue/fuzz2', '/temp-queue/fuzz'),
    ack: fc.constantFrom('auto', 'client', 'client-individual'),
    transaction: fc.option(fc.constantFrom('tx1', 'tx2'), { freq: 3 }),
    receipt: fc.option(fc.constantFrom('r1', 'r2'), { freq: 2 }),
    replyTo: fc.option(fc.constantFrom('/temp-queue/fuzz', '/queue/fuzz'), { freq: 4 }),
    extra: fc.option(fc.tuple(headerName, headerValue), { freq: 4 }).map((e) => (e === null ? [] : [e])),
    body,
    crlf: fc.boolean(),
  })
  .map((r) => {
    const h: [string, string][] = [];
    const opt = (k: string, v: string | null): void => {
      if (v !== null) h.push([k, v]);
    };
    switch (r.command) {
      case 'SEND':
        h.push(['destination', r.destination]);
        opt('transaction', r.transaction);
        opt('reply-to', r.replyTo);
        break;
      case 'SUBSCRIBE':
        h.push(['id', r.id], ['destination', r.destination], ['ack', r.ack]);
        break;
      case 'UNSUBSCRIBE':
        h.push(['id', r.id]);
        break;
      case 'ACK':
      case 'NACK':
        h.push(['id', r.id]);
        opt('transaction', r.transaction);
        break;
      case 'BEGIN':
      case 'COMMIT':
      case 'ABORT':
        h.push(['transaction', r.transaction ?? 'tx1']);
        break;
    }
    opt('receipt', r.receipt);
    return { command: r.command, headers: [...h, ...r.extra], body: r.command === 'SEND' ? r.body : Buffer.alloc(0), contentLength: r.body.includes(0), crlf: r.crlf };
  });

const CONNECT = Buffer.from('CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n\n\0');

/** The payload kinds, each tagged for failure messages. */
const payload: fc.Arbitrary<[string, Buffer]> = fc.oneof(
  { weight: 3, arbitrary: labelled('session', fc.array(sessionFrame, { minLength: 2, maxLength: 16 }).map((fs) => Buffer.concat([CONNECT, ...fs.map(encode)]))) },
  labelled('frames', fc.array(frameSpec, { minLength: 1, maxLength: 4 }).map((fs) => Buffer.concat(fs.map(encode)))),
  labelled('mutated', fc.tuple(fc.array(frameSpec, { minLength: 1, maxLength: 3 }), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([fs, ms]) => mutate(Buffer.concat(fs.map(encode)), ms))),
  labelled('huge content-length', fc.tuple(
    fc.constantFrom('99999999999', '4294967296', '2147483648', '8193', '1048576', '-1', '1e3', '0x10', ' 5', '5 ', '', '00000000007'),
    fc.uint8Array({ maxLength: 32 }),
  ).map(([cl, b]) => Buffer.concat([Buffer.from(`SEND\ndestination:/queue/fuzz\ncontent-length:${cl}\n\n`), b]))),
  labelled('bad escape', fc.tuple(fc.constantFrom('SEND', 'SUBSCRIBE', 'ACK', 'BEGIN'), fc.constantFrom(...ESCAPES), fc.boolean())
    .map(([cmd, esc, inName]) => Buffer.from(`${cmd}\ndestination:/topic/fuzz\nid:1\n${inName ? `x${esc}y:1` : `x-h:a${esc}b`}\n\n\0`))),
  labelled('bogus command', fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.boolean())
    .map(([cmd, nul]) => Buffer.from(`${cmd.replace(/[\n\0]/g, '')}\n\n${nul ? '\0' : ''}`))),
  labelled('oversized', fc.constantFrom(
    Buffer.from(`SEND\ndestination:/topic/fuzz\n${'x-h:1\n'.repeat(200)}\n\0`),
    Buffer.from(`SEND\ndestination:/topic/fuzz\nx-long:${'l'.repeat(2000)}\n\n\0`),
    Buffer.from(`SEND\ndestination:/topic/fuzz\n\n${'b'.repeat(9000)}\0`),
  )),
  labelled('eols only', fc.integer({ min: 1, max: 50 }).map((n) => Buffer.from('\r\n'.repeat(n)))),
  labelled('random bytes', fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => Buffer.from(b))),
);

export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .record({
    kind: fc.constantFrom('tcp' as const, 'ws' as const),
    connectFirst: fc.boolean(),
    payload,
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
  })
  // A 'session' payload brings its own CONNECT.
  .map(({ kind, connectFirst, payload: [label, bytes], cuts }) => ({ kind, connectFirst: connectFirst && label !== 'session', payload: bytes, cuts, label }));

/** The payload cut at `cuts`, as the pieces to send (no empty ones). */
export function pieces(c: FuzzCase): Uint8Array[] {
  const at = [...new Set(c.cuts.map((x) => Math.floor(x * c.payload.length)))].filter((x) => x > 0 && x < c.payload.length).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, c.payload.length]) {
    out.push(c.payload.subarray(from, to));
    from = to;
  }
  return out.filter((p) => p.length > 0);
}

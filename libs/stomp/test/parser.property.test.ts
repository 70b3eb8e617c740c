// Property tests (fast-check): encode/parse round trip under arbitrary chunking, robustness against
// arbitrary and mutated input, and chunking invariance of whatever the parser emits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ClientCommands,
  encodeFrame,
  encodeHead,
  isConnectCommand,
  ServerCommands,
  utf8Length,
  type ParserLimits,
  type StompVersion,
} from '@stompede/stomp';
import { byteByByte, bytes, PARSER_ERRORS, parseResult, splitAt, type Parsed, type ParseResult } from './helpers.js';

const COMMANDS: string[] = [...ClientCommands, ...ServerCommands];
// Property tests must stay quick: the whole file should finish in a few seconds. `npm run fuzz`
// (scripts/fuzz.mjs) runs the same properties for a chosen time instead: FUZZ_SECONDS is shared
// among the PROPERTIES below, and FUZZ_SEED makes a run replayable.
const FUZZ_SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 0);
const FUZZ_SEED = process.env['FUZZ_SEED'] === undefined ? undefined : Number(process.env['FUZZ_SEED']);
const PROPERTIES = 6;

/** fast-check parameters: `numRuns` in the test suite, or as many runs as fit in this property's share of FUZZ_SECONDS. */
interface Runs {
  readonly numRuns: number;
  readonly seed: number | undefined;
  readonly interruptAfterTimeLimit?: number;
  readonly markInterruptAsFailure?: boolean;
}

function runs(numRuns: number): Runs {
  if (FUZZ_SECONDS <= 0) return { numRuns, seed: FUZZ_SEED };
  const ms = (FUZZ_SECONDS * 1000) / PROPERTIES;
  return { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: ms, markInterruptAsFailure: false, seed: FUZZ_SEED };
}

const RUNS = runs(150);
const TIMEOUT = { timeout: 60_000 + FUZZ_SECONDS * 1000 };

const headerText = (minLength: number) =>
  fc.string({
    unit: fc.constantFrom('a', 'b', 'Z', '0', '-', ' ', ':', '\n', '\r', '\\', 'c', 'n', 'r', 't', 'é', '中', '🎉'),
    minLength,
    maxLength: 10,
  });

const bodyArb = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { maxLength: 48 })
  .map((a) => Uint8Array.from(a));

const frameSpec = fc.record({
  command: fc.constantFrom(...COMMANDS),
  headers: fc.array(fc.tuple(headerText(1), headerText(0)), { maxLength: 5 }),
  body: bodyArb,
  withContentLength: fc.boolean(),
  contentLengthAt: fc.nat(),
  eolsAfter: fc.constantFrom('', '\n', '\r\n', '\n\r\n\n'),
});
type FrameSpec = typeof frameSpec extends fc.Arbitrary<infer T> ? T : never;

/**
 * The frame the spec describes, restricted to what the wire can carry: CONNECT-family headers are
 * not escaped (no LF, no colon in names), and 1.1 has no \r escape, so a value cannot end in CR
 * (the parser takes a CR before LF as part of the EOL in every version).
 */
function expectedFrame(spec: FrameSpec, version: '1.1' | '1.2'): Parsed {
  const raw = isConnectCommand(spec.command);
  const headers = spec.headers
    .map(([k, v]): [string, string] => {
      if (raw) return [k.replace(/[:\n]/g, '_'), v.replace(/\n/g, '_').replace(/\r+$/, '')];
      return [k, version === '1.1' ? v.replace(/\r+$/, '') : v];
    })
    .filter(([k]) => k !== 'content-length');
  let body = spec.body;
  if (spec.withContentLength) {
    headers.splice(spec.contentLengthAt % (headers.length + 1), 0, ['content-length', String(body.length)]);
  } else {
    body = body.map((b) => (b === 0 ? 1 : b));
  }
  return { command: spec.command, headers, body };
}

function randomChunks(data: Uint8Array, cuts: number[]): Uint8Array[] {
  return splitAt(data, cuts.map((c) => c % (data.length + 1)));
}

const cutsArb = fc.array(fc.nat({ max: 100_000 }), { maxLength: 10 });

describe('encode then parse, arbitrary frames and chunking', () => {
  for (const version of ['1.1', '1.2'] as const) {
    test(`round trip with ${version} escaping`, TIMEOUT, () => {
      fc.assert(
        fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 4 }), cutsArb, fc.constantFrom('', '\n', '\r\n'), (specs, cuts, lead) => {
          const expected = specs.map((s) => expectedFrame(s, version));
          const data = bytes(
            lead,
            ...specs.flatMap((s, i) => {
              const f = expected[i]!;
              return [encodeFrame(f.command, f.headers, f.body, version), s.eolsAfter];
            }),
          );
          for (const chunks of [[data], randomChunks(data, cuts)]) {
            assert.deepEqual(parseResult(chunks, { version }), { frames: expected });
          }
        }),
        RUNS,
      );
    });
  }
});

describe('limits are exact for arbitrary frames', () => {
  const LOOSE: ParserLimits = { maxFrameBytes: 1 << 20, maxHeaders: 1000, maxHeaderLineBytes: 1 << 16 };

  test('at the limit parses, one under throws, for every limit and any chunking', TIMEOUT, () => {
    fc.assert(
      fc.property(frameSpec, fc.constantFrom('1.1', '1.2' as const), cutsArb, (spec, version, cuts) => {
        const f = expectedFrame(spec, version);
        const data = encodeFrame(f.command, f.headers, f.body, version);
        // The head ends with "\n\n": dropping the last two pieces leaves the command and header lines.
        const lines = encodeHead(f.command, f.headers, version).split('\n').slice(0, -2);
        const exact: Array<[keyof ParserLimits, number, string]> = [
          ['maxFrameBytes', data.length, 'frame too large'],
          ['maxHeaders', f.headers.length, 'too many headers'],
          ['maxHeaderLineBytes', Math.max(...lines.map(utf8Length)), 'header line too long'],
        ];
        for (const [name, value, message] of exact) {
          for (const chunks of [[data], randomChunks(data, cuts)]) {
            const at = parseResult(chunks, { version, limits: { ...LOOSE, [name]: value } });
            assert.deepEqual(at, { frames: [f] }, `${name} = ${value}`);
            if (value === 0) continue;
            const under = parseResult(chunks, { version, limits: { ...LOOSE, [name]: value - 1 } });
            assert.deepEqual([under.frames, under.error?.message, under.error?.limit], [[], message, name]);
          }
        }
      }),
      RUNS,
    );
  });
});

// Inputs that reach deep into the state machine: STOMP tokens mixed with arbitrary bytes.
const tokenSoup = fc
  .array(
    fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom(
          'SEND\n', 'CONNECT\n', 'MESSAGE\r\n', 'send\n', '\n', '\n\n', '\r\n', '\r\n\r\n', '\r', '\0', '\0',
          ':', 'x:', '\\', '\\c', '\\r', '\\t', 'content-length:', 'content-length:3\n', 'content-length:0\n',
          'destination:/a\n', 'é', '🎉', '5', '-1', ' ',
        ),
      },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => [b]) },
    ),
    { maxLength: 60 },
  )
  .map((parts) => bytes(...parts));

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.constantFrom(0, 10, 13, 58, 92, 0x41, 0xc3, 0xff) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(data: Uint8Array, mutations: ReadonlyArray<typeof mutation extends fc.Arbitrary<infer M> ? M : never>): Uint8Array {
  let out = [...data];
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    if (m.kind === 'flip' && at < out.length) out[at] = out[at]! ^ (1 << m.bit);
    else if (m.kind === 'insert') out.splice(at, 0, m.byte);
    else if (m.kind === 'delete') out.splice(at, 1);
    else if (m.kind === 'truncate') out = out.slice(0, at);
  }
  return Uint8Array.from(out);
}

const mutatedFrames = fc
  .tuple(fc.array(frameSpec, { minLength: 1, maxLength: 3 }), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([specs, mutations]) =>
    mutate(bytes(...specs.flatMap((s) => {
      const f = expectedFrame(s, '1.2');
      return [encodeFrame(f.command, f.headers, f.body, '1.2'), s.eolsAfter];
    })), mutations),
  );

const anyInput = fc.oneof(fc.uint8Array({ maxLength: 200 }), tokenSoup, mutatedFrames);

const SMALL_LIMITS: ParserLimits = { maxFrameBytes: 64, maxHeaders: 3, maxHeaderLineBytes: 24 };
const limitsArb = fc.constantFrom<Partial<ParserLimits>>({}, SMALL_LIMITS);
const versionArb = fc.constantFrom<StompVersion>('1.0', '1.1', '1.2');

const LIMIT_OF: Record<string, string | undefined> = {
  'frame too large': 'maxFrameBytes',
  'too many headers': 'maxHeaders',
  'header line too long': 'maxHeaderLineBytes',
};

function assertWellFormed(r: ParseResult, limits: Partial<ParserLimits>): void {
  if (r.error) {
    assert.ok((PARSER_ERRORS as readonly string[]).includes(r.error.message), r.error.message);
    assert.equal(r.error.limit, LIMIT_OF[r.error.message]);
  }
  for (const f of r.frames) {
    assert.ok(f.headers.length <= (limits.maxHeaders ?? 100));
    assert.ok(f.body.length < (limits.maxFrameBytes ?? 4194304));
  }
}

describe('robustness', () => {
  test('arbitrary and mutated input: frames or StompProtocolError, nothing else', TIMEOUT, () => {
    fc.assert(
      fc.property(anyInput, limitsArb, versionArb, cutsArb, (data, limits, version, cuts) => {
        // parseResult rethrows anything that is not a StompProtocolError, failing the property.
        assertWellFormed(parseResult([data], { limits, version }), limits);
        assertWellFormed(parseResult(randomChunks(data, cuts), { limits, version }), limits);
      }),
      runs(400),
    );
  });

  test('large random input with default limits terminates', TIMEOUT, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1000, maxLength: 20_000 }), cutsArb, (data, cuts) => {
        assertWellFormed(parseResult(randomChunks(data, cuts)), {});
      }),
      runs(30),
    );
  });
});

describe('chunking invariance', () => {
  // Not only the frames: the error (if any) and the frames before it must not depend on chunking.
  const comparable = (r: ParseResult) => ({ frames: r.frames, error: r.error && [r.error.message, r.error.limit] });

  test('any input gives the same frames and error whatever the chunking', TIMEOUT, () => {
    fc.assert(
      fc.property(anyInput, limitsArb, versionArb, cutsArb, (data, limits, version, cuts) => {
        const whole = comparable(parseResult([data], { limits, version }));
        assert.deepEqual(comparable(parseResult(randomChunks(data, cuts), { limits, version })), whole);
        assert.deepEqual(comparable(parseResult(byteByByte(data), { limits, version })), whole);
      }),
      runs(300),
    );
  });
});

// Live fuzzing: many short-lived TCP and WebSocket connections send generated garbage (fast-check:
// frames valid and mutated, bogus commands, absurd content-lengths, undefined escapes, oversized
// pieces, random bytes, cut at random places) to ONE broker while well-behaved stompjs clients
// exchange messages on a topic and a queue. The broker must stay up and keep serving, the good
// clients must get everything in order, and every fuzz connection must end in frames or in an
// ERROR followed by a close, never hang past the connect timeout.
// Deterministic: the cases come from a fixed seed (FUZZ_SEED overrides it to explore). With
// FUZZ_SECONDS (`npm run fuzz`), rounds of CASES cases, seeded FUZZ_SEED, FUZZ_SEED+1, ..., run until
// that time is up, each checked as the single round of the test suite is.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Client } from '@stomp/stompjs';
import type { BrokerHandle } from './helpers/broker-process.js';
import { fuzzCase, pieces, type FuzzCase } from './helpers/fuzz-frames.js';
import { metric } from './helpers/metrics.js';
import { delay, frame, header, RawClient, type RawFrame } from './helpers/raw-client.js';
import { connectStompjs, Inbox, subscribed } from './helpers/stompjs.js';
import { useBroker } from './helpers/suite.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_261_125);
const CASES = Number(process.env['FUZZ_CASES'] ?? 160);
const FUZZ_SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 0);
const CONCURRENCY = 40;
const CONNECT_TIMEOUT_MS = 1000;
/** Beyond the connect timeout: the broker's tick (250 ms) plus a loaded machine. */
const SLACK_MS = 2500;
const MESSAGES = 150;
const MAX_FRAME_BYTES = 8192;

interface Outcome {
  readonly c: FuzzCase;
  readonly index: number;
  readonly closed: boolean;
  readonly frames: readonly RawFrame[];
}

async function runCase(broker: BrokerHandle, c: FuzzCase, index: number): Promise<Outcome> {
  const client = await RawClient.open(c.kind, broker);
  if (c.connectFirst) client.send(frame('CONNECT', { 'accept-version': '1.2', host: '/', 'heart-beat': '0,0' }));
  for (const piece of pieces(c)) {
    // WebSocket messages stay under uWS's maxPayloadLength (2 x maxFrameBytes): the STOMP parser,
    // not the WebSocket layer, is what is being fuzzed.
    const step = c.kind === 'ws' ? MAX_FRAME_BYTES : piece.length;
    for (let at = 0; at < piece.length && !client.closed; at += step) client.send(Buffer.from(piece.subarray(at, at + step)));
  }
  await client.waitClosed(CONNECT_TIMEOUT_MS + SLACK_MS).catch(() => undefined);
  // An ERROR is always followed by a close; give a late one its time.
  if (!client.closed && client.frames.some((f) => f.command === 'ERROR')) await client.waitClosed(10_000).catch(() => undefined);
  const outcome = { c, index, closed: client.closed, frames: [...client.frames] };
  client.close();
  return outcome;
}

/** Why an outcome is wrong, or null. */
function verdict(o: Outcome): string | null {
  const commands = o.frames.map((f) => f.command);
  const last = o.frames.at(-1);
  if (o.closed) {
    if (last === undefined) return 'closed without sending any frame';
    if (last.command === 'ERROR') return header(last, 'message') ? null : 'ERROR without a message header';
    // DISCONNECT ends a session without ERROR (with its RECEIPT if it asked for one).
    if (Buffer.from(o.c.payload).includes('DISCONNECT')) return null;
    return `closed after ${commands.join(',')} without an ERROR`;
  }
  if (commands.length === 0) return `no frame at all and still open ${CONNECT_TIMEOUT_MS + SLACK_MS} ms after the last byte`;
  if (commands.includes('ERROR')) return 'still open after an ERROR';
  if (commands[0] !== 'CONNECTED') return `open, first frame ${commands[0]}`;
  return null;
}

function describeCase(o: Outcome): string {
  const hex = Buffer.from(o.c.payload.subarray(0, 200)).toString('hex');
  return `#${o.index} ${o.c.kind} ${o.c.label} connectFirst=${o.c.connectFirst} cuts=${JSON.stringify(o.c.cuts)} ` +
    `frames=${o.frames.map((f) => f.command).join(',')} payload(${o.c.payload.length} bytes, hex)=${hex}`;
}

/** stompjs clients that publish and consume MESSAGES messages on a topic and a queue. */
class GoodClients {
  readonly clients: Client[] = [];
  readonly topicInboxes = [new Inbox(), new Inbox()];
  readonly queueInbox = new Inbox();
  disconnects = 0;
  private stopping = false;
  private constructor(readonly topic: string, readonly queue: string) {}

  static async start(broker: BrokerHandle): Promise<GoodClients> {
    const suffix = `${process.pid}-${Date.now()}`;
    const g = new GoodClients(`/topic/good-${suffix}`, `/queue/good-${suffix}`);
    for (let i = 0; i < 4; i++) {
      const c = await connectStompjs(broker.wsUrl);
      c.onWebSocketClose = () => {
        if (!g.stopping) g.disconnects++;
      };
      g.clients.push(c);
    }
    const [, s1, s2, consumer] = g.clients;
    await subscribed(s1!, g.topic, g.topicInboxes[0]!.push);
    await subscribed(s2!, g.topic, g.topicInboxes[1]!.push);
    await subscribed(consumer!, g.queue, (m) => {
      g.queueInbox.push(m);
      m.ack();
    }, { ack: 'client-individual' });
    return g;
  }

  /** Publishes MESSAGES to each destination, paced to overlap the fuzzing. */
  async publish(): Promise<void> {
    const pub = this.clients[0]!;
    for (let i = 0; i < MESSAGES; i++) {
      pub.publish({ destination: this.topic, body: `t-${i}` });
      pub.publish({ destination: this.queue, body: `q-${i}` });
      await delay(15);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.clients.map((c) => c.deactivate()));
  }
}

describe('live fuzzing of one broker', () => {
  const suite = useBroker({
    env: {
      STOMPEDE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
      STOMPEDE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
      STOMPEDE_MAX_HEADER_LINE_BYTES: '1024',
    },
  });

  const title = FUZZ_SECONDS > 0 ? `rounds of ${CASES} fuzzed connections for ${FUZZ_SECONDS} s (seeds from ${SEED})` : `${CASES} fuzzed connections (seed ${SEED})`;
  test(`${title} leave the broker and its good clients unharmed`, { timeout: 300_000 + FUZZ_SECONDS * 1000 }, async (t) => {
    const deadline = Date.now() + FUZZ_SECONDS * 1000;
    for (let round = 0; ; round++) {
      const good = await GoodClients.start(suite.broker());
      try {
        await fuzzRound(suite.broker(), good, SEED + round);
      } finally {
        await good.stop();
      }
      t.diagnostic(`round ${round} (seed ${SEED + round}): ${CASES} cases passed`);
      if (Date.now() >= deadline) break;
    }
  });
});

/** CASES fuzz connections from `seed` against `broker` while `good` exchanges messages; then the checks. */
async function fuzzRound(broker: BrokerHandle, good: GoodClients, seed: number): Promise<void> {
  const cases = fc.sample(fuzzCase, { seed, numRuns: CASES });
  assert.ok(new Set(cases.map((c) => c.label)).size >= 6, 'the sample covers the payload kinds');

  const publishing = good.publish();
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < cases.length) {
      const index = next++;
      outcomes.push(await runCase(broker, cases[index]!, index));
    }
  }));
  await publishing;

  const bad = outcomes.filter((o) => verdict(o) !== null).map((o) => `${verdict(o)}: ${describeCase(o)}`);
  assert.deepEqual(bad, [], `fuzz connections that misbehaved (seed ${seed}):\n${bad.join('\n')}`);
  assert.ok(outcomes.some((o) => o.closed) && outcomes.some((o) => !o.closed), 'both outcomes occurred');

  // The good clients got everything, in order, and were never disconnected.
  const expected = (prefix: string): string[] => Array.from({ length: MESSAGES }, (_, i) => `${prefix}-${i}`);
  for (const inbox of good.topicInboxes) {
    await inbox.until(MESSAGES, 30_000);
    assert.deepEqual(inbox.bodies, expected('t'));
  }
  await good.queueInbox.until(MESSAGES, 30_000);
  assert.deepEqual(good.queueInbox.bodies, expected('q'));
  assert.equal(good.disconnects, 0);

  // The node is alive and serving, with nothing logged at error level or worse.
  assert.equal(broker.process.exitCode, null);
  assert.equal(broker.process.signalCode, null);
  assert.equal((await fetch(`${broker.httpUrl}/healthz`)).status, 200);
  const fresh = await RawClient.tcp(broker.tcpPort);
  await fresh.connect();
  await fresh.sendWithReceipt('SEND', { destination: good.topic }, 'late');
  fresh.close();
  const freshJs = await connectStompjs(broker.wsUrl);
  await freshJs.deactivate();
  assert.doesNotMatch(broker.output(), /"level":(50|60)/, 'the broker logged an error');

  // Every fuzz session was released: only the good clients remain.
  const deadline = Date.now() + 15_000;
  let open = await metric(broker, 'stompede_connections');
  while (open !== good.clients.length && Date.now() < deadline) {
    await delay(50);
    open = await metric(broker, 'stompede_connections');
  }
  assert.equal(open, good.clients.length, 'sessions leaked');
}

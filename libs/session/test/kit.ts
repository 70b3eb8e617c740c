// Test kit for the session layer: a Hub on a MemoryBroker with a fake clock, fake transports that
// record what the session writes (parsed back into frames with the real FrameParser, so bodies with
// NULs and content-length survive), and a recording GroupPublisher that plays uWS's native publish.
// Nothing here touches a socket or a timer: tests drive turns with `kit.flush()` and time with
// `kit.advance()` + `hub.tick()`.
import type { Broker, HistoryPrefix, QueueLimits } from '@stompede/broker-api';
import { MemoryBroker } from '@stompede/cluster';
import {
  DEFAULT_SESSION_CONFIG,
  Hub,
  type Authenticator,
  type GroupPublisher,
  type Logger,
  type Session,
  type SessionConfig,
  type Transport,
} from '@stompede/session';
import { encodeFrame, FrameParser, type Frame, type Headers, type StompVersion } from '@stompede/stomp';

/** A frame the session wrote, with its own copy of the body. */
export interface Received {
  readonly command: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
  /** First value of a header. */
  h(name: string): string | undefined;
  /** Body as UTF-8 text. */
  readonly text: string;
}

/** Generous limits: we parse what the server sends, which the server's own limits do not bound. */
const CLIENT_LIMITS = { maxFrameBytes: 1 << 30, maxHeaders: 10_000, maxHeaderLineBytes: 1 << 24 };

/** The parser's frame is only valid during its callback: keep a copy of the body. */
function received(f: Frame): Received {
  const body = f.body.slice();
  const headers = f.headers;
  return { command: f.command, headers, body, h: (name) => headers.get(name), text: new TextDecoder().decode(body) };
}

export class FakeTransport implements Transport {
  readonly kind = 'fake';
  readonly remoteAddress: string;
  remoteIp = '192.0.2.1';
  /** What bufferedBytes() reports: bytes the "kernel" has not taken yet. */
  buffered = 0;
  /** When set, every write adds to `buffered`: a peer that has not read anything yet. */
  holdWrites = false;
  /** Whether joinGroup succeeds (a WebSocket with uWS topics) or not (TCP). */
  nativeGroups: boolean;
  readonly joined = new Set<string>();
  /** Every transport.write call, with copies of its chunks. */
  readonly writes: { chunks: Uint8Array[]; bytes: number; binary: boolean }[] = [];
  /** Native group publishes this transport received, as delivered by the publisher. */
  readonly nativeReceived: Uint8Array[] = [];
  /** Everything received, written or published, in arrival order. */
  readonly arrivals: Uint8Array[] = [];
  readonly frames: Received[] = [];
  /** Lone EOLs written: heart-beats (the parser skips them, so they are counted here). */
  beats = 0;
  ended = false;
  destroyed = false;
  /** Reading from the peer is paused (held input, publish pressure): set only on a pausable transport. */
  paused = false;
  /** Times pause() was called. */
  pauses = 0;
  private readonly parser: FrameParser;
  private taken = 0;

  constructor(nativeGroups: boolean, id: number) {
    this.nativeGroups = nativeGroups;
    this.remoteAddress = `fake:${id}`;
    this.parser = new FrameParser(
      CLIENT_LIMITS,
      (f) => {
        const r = received(f);
        this.frames.push(r);
        // MESSAGE headers are escaped per the negotiated version; follow what CONNECTED said.
        if (r.command === 'CONNECTED') this.parser.version = (r.h('version') ?? '1.0') as StompVersion;
      },
    );
  }

  write(chunks: readonly Uint8Array[], bytes: number, binary: boolean): void {
    // Real transports ignore such writes; here they are a session bug (bytes after ERROR/close).
    if (this.ended || this.destroyed) throw new Error('write after end/destroy');
    const copies = chunks.map((c) => c.slice());
    assertLength(copies, bytes);
    this.writes.push({ chunks: copies, bytes, binary });
    if (this.holdWrites) this.buffered += bytes;
    for (const c of copies) {
      this.arrivals.push(c);
      if (c.length === 1 && c[0] === 0x0a) this.beats++;
      this.parser.push(c);
    }
  }

  bufferedBytes(): number {
    return this.buffered;
  }

  joinGroup(topic: string): boolean {
    if (!this.nativeGroups) return false;
    this.joined.add(topic);
    return true;
  }

  leaveGroup(topic: string): void {
    this.joined.delete(topic);
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {
    this.destroyed = true;
  }

  /** Makes this transport one that can stop reading (a TCP socket); fake WebSockets cannot. */
  pausable(): this {
    this.pause = () => {
      this.paused = true;
      this.pauses++;
    };
    this.resume = () => {
      this.paused = false;
    };
    return this;
  }

  pause: (() => void) | undefined;
  resume: (() => void) | undefined;

  /** Bytes of a native publish to a group this transport joined. */
  receiveNative(bytes: Uint8Array): void {
    const copy = bytes.slice();
    this.nativeReceived.push(copy);
    this.arrivals.push(copy);
    this.parser.push(copy);
  }

  /** Every byte received so far, as text (for checking raw header encoding). */
  rawText(): string {
    return this.arrivals.map((c) => new TextDecoder().decode(c)).join('');
  }

  /** Frames received since the previous call. */
  take(): Received[] {
    const out = this.frames.slice(this.taken);
    this.taken = this.frames.length;
    return out;
  }
}

function assertLength(chunks: Uint8Array[], bytes: number): void {
  const sum = chunks.reduce((n, c) => n + c.length, 0);
  if (sum !== bytes) throw new Error(`transport.write: bytes=${bytes} but chunks hold ${sum}`);
}

export interface Publication {
  readonly topic: string;
  readonly bytes: Uint8Array;
  readonly binary: boolean;
}

/**
 * Plays uWS app.publish: records the call and hands the bytes to every transport subscribed to the
 * topic at that moment. A socket that was ended no longer receives (uWS is closing it).
 */
export class RecordingPublisher implements GroupPublisher {
  readonly publications: Publication[] = [];
  readonly transports = new Set<FakeTransport>();

  publish(topic: string, bytes: Uint8Array, binary: boolean): void {
    this.publications.push({ topic, bytes: bytes.slice(), binary });
    for (const t of this.transports) {
      if (t.joined.has(topic) && !t.ended && !t.destroyed) t.receiveNative(bytes);
    }
  }
}

export type HeaderList = ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;

/** One connection: the session under test and its fake socket. */
export class Client {
  constructor(
    readonly kit: Kit,
    readonly session: Session,
    readonly transport: FakeTransport,
  ) {}

  /** Feeds raw bytes (or text) to the session, as one transport read. */
  raw(data: Uint8Array | string): void {
    this.session.receive(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  }

  /** Encodes a frame (headers escaped for `version`) and feeds it to the session. */
  send(command: string, headers: HeaderList = {}, body?: Uint8Array | string, version: StompVersion = '1.2'): void {
    this.raw(encodeFrame(command, headers, body, version));
  }

  /** CONNECT, end the turn, and return the CONNECTED (or ERROR) frame. */
  connect(headers: HeaderList = { 'accept-version': '1.2', host: '/' }): Received {
    this.send('CONNECT', headers);
    this.kit.flush();
    const frames = this.take();
    const first = frames[0];
    if (first === undefined) throw new Error('no answer to CONNECT');
    return first;
  }

  take(): Received[] {
    return this.transport.take();
  }

  /** Frames received since the last take, asserting every one is a MESSAGE; their bodies as text. */
  takeBodies(): string[] {
    return this.take().map((f) => {
      if (f.command !== 'MESSAGE') throw new Error(`expected MESSAGE, got ${f.command} ${f.h('message') ?? ''}`);
      return f.text;
    });
  }

  /** Simulates the socket going away (what transports do on their close event). */
  closed(): void {
    this.session.onClosed();
  }
}

/**
 * Quiet, except that anything logged at error level (an internal error in frame handling, a
 * failed output flush, which the outbox would otherwise swallow) throws, so the test fails.
 */
export const failingLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error(obj: object, msg?: string) {
    const err = (obj as { err?: unknown }).err;
    throw new Error(`logged error: ${msg ?? ''}`, { cause: err });
  },
};

export interface KitOptions {
  readonly config?: Partial<SessionConfig>;
  /** Broker to use instead of a fresh MemoryBroker (e.g. an async wrapper around `memory`). */
  readonly broker?: (memory: MemoryBroker) => Broker;
  /** false: the hub has no GroupPublisher (no native fan-out anywhere). */
  readonly publisher?: boolean;
  readonly queueLimits?: QueueLimits;
  /** Topic history the memory broker keeps (for x-resume-after); none by default. */
  readonly history?: readonly HistoryPrefix[];
  readonly startMs?: number;
  /** Checks CONNECTs; default: everyone is anonymous. */
  readonly authenticator?: Authenticator;
}

export class Kit {
  readonly hub: Hub;
  readonly memory: MemoryBroker;
  readonly broker: Broker;
  readonly publisher: RecordingPublisher;
  readonly config: SessionConfig;
  ms: number;
  private transportSeq = 0;

  private constructor(options: KitOptions) {
    this.ms = options.startMs ?? 1_000_000;
    this.config = { ...DEFAULT_SESSION_CONFIG, nodeId: 'test-node', ...options.config };
    const limits = options.queueLimits ?? { maxQueueMessages: 100_000, maxQueueBytes: 64 * 1024 * 1024 };
    this.memory = new MemoryBroker({ ...limits, history: options.history ?? [] });
    this.broker = options.broker?.(this.memory) ?? this.memory;
    this.publisher = new RecordingPublisher();
    this.hub = new Hub({
      config: this.config,
      broker: this.broker,
      publisher: options.publisher === false ? null : this.publisher,
      logger: failingLogger,
      now: () => this.ms,
      authenticator: options.authenticator,
    });
  }

  /**
   * A hub whose broker is started. hub.start() is not used: it would also start the real interval
   * ticker, and these tests drive ticks themselves with the fake clock.
   */
  static async create(options: KitOptions = {}): Promise<Kit> {
    const kit = new Kit(options);
    await kit.broker.start(kit.hub.router);
    return kit;
  }

  /** A new connection; `native` says whether its transport has native groups (WebSocket). */
  open(native = true): Client {
    const transport = new FakeTransport(native, ++this.transportSeq);
    this.publisher.transports.add(transport);
    const session = this.hub.open(transport);
    return new Client(this, session, transport);
  }

  /** An open connection that has done CONNECT (1.2 unless headers say otherwise). */
  connected(headers?: HeaderList, native = true): Client {
    const c = this.open(native);
    const answer = c.connect(headers);
    if (answer.command !== 'CONNECTED') throw new Error(`CONNECT refused: ${answer.h('message')}`);
    return c;
  }

  /** Ends the event-loop turn: runs the outbox (queue dispatch, group publishes, session writes). */
  flush(): void {
    this.hub.outbox.flush();
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Lets pending promise callbacks run (async broker completions), then ends the turn. */
export async function settle(kit: Kit): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  kit.flush();
}

/** Parses bytes the way a client would; for checking publisher payloads. */
export function parseFrames(bytes: Uint8Array, version: StompVersion = '1.2'): Received[] {
  const out: Received[] = [];
  const parser = new FrameParser(CLIENT_LIMITS, (f) => out.push(received(f)));
  parser.version = version;
  parser.push(bytes);
  return out;
}

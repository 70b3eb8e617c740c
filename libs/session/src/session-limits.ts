// One session's abuse limits on what its client sends: the input held (while a CONNECT is
// authenticated, under publish pressure, past the SEND rate) and its bound (maxHeldInputBytes), the
// size, destination and rate limits of SEND (send-limits.ts), the frame timeout (frameTimeoutMs,
// slow-loris) and the connections per principal (maxConnectionsPerPrincipal). A limit broken closes
// the session with ERROR; the rate and the pressure only hold its input. Created with the session:
// its own state is a few numbers, what a limit needs is created on the limit's first use.
import type { Frame, FrameParser } from '@stompede/stomp';
import { HeldInput, type HeldInputOwner } from './held-input.js';
import type { HostedSession, SessionHost, ThrottledSession } from './host.js';
import type { Principal } from './principal.js';
import { SENDS_ACCEPTED_HEADER } from './publish.js';
import { required } from './refusal.js';
import { SendLimits } from './send-limits.js';
import type { SessionState } from './session-state.js';

/** The session side of its limits. */
export interface LimitedSession extends HeldInputOwner, HostedSession, ThrottledSession {
  readonly state: SessionState;
  readonly sendsAccepted: number;
  readonly principal: Principal | undefined;
  /** Set here once the principal's connection is counted (hub.ts releases it). */
  countedPrincipal: string | undefined;
  /** When input was last read (hub clock, ms): held input restarts it, its wait was not the client's silence. */
  lastReadMs: number;
  /** Sends ERROR and closes. */
  fail(message: string, detail: string, receipt?: string, extra?: [string, string][]): void;
}

/** Why input is held for a connected session: publish pressure, or the SEND rate. */
export type HoldReason = 'pressure' | 'rate';

export class SessionLimits {
  /** Set while over maxSendsPerSecond: when the SEND bucket has tokens again (ms); the hub wakes the session then. */
  throttledUntilMs = 0;
  /** Input held while CONNECT is authenticated, for publish pressure or the SEND rate (created on the first hold). */
  private input: HeldInput | undefined;
  /** Why the input was last held: says which limit a `publisher too fast` ERROR is about. */
  private holdReason: HoldReason = 'pressure';
  /** Size, destination and rate limits of SEND, created on the first SEND. */
  private sendLimits: SendLimits | undefined;
  /** When the frame being received began (0: between frames), for frameTimeoutMs. */
  private frameStartedMs = 0;
  private framesSeen = 0;

  constructor(
    private readonly owner: LimitedSession,
    private readonly hub: SessionHost,
    private readonly parser: FrameParser,
  ) {}

  /** Whether input is held: what arrives is kept, not parsed, and is not the client's silence. */
  get holding(): boolean {
    return this.input?.active === true;
  }

  /** Input that arrived while held: kept, up to maxHeldInputBytes; past that the session fails. */
  keep(chunk: Uint8Array): void {
    if (!this.input!.keep(chunk)) this.tooFast();
  }

  /** The parser took `consumed` bytes of `chunk`: keeps the rest if a frame held the input, and times a partial frame. */
  parsed(chunk: Uint8Array, consumed: number): void {
    // The input was held by a frame of this chunk: the rest waits, ahead of anything kept since.
    if (consumed < chunk.length) this.input?.keepFirst(chunk.subarray(consumed));
    this.watchPartialFrame();
  }

  /**
   * Starts the frame timer when a frame is left incomplete, restarting it when that is a new frame
   * (one completed in between): a stream of frames each split across reads is not one slow frame.
   */
  private watchPartialFrame(): void {
    if (!this.parser.inFrame) {
      this.frameStartedMs = 0;
    } else if (this.frameStartedMs === 0 || this.parser.framesParsed !== this.framesSeen) {
      this.frameStartedMs = this.hub.now();
      this.framesSeen = this.parser.framesParsed;
    }
  }

  /** Frames the client pipelined after CONNECT wait, in order, until its credentials are checked. */
  holdUntilAuthenticated(): void {
    this.holdNow();
  }

  /** A SEND met publish pressure or went over maxSendsPerSecond: no more input is processed until it goes. */
  hold(reason: HoldReason): void {
    if (this.input?.active) return;
    this.holdReason = reason;
    this.holdNow();
    if (reason === 'pressure') this.hub.holdingInput(this.owner);
    else this.hub.metrics.countLimit('maxSendsPerSecond');
  }

  private holdNow(): void {
    (this.input ??= new HeldInput(this.owner, this.hub.config.maxHeldInputBytes)).hold();
    this.parser.yieldAfterFrame();
  }

  /** Goes on with the input held for the SEND rate, if its time has come. */
  wake(now: number): void {
    if (this.throttledUntilMs === 0 || now < this.throttledUntilMs) return;
    this.throttledUntilMs = 0;
    this.release();
  }

  /** Processes what was held (which may hold the input again). */
  release(): void {
    if (this.input === undefined || !this.input.active) return;
    // Held input was not read: its time without data is not the client's silence.
    this.owner.lastReadMs = this.hub.now();
    this.input.release();
  }

  /** Drops held input unprocessed: what the client pipelined was never accepted, it goes with the connection. */
  discard(): void {
    this.input?.discard();
  }

  /** Refuses a SEND over the size or destination limits; holds the input past the SEND rate. */
  limitSend(frame: Frame): void {
    const now = this.hub.now();
    const limits = (this.sendLimits ??= new SendLimits(this.hub.config, this.hub.metrics, now));
    limits.admit(required(frame.headers, 'destination', 'SEND'), frame.body.length);
    const until = limits.spend(now);
    if (until > 0) {
      this.throttledUntilMs = until;
      this.hold('rate');
      this.hub.throttle(this.owner, until);
    }
  }

  /**
   * Counts an authenticated principal's connection, once authentication has set `principal` and
   * before CONNECTED; past maxConnectionsPerPrincipal the session fails (ERROR, close) and this
   * returns false. It fails rather than throws: authentication may complete asynchronously.
   */
  admitPrincipal(): boolean {
    const p = this.owner.principal;
    if (p === undefined || p.method === 'anonymous' || this.owner.countedPrincipal !== undefined) return true;
    if (!this.hub.admitPrincipal(p.name)) {
      this.hub.metrics.countLimit('maxConnectionsPerPrincipal');
      this.discard();
      this.owner.fail(
        'too many connections for this user',
        `${p.name} already has ${this.hub.config.maxConnectionsPerPrincipal} connections to this node (maxConnectionsPerPrincipal, STOMPEDE_MAX_CONNECTIONS_PER_PRINCIPAL).`,
      );
      return false;
    }
    this.owner.countedPrincipal = p.name;
    return true;
  }

  /** Fails the session when a frame was begun more than frameTimeoutMs ago (held input aside); true if it did. */
  failIfFrameTimedOut(now: number): boolean {
    const timeoutMs = this.hub.config.frameTimeoutMs;
    const timedOut = this.frameStartedMs > 0 && timeoutMs > 0 && !this.holding && now - this.frameStartedMs > timeoutMs;
    if (!timedOut) return false;
    this.hub.metrics.countLimit('frameTimeoutMs');
    this.owner.fail('frame timeout', `A frame was begun and not completed within ${timeoutMs} ms (frameTimeoutMs).`);
    return true;
  }

  private tooFast(): void {
    const config = this.hub.config;
    if (this.owner.state === 'connecting') {
      this.owner.fail('too much input before CONNECTED', `More than ${config.maxHeldInputBytes} bytes arrived while the CONNECT was being authenticated (STOMPEDE_MAX_HELD_INPUT_BYTES).`);
      return;
    }
    const why = this.holdReason === 'rate'
      ? `This connection sends faster than ${config.maxSendsPerSecond} SEND frames per second (maxSendsPerSecond, STOMPEDE_MAX_SENDS_PER_SECOND)`
      : 'The cluster is pushing back on this connection\'s publishing';
    this.owner.fail(
      'publisher too fast',
      `${why} and it sent more than ${config.maxHeldInputBytes} bytes meanwhile (STOMPEDE_MAX_HELD_INPUT_BYTES); ${SENDS_ACCEPTED_HEADER} says how many SENDs were accepted.`,
      undefined,
      [[SENDS_ACCEPTED_HEADER, String(this.owner.sendsAccepted)]],
    );
  }
}

// One session's authentication: its CONNECT's credentials checked (at once, or later while the
// input pipelined after the CONNECT is held), the expiry of the credentials accepted, and their
// refresh by a SEND to TOKEN_REFRESH_DESTINATION. How credentials are checked is the
// Authenticator's business (authenticator.ts); what a session does once its CONNECT's are accepted
// (CONNECTED) is session.ts's. Created at the session's CONNECT.
import type { Completion } from '@stompede/broker-api';
import type { Headers } from '@stompede/stomp';
import { isRefusal, TOKEN_REFRESH_DESTINATION, type AuthOutcome } from './authenticator.js';
import type { Connected } from './connect.js';
import type { SessionHost } from './host.js';
import type { Principal } from './principal.js';
import { Refusal } from './refusal.js';
import type { SessionState } from './session-state.js';
import type { Transport } from './transport.js';

/** The session side of its authentication. */
export interface AuthenticatedSession {
  readonly hub: SessionHost;
  readonly transport: Transport;
  readonly id: string;
  readonly state: SessionState;
  /** Who the session acts for: set here when credentials are accepted. */
  principal: Principal | undefined;
  /** Sends ERROR and closes. */
  fail(message: string, detail: string): void;
  /** The CONNECT's credentials were accepted (`principal` is set): the session answers the CONNECT. */
  authenticated(connect: Connected): void;
}

/** The input that arrives while a CONNECT's credentials are checked (session-limits.ts holds it). */
export interface InputDuringAuthentication {
  /** Holds it, in order, until the answer. */
  holdUntilAuthenticated(): void;
  /** Drops it unprocessed: the CONNECT was refused, nothing pipelined after it was accepted. */
  discard(): void;
}

export class SessionAuth {
  /** When the principal's credentials expire (hub clock, ms); Infinity = never. */
  private expiresAtMs = Infinity;

  constructor(
    private readonly owner: AuthenticatedSession,
    private readonly input: InputDuringAuthentication,
  ) {}

  /** Checks a CONNECT's credentials; `connect` is what its negotiation gave, answered once they are accepted. */
  authenticate(headers: Headers, connect: Connected): void {
    const outcome = this.owner.hub.authenticator.authenticate({ headers, remoteIp: this.owner.transport.remoteIp });
    if (outcome instanceof Promise) this.awaitAuthentication(outcome, connect);
    else this.authenticated(outcome, connect);
  }

  /** The input pipelined after CONNECT waits for the answer; the CONNECT deadline (tick) still runs meanwhile. */
  private awaitAuthentication(pending: Promise<AuthOutcome>, connect: Connected): void {
    this.input.holdUntilAuthenticated();
    pending.then(
      (outcome) => {
        if (this.owner.state === 'connecting') this.authenticated(outcome, connect);
      },
      (err: unknown) => {
        this.owner.hub.logger.error({ err, session: this.owner.id }, 'authentication failed unexpectedly');
        this.owner.fail('internal error', 'The broker failed to check the credentials; see the broker log.');
      },
    );
  }

  private authenticated(outcome: AuthOutcome, connect: Connected): void {
    if (isRefusal(outcome)) {
      this.input.discard();
      this.owner.fail(outcome.refused, outcome.detail);
      return;
    }
    this.accept(outcome);
    this.owner.authenticated(connect);
  }

  /** A SEND to TOKEN_REFRESH_DESTINATION: new credentials for the same principal. */
  refresh(h: Headers): Completion {
    const outcome = this.owner.hub.authenticator.refresh(this.owner.principal!, { headers: h, remoteIp: this.owner.transport.remoteIp });
    if (outcome instanceof Promise) return outcome.then((o) => this.refreshed(o));
    this.refreshed(outcome);
    return undefined;
  }

  /** A refusal throws: the frame (or its tracked completion) fails the connection with it. */
  private refreshed(outcome: AuthOutcome): void {
    if (isRefusal(outcome)) throw new Refusal(outcome.refused, outcome.detail);
    if (this.owner.state !== 'connected') return;
    this.accept(outcome);
  }

  private accept(principal: Principal): void {
    this.owner.principal = principal;
    this.expiresAtMs = principal.expiresAtMs ?? Infinity;
  }

  /** Fails the session once its credentials have expired (hub clock `now`); true if it did. */
  failIfExpired(now: number): boolean {
    if (now >= this.expiresAtMs) {
      this.owner.fail(
        'credentials expired',
        `The credentials of this connection expired at ${new Date(this.expiresAtMs).toISOString()}; connect again with fresh ones, or send a new token to ${TOKEN_REFRESH_DESTINATION} before it expires.`,
      );
      return true;
    }
    return false;
  }
}

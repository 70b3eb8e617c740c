// The session layer's Authenticator: the configured methods tried in order. The first that applies
// decides; credentials present and wrong are refused, never passed on to a later method. Every
// refusal looks the same to the client (access refused, one body) and is answered a constant time
// after the CONNECT arrived, whatever was wrong and however long checking took, so neither the
// answer nor its timing tells an unknown login from a wrong password. An address that failed too
// often is refused at once, unchecked (too many failed logins).
import type { AuthOutcome, Authenticator, AuthRefusal, Credentials, Logger, Principal } from '@stompede/session';
import { tokenOf, type JwtVerifier } from './jwt.js';
import { isDenied, type AuthMethod, type MethodResult } from './method.js';
import type { AuthMetrics } from './metrics.js';
import type { FailedLogins } from './throttle.js';

export const ACCESS_REFUSED: AuthRefusal = Object.freeze({ refused: 'access refused', detail: 'The credentials were not accepted.' });
export const TOO_MANY_FAILURES = 'too many failed logins';
export const TOO_BUSY = 'too many logins in progress';
/** Longest login kept in a log line. */
const LOGGED_LOGIN_CHARS = 64;

export interface ChainOptions {
  readonly methods: readonly AuthMethod[];
  /** Verifies refreshed tokens; undefined when jwt is not configured. */
  readonly jwt: JwtVerifier | undefined;
  readonly failureDelayMs: number;
  readonly failedLogins: FailedLogins;
  /** For the busy refusal's text: the users method's bound on password checks in progress. */
  readonly maxPendingChecks: number;
  readonly metrics: AuthMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class ChainAuthenticator implements Authenticator {
  private readonly now: () => number;
  private readonly tooMany: AuthRefusal;
  private readonly busy: AuthRefusal;

  constructor(private readonly o: ChainOptions) {
    this.now = o.now ?? Date.now;
    this.tooMany = Object.freeze({
      refused: TOO_MANY_FAILURES,
      detail: `This address (for IPv6, its /64) failed to log in ${o.failedLogins.max} times within ${o.failedLogins.windowMs} ms; try again later.`,
    });
    this.busy = Object.freeze({
      refused: TOO_BUSY,
      detail: `${o.maxPendingChecks} password checks are in progress on this node (STOMPEDE_AUTH_MAX_PENDING_CHECKS); try again shortly.`,
    });
  }

  authenticate(credentials: Credentials): AuthOutcome | Promise<AuthOutcome> {
    const startMs = this.now();
    const ip = credentials.remoteIp;
    if (this.o.failedLogins.blocked(ip, startMs)) {
      this.o.metrics.rateLimited++;
      // Debug: an address hammering away must not flood the log (its failures were logged at info).
      this.o.logger.debug({ remote: ip }, 'login refused unchecked: too many failed logins from this address');
      return this.tooMany;
    }
    const login = credentials.headers.get('login')?.slice(0, LOGGED_LOGIN_CHARS);
    for (const method of this.o.methods) {
      const result = method.check(credentials.headers);
      if (result === undefined) continue;
      if (!(result instanceof Promise)) return this.settle(method.name, result, ip, login, startMs);
      return result.then((r) => this.settle(method.name, r, ip, login, startMs));
    }
    return this.settle('none', { denied: 'no credentials that a configured method (STOMPEDE_AUTH) accepts' }, ip, login, startMs);
  }

  private settle(method: string, result: MethodResult, ip: string, login: string | undefined, startMs: number): AuthOutcome | Promise<AuthOutcome> {
    const m = this.o.metrics;
    if (!isDenied(result)) {
      m.count(m.successes, method);
      return result;
    }
    if (result.busy === true) {
      m.busy++;
      return this.busy;
    }
    m.count(m.failures, method);
    this.o.failedLogins.record(ip, this.now());
    this.o.logger.info({ remote: ip, method, login, reason: result.denied }, 'login refused');
    const waitMs = this.o.failureDelayMs - (this.now() - startMs);
    if (waitMs <= 0) return ACCESS_REFUSED;
    return new Promise((resolve) => setTimeout(() => resolve(ACCESS_REFUSED), waitMs).unref());
  }

  /** A new token for a live session: valid, and for the same principal. */
  refresh(current: Principal, credentials: Credentials): AuthOutcome | Promise<AuthOutcome> {
    if (this.o.jwt === undefined || current.method !== 'jwt') {
      return this.refreshRefused(current, 'Only a connection that authenticated with a JWT can refresh its token.');
    }
    const token = tokenOf(credentials.headers);
    if (token === undefined) return this.refreshRefused(current, 'The refresh carries no token (a "token" header).');
    return this.o.jwt.verify(token).then((r) => {
      if (isDenied(r)) return this.refreshRefused(current, ACCESS_REFUSED.detail, r.denied);
      if (r.name !== current.name) return this.refreshRefused(current, `The new token is for another principal than this connection's (${current.name}).`, `token for ${r.name}`);
      this.o.metrics.count(this.o.metrics.refreshes, 'accepted');
      return r;
    });
  }

  private refreshRefused(current: Principal, detail: string, reason = detail): AuthRefusal {
    this.o.metrics.count(this.o.metrics.refreshes, 'refused');
    this.o.logger.info({ principal: current.name, reason }, 'token refresh refused');
    return { refused: ACCESS_REFUSED.refused, detail };
  }
}

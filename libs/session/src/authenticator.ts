// The seam between a session and authentication: the session hands over a CONNECT's credentials
// and gets a Principal or a refusal back, at once or later. How credentials are checked (users
// file, JWT, ...) lives in the service's auth package; the session only needs this contract.
import type { Headers } from '@stompede/stomp';
import type { Principal } from './principal.js';

export interface Credentials {
  /** Headers of the CONNECT/STOMP frame (or of the SEND that refreshes a token). Read them during the call. */
  readonly headers: Headers;
  /** The peer's IP address, as the transport sees it. */
  readonly remoteIp: string;
}

/** Why credentials were not accepted: the ERROR frame's `message` header and its body. */
export interface AuthRefusal {
  readonly refused: string;
  readonly detail: string;
}

export type AuthOutcome = Principal | AuthRefusal;

export interface Authenticator {
  /**
   * Checks a CONNECT. An answer known at once comes back as a value (anonymous access pays no
   * promise per CONNECT); one that needs I/O or a slow hash, as a promise that never rejects.
   */
  authenticate(credentials: Credentials): AuthOutcome | Promise<AuthOutcome>;
  /** Checks new credentials for a live session acting for `current` (a token refresh). */
  refresh(current: Principal, credentials: Credentials): AuthOutcome | Promise<AuthOutcome>;
}

export function isRefusal(outcome: AuthOutcome): outcome is AuthRefusal {
  return (outcome as AuthRefusal).refused !== undefined;
}

/** Who a session acts for when the broker accepts anyone. */
export const ANONYMOUS: Principal = Object.freeze({
  name: 'anonymous',
  method: 'anonymous',
  expiresAtMs: undefined,
  groups: Object.freeze([]) as readonly string[],
  permissions: undefined,
});

/** What a hub uses when it is given no authenticator: every CONNECT is anonymous, nothing refreshes. */
export const OPEN_ACCESS: Authenticator = {
  authenticate: () => ANONYMOUS,
  refresh: () => ({ refused: 'access refused', detail: 'This broker has no token authentication to refresh.' }),
};

/** SEND destination a client uses to hand a live connection a fresh token (header `token`). */
export const TOKEN_REFRESH_DESTINATION = '/stompede/token';

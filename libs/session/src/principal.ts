// Who a session acts for, as authentication established it at CONNECT (or at a token refresh).
// Its own file so that authentication, authorization, user destinations and per-principal limits
// can each depend on this and not on one another.

export interface Principal {
  /** The user name: the checked `login`, or the JWT claim configured for it. User destinations are keyed by it. */
  readonly name: string;
  /** The method that authenticated it: 'anonymous', 'users' or 'jwt'. */
  readonly method: string;
  /** Wall-clock ms at which the credentials expire (a JWT's exp); undefined = never. */
  readonly expiresAtMs: number | undefined;
}

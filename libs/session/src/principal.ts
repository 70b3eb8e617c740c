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
  /** Groups the principal belongs to (the users file's, or a JWT claim's); ACL rules may name them. */
  readonly groups: readonly string[];
  /** Permissions carried by the credentials themselves (JWT claims); undefined = only the ACL file decides. */
  readonly permissions: Permissions | undefined;
}

/** Destination patterns, in the destination wildcard syntax, that a principal may use per operation. */
export interface Permissions {
  readonly send: readonly string[];
  readonly subscribe: readonly string[];
  /** Queues it may consume from (SUBSCRIBE to a queue destination). */
  readonly consume: readonly string[];
}

/** Who a session acts for when authentication set no principal, or accepted a client as anonymous. */
export const ANONYMOUS: Principal = Object.freeze({
  name: 'anonymous',
  method: 'anonymous',
  expiresAtMs: undefined,
  groups: Object.freeze([]) as readonly string[],
  permissions: undefined,
});

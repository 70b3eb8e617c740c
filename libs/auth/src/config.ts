// What authentication is configured with (the service parses the STOMPEDE_* settings into this),
// and the checks across settings that parsing each one alone cannot make.

export const AUTH_METHODS = ['anonymous', 'users', 'jwt'] as const;
export type AuthMethodName = (typeof AUTH_METHODS)[number];

export interface AuthConfig {
  /** Methods tried in order; the first whose credentials are present decides. */
  readonly auth: readonly AuthMethodName[];
  readonly usersFile: string;
  /** How often the users file is checked for changes. */
  readonly usersReloadMs: number;
  /** HS256 shared secret; empty = none. */
  readonly jwtSecret: string;
  /** PEM public key (or certificate) checking RS256/ES256 tokens; empty = none. */
  readonly jwtPublicKeyFile: string;
  /** JWKS URL of the identity provider; empty = none. */
  readonly jwtJwksUrl: string;
  /** Least time between two JWKS fetches (a token with an unknown kid asks for one). */
  readonly jwtJwksCooldownMs: number;
  /** Accepted `aud` values; empty = aud not checked. */
  readonly jwtAudience: readonly string[];
  /** Accepted `iss` values; empty = iss not checked. */
  readonly jwtIssuer: readonly string[];
  readonly jwtClockSkewSec: number;
  /** Claim holding the principal name. */
  readonly jwtPrincipalClaim: string;
  /** Claim holding the groups (a list, or a space-separated string); empty = none. */
  readonly jwtGroupsClaim: string;
  /** Claim holding {send, subscribe, consume} destination patterns; empty = none. */
  readonly jwtPermissionsClaim: string;
  /** A failed login is answered this long after its CONNECT arrived. */
  readonly authFailureDelayMs: number;
  /** Failed logins one IP address may have within authFailureWindowMs before it is refused at once. */
  readonly authMaxFailuresPerIp: number;
  readonly authFailureWindowMs: number;
  /** Password checks that may be in progress at once; past it logins get "too many logins in progress". */
  readonly authMaxPendingChecks: number;
}

/** Shortest HS256 secret: RFC 7518 §3.2 asks for a key at least as long as the hash (32 bytes). */
export const MIN_SECRET_BYTES = 32;

export function authConfigProblems(c: AuthConfig): string[] {
  const problems: string[] = [];
  const anonymous = c.auth.indexOf('anonymous');
  if (anonymous >= 0 && anonymous !== c.auth.length - 1) {
    problems.push('STOMPEDE_AUTH: anonymous accepts every client, so it must come last (the methods after it would never be tried)');
  }
  if (new Set(c.auth).size !== c.auth.length) problems.push('STOMPEDE_AUTH lists a method twice');
  if (c.auth.includes('users') && c.usersFile === '') {
    problems.push('STOMPEDE_AUTH lists users, which needs STOMPEDE_USERS_FILE (create one with: stompede-ctl passwd --file users.yaml --login <name>)');
  }
  if (c.auth.includes('jwt')) problems.push(...jwtProblems(c));
  return problems;
}

function jwtProblems(c: AuthConfig): string[] {
  const problems: string[] = [];
  if (c.jwtSecret === '' && c.jwtPublicKeyFile === '' && c.jwtJwksUrl === '') {
    problems.push('STOMPEDE_AUTH lists jwt, which needs a key: STOMPEDE_JWT_SECRET (HS256), STOMPEDE_JWT_PUBLIC_KEY_FILE or STOMPEDE_JWT_JWKS_URL (RS256/ES256)');
  }
  if (c.jwtSecret !== '' && Buffer.byteLength(c.jwtSecret) < MIN_SECRET_BYTES) {
    problems.push(`STOMPEDE_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long`);
  }
  if (c.jwtPublicKeyFile !== '' && c.jwtJwksUrl !== '') {
    problems.push('set STOMPEDE_JWT_PUBLIC_KEY_FILE or STOMPEDE_JWT_JWKS_URL, not both');
  }
  if (c.jwtPrincipalClaim === '') problems.push('STOMPEDE_JWT_PRINCIPAL_CLAIM must name a claim');
  return problems;
}

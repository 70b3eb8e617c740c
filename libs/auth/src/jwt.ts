// JWT authentication with jose: where a client puts its token, which keys check it (an HS256
// secret, a PEM public key, or the identity provider's JWKS, which jose caches and fetches again
// when a token names a kid it does not know), the time and audience checks, and the mapping of
// claims to a Principal.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Principal } from '@stompede/session';
import type { Headers } from '@stompede/stomp';
import { claimPermissions, claimValue, groupsOf } from './claims.js';
import type { AuthConfig } from './config.js';
import { AuthSetupError, type Denied } from './method.js';

/** How a JWT looks (its header segment starts with base64url '{"'): tells a token passcode from a password. */
const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/;
const BEARER = /^Bearer\s+(\S+)\s*$/i;
const JWKS_TIMEOUT_MS = 5_000;

export function looksLikeJwt(value: string): boolean {
  return JWT_SHAPE.test(value);
}

/**
 * The token a CONNECT (or a refresh SEND) carries: `Authorization: Bearer <token>`, a `token`
 * header, or a `passcode` that is a JWT. undefined when there is none.
 */
export function tokenOf(h: Headers): string | undefined {
  const authorization = h.get('Authorization') ?? h.get('authorization');
  if (authorization !== undefined) return BEARER.exec(authorization)?.[1] ?? authorization;
  const token = h.get('token');
  if (token !== undefined) return token;
  const passcode = h.get('passcode');
  return passcode !== undefined && looksLikeJwt(passcode) ? passcode : undefined;
}

export interface JwtKeys {
  readonly secret: Uint8Array | undefined;
  readonly publicKey: KeyObject | undefined;
  readonly jwks: JWTVerifyGetKey | undefined;
  readonly algorithms: readonly string[];
}

/** The configured keys; a public key file that cannot be read or used stops the start. */
export function loadJwtKeys(c: AuthConfig): JwtKeys {
  const algorithms: string[] = [];
  const secret = c.jwtSecret === '' ? undefined : new TextEncoder().encode(c.jwtSecret);
  if (secret !== undefined) algorithms.push('HS256');
  let publicKey: KeyObject | undefined;
  if (c.jwtPublicKeyFile !== '') {
    publicKey = readPublicKey(c.jwtPublicKeyFile);
    algorithms.push(publicKey.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256');
  }
  let jwks: JWTVerifyGetKey | undefined;
  if (c.jwtJwksUrl !== '') {
    jwks = createRemoteJWKSet(new URL(c.jwtJwksUrl), { cooldownDuration: c.jwtJwksCooldownMs, timeoutDuration: JWKS_TIMEOUT_MS });
    algorithms.push('RS256', 'ES256');
  }
  return { secret, publicKey, jwks, algorithms };
}

function readPublicKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(file));
  } catch (err) {
    throw new AuthSetupError(`STOMPEDE_JWT_PUBLIC_KEY_FILE: cannot use ${file} as a PEM public key or certificate: ${(err as Error).message}`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'rsa' || (key.asymmetricKeyType === 'ec' && curve === 'prime256v1')) return key;
  throw new AuthSetupError(`STOMPEDE_JWT_PUBLIC_KEY_FILE: ${file} holds a ${key.asymmetricKeyType} ${curve ?? ''} key; RS256 needs an RSA key, ES256 a P-256 one`);
}

export class JwtVerifier {
  private readonly getKey: JWTVerifyGetKey;

  constructor(
    private readonly keys: JwtKeys,
    private readonly c: AuthConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.getKey = (header, token) => {
      if (header.alg === 'HS256') {
        if (keys.secret === undefined) throw new Error('an HS256 token, and no STOMPEDE_JWT_SECRET');
        return keys.secret;
      }
      if (keys.jwks !== undefined) return keys.jwks(header, token);
      if (keys.publicKey !== undefined) return keys.publicKey;
      throw new Error(`a ${header.alg} token, and no public key`);
    };
  }

  /** The principal the token speaks for, or why it is not accepted. Never rejects. */
  async verify(token: string): Promise<Principal | Denied> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        algorithms: [...this.keys.algorithms],
        audience: this.c.jwtAudience.length > 0 ? [...this.c.jwtAudience] : undefined,
        issuer: this.c.jwtIssuer.length > 0 ? [...this.c.jwtIssuer] : undefined,
        clockTolerance: this.c.jwtClockSkewSec,
        requiredClaims: ['exp'],
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { denied: `invalid token: ${code ?? 'ERROR'} ${(err as Error).message}` };
    }
    return this.principalOf(payload);
  }

  private principalOf(payload: JWTPayload): Principal | Denied {
    const c = this.c;
    const name = claimValue(payload, c.jwtPrincipalClaim);
    if (typeof name !== 'string' || name === '') return { denied: `the token has no string "${c.jwtPrincipalClaim}" claim` };
    const groups = c.jwtGroupsClaim === '' ? [] : groupsOf(claimValue(payload, c.jwtGroupsClaim));
    if (groups === undefined) return { denied: `the "${c.jwtGroupsClaim}" claim is neither a list of strings nor a space-separated string` };
    const permissions = c.jwtPermissionsClaim === '' ? undefined : claimPermissions(claimValue(payload, c.jwtPermissionsClaim));
    if (permissions === null) return { denied: `the "${c.jwtPermissionsClaim}" claim is not {send, subscribe, consume} lists of patterns` };
    // Checked at CONNECT with the skew allowance, so the live connection ends at the same moment.
    const expiresAtMs = (payload.exp! + c.jwtClockSkewSec) * 1000;
    return { name, method: 'jwt', expiresAtMs, groups, permissions };
  }
}

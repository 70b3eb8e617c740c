// Shared by the auth tests: a configuration with every setting at a test default, a fixed clock,
// and tokens signed with jose.
import { SignJWT, type JWTPayload } from 'jose';
import type { AuthConfig } from '@stompede/auth';
import type { Logger } from '@stompede/session';

export const SECRET = 'test-secret-test-secret-test-secret-0123';
/** The verifier's clock in the tests: 2030-01-01T00:00:00Z. */
export const NOW_MS = Date.UTC(2030, 0, 1);
export const NOW_SEC = NOW_MS / 1000;

export function authConfig(over: Partial<AuthConfig> = {}): AuthConfig {
  return {
    auth: ['jwt'],
    usersFile: '',
    usersReloadMs: 1000,
    jwtSecret: '',
    jwtPublicKeyFile: '',
    jwtJwksUrl: '',
    jwtJwksCooldownMs: 0,
    jwtAudience: [],
    jwtIssuer: [],
    jwtClockSkewSec: 30,
    jwtPrincipalClaim: 'sub',
    jwtGroupsClaim: 'groups',
    jwtPermissionsClaim: '',
    authFailureDelayMs: 0,
    authMaxFailuresPerIp: 10,
    authFailureWindowMs: 60_000,
    authMaxPendingChecks: 100,
    ...over,
  };
}

export interface TokenOptions {
  readonly alg?: string;
  readonly kid?: string;
  /** exp relative to NOW_SEC; null = no exp. */
  readonly expInSec?: number | null;
}

/** A token for `claims` (sub defaults to alice), expiring an hour after NOW unless told otherwise. */
export type SigningKey = Parameters<SignJWT['sign']>[0];

export function sign(key: SigningKey, claims: JWTPayload = {}, o: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader({ alg: o.alg ?? 'HS256', ...(o.kid === undefined ? {} : { kid: o.kid }) }).setIssuedAt(NOW_SEC);
  if (o.expInSec !== null) jwt.setExpirationTime(NOW_SEC + (o.expInSec ?? 3600));
  return jwt.sign(key);
}

export const secretKey = new TextEncoder().encode(SECRET);

export interface LogLine {
  readonly level: string;
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

export function recordingLogger(): { lines: LogLine[]; logger: Logger } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string): void => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

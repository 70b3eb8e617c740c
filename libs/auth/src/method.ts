// One way of authenticating a CONNECT, as the chain (authenticator.ts) tries them in order.
import type { Principal } from '@stompede/session';
import type { Headers } from '@stompede/stomp';
import type { AuthMethodName } from './config.js';

/** Credentials that were present and not accepted; `denied` says why, for the log only. */
export interface Denied {
  readonly denied: string;
  /** Not the client's fault: the node is too busy to check now (not counted as a failed login). */
  readonly busy?: boolean;
}

export type MethodResult = Principal | Denied;

export interface AuthMethod {
  readonly name: AuthMethodName;
  /**
   * undefined when the method does not apply (its credentials are absent): the next one is tried.
   * Headers are only read during the call.
   */
  check(headers: Headers): MethodResult | Promise<MethodResult> | undefined;
}

export function isDenied(r: MethodResult): r is Denied {
  return (r as Denied).denied !== undefined;
}

/** Authentication cannot start as configured (a file missing or unusable); the message says which setting. */
export class AuthSetupError extends Error {}

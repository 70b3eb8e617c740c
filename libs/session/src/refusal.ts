// Refusals: what frame handling throws when a client frame cannot be accepted, the checks that
// throw them, and the ERROR frame a refusal becomes (invariant E1: one ERROR, then a close).
import { QueueFullError } from '@stompede/broker-api';
import { encodeFrame, type Headers, type StompVersion } from '@stompede/stomp';
import type { SessionConfig } from './config.js';
import { resolveDestination, USER_PREFIX, type Destination, type Use } from './destinations.js';
import type { Principal } from './principal.js';
import { resolveUserDestination } from './user-destinations.js';

/** Raised inside frame handling; becomes an ERROR frame and a close. */
export class Refusal extends Error {
  constructor(
    readonly error: string,
    readonly detail: string,
    readonly extraHeaders: [string, string][] = [],
  ) {
    super(error);
  }
}

export function required(h: Headers, name: string, command: string): string {
  const v = h.get(name);
  if (v === undefined) throw new Refusal('missing header', `${command} requires the "${name}" header.`);
  return v;
}

/**
 * The destination a SEND or SUBSCRIBE names; refused if the broker does not understand it.
 * `subscriber`: who a SUBSCRIBE is for, which a `/user/...` subscription resolves with.
 */
export function checkedDestination(name: string, use: Use, config: SessionConfig, subscriber?: Principal): Destination {
  const d = name.startsWith(USER_PREFIX)
    ? resolveUserDestination(name, use, config.destinationPrefixes, subscriber)
    : resolveDestination(name, use, config.destinationPrefixes);
  if ('error' in d) throw new Refusal(d.error, d.detail);
  return d;
}

export function queueRefusal(err: unknown): Refusal | undefined {
  if (!(err instanceof QueueFullError)) return undefined;
  return new Refusal('queue full', `${err.queue} holds its maximum (${err.limit} = ${err.bound}); the message was not accepted.`);
}

/** ERROR: `message` header, `receipt-id` when the failing frame asked for one, details in the body. */
export function errorFrame(
  message: string,
  detail: string,
  receipt: string | undefined,
  extra: [string, string][],
  version: StompVersion,
): Uint8Array {
  const headers: [string, string][] = [['message', message], ...extra];
  if (receipt !== undefined) headers.push(['receipt-id', receipt]);
  const body = new TextEncoder().encode(detail);
  headers.push(['content-type', 'text/plain;charset=utf-8'], ['content-length', String(body.length)]);
  return encodeFrame('ERROR', headers, body, version);
}

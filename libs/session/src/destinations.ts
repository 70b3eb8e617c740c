// What a destination string means. See docs/destinations.md for the user-facing rules.
import type { DestinationKind, DestinationPrefix } from './config.js';

export const TEMP_QUEUE_PREFIX = '/temp-queue/';
export const REPLY_QUEUE_PREFIX = '/reply-queue/';
/** User destinations (user-destinations.ts): `/user/queue/<name>` to subscribe, `/user/<login>/queue/<name>` to send. */
export const USER_PREFIX = '/user/';
/**
 * The topic streams user destinations map to, `/x-user/<escaped login>/queue/<name>`. Reserved: a
 * client can reach them only through `/user/...`, which names its own login for SUBSCRIBE.
 */
export const USER_STREAM_PREFIX = '/x-user/';
/** Prefixes the broker owns; STOMPEDE_DESTINATION_PREFIXES may not map them (or a prefix of them). */
export const RESERVED_PREFIXES: readonly string[] = [TEMP_QUEUE_PREFIX, REPLY_QUEUE_PREFIX, USER_PREFIX, USER_STREAM_PREFIX];

/** A destination understood by the broker. `kind` 'reply' is a session-private reply queue. */
export interface Destination {
  readonly kind: DestinationKind | 'reply';
  readonly name: string;
  /** Length of the prefix; wildcard segments are matched in the part after it. */
  readonly prefixLength: number;
  readonly wildcard: boolean;
  /**
   * The destination as the client wrote it, where that is not `name`: a user destination's
   * (`/user/alice/queue/notes` for the stream `/x-user/alice/queue/notes`). ACL rules are about it.
   */
  readonly written?: string;
}

/** The destination as the client wrote it in its SEND or SUBSCRIBE. */
export function nameAsWritten(destination: Destination): string {
  return destination.written ?? destination.name;
}

export interface DestinationError {
  readonly error: string;
  readonly detail: string;
}

export type Use = 'send' | 'subscribe';

export function resolveDestination(
  name: string,
  use: Use,
  prefixes: readonly DestinationPrefix[],
): Destination | DestinationError {
  if (name.length === 0) return { error: 'invalid destination', detail: 'The destination header is empty.' };
  if (name.startsWith(TEMP_QUEUE_PREFIX)) {
    return {
      error: 'invalid destination',
      detail: `${TEMP_QUEUE_PREFIX} names are only valid in the reply-to header of a SEND; the broker then creates a private queue and subscribes you to it.`,
    };
  }
  if (name.startsWith(REPLY_QUEUE_PREFIX)) {
    if (use === 'subscribe') {
      return {
        error: 'invalid destination',
        detail: `${REPLY_QUEUE_PREFIX} queues are private to the session that created them through reply-to:${TEMP_QUEUE_PREFIX}...; they cannot be subscribed to.`,
      };
    }
    return { kind: 'reply', name, prefixLength: REPLY_QUEUE_PREFIX.length, wildcard: false };
  }
  if (name.startsWith(USER_STREAM_PREFIX)) {
    return {
      error: 'invalid destination',
      detail: `${USER_STREAM_PREFIX} is reserved for the streams behind user destinations: subscribe to ${USER_PREFIX}queue/<name>, send to ${USER_PREFIX}<login>/queue/<name>.`,
    };
  }
  if (name.startsWith(USER_PREFIX)) {
    // Sessions resolve /user/... before they get here (user-destinations.ts); other callers (the
    // dead-letter setting, a /user/ inside a /user/ name) have no user to resolve it for.
    return {
      error: 'invalid destination',
      detail: `${name}: a user destination (${USER_PREFIX}...) stands for one user's sessions; it can only be subscribed to as ${USER_PREFIX}queue/<name> or sent to as ${USER_PREFIX}<login>/queue/<name>.`,
    };
  }
  for (const p of prefixes) {
    if (!name.startsWith(p.prefix)) continue;
    if (name.length === p.prefix.length) {
      return { error: 'invalid destination', detail: `${name} has no name after the ${p.prefix} prefix.` };
    }
    const wildcard = hasWildcard(name, p.prefix.length);
    if (wildcard && p.kind !== 'topic') {
      return {
        error: 'invalid destination',
        detail: `Wildcards (* and #) are only supported on topic destinations, not on ${name}.`,
      };
    }
    if (wildcard && use === 'send') {
      return {
        error: 'invalid destination',
        detail: `A SEND destination cannot contain the wildcard segments * or #: ${name}.`,
      };
    }
    return { kind: p.kind, name, prefixLength: p.prefix.length, wildcard };
  }
  return { error: 'unknown destination prefix', detail: unknownPrefixHint(name, prefixes) };
}

/** A segment (between dots, after the prefix) that is exactly `*` or `#`. */
export function hasWildcard(name: string, prefixLength: number): boolean {
  let start = prefixLength;
  for (;;) {
    const dot = name.indexOf('.', start);
    const end = dot < 0 ? name.length : dot;
    if (end - start === 1) {
      const c = name.charCodeAt(start);
      if (c === 0x2a || c === 0x23) return true;
    }
    if (dot < 0) return false;
    start = dot + 1;
  }
}

function unknownPrefixHint(name: string, prefixes: readonly DestinationPrefix[]): string {
  const known = prefixes.map((p) => p.prefix).join(', ');
  const map = `or map the prefix with STOMPEDE_DESTINATION_PREFIXES (for example "${firstSegment(name)}=topic").`;
  if (name.startsWith('/app/')) {
    return `${name}: /app is Spring's application-destination prefix. Spring routes /app/... to @MessageMapping methods in your application, so a broker never receives them. Send to one of ${known}, ${map}`;
  }
  return `${name}: destinations must start with one of ${known} (reply queues: ${REPLY_QUEUE_PREFIX}), ${map}`;
}

function firstSegment(name: string): string {
  const slash = name.indexOf('/', 1);
  return slash < 0 ? name + '/' : name.slice(0, slash + 1);
}

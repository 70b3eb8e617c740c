// User destinations, Spring's convention across the cluster (docs/security.md "User destinations").
// A session subscribes to `/user/queue/<name>` (or `/user/topic/<name>`, any configured prefix after
// `/user`) and receives what anyone sends to `/user/<its login>/queue/<name>`, whichever node either
// is on. Both names map to one topic stream per user and destination,
// `/x-user/<escaped login>/queue/<name>`: the cluster plane's interest-based delivery then carries
// it like any topic, so only nodes where a session of that user subscribed read the stream, and
// every such session gets its own copy (Spring's per-session queues give each session a copy too).
// The mapping is decided once per SUBSCRIBE and once per SEND; MESSAGE frames show
// `/user/queue/<name>` (what the session subscribed to, as Spring does) through `clientDestination`,
// computed once per message with the rest of its cached header text.
import type { DestinationPrefix } from './config.js';
import {
  resolveDestination,
  USER_PREFIX,
  USER_STREAM_PREFIX,
  type Destination,
  type DestinationError,
  type Use,
} from './destinations.js';
import type { Principal } from './principal.js';

/** ERROR `message` of a `/user/...` SUBSCRIBE by a session without a login. */
export const LOGIN_REQUIRED = 'login required';

/** A `/user/...` destination of a SEND or of a SUBSCRIBE by `subscriber`. */
export function resolveUserDestination(
  name: string,
  use: Use,
  prefixes: readonly DestinationPrefix[],
  subscriber: Principal | undefined,
): Destination | DestinationError {
  return use === 'subscribe' ? resolveUserSubscription(name, prefixes, subscriber) : resolveUserSend(name, prefixes);
}

/** SUBSCRIBE `/user/queue/<name>`: the stream of the subscriber's own login. */
function resolveUserSubscription(name: string, prefixes: readonly DestinationPrefix[], subscriber: Principal | undefined): Destination | DestinationError {
  if (subscriber === undefined || subscriber.method === 'anonymous' || subscriber.name === '') {
    return {
      error: LOGIN_REQUIRED,
      detail: `${name} is a user destination: it receives what is sent to ${USER_PREFIX}<login>/..., so it needs a logged-in connection, and this one is anonymous. Connect with a login (STOMPEDE_AUTH users or jwt).`,
    };
  }
  const inner = name.slice(USER_PREFIX.length - 1);
  const problem = innerProblem(name, inner, 'subscribe', prefixes);
  if (problem !== undefined) return problem;
  return userStream(subscriber.name, inner, name) ?? unusableLogin(name);
}

/**
 * SEND `/user/<login>/queue/<name>`. The login segment is percent-decoded, so a login containing
 * `/` is written `%2F` (as Spring's convertAndSendToUser does) and one containing `%` as `%25`.
 */
function resolveUserSend(name: string, prefixes: readonly DestinationPrefix[]): Destination | DestinationError {
  const slash = name.indexOf('/', USER_PREFIX.length);
  if (slash <= USER_PREFIX.length) {
    return invalid(`${name}: a SEND to a user destination names the user: ${USER_PREFIX}<login>/queue/<name>.`);
  }
  let login: string;
  try {
    login = decodeURIComponent(name.slice(USER_PREFIX.length, slash));
  } catch {
    return invalid(`${name}: the login in ${USER_PREFIX}<login>/... is percent-encoded (a "/" in it is %2F, a "%" is %25), and "${name.slice(USER_PREFIX.length, slash)}" is not valid percent-encoding.`);
  }
  const inner = name.slice(slash);
  const problem = innerProblem(name, inner, 'send', prefixes);
  if (problem !== undefined) return problem;
  return userStream(login, inner, name) ?? unusableLogin(name);
}

/** Why the part after `/user` (or `/user/<login>`) is not a destination a user destination can stand for. */
function innerProblem(name: string, inner: string, use: Use, prefixes: readonly DestinationPrefix[]): DestinationError | undefined {
  const d = resolveDestination(inner, use, prefixes);
  const expected = use === 'subscribe' ? `${USER_PREFIX}queue/<name>` : `${USER_PREFIX}<login>/queue/<name>`;
  // A known prefix with something wrong after it: that is the problem to name.
  if ('error' in d && d.error === 'invalid destination') return invalid(`${name}: ${d.detail}`);
  if ('error' in d || d.kind === 'reply') {
    const known = prefixes.map((p) => p.prefix).join(', ');
    const own = use === 'subscribe' ? " A SUBSCRIBE names no login: it is the connection's own." : '';
    return invalid(`${name} is not a user destination: they are ${expected}, where /queue/ may be any of ${known}.${own}`);
  }
  if (d.wildcard) return invalid(`${name}: user destinations take no wildcards (* or #): subscribe to each one by its name.`);
  return undefined;
}

/** The stream behind `inner` (e.g. `/queue/notes`) for `login`; undefined if the login cannot be encoded. */
function userStream(login: string, inner: string, written: string): Destination | undefined {
  const escaped = escapeLogin(login);
  if (escaped === undefined) return undefined;
  return { kind: 'topic', name: USER_STREAM_PREFIX + escaped + inner, prefixLength: USER_STREAM_PREFIX.length, wildcard: false, written };
}

/**
 * A login as one segment of a destination name: percent-encoded, so it holds no `/` and two logins
 * never share a name. `*` is encoded too, which encodeURIComponent leaves alone, so that no part of
 * a stream's name can ever read as a wildcard segment. Undefined for strings that are not
 * well-formed UTF-16 (a lone surrogate), which have no UTF-8 encoding.
 */
export function escapeLogin(login: string): string | undefined {
  try {
    return encodeURIComponent(login).replaceAll('*', '%2A');
  } catch {
    return undefined;
  }
}

/**
 * The `destination` header of a MESSAGE of `destination`: `/user/queue/<name>` for a user stream
 * (what its subscribers subscribed to), the destination itself otherwise.
 */
export function clientDestination(destination: string): string {
  if (!destination.startsWith(USER_STREAM_PREFIX)) return destination;
  const slash = destination.indexOf('/', USER_STREAM_PREFIX.length);
  return slash < 0 ? destination : USER_PREFIX.slice(0, -1) + destination.slice(slash);
}

function unusableLogin(name: string): DestinationError {
  return invalid(`${name}: the login contains characters that cannot be encoded (unpaired UTF-16 surrogates).`);
}

function invalid(detail: string): DestinationError {
  return { error: 'invalid destination', detail };
}

// Page sizes and page tokens. A token is the position after the last row returned (opaque to
// clients: base64url JSON), so pages need no server-side state and survive a node's restart.
import { invalidArgument } from './errors.js';

export const DEFAULT_PAGE_SIZE = 100;

/** The rows a request asks for: 0 is the default; negative or above `max` is refused. */
export function pageSize(requested: number, max: number): number {
  if (requested === 0) return Math.min(DEFAULT_PAGE_SIZE, max);
  if (requested < 0 || requested > max) {
    throw invalidArgument(`page_size must be between 0 and ${max} (STOMPEDE_ADMIN_MAX_PAGE_SIZE), got ${requested}`);
  }
  return requested;
}

/** Connections: the node, and the ordinal of the last session returned on it. */
export interface ConnectionCursor {
  readonly node: string;
  readonly after: number;
}

/** Destinations: the last row returned, by sort key. */
export interface DestinationCursor {
  readonly vhost: string;
  readonly name: string;
  readonly kind: number;
}

export function encodeToken(cursor: ConnectionCursor | DestinationCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeConnectionToken(token: string): ConnectionCursor | undefined {
  if (token === '') return undefined;
  const c = decode(token);
  if (typeof c['node'] !== 'string' || !Number.isSafeInteger(c['after'])) throw badToken();
  return { node: c['node'], after: c['after'] as number };
}

export function decodeDestinationToken(token: string): DestinationCursor | undefined {
  if (token === '') return undefined;
  const c = decode(token);
  if (typeof c['vhost'] !== 'string' || typeof c['name'] !== 'string' || !Number.isSafeInteger(c['kind'])) throw badToken();
  return { vhost: c['vhost'], name: c['name'], kind: c['kind'] as number };
}

function decode(token: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString());
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw badToken();
}

function badToken(): Error {
  return invalidArgument('page_token is not one this API returned; pass next_page_token unchanged, or empty for the first page');
}

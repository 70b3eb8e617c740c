// Reading JWT claims into a Principal's groups and permissions. Claim names may be paths into
// nested objects ("realm_access.roles", as Keycloak puts roles), but a claim whose own name holds
// dots (namespaced claims such as "https://example.com/groups") is found first.
import type { Permissions } from '@stompede/session';

export function claimValue(payload: Record<string, unknown>, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Groups from a list of strings or a space-separated string (as OAuth's `scope`); undefined when neither. */
export function groupsOf(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(' ').filter((g) => g.length > 0);
  if (Array.isArray(value) && value.every((g) => typeof g === 'string' && g.length > 0)) return value as string[];
  return undefined;
}

const OPERATIONS = ['send', 'subscribe', 'consume'] as const;

/**
 * Permissions from `{"send": [...], "subscribe": [...], "consume": [...]}` (a missing list allows
 * nothing for that operation). undefined when the token has no such claim (the ACL file decides);
 * null when the claim is malformed (the token is refused: it cannot be read as its issuer meant).
 */
export function claimPermissions(value: unknown): Permissions | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const claim = value as Record<string, unknown>;
  if (Object.keys(claim).some((k) => !(OPERATIONS as readonly string[]).includes(k))) return null;
  const lists: Record<string, readonly string[]> = {};
  for (const op of OPERATIONS) {
    const patterns = claim[op] ?? [];
    if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string' && p.length > 0)) return null;
    lists[op] = Object.freeze([...patterns] as string[]);
  }
  return Object.freeze({ send: lists['send']!, subscribe: lists['subscribe']!, consume: lists['consume']! });
}

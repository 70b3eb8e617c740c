// Destination patterns of ACL rules, matched with the destinations' own wildcard matcher (the
// session layer's WildcardTrie, as topic subscriptions are): `*` is one segment, `#` zero or more,
// only `.` separates, and the prefix is a segment of its own, so no pattern crosses prefixes.
import { REPLY_QUEUE_PREFIX, splitName, USER_PREFIX, WildcardTrie, type DestinationPrefix } from '@stompede/session';

/** The prefixes a destination can start with, in the order resolveDestination tries them. */
export function knownPrefixes(prefixes: readonly DestinationPrefix[]): string[] {
  return [REPLY_QUEUE_PREFIX, USER_PREFIX, ...prefixes.map((p) => p.prefix)];
}

/** The prefix `name` starts with, or undefined. */
export function prefixOf(name: string, known: readonly string[]): string | undefined {
  for (const p of known) if (name.startsWith(p)) return p;
  return undefined;
}

/** A set of destination patterns: does any of them match a destination? */
export class PatternSet {
  private readonly trie = new WildcardTrie<true>();
  private readonly prefixes = new Set<string>();

  constructor(private readonly known: readonly string[]) {}

  /** Adds a pattern already validated (acl-rules.ts) or from a token; false when its prefix is unknown. */
  add(pattern: string): boolean {
    const prefix = prefixOf(pattern, this.known);
    if (prefix === undefined || pattern.length === prefix.length) return false;
    this.trie.set(splitName(pattern, prefix.length), true);
    this.prefixes.add(prefix);
    return true;
  }

  /** Whether a pattern matches the concrete destination `name`. */
  matches(name: string): boolean {
    if (this.trie.size === 0) return false;
    const prefix = prefixOf(name, this.known);
    return prefix !== undefined && this.trie.match(splitName(name, prefix.length)).length > 0;
  }

  /** Whether some pattern lies under `prefix`, i.e. could match something there. */
  hasPrefix(prefix: string): boolean {
    return this.prefixes.has(prefix);
  }
}

// Which local subscriptions a topic message reaches: exact destinations in a map, wildcard patterns
// in a trie. Wildcard matches per destination are cached, since a topic is usually published to
// many times between subscription changes; any pattern change clears the cache.
import type { Destination } from './destinations.js';
import type { Group } from './group.js';
import { hasMember, memberCount, type SmallSet } from './small-set.js';
import { splitName, WildcardTrie } from './wildcard-trie.js';

const NONE: readonly never[] = [];

/**
 * Everything subscribed to one destination or pattern in one vhost. `S` is what is delivered to one
 * by one (the router's Subscription; generic so that this module need not know it). It is also the
 * subscribers' Destination: one object per destination, however many subscribe to it.
 */
export class TopicNode<S extends object> implements Destination {
  /**
   * Auto-ack subscriptions, grouped for shared encoding: the group itself while there is one (most
   * destinations), by key (groupKey) from the second on.
   */
  groups: Group | Map<string, Group> | undefined;
  /**
   * Subscriptions delivered one by one through their session: client / client-individual ones
   * (each tracks its own unacked messages) and resuming ones (each filters by stream position).
   */
  single: SmallSet<S>;
  /**
   * The broker's `watch` of this pattern while it completes: a subscriber's RECEIPT waits for it,
   * also when another subscriber's SUBSCRIBE started it. Cleared when it succeeds; a rejected one
   * stays, so that whoever subscribes here before the node goes away learns of the failure too.
   */
  watching: Promise<void> | undefined;

  constructor(
    readonly pattern: string,
    readonly prefixLength: number,
    readonly wildcard: boolean,
  ) {}

  get kind(): 'topic' {
    return 'topic';
  }

  get name(): string {
    return this.pattern;
  }

  get empty(): boolean {
    return this.groups === undefined && this.single === undefined;
  }

  /** Subscriptions here, for introspection. */
  get subscribers(): number {
    let n = memberCount(this.single);
    for (const g of this.groupList()) n += g.size;
    return n;
  }

  hasSingle(s: S): boolean {
    return hasMember(this.single, s);
  }

  group(id: string, escaping: Group['escaping']): Group | undefined {
    const gs = this.groups;
    if (gs instanceof Map) return gs.get(groupKey(id, escaping));
    return gs !== undefined && gs.id === id && gs.escaping === escaping ? gs : undefined;
  }

  addGroup(group: Group): void {
    const gs = this.groups;
    if (gs === undefined) this.groups = group;
    else if (gs instanceof Map) gs.set(groupKey(group.id, group.escaping), group);
    else this.groups = new Map([[groupKey(gs.id, gs.escaping), gs], [groupKey(group.id, group.escaping), group]]);
  }

  removeGroup(group: Group): void {
    const gs = this.groups;
    if (gs === group) this.groups = undefined;
    else if (gs instanceof Map && gs.delete(groupKey(group.id, group.escaping)) && gs.size === 1) this.groups = gs.values().next().value;
  }

  groupList(): Iterable<Group> {
    const gs = this.groups;
    if (gs instanceof Map) return gs.values();
    return gs === undefined ? NONE : [gs];
  }
}

/** Subscriptions share a group when they share the subscription id and the header escaping. */
function groupKey(id: string, escaping: Group['escaping']): string {
  return id + '\u0000' + escaping;
}

const MAX_CACHED_MATCHES = 10_000;

export class TopicIndex<S extends object> {
  private readonly exact = new Map<string, TopicNode<S>>();
  private readonly patterns = new Map<string, TopicNode<S>>();
  private readonly trie = new WildcardTrie<TopicNode<S>>();
  private readonly cache = new Map<string, readonly TopicNode<S>[]>();

  get size(): number {
    return this.exact.size + this.patterns.size;
  }

  /** The node for a destination or pattern, created if new (then `created` is true). */
  ensure(pattern: string, prefixLength: number, wildcard: boolean): { node: TopicNode<S>; created: boolean } {
    const map = wildcard ? this.patterns : this.exact;
    let node = map.get(pattern);
    if (node !== undefined) return { node, created: false };
    node = new TopicNode<S>(pattern, prefixLength, wildcard);
    map.set(pattern, node);
    if (wildcard) {
      this.trie.set(splitName(pattern, prefixLength), node);
      this.cache.clear();
    }
    return { node, created: true };
  }

  remove(node: TopicNode<S>): void {
    if (node.wildcard) {
      if (this.patterns.get(node.pattern) !== node) return;
      this.patterns.delete(node.pattern);
      this.trie.delete(splitName(node.pattern, node.prefixLength));
      this.cache.clear();
    } else if (this.exact.get(node.pattern) === node) {
      this.exact.delete(node.pattern);
    }
  }

  exactNode(name: string): TopicNode<S> | undefined {
    return this.exact.get(name);
  }

  /** Wildcard nodes whose pattern matches the destination `name`. */
  wildcardNodes(name: string, prefixLength: number): readonly TopicNode<S>[] {
    if (this.patterns.size === 0) return NONE;
    let nodes = this.cache.get(name);
    if (nodes === undefined) {
      nodes = this.trie.match(splitName(name, prefixLength));
      if (this.cache.size >= MAX_CACHED_MATCHES) this.cache.clear();
      this.cache.set(name, nodes.length === 0 ? NONE : nodes);
    }
    return nodes;
  }

  /** Every node, for introspection. */
  nodes(): IterableIterator<TopicNode<S>> {
    return [...this.exact.values(), ...this.patterns.values()][Symbol.iterator]();
  }
}

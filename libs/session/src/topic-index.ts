// Which local subscriptions a topic message reaches: exact destinations in a map, wildcard patterns
// in a trie. Wildcard matches per destination are cached, since a topic is usually published to
// many times between subscription changes; any pattern change clears the cache.
import type { Group } from './group.js';
import { splitName, WildcardTrie } from './wildcard-trie.js';

/**
 * Everything subscribed to one destination or pattern in one vhost. `S` is what is delivered to one
 * by one (the router's Subscription; generic so that this module need not know it).
 */
export class TopicNode<S> {
  /** Auto-ack subscriptions, grouped for shared encoding. */
  readonly groups = new Map<string, Group>();
  /**
   * Subscriptions delivered one by one through their session: client / client-individual ones
   * (each tracks its own unacked messages) and resuming ones (each filters by stream position).
   */
  readonly single = new Set<S>();
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

  get empty(): boolean {
    return this.groups.size === 0 && this.single.size === 0;
  }
}

const NONE: readonly never[] = [];
const MAX_CACHED_MATCHES = 10_000;

export class TopicIndex<S> {
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

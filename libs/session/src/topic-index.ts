// Which local subscriptions a topic message reaches: exact destinations in a map, wildcard patterns
// in a trie. Wildcard matches per destination are cached, since a topic is usually published to
// many times between subscription changes; any pattern change clears the cache.
// Under an ACL a wildcard pattern's subscriptions are split by what their principals may read (a
// ReadScope): one scoped node per scope under the pattern's node. Binding a destination to a
// pattern (filling the cache) is where each scope is asked about that destination, once (the
// scoped node remembers the answer across cache refills); a destination a scope may not read is
// never bound to its node, so its messages skip it at no cost.
import type { Destination } from './destinations.js';
import type { Group } from './group.js';
import { hasMember, memberCount, type SmallSet } from './small-set.js';
import { splitName, WildcardTrie } from './wildcard-trie.js';

const NONE: readonly never[] = [];

/** What the subscriptions of a scoped wildcard node may read (their principals' Access). */
export interface ReadScope {
  maySubscribe(destination: string): boolean;
}

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

/**
 * The subscriptions of a wildcard pattern limited by one ReadScope. It has no watch of its own: the
 * broker follows the pattern through its root node, which lives as long as any scoped node does.
 */
export class ScopedTopicNode<S extends object> extends TopicNode<S> {
  /** Destinations the scope was asked about, and its answers: the rules run once per binding. */
  private verdicts: Map<string, boolean> | undefined;

  constructor(
    readonly root: TopicNode<S>,
    readonly scope: ReadScope,
  ) {
    super(root.pattern, root.prefixLength, true);
  }

  /** Whether this node's subscriptions may read `destination`; `refused` is told of a new refusal. */
  binds(destination: string, refused: () => void): boolean {
    const verdicts = (this.verdicts ??= new Map());
    let allowed = verdicts.get(destination);
    if (allowed === undefined) {
      allowed = this.scope.maySubscribe(destination);
      if (!allowed) refused();
      if (verdicts.size >= MAX_CACHED_MATCHES) verdicts.clear();
      verdicts.set(destination, allowed);
    }
    return allowed;
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
  /** Scoped nodes by their pattern's root node, then by scope. */
  private readonly scoped = new Map<TopicNode<S>, Map<ReadScope, ScopedTopicNode<S>>>();

  constructor(
    /** A binding of a scoped node to a destination its scope may not read was refused. */
    private readonly excluded: () => void = () => {},
  ) {}

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

  /** The node of `root`'s pattern for subscriptions limited by `scope`, created if new. */
  scopedNode(root: TopicNode<S>, scope: ReadScope): ScopedTopicNode<S> {
    let byScope = this.scoped.get(root);
    if (byScope === undefined) {
      byScope = new Map();
      this.scoped.set(root, byScope);
    }
    let node = byScope.get(scope);
    if (node === undefined) {
      node = new ScopedTopicNode(root, scope);
      byScope.set(scope, node);
      // Destinations bound before must be bound to this node too.
      this.cache.clear();
    }
    return node;
  }

  removeScoped(node: ScopedTopicNode<S>): void {
    const byScope = this.scoped.get(node.root);
    if (byScope?.get(node.scope) !== node) return;
    byScope.delete(node.scope);
    if (byScope.size === 0) this.scoped.delete(node.root);
    this.cache.clear();
  }

  /** Whether `root` (a pattern's node) has scoped nodes, which keep it alive. */
  hasScoped(root: TopicNode<S>): boolean {
    return this.scoped.has(root);
  }

  /** Subscriptions of a node, those of its scoped nodes included (introspection). */
  subscribers(node: TopicNode<S>): number {
    let n = node.subscribers;
    for (const s of this.scoped.get(node)?.values() ?? NONE) n += s.subscribers;
    return n;
  }

  exactNode(name: string): TopicNode<S> | undefined {
    return this.exact.get(name);
  }

  /**
   * Wildcard nodes whose pattern matches the destination `name`: each pattern's root node and those
   * of its scoped nodes whose scope may read `name`.
   */
  wildcardNodes(name: string, prefixLength: number): readonly TopicNode<S>[] {
    if (this.patterns.size === 0) return NONE;
    let nodes = this.cache.get(name);
    if (nodes === undefined) {
      nodes = this.bind(name, this.trie.match(splitName(name, prefixLength)));
      if (this.cache.size >= MAX_CACHED_MATCHES) this.cache.clear();
      this.cache.set(name, nodes.length === 0 ? NONE : nodes);
    }
    return nodes;
  }

  /** The matched roots plus the scoped nodes allowed to read `name`: the ACL's one check per binding. */
  private bind(name: string, roots: TopicNode<S>[]): TopicNode<S>[] {
    if (this.scoped.size === 0) return roots;
    const nodes: TopicNode<S>[] = [];
    for (const root of roots) {
      nodes.push(root);
      const byScope = this.scoped.get(root);
      if (byScope === undefined) continue;
      for (const node of byScope.values()) if (node.binds(name, this.excluded)) nodes.push(node);
    }
    return nodes;
  }

  /** Every node, for introspection. */
  nodes(): IterableIterator<TopicNode<S>> {
    return [...this.exact.values(), ...this.patterns.values()][Symbol.iterator]();
  }
}

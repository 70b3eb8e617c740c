// Matches topic names against subscription patterns, RabbitMQ style: segments are separated by
// dots, `*` matches exactly one segment and `#` matches zero or more. The first "segment" is the
// destination prefix itself (e.g. "/topic/"), so patterns never match across prefixes.

class TrieNode<T> {
  readonly children = new Map<string, TrieNode<T>>();
  value: T | undefined;
}

export function splitName(name: string, prefixLength: number): string[] {
  return [name.slice(0, prefixLength), ...name.slice(prefixLength).split('.')];
}

export class WildcardTrie<T> {
  private readonly root = new TrieNode<T>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  set(segments: readonly string[], value: T): void {
    let node = this.root;
    for (const s of segments) {
      let next = node.children.get(s);
      if (next === undefined) {
        next = new TrieNode<T>();
        node.children.set(s, next);
      }
      node = next;
    }
    if (node.value === undefined) this.count++;
    node.value = value;
  }

  delete(segments: readonly string[]): void {
    const path: TrieNode<T>[] = [this.root];
    for (const s of segments) {
      const next = path[path.length - 1]!.children.get(s);
      if (next === undefined) return;
      path.push(next);
    }
    const leaf = path[path.length - 1]!;
    if (leaf.value === undefined) return;
    leaf.value = undefined;
    this.count--;
    for (let i = segments.length; i > 0; i--) {
      const node = path[i]!;
      if (node.value !== undefined || node.children.size > 0) break;
      path[i - 1]!.children.delete(segments[i - 1]!);
    }
  }

  /** Every value whose pattern matches `segments`, each once. */
  match(segments: readonly string[]): T[] {
    const found = new Set<T>();
    this.walk(this.root, segments, 0, found);
    return [...found];
  }

  private walk(node: TrieNode<T>, segments: readonly string[], i: number, found: Set<T>): void {
    const hash = node.children.get('#');
    if (hash !== undefined) {
      // `#` swallows zero or more segments.
      for (let k = i; k <= segments.length; k++) this.walk(hash, segments, k, found);
    }
    if (i === segments.length) {
      if (node.value !== undefined) found.add(node.value);
      return;
    }
    const exact = node.children.get(segments[i]!);
    if (exact !== undefined) this.walk(exact, segments, i + 1, found);
    // The prefix segment (i === 0) is never a wildcard.
    if (i > 0) {
      const star = node.children.get('*');
      if (star !== undefined) this.walk(star, segments, i + 1, found);
    }
  }
}

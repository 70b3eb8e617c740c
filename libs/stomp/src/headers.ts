// Ordered header list. STOMP allows a header to repeat; the first occurrence is the one that counts
// (spec: "Repeated Header Entries"), but all of them are kept so they can be passed on in order.
export class Headers {
  readonly names: string[] = [];
  readonly values: string[] = [];

  static of(entries: Iterable<readonly [string, string]>): Headers {
    const h = new Headers();
    for (const [k, v] of entries) h.add(k, v);
    return h;
  }

  get size(): number {
    return this.names.length;
  }

  add(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }

  /** The first value for `name`, as the spec requires. */
  get(name: string): string | undefined {
    const i = this.names.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  has(name: string): boolean {
    return this.names.indexOf(name) >= 0;
  }

  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i]!, this.values[i]!];
  }

  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 0; i < this.names.length; i++) {
      const k = this.names[i]!;
      if (!(k in out)) out[k] = this.values[i]!;
    }
    return out;
  }
}

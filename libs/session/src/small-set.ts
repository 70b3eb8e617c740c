// Sets that cost nothing while empty and one field while they hold one member. A Set costs about
// 180 bytes however few it holds, and most of these hold one: a per-user destination has one
// subscriber, its fan-out group one member. From the second member on it is a plain Set, and it goes
// back to the bare member when all others have left.

export type SmallSet<T extends object> = T | Set<T> | undefined;

/** `set` with `x` added; members must not be Sets themselves. */
export function withMember<T extends object>(set: SmallSet<T>, x: T): SmallSet<T> {
  if (set === undefined || set === x) return x;
  if (set instanceof Set) return set.add(x);
  return new Set([set, x]);
}

/** `set` without `x`. */
export function withoutMember<T extends object>(set: SmallSet<T>, x: T): SmallSet<T> {
  if (set === x) return undefined;
  if (!(set instanceof Set) || !set.delete(x)) return set;
  return set.size === 1 ? set.values().next().value : set;
}

export function hasMember<T extends object>(set: SmallSet<T>, x: T): boolean {
  return set === x || (set instanceof Set && set.has(x));
}

export function memberCount<T extends object>(set: SmallSet<T>): number {
  if (set === undefined) return 0;
  return set instanceof Set ? set.size : 1;
}

/** The members, as a copy: safe to iterate while members leave. */
export function membersOf<T extends object>(set: SmallSet<T>): T[] {
  if (set === undefined) return [];
  return set instanceof Set ? [...set] : [set];
}

// Destinations as the admin API shows them. Each node knows its own subscribers and publish rates;
// the broker knows what is stored (queue depth, pending entries, history). A cluster-wide answer
// merges the nodes' views, adds what only the broker knows of, and asks the broker for the stats
// of the rows it returns.
import { DestinationKind, type Destination } from '@stompede/admin-api';
import type { DestinationTarget } from '@stompede/broker-api';
import { resolveDestination, USER_STREAM_PREFIX, type Hub } from '@stompede/session';
import type { NodeHost } from './host.js';

export interface DestinationQuery {
  /** Empty: every vhost. */
  readonly vhost: string;
  readonly prefix: string;
}

/** This node's destinations: with subscribers here, or published to through here lately. */
export function localDestinations(hub: Hub, nodeId: string, query: DestinationQuery): Destination[] {
  const out: Destination[] = [];
  const counts = hub.router.publishCounts;
  for (const vhost of vhostsOf(hub, query)) {
    const seen = new Set<string>();
    for (const d of hub.router.localDestinations(vhost)) {
      if (!d.name.startsWith(query.prefix)) continue;
      seen.add(d.name);
      const row = emptyRow(vhost, d.name, d.kind === 'topic' ? DestinationKind.DESTINATION_KIND_TOPIC : DestinationKind.DESTINATION_KIND_QUEUE);
      row.pattern = d.pattern;
      row.subscribers = d.subscribers;
      row.subscribersByNode = [{ nodeId, subscribers: d.subscribers }];
      row.publishRate = d.pattern ? 0 : counts.rate(vhost, d.name);
      out.push(row);
    }
    for (const name of counts.destinations(vhost)) {
      const resolved = resolve(hub, name);
      if (seen.has(name) || !name.startsWith(query.prefix) || resolved === undefined) continue;
      const row = emptyRow(vhost, name, resolved.kind);
      row.subscribersByNode = [{ nodeId, subscribers: 0 }];
      row.publishRate = counts.rate(vhost, name);
      out.push(row);
    }
  }
  return out;
}

/** Sums the views of several nodes (one row per destination), keyed for sorting. */
export function mergeViews(views: readonly (readonly Destination[])[]): Map<string, Destination> {
  const merged = new Map<string, Destination>();
  for (const view of views) {
    for (const d of view) {
      const key = sortKey(d);
      const row = merged.get(key);
      if (row === undefined) {
        merged.set(key, { ...d, subscribersByNode: [...d.subscribersByNode] });
        continue;
      }
      row.subscribers += d.subscribers;
      row.publishRate += d.publishRate;
      row.subscribersByNode.push(...d.subscribersByNode);
    }
  }
  return merged;
}

/** Adds the destinations the broker holds something for (and nobody subscribes to). */
export async function addKnown(host: NodeHost, merged: Map<string, Destination>, query: DestinationQuery): Promise<void> {
  for (const vhost of vhostsOf(host.hub, query)) {
    const known = await host.inspector.knownDestinations(vhost);
    const add = (name: string, kind: DestinationKind): void => {
      if (!name.startsWith(query.prefix)) return;
      const row = emptyRow(vhost, name, kind);
      const key = sortKey(row);
      if (!merged.has(key)) merged.set(key, row);
    };
    for (const name of known.topics) add(name, DestinationKind.DESTINATION_KIND_TOPIC);
    for (const name of known.queues) add(name, DestinationKind.DESTINATION_KIND_QUEUE);
  }
}

/** Fills in depth, pending and history length from the broker (patterns have none). */
export async function addStats(host: NodeHost, rows: readonly Destination[]): Promise<void> {
  const byVhost = new Map<string, Destination[]>();
  for (const row of rows) {
    if (row.pattern) continue;
    const list = byVhost.get(row.vhost) ?? [];
    list.push(row);
    byVhost.set(row.vhost, list);
  }
  for (const [vhost, list] of byVhost) {
    const targets: DestinationTarget[] = list.map((r) => ({ name: r.name, kind: r.kind === DestinationKind.DESTINATION_KIND_QUEUE ? 'queue' : 'topic' }));
    const stats = await host.inspector.destinationStats(vhost, targets);
    list.forEach((row, i) => {
      row.queueDepth = stats[i]!.depth;
      row.queuePending = stats[i]!.pending;
      row.historyLength = stats[i]!.historyLength;
    });
  }
}

/** Rows sort by vhost, then name, then kind; page tokens carry the same three. */
export function sortKey(d: Pick<Destination, 'vhost' | 'name' | 'kind'>): string {
  return `${d.vhost}\u0000${d.name}\u0000${d.kind}`;
}

/** What a name is on this node (a topic or a queue, a pattern or not); undefined for names no prefix maps. */
export function resolve(hub: Hub, name: string): { kind: DestinationKind; pattern: boolean } | undefined {
  // The topic streams behind user destinations, which clients cannot name but operators look at.
  if (name.startsWith(USER_STREAM_PREFIX) && name.indexOf('/', USER_STREAM_PREFIX.length) > USER_STREAM_PREFIX.length) {
    return { kind: DestinationKind.DESTINATION_KIND_TOPIC, pattern: false };
  }
  const d = resolveDestination(name, 'subscribe', hub.config.destinationPrefixes);
  if ('error' in d || d.kind === 'reply') return undefined;
  return { kind: d.kind === 'topic' ? DestinationKind.DESTINATION_KIND_TOPIC : DestinationKind.DESTINATION_KIND_QUEUE, pattern: d.wildcard };
}

export function emptyRow(vhost: string, name: string, kind: DestinationKind): Destination {
  return {
    vhost,
    name,
    kind,
    pattern: false,
    subscribers: 0,
    subscribersByNode: [],
    publishRate: 0,
    queueDepth: 0,
    queuePending: 0,
    historyLength: 0,
  };
}

function vhostsOf(hub: Hub, query: DestinationQuery): readonly string[] {
  return query.vhost === '' ? hub.config.vhosts : hub.config.vhosts.filter((v) => v === query.vhost);
}

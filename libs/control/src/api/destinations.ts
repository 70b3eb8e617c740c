// ListDestinations and GetDestination. A node answers for itself from its router (subscribers,
// publish rates) and the broker (stored messages); a cluster-wide answer merges every node's view.
import {
  type Destination,
  type GetDestinationRequest,
  type GetDestinationResponse,
  type ListDestinationsRequest,
  type ListDestinationsResponse,
  type UnreachableNode,
} from '@stompede/admin-api';
import { addKnown, addStats, emptyRow, localDestinations, mergeViews, resolve, sortKey, type DestinationQuery } from '../destination-view.js';
import { invalidArgument, notFound } from '../errors.js';
import { decodeDestinationToken, encodeToken, pageSize } from '../paging.js';
import { describeError, type PeerRecord } from '../peers.js';
import { askPeer, resolveTarget, type ApiContext } from './context.js';

export async function listDestinations(ctx: ApiContext, request: ListDestinationsRequest): Promise<ListDestinationsResponse> {
  const size = pageSize(request.pageSize, ctx.limits.maxPageSize);
  const cursor = decodeDestinationToken(request.pageToken);
  const query: DestinationQuery = { vhost: request.vhost, prefix: request.prefix };
  const unreachableNodes: UnreachableNode[] = [];
  let merged: Map<string, Destination>;
  if (request.nodeId !== '') {
    const target = await resolveTarget(ctx, request.nodeId);
    if (!target.self) return askPeer(target.peer, () => ctx.peers.listDestinations(target.peer, request));
    merged = mergeViews([localDestinations(ctx.host.hub, ctx.host.nodeId, query)]);
  } else {
    const views = [localDestinations(ctx.host.hub, ctx.host.nodeId, query)];
    for (const peer of await ctx.peers.list()) {
      try {
        views.push(await peerView(ctx, peer, query));
      } catch (err) {
        unreachableNodes.push({ nodeId: peer.id, error: describeError(err) });
      }
    }
    merged = mergeViews(views);
    await addKnown(ctx.host, merged, query);
  }
  const after = cursor === undefined ? '' : sortKey(cursor);
  const keys = [...merged.keys()].filter((k) => k > after).sort();
  const rows = keys.slice(0, size).map((k) => merged.get(k)!);
  await addStats(ctx.host, rows);
  const last = rows.at(-1);
  const nextPageToken = keys.length > size && last !== undefined ? encodeToken({ vhost: last.vhost, name: last.name, kind: last.kind }) : '';
  return { destinations: rows, nextPageToken, unreachableNodes };
}

/** Every destination a peer has (all its pages). */
async function peerView(ctx: ApiContext, peer: PeerRecord, query: DestinationQuery): Promise<Destination[]> {
  const rows: Destination[] = [];
  let pageToken = '';
  do {
    const page = await ctx.peers.listDestinations(peer, { ...query, nodeId: peer.id, pageSize: ctx.limits.maxPageSize, pageToken });
    rows.push(...page.destinations);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return rows;
}

export async function getDestination(ctx: ApiContext, request: GetDestinationRequest): Promise<GetDestinationResponse> {
  const hub = ctx.host.hub;
  const vhost = request.vhost === '' ? hub.config.vhosts[0]! : request.vhost;
  if (!hub.config.vhosts.includes(vhost)) throw notFound(`no vhost ${JSON.stringify(vhost)} (STOMPEDE_VHOSTS is ${hub.config.vhosts.join(',')})`);
  const resolved = resolve(hub, request.name);
  if (resolved === undefined) throw invalidArgument(`${JSON.stringify(request.name.slice(0, 200))} is not a destination or pattern this broker maps (STOMPEDE_DESTINATION_PREFIXES)`);
  const { kind, pattern } = resolved;
  if (request.nodeId !== '') {
    const target = await resolveTarget(ctx, request.nodeId);
    if (!target.self) return askPeer(target.peer, () => ctx.peers.getDestination(target.peer, request));
  }
  const query: DestinationQuery = { vhost, prefix: request.name };
  const pick = (view: readonly Destination[]): Destination[] => view.filter((d) => d.name === request.name && d.kind === kind);
  const unreachableNodes: UnreachableNode[] = [];
  const views = [pick(localDestinations(hub, ctx.host.nodeId, query))];
  if (request.nodeId === '') {
    for (const peer of await ctx.peers.list()) {
      try {
        const answer = await ctx.peers.getDestination(peer, { ...request, vhost, nodeId: peer.id });
        if (answer.destination !== undefined && answer.destination.subscribersByNode.length > 0) views.push([answer.destination]);
      } catch (err) {
        unreachableNodes.push({ nodeId: peer.id, error: describeError(err) });
      }
    }
  }
  const row = mergeViews(views).values().next().value ?? { ...emptyRow(vhost, request.name, kind), pattern };
  await addStats(ctx.host, [row]);
  return { destination: row, unreachableNodes };
}

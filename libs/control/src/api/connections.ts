// ListConnections and CloseConnection. A cluster-wide listing walks the nodes in id order and
// each node's sessions in the order they connected; the page token says where it stopped.
import type {
  CloseConnectionRequest,
  CloseConnectionResponse,
  Connection,
  ListConnectionsRequest,
  ListConnectionsResponse,
  UnreachableNode,
} from '@stompede/admin-api';
import { closeByAdmin } from '@stompede/session';
import { listConnections as localPage, type ConnectionFilter } from '../connection-view.js';
import { invalidArgument, notFound } from '../errors.js';
import { decodeConnectionToken, encodeToken, pageSize, type ConnectionCursor } from '../paging.js';
import { describeError, type PeerRecord } from '../peers.js';
import { askPeer, resolveTarget, type ApiContext } from './context.js';

/** One node's rows after a cursor; `more` is the cursor of the next row on that node, if any. */
interface NodePage {
  readonly rows: Connection[];
  readonly more: ConnectionCursor | undefined;
}

export async function listConnections(ctx: ApiContext, request: ListConnectionsRequest): Promise<ListConnectionsResponse> {
  const size = pageSize(request.pageSize, ctx.limits.maxPageSize);
  const cursor = decodeConnectionToken(request.pageToken);
  const filter: ConnectionFilter = { login: request.login, remoteAddress: request.remoteAddress, destination: request.destination };
  if (request.nodeId !== '') {
    const target = await resolveTarget(ctx, request.nodeId);
    if (!target.self) return askPeer(target.peer, () => ctx.peers.listConnections(target.peer, request));
    if (cursor !== undefined && cursor.node !== ctx.host.nodeId) throw invalidArgument('page_token belongs to a listing of another node');
    const page = selfPage(ctx, filter, cursor?.after ?? 0, size);
    return { connections: page.rows, nextPageToken: page.more ? encodeToken(page.more) : '', unreachableNodes: [] };
  }
  return clusterPage(ctx, filter, cursor, size);
}

async function clusterPage(ctx: ApiContext, filter: ConnectionFilter, cursor: ConnectionCursor | undefined, size: number): Promise<ListConnectionsResponse> {
  const nodes = await clusterOrder(ctx);
  const rows: Connection[] = [];
  const unreachableNodes: UnreachableNode[] = [];
  let next: ConnectionCursor | undefined;
  for (const node of nodes) {
    if (cursor !== undefined && node.id < cursor.node) continue;
    const after = cursor !== undefined && node.id === cursor.node ? cursor.after : 0;
    // Once the page is full, one row is enough to know whether another page follows.
    const want = rows.length < size ? size - rows.length : 1;
    let page: NodePage;
    try {
      page = await nodePage(ctx, node.peer, filter, after, want);
    } catch (err) {
      if (rows.length === size) return done(rows, { node: node.id, after }, unreachableNodes);
      unreachableNodes.push({ nodeId: node.id, error: describeError(err) });
      continue;
    }
    if (rows.length === size) {
      if (page.rows.length > 0) return done(rows, { node: node.id, after }, unreachableNodes);
      continue;
    }
    rows.push(...page.rows);
    next = page.more;
    if (next !== undefined) return done(rows, next, unreachableNodes);
  }
  return done(rows, undefined, unreachableNodes);
}

function done(rows: Connection[], next: ConnectionCursor | undefined, unreachableNodes: UnreachableNode[]): ListConnectionsResponse {
  return { connections: rows, nextPageToken: next === undefined ? '' : encodeToken(next), unreachableNodes };
}

/** The answering node and its peers, by id (`peer` undefined for the answering node). */
async function clusterOrder(ctx: ApiContext): Promise<{ id: string; peer: PeerRecord | undefined }[]> {
  const peers = await ctx.peers.list();
  const nodes = [{ id: ctx.host.nodeId, peer: undefined as PeerRecord | undefined }, ...peers.map((p) => ({ id: p.id, peer: p }))];
  return nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function nodePage(ctx: ApiContext, peer: PeerRecord | undefined, filter: ConnectionFilter, after: number, limit: number): Promise<NodePage> {
  if (peer === undefined) return selfPage(ctx, filter, after, limit);
  const response = await ctx.peers.listConnections(peer, {
    ...filter,
    nodeId: peer.id,
    pageSize: Math.min(limit, ctx.limits.maxPageSize),
    pageToken: after > 0 ? encodeToken({ node: peer.id, after }) : '',
  });
  return { rows: response.connections, more: decodeConnectionToken(response.nextPageToken) };
}

function selfPage(ctx: ApiContext, filter: ConnectionFilter, after: number, limit: number): NodePage {
  const page = localPage(ctx.host.hub, ctx.host.nodeId, filter, after, limit);
  return { rows: page.rows, more: page.more === undefined ? undefined : { node: ctx.host.nodeId, after: page.more } };
}

export async function closeConnection(ctx: ApiContext, request: CloseConnectionRequest): Promise<CloseConnectionResponse> {
  const colon = request.sessionId.indexOf(':');
  if (colon < 1) throw invalidArgument(`session_id must be "<node id>:<session>" as ListConnections gives it, got ${JSON.stringify(request.sessionId.slice(0, 80))}`);
  const reason = request.reason === '' ? 'no reason given' : request.reason;
  if (reason.length > ctx.limits.maxReasonLength || /[\u0000-\u001f\u007f]/.test(reason)) {
    throw invalidArgument(`reason must be one line of at most ${ctx.limits.maxReasonLength} characters`);
  }
  const target = await resolveTarget(ctx, request.sessionId.slice(0, colon));
  if (!target.self) return askPeer(target.peer, () => ctx.peers.closeConnection(target.peer, request));
  const session = ctx.host.hub.find(request.sessionId.slice(colon + 1));
  if (session === undefined) throw notFound(`no connection ${request.sessionId} (it may have closed already)`);
  closeByAdmin(session, reason);
  return { nodeId: ctx.host.nodeId };
}

// ListNodes and GetNode.
import type { GetNodeRequest, GetNodeResponse, ListNodesResponse, Node } from '@stompede/admin-api';
import { describeNode, unreachableNode } from '../node-view.js';
import { describeError } from '../peers.js';
import { askPeer, resolveTarget, type ApiContext } from './context.js';

export function selfNode(ctx: ApiContext): Node {
  return describeNode(ctx.host, ctx.sampler, ctx.drainer);
}

/** The answering node first, then its peers by id; a peer that does not answer is listed as unreachable. */
export async function listNodes(ctx: ApiContext): Promise<ListNodesResponse> {
  const peers = await ctx.peers.list();
  const answers = await Promise.all(peers.map(async (peer): Promise<Node> => {
    try {
      const { node } = await ctx.peers.getNode(peer, { nodeId: peer.id });
      return node ?? unreachableNode(peer, 'empty answer');
    } catch (err) {
      return unreachableNode(peer, describeError(err));
    }
  }));
  return { nodes: [selfNode(ctx), ...answers] };
}

export async function getNode(ctx: ApiContext, request: GetNodeRequest): Promise<GetNodeResponse> {
  const target = await resolveTarget(ctx, request.nodeId);
  if (target.self) return { node: selfNode(ctx) };
  return askPeer(target.peer, () => ctx.peers.getNode(target.peer, { nodeId: target.peer.id }));
}

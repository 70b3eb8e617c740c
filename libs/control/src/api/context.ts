// What every admin call works with, and how a call picks the node it is about: the answering node
// itself, or a peer from the registry.
import { status } from '@grpc/grpc-js';
import type { Drainer } from '../drain.js';
import { AdminError, invalidArgument, notFound } from '../errors.js';
import type { NodeHost } from '../host.js';
import { describeError, unreachable, type PeerRecord, type Peers } from '../peers.js';
import type { NodeSampler } from '../sampler.js';

export interface AdminLimits {
  readonly maxPageSize: number;
  readonly minStatsIntervalMs: number;
  /** Drain settings used when a Drain call leaves them unset (and by SIGTERM). */
  readonly drainGraceMs: number;
  readonly drainWindowMs: number;
  /** Longest grace or window a Drain call may ask for. */
  readonly maxDrainMs: number;
  /** Longest CloseConnection reason, in characters. */
  readonly maxReasonLength: number;
}

export interface AdminLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ApiContext {
  readonly host: NodeHost;
  readonly sampler: NodeSampler;
  readonly drainer: Drainer;
  readonly peers: Peers;
  readonly limits: AdminLimits;
  readonly log: AdminLog;
}

/** The node a request names: this one (`self`), or a peer. */
export type Target = { readonly self: true } | { readonly self: false; readonly peer: PeerRecord };

const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Resolves a request's node_id; empty means the answering node. */
export async function resolveTarget(ctx: ApiContext, nodeId: string): Promise<Target> {
  if (nodeId === '' || nodeId === ctx.host.nodeId) return { self: true };
  if (!NODE_ID.test(nodeId)) throw invalidArgument(`node_id must be 1-64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(nodeId.slice(0, 80))}`);
  const peer = await ctx.peers.find(nodeId);
  if (peer === undefined) throw notFound(`no node ${nodeId} in the cluster registry`);
  return { self: false, peer };
}

/**
 * Calls a peer for a request that is about that peer alone: a peer that cannot be reached is
 * UNAVAILABLE; a refusal from the peer keeps its own status.
 */
export async function askPeer<T>(peer: PeerRecord, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw peerError(peer, err);
  }
}

/** What the caller gets when a peer call fails: UNAVAILABLE if unreachable, else the peer's own status. */
export function peerError(peer: PeerRecord, err: unknown): AdminError {
  if (unreachable(err)) return new AdminError(status.UNAVAILABLE, `node ${peer.id} did not answer: ${describeError(err)}`);
  return new AdminError((err as { code: number }).code, describeError(err));
}

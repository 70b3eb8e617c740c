// Drain and Undrain. The answering node drains itself or relays the call to the peer named.
import { DrainPhase, msFromDuration, NodeState, type Duration, type DrainRequest, type DrainResponse, type UndrainRequest, type UndrainResponse } from '@stompede/admin-api';
import { invalidArgument } from '../errors.js';
import { askPeer, peerError, resolveTarget, type ApiContext } from './context.js';
import { relay, type Sink } from './sink.js';

export async function drain(ctx: ApiContext, request: DrainRequest, sink: Sink<DrainResponse>): Promise<void> {
  const target = await resolveTarget(ctx, request.nodeId);
  if (!target.self) {
    const peer = target.peer;
    relay(ctx.peers.drain(peer, { ...request, nodeId: peer.id }), sink, (err) => peerError(peer, err));
    return;
  }
  const graceMs = drainDuration(request.grace, 'grace', ctx.limits.drainGraceMs, ctx.limits.maxDrainMs);
  const windowMs = drainDuration(request.window, 'window', ctx.limits.drainWindowMs, ctx.limits.maxDrainMs);
  ctx.drainer.start({ graceMs, windowMs, shutdown: false });
  followDrain(ctx, sink);
}

/** Streams the node's drain progress until it ends; the caller going away leaves the drain running. */
function followDrain(ctx: ApiContext, sink: Sink<DrainResponse>): void {
  const nodeId = ctx.host.nodeId;
  const stop = ctx.drainer.onProgress((s) => {
    sink.write({ nodeId, status: s, time: new Date() });
    if (s.phase === DrainPhase.DRAIN_PHASE_DRAINED || s.phase === DrainPhase.DRAIN_PHASE_CANCELLED) {
      stop();
      sink.end();
    }
  });
  sink.onCancel(stop);
  const now = ctx.drainer.status();
  if (now !== undefined) sink.write({ nodeId, status: now, time: new Date() });
}

function drainDuration(d: Duration | undefined, name: string, fallbackMs: number, maxMs: number): number {
  if (d === undefined) return fallbackMs;
  const ms = msFromDuration(d);
  if (Number.isNaN(ms) || ms > maxMs) throw invalidArgument(`${name} must be between 0 and ${maxMs} ms (STOMPEDE_ADMIN_MAX_DRAIN_MS)`);
  return ms;
}

export async function undrain(ctx: ApiContext, request: UndrainRequest): Promise<UndrainResponse> {
  const target = await resolveTarget(ctx, request.nodeId);
  if (!target.self) return askPeer(target.peer, () => ctx.peers.undrain(target.peer, { nodeId: target.peer.id }));
  await ctx.drainer.cancel();
  return { nodeId: ctx.host.nodeId, state: NodeState.NODE_STATE_SERVING };
}

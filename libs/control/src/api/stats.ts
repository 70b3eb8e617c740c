// WatchStats: the counters of /metrics, of one node or of every node, every `interval`. The first
// snapshot goes out at once (which is also how a node asks a peer for one snapshot).
import { msFromDuration, type NodeStats, type WatchStatsRequest, type WatchStatsResponse } from '@stompede/admin-api';
import { invalidArgument } from '../errors.js';
import { describeError, type PeerRecord } from '../peers.js';
import { peerError, resolveTarget, type ApiContext } from './context.js';
import { relay, type Sink } from './sink.js';

const DEFAULT_INTERVAL_MS = 5_000;
const MAX_INTERVAL_MS = 3_600_000;
const MAX_NAMES = 100;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export async function watchStats(ctx: ApiContext, request: WatchStatsRequest, sink: Sink<WatchStatsResponse>): Promise<void> {
  const intervalMs = checkInterval(ctx, request);
  checkNames(request.names);
  const target = await resolveTarget(ctx, request.nodeId);
  if (!target.self) {
    const peer = target.peer;
    relay(ctx.peers.watchStatsStream(peer, { ...request, nodeId: peer.id }), sink, (err) => peerError(peer, err));
    return;
  }
  const clusterWide = request.nodeId === '';
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return; // a slow peer: skip a beat rather than pile snapshots up
    busy = true;
    try {
      const nodes = [await selfStats(ctx, request.names)];
      if (clusterWide) nodes.push(...(await peerStats(ctx, request)));
      sink.write({ time: new Date(), nodes });
    } catch (err) {
      ctx.log.warn({ err: String(err) }, 'WatchStats snapshot failed');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  sink.onCancel(() => clearInterval(timer));
  await tick();
}

async function selfStats(ctx: ApiContext, names: readonly string[]): Promise<NodeStats> {
  return { nodeId: ctx.host.nodeId, reachable: true, error: '', samples: await ctx.host.metricSamples(names) };
}

async function peerStats(ctx: ApiContext, request: WatchStatsRequest): Promise<NodeStats[]> {
  const peers = await ctx.peers.list();
  return Promise.all(peers.map(async (peer: PeerRecord): Promise<NodeStats> => {
    try {
      const answer = await ctx.peers.firstStats(peer, { nodeId: peer.id, interval: undefined, names: request.names });
      return answer.nodes[0] ?? { nodeId: peer.id, reachable: false, error: 'empty answer', samples: [] };
    } catch (err) {
      return { nodeId: peer.id, reachable: false, error: describeError(err), samples: [] };
    }
  }));
}

function checkInterval(ctx: ApiContext, request: WatchStatsRequest): number {
  if (request.interval === undefined) return Math.max(DEFAULT_INTERVAL_MS, ctx.limits.minStatsIntervalMs);
  const ms = msFromDuration(request.interval);
  if (Number.isNaN(ms) || ms < ctx.limits.minStatsIntervalMs || ms > MAX_INTERVAL_MS) {
    throw invalidArgument(`interval must be between ${ctx.limits.minStatsIntervalMs} ms (STOMPEDE_ADMIN_MIN_STATS_INTERVAL_MS) and 1 h`);
  }
  return ms;
}

function checkNames(names: readonly string[]): void {
  if (names.length > MAX_NAMES) throw invalidArgument(`at most ${MAX_NAMES} metric names, got ${names.length}`);
  const bad = names.find((n) => !METRIC_NAME.test(n));
  if (bad !== undefined) throw invalidArgument(`${JSON.stringify(bad.slice(0, 80))} is not a metric name`);
}

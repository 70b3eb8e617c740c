// Following a drain to its end: through the Drain stream, or, when someone else started the
// drain, by polling the node until it has drained or serves again.
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { DrainPhase, DrainStatus, NodeState, type DrainResponse } from '@stompede/admin-api';
import type { AdminApi } from '../client.js';
import { isStatusError } from '../exit.js';
import { note } from '../output.js';
import type { MessageStream } from '../stream.js';
import type { DrainReporter } from './progress.js';

/** How the drain ended; `stopped` when we stopped watching before it did. */
export type DrainOutcome = 'drained' | 'cancelled' | 'stopped';

const POLL_INTERVAL_MS = 500;

/** Follows a drain just asked for, to its end (or until `signal` stops us). */
export async function followDrain(
  api: AdminApi,
  stream: MessageStream<DrainResponse>,
  nodeId: string,
  reporter: DrainReporter,
  signal: AbortSignal,
): Promise<DrainOutcome> {
  const first = await firstStatusUnlessDraining(stream, nodeId);
  if (first === ALREADY_DRAINING) return pollDrain(api, nodeId, reporter, signal);
  if (first === undefined) return 'stopped';
  reporter.update(first);
  return followDrainStream(stream, reporter);
}

const ALREADY_DRAINING = Symbol('already draining');

/** The stream's first status, or ALREADY_DRAINING when someone else's drain is under way. */
async function firstStatusUnlessDraining(
  stream: MessageStream<DrainResponse>,
  nodeId: string,
): Promise<DrainResponse | undefined | typeof ALREADY_DRAINING> {
  try {
    return await stream.next();
  } catch (error) {
    if (!isStatusError(error) || error.code !== status.FAILED_PRECONDITION) throw error;
    note(`${nodeId} is already draining (${error.details}); waiting for that drain to end`);
    return ALREADY_DRAINING;
  }
}

/** Reads the stream (its first message already reported) until the drain ends. */
async function followDrainStream(stream: MessageStream<DrainResponse>, reporter: DrainReporter): Promise<DrainOutcome> {
  for (let message = await stream.next(); message !== undefined; message = await stream.next()) {
    reporter.update(message);
    const phase = message.status?.phase;
    if (phase === DrainPhase.DRAIN_PHASE_DRAINED) return 'drained';
    if (phase === DrainPhase.DRAIN_PHASE_CANCELLED) return 'cancelled';
  }
  return 'stopped';
}

/** Polls GetNode until the node has drained or serves again (the drain was cancelled). */
async function pollDrain(api: AdminApi, nodeId: string, reporter: DrainReporter, signal: AbortSignal): Promise<DrainOutcome> {
  let lastReported = '';
  while (!signal.aborted) {
    const { node } = await api.getNode(nodeId);
    const reported = node?.drain === undefined ? lastReported : JSON.stringify(DrainStatus.toJSON(node.drain));
    // Each poll repeats the status; only changes are news.
    if (node?.drain !== undefined && reported !== lastReported) reporter.update({ nodeId, status: node.drain, time: new Date() });
    lastReported = reported;
    if (node?.state === NodeState.NODE_STATE_DRAINED) return 'drained';
    if (node?.state === NodeState.NODE_STATE_SERVING) return 'cancelled';
    await sleep(POLL_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
  }
  return 'stopped';
}

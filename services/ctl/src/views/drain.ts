// A drain's progress in words, shared by `node` and `drain`.
import { DrainPhase, drainPhaseToJSON, type DrainStatus } from '@stompede/admin-api';
import { enumLabel } from '../format.js';

export function drainPhaseLabel(phase: DrainPhase): string {
  return enumLabel(drainPhaseToJSON(phase), 'DRAIN_PHASE_');
}

/** "closing, 12 of 40 clients left"; during the grace nobody is being closed yet. */
export function drainSummary(status: DrainStatus): string {
  const phase = drainPhaseLabel(status.phase);
  if (status.phase === DrainPhase.DRAIN_PHASE_GRACE) return `${phase}, ${status.clientsLeft} clients connected`;
  return `${phase}, ${status.clientsLeft} of ${status.clientsAtStart} clients left`;
}

/** "node-1: closing, 12 of 40 clients left". */
export function drainLine(nodeId: string, status: DrainStatus): string {
  return `${nodeId}: ${drainSummary(status)}`;
}

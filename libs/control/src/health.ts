// The standard gRPC health service (grpc.health.v1) with one service name for liveness and one for
// readiness, so Kubernetes' native gRPC probes can tell "restart me" from "send me no traffic".
// It answers from state the node sets (never from Redis), so a probe is never slower than a map
// lookup. The empty name, which probes use when they name no service, follows liveness: a probe
// left at its default must not restart a node for draining.
import { HealthImplementation } from 'grpc-health-check';
import type { Server } from '@grpc/grpc-js';

export const LIVENESS_SERVICE = 'stompede.liveness';
export const READINESS_SERVICE = 'stompede.readiness';

export class HealthState {
  private readonly health = new HealthImplementation({
    '': 'SERVING',
    [LIVENESS_SERVICE]: 'SERVING',
    [READINESS_SERVICE]: 'NOT_SERVING',
  });
  private isReady = false;

  get ready(): boolean {
    return this.isReady;
  }

  setReady(ready: boolean): void {
    this.isReady = ready;
    this.health.setStatus(READINESS_SERVICE, ready ? 'SERVING' : 'NOT_SERVING');
  }

  /** The process is stopping: everything reports NOT_SERVING to the last. */
  setStopping(): void {
    this.setReady(false);
    this.health.setStatus(LIVENESS_SERVICE, 'NOT_SERVING');
    this.health.setStatus('', 'NOT_SERVING');
  }

  addTo(server: Server): void {
    this.health.addToServer(server);
  }
}

export { ControlPlane, type ControlPlaneOptions, type AdminAuthMode } from './control-plane.js';
export type { NodeHost } from './host.js';
export type { DrainHooks, NodeState } from './drain.js';
export type { PeerRecord, PeerDirectory } from './peers.js';
export type { AdminLimits, AdminLog } from './api/context.js';
export type { AdminAuth, AdminTls } from './server.js';
export { LIVENESS_SERVICE, READINESS_SERVICE } from './health.js';
export type { ClusterView, ClusterViewAnswer, ClusterViewNode } from './cluster-view.js';

// A node's control plane: the admin gRPC server, health, and the drain, wired to the node through
// NodeHost (what it inspects) and DrainHooks (what a drain switches).
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { Node } from '@stompede/admin-api';
import type { ApiContext, AdminLimits, AdminLog } from './api/context.js';
import { listNodes } from './api/nodes.js';
import { ClusterView } from './cluster-view.js';
import { Drainer, type DrainHooks, type DrainPlan } from './drain.js';
import { HealthState } from './health.js';
import type { NodeHost } from './host.js';
import { describeNode } from './node-view.js';
import { Peers, type PeerDirectory } from './peers.js';
import { NodeSampler } from './sampler.js';
import { AdminServer, type AdminAuth, type AdminServerOptions } from './server.js';

export type AdminAuthMode = AdminAuth['kind'];

export interface ControlPlaneOptions {
  readonly host: NodeHost;
  /** Listeners and the registry; readiness is the control plane's own. */
  readonly hooks: Omit<DrainHooks, 'setReady'>;
  readonly directory: PeerDirectory;
  /** undefined: no admin port (the drain and health state still serve SIGTERM and /readyz). */
  readonly server: (Omit<AdminServerOptions, 'auth'> & { readonly auth: AdminAuthMode }) | undefined;
  readonly limits: AdminLimits;
  readonly peerTimeoutMs: number;
  readonly log: AdminLog;
}

export class ControlPlane {
  readonly health = new HealthState();
  readonly drainer: Drainer;
  private readonly sampler: NodeSampler;
  private peers: Peers | undefined;
  private server: AdminServer | undefined;
  private ctx: ApiContext | undefined;
  /** The read-only cluster summary of the demo page (cluster-view.ts). */
  readonly clusterView: ClusterView;

  constructor(private readonly o: ControlPlaneOptions) {
    this.drainer = new Drainer(o.host.hub, o.host.nodeId, { ...o.hooks, setReady: (ready) => this.health.setReady(ready) });
    this.sampler = new NodeSampler(o.host.hub.metrics);
    this.clusterView = new ClusterView(o.host.nodeId, () => this.clusterNodes());
  }

  /** Every node as ListNodes sees it; this node alone when the admin API (and so peer calls) is off. */
  private async clusterNodes(): Promise<readonly Node[]> {
    if (this.ctx === undefined) return [describeNode(this.o.host, this.sampler, this.drainer)];
    return (await listNodes(this.ctx)).nodes;
  }

  /**
   * Starts sampling and the admin server, whose token (auth mode "token") may only be known now (a
   * cluster agrees on a generated one through Redis). Resolves with the admin port, if any.
   */
  async start(token: string | undefined): Promise<number | undefined> {
    this.sampler.start();
    const server = this.o.server;
    if (server === undefined) return undefined;
    const auth = adminAuth(server.auth, token);
    this.peers = new Peers({
      selfId: this.o.host.nodeId,
      directory: this.o.directory,
      credentials: peerCredentials(server),
      token: auth.kind === 'token' ? auth.token : undefined,
      timeoutMs: this.o.peerTimeoutMs,
    });
    const ctx: ApiContext = { host: this.o.host, sampler: this.sampler, drainer: this.drainer, peers: this.peers, limits: this.o.limits, log: this.o.log };
    this.ctx = ctx;
    this.server = new AdminServer(ctx, this.health, { ...server, auth });
    return this.server.listen();
  }

  /** The node listens: readiness on, unless it drains. */
  serving(): void {
    this.health.setReady(this.drainer.state === 'serving');
  }

  /** The drain SIGTERM starts, with the configured grace and window (or the running drain, marked as the last). */
  shutdownDrain(): Promise<void> {
    if (this.drainer.state === 'serving') {
      const plan: DrainPlan = { graceMs: this.o.limits.drainGraceMs, windowMs: this.o.limits.drainWindowMs, shutdown: true };
      this.drainer.start(plan);
    } else {
      this.drainer.markShutdown();
    }
    return this.drainer.whenDrained();
  }

  async stop(): Promise<void> {
    this.health.setStopping();
    this.sampler.stop();
    this.peers?.close();
    await this.server?.close();
  }
}

function adminAuth(mode: AdminAuthMode, token: string | undefined): AdminAuth {
  if (mode !== 'token') return { kind: mode };
  if (token === undefined) throw new Error('admin auth is "token" but no token was given');
  return { kind: 'token', token };
}

/** Nodes call each other with the credentials they serve with: TLS (and their certificate with mTLS), or none. */
function peerCredentials(server: Pick<AdminServerOptions, 'tls'> & { readonly auth: AdminAuthMode }): ChannelCredentials {
  const tls = server.tls;
  if (tls === undefined) return grpcCredentials.createInsecure();
  const mtls = server.auth === 'mtls';
  return grpcCredentials.createSsl(tls.caPem ?? null, mtls ? tls.keyPem : null, mtls ? tls.certPem : null);
}

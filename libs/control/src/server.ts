// The node's admin endpoint: a gRPC server with the AdminService, the standard health service and
// server reflection (grpcurl works without the protos). Authentication is a bearer token checked by
// an interceptor, or mTLS; running without either is a choice the configuration must spell out.
// Kubernetes' gRPC probes can use neither TLS nor tokens, so health can also be served alone on a
// plaintext port of its own.
import { Server, ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import { reflectionPackageDefinition } from '@stompede/admin-api';
import { AdminServiceService } from '@stompede/admin-api';
import { ReflectionService } from '@grpc/reflection';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { bearerTokenInterceptor } from './auth.js';
import type { ApiContext } from './api/context.js';
import { adminService } from './grpc-service.js';
import type { HealthState } from './health.js';

export type AdminAuth = { readonly kind: 'token'; readonly token: string } | { readonly kind: 'mtls' } | { readonly kind: 'none' };

export interface AdminTls {
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  /** CA of client certificates; required with mTLS. */
  readonly caPem: Buffer | undefined;
}

export interface AdminServerOptions {
  readonly bind: string;
  readonly port: number;
  /** A plaintext port serving only grpc.health.v1, for probes; 0 = none (health is on the admin port). */
  readonly healthPort: number;
  readonly auth: AdminAuth;
  readonly tls: AdminTls | undefined;
  /** HTTP/2 streams one client connection may have open at once (WatchStats and Drain are long). */
  readonly maxConcurrentStreams: number;
}

/** How long close() lets calls in flight finish before cutting them. */
const CLOSE_GRACE_MS = 1_000;

export class AdminServer {
  private readonly admin: Server;
  private readonly healthOnly: Server | undefined;

  constructor(ctx: ApiContext, health: HealthState, private readonly o: AdminServerOptions) {
    const interceptors: ServerInterceptor[] = o.auth.kind === 'token' ? [bearerTokenInterceptor(o.auth.token)] : [];
    this.admin = new Server({ interceptors, 'grpc.max_concurrent_streams': o.maxConcurrentStreams });
    this.admin.addService(AdminServiceService, adminService(ctx));
    health.addTo(this.admin);
    new ReflectionService({ ...reflectionPackageDefinition(), ...loadSync(healthProtoPath) }).addToServer(this.admin);
    if (o.healthPort !== 0) {
      this.healthOnly = new Server();
      health.addTo(this.healthOnly);
    }
  }

  /** Binds the ports; resolves with the admin port (the real one when `port` is 0). */
  async listen(): Promise<number> {
    const port = await bind(this.admin, this.o.bind, this.o.port, credentials(this.o));
    if (this.healthOnly !== undefined) await bind(this.healthOnly, this.o.bind, this.o.healthPort, ServerCredentials.createInsecure());
    return port;
  }

  async close(): Promise<void> {
    await Promise.all([shutdown(this.admin), this.healthOnly === undefined ? undefined : shutdown(this.healthOnly)]);
  }
}

function credentials(o: AdminServerOptions): ServerCredentials {
  if (o.tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(o.tls.caPem ?? null, [{ cert_chain: o.tls.certPem, private_key: o.tls.keyPem }], o.auth.kind === 'mtls');
}

function bind(server: Server, host: string, port: number, creds: ServerCredentials): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, bound) => (err ? reject(new Error(`cannot listen on ${address} (admin gRPC): ${err.message}`)) : resolve(bound)));
  });
}

function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, CLOSE_GRACE_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// A gRPC client of a node's admin API, as operators' tools use it: the generated client with the
// bearer token in metadata, unary calls as promises, server streams collected, and the standard
// health service (what Kubernetes' gRPC probes speak).
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  type CallOptions,
  type ChannelCredentials,
  type ClientReadableStream,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  AdminServiceClient,
  type CloseConnectionRequest,
  type CloseConnectionResponse,
  type DrainRequest,
  type DrainResponse,
  type GetDestinationRequest,
  type GetDestinationResponse,
  type GetNodeResponse,
  type ListConnectionsRequest,
  type ListConnectionsResponse,
  type ListDestinationsRequest,
  type ListDestinationsResponse,
  type ListNodesResponse,
  type UndrainResponse,
  type WatchStatsRequest,
  type WatchStatsResponse,
} from '@stompede/admin-api';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { TEST_ADMIN_TOKEN, type BrokerHandle } from './broker-process.js';

type Callback<T> = (err: ServiceError | null, value?: T) => void;

/** null: no authorization metadata at all. */
export type Token = string | null;

export class AdminHandle {
  readonly client: AdminServiceClient;

  private readonly timeoutMs: number;

  constructor(
    target: BrokerHandle | string,
    private readonly token: Token = TEST_ADMIN_TOKEN,
    options: { readonly credentials?: ChannelCredentials; readonly timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.client = new AdminServiceClient(typeof target === 'string' ? target : target.adminAddress, options.credentials ?? credentials.createInsecure());
  }

  metadata(token: Token = this.token): Metadata {
    const md = new Metadata();
    if (token !== null) md.set('authorization', `Bearer ${token}`);
    return md;
  }

  listNodes(token?: Token): Promise<ListNodesResponse> {
    return this.unary((md, o, cb) => this.client.listNodes({}, md, o, cb), token);
  }

  getNode(nodeId: string, token?: Token): Promise<GetNodeResponse> {
    return this.unary((md, o, cb) => this.client.getNode({ nodeId }, md, o, cb), token);
  }

  listConnections(request: Partial<ListConnectionsRequest>, token?: Token): Promise<ListConnectionsResponse> {
    const full: ListConnectionsRequest = { nodeId: '', login: '', remoteAddress: '', destination: '', pageSize: 0, pageToken: '', ...request };
    return this.unary((md, o, cb) => this.client.listConnections(full, md, o, cb), token);
  }

  closeConnection(request: CloseConnectionRequest, token?: Token): Promise<CloseConnectionResponse> {
    return this.unary((md, o, cb) => this.client.closeConnection(request, md, o, cb), token);
  }

  listDestinations(request: Partial<ListDestinationsRequest>, token?: Token): Promise<ListDestinationsResponse> {
    const full: ListDestinationsRequest = { vhost: '', prefix: '', pageSize: 0, pageToken: '', nodeId: '', ...request };
    return this.unary((md, o, cb) => this.client.listDestinations(full, md, o, cb), token);
  }

  getDestination(request: Partial<GetDestinationRequest>, token?: Token): Promise<GetDestinationResponse> {
    const full: GetDestinationRequest = { vhost: '', name: '', nodeId: '', ...request };
    return this.unary((md, o, cb) => this.client.getDestination(full, md, o, cb), token);
  }

  undrain(nodeId: string, token?: Token): Promise<UndrainResponse> {
    return this.unary((md, o, cb) => this.client.undrain({ nodeId }, md, o, cb), token);
  }

  drain(request: Partial<DrainRequest>, token?: Token): ClientReadableStream<DrainResponse> {
    return this.client.drain({ nodeId: '', grace: undefined, window: undefined, ...request }, this.metadata(token));
  }

  watchStats(request: Partial<WatchStatsRequest>, token?: Token): ClientReadableStream<WatchStatsResponse> {
    return this.client.watchStats({ nodeId: '', interval: undefined, names: [], ...request }, this.metadata(token));
  }

  close(): void {
    this.client.close();
  }

  private unary<T>(invoke: (md: Metadata, options: Partial<CallOptions>, cb: Callback<T>) => unknown, token: Token | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      invoke(this.metadata(token === undefined ? this.token : token), { deadline: Date.now() + this.timeoutMs }, (err, value) => (err ? reject(err) : resolve(value!)));
    });
  }
}

/** Every message of a server stream until it ends; rejects with the stream's error. */
export function collect<T>(stream: ClientReadableStream<T>, onMessage?: (message: T) => void): Promise<T[]> {
  const out: T[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (m: T) => {
      out.push(m);
      onMessage?.(m);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

/** The gRPC status code of a rejected call. */
export function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface RawHealthClient {
  check(request: { service: string }, metadata: Metadata, options: Partial<CallOptions>, cb: Callback<{ status: ServingStatus }>): void;
  watch(request: { service: string }): ClientReadableStream<{ status: ServingStatus }>;
  close(): void;
}

/** A grpc.health.v1 client built from the standard health proto (not from our code). */
export class HealthProbe {
  private readonly client: RawHealthClient;

  constructor(address: string) {
    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true })) as unknown as {
      grpc: { health: { v1: { Health: ServiceClientConstructor } } };
    };
    this.client = new pkg.grpc.health.v1.Health(address, credentials.createInsecure()) as unknown as RawHealthClient;
  }

  /** Check, with a probe's short deadline and no credentials. */
  check(service: string, timeoutMs = 1_000): Promise<ServingStatus> {
    return new Promise((resolve, reject) =>
      this.client.check({ service }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, r) => (err ? reject(err) : resolve(r!.status))),
    );
  }

  watch(service: string): ClientReadableStream<{ status: ServingStatus }> {
    return this.client.watch({ service });
  }

  close(): void {
    this.client.close();
  }
}

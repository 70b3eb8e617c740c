// The other nodes of the cluster, as the admin API reaches them: found in the cluster registry,
// called over gRPC with the node's own credentials and a deadline on every call, so a peer that
// is down or stalled costs a call at most the deadline and is reported, never waited for.
import {
  AdminServiceClient,
  type CloseConnectionRequest,
  type CloseConnectionResponse,
  type DrainRequest,
  type DrainResponse,
  type GetDestinationRequest,
  type GetDestinationResponse,
  type GetNodeRequest,
  type GetNodeResponse,
  type ListConnectionsRequest,
  type ListConnectionsResponse,
  type ListDestinationsRequest,
  type ListDestinationsResponse,
  type UndrainRequest,
  type UndrainResponse,
  type WatchStatsRequest,
  type WatchStatsResponse,
} from '@stompede/admin-api';
import { Metadata, status, type CallOptions, type ChannelCredentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';

/** A node as the registry describes it. */
export interface PeerRecord {
  readonly id: string;
  /** host:port of its AdminService; empty if it has none (an older node). */
  readonly adminAddress: string;
  readonly version: string;
  readonly startedAt: number;
  readonly websocket: string;
  readonly tcp: string;
  /** Its drain state as it last announced it. */
  readonly state: string;
}

export interface PeerDirectory {
  /** Every live node of the cluster, this one included. */
  list(): Promise<PeerRecord[]>;
}

export interface PeersOptions {
  readonly selfId: string;
  readonly directory: PeerDirectory;
  readonly credentials: ChannelCredentials;
  /** Sent as `authorization: Bearer <token>`; nodes of one cluster share it. */
  readonly token: string | undefined;
  readonly timeoutMs: number;
}

type Callback<T> = (err: ServiceError | null, value?: T) => void;

export class Peers {
  private readonly clients = new Map<string, AdminServiceClient>();

  constructor(private readonly o: PeersOptions) {}

  /** The other live nodes, by id. */
  async list(): Promise<PeerRecord[]> {
    const all = await this.o.directory.list();
    const others = all.filter((p) => p.id !== this.o.selfId).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.forgetGone(others);
    return others;
  }

  async find(id: string): Promise<PeerRecord | undefined> {
    return (await this.list()).find((p) => p.id === id);
  }

  getNode(peer: PeerRecord, request: GetNodeRequest): Promise<GetNodeResponse> {
    return this.unary(peer, (c, md, opts, cb) => c.getNode(request, md, opts, cb));
  }

  listConnections(peer: PeerRecord, request: ListConnectionsRequest): Promise<ListConnectionsResponse> {
    return this.unary(peer, (c, md, opts, cb) => c.listConnections(request, md, opts, cb));
  }

  closeConnection(peer: PeerRecord, request: CloseConnectionRequest): Promise<CloseConnectionResponse> {
    return this.unary(peer, (c, md, opts, cb) => c.closeConnection(request, md, opts, cb));
  }

  listDestinations(peer: PeerRecord, request: ListDestinationsRequest): Promise<ListDestinationsResponse> {
    return this.unary(peer, (c, md, opts, cb) => c.listDestinations(request, md, opts, cb));
  }

  getDestination(peer: PeerRecord, request: GetDestinationRequest): Promise<GetDestinationResponse> {
    return this.unary(peer, (c, md, opts, cb) => c.getDestination(request, md, opts, cb));
  }

  undrain(peer: PeerRecord, request: UndrainRequest): Promise<UndrainResponse> {
    return this.unary(peer, (c, md, opts, cb) => c.undrain(request, md, opts, cb));
  }

  /** A drain's progress stream; no deadline, since a drain lasts as long as its window. */
  drain(peer: PeerRecord, request: DrainRequest): ClientReadableStream<DrainResponse> {
    return this.client(peer).drain(request, this.metadata(), {});
  }

  /** A peer's WatchStats stream, relayed to a caller who asked about that peer. */
  watchStatsStream(peer: PeerRecord, request: WatchStatsRequest): ClientReadableStream<WatchStatsResponse> {
    return this.client(peer).watchStats(request, this.metadata(), {});
  }

  /** The first snapshot of a peer's counters (its stream sends one at once), within the deadline. */
  firstStats(peer: PeerRecord, request: WatchStatsRequest): Promise<WatchStatsResponse> {
    return new Promise((resolve, reject) => {
      const stream = this.client(peer).watchStats(request, this.metadata(), this.options());
      stream.once('data', (response: WatchStatsResponse) => {
        resolve(response);
        stream.cancel();
      });
      stream.once('error', (err: ServiceError) => {
        if (err.code !== status.CANCELLED) reject(err);
      });
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private unary<T>(peer: PeerRecord, invoke: (c: AdminServiceClient, md: Metadata, opts: Partial<CallOptions>, cb: Callback<T>) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      invoke(this.client(peer), this.metadata(), this.options(), (err, value) => (err ? reject(err) : resolve(value!)));
    });
  }

  private client(peer: PeerRecord): AdminServiceClient {
    if (peer.adminAddress === '') throw Object.assign(new Error(`node ${peer.id} announces no admin address`), { code: status.UNAVAILABLE });
    let c = this.clients.get(peer.adminAddress);
    if (c === undefined) {
      c = new AdminServiceClient(peer.adminAddress, this.o.credentials);
      this.clients.set(peer.adminAddress, c);
    }
    return c;
  }

  private metadata(): Metadata {
    const md = new Metadata();
    if (this.o.token !== undefined) md.set('authorization', `Bearer ${this.o.token}`);
    return md;
  }

  private options(): Partial<CallOptions> {
    return { deadline: Date.now() + this.o.timeoutMs };
  }

  private forgetGone(peers: readonly PeerRecord[]): void {
    const live = new Set(peers.map((p) => p.adminAddress));
    for (const [address, c] of this.clients) {
      if (live.has(address)) continue;
      c.close();
      this.clients.delete(address);
    }
  }
}

/** Whether a peer call failed because the peer could not be reached (rather than refusing the request). */
export function unreachable(err: unknown): boolean {
  const code = (err as { code?: number }).code;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED || code === undefined;
}

export function describeError(err: unknown): string {
  return (err as { details?: string }).details || (err as Error).message || String(err);
}

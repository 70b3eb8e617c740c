// The admin API as promises: one AdminServiceClient, the token on every call, a deadline on
// every unary call and on the first message of every stream.
import { credentials, Metadata, type CallOptions, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  AdminServiceClient,
  CloseConnectionRequest,
  DrainRequest,
  GetDestinationRequest,
  GetNodeRequest,
  ListConnectionsRequest,
  ListDestinationsRequest,
  ListNodesRequest,
  UndrainRequest,
  WatchStatsRequest,
  type CloseConnectionResponse,
  type DrainResponse,
  type GetDestinationResponse,
  type GetNodeResponse,
  type ListConnectionsResponse,
  type ListDestinationsResponse,
  type ListNodesResponse,
  type UndrainResponse,
  type WatchStatsResponse,
} from '@stompede/admin-api';
import type { ConnectionSettings } from './settings.js';
import { MessageStream } from './stream.js';

type UnaryMethod<Request, Response> = (
  request: Request,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Response) => void,
) => unknown;

export class AdminApi {
  readonly #client: AdminServiceClient;
  readonly #metadata = new Metadata();
  readonly #timeoutMs: number;

  constructor(settings: ConnectionSettings) {
    this.#client = new AdminServiceClient(settings.address, channelCredentials(settings));
    // Per-call metadata rather than call credentials: grpc-js refuses call credentials on a
    // plaintext channel, and nodes without TLS still check tokens.
    if (settings.token !== undefined) this.#metadata.set('authorization', `Bearer ${settings.token}`);
    this.#timeoutMs = settings.timeoutMs;
  }

  listNodes(): Promise<ListNodesResponse> {
    return this.#unary(this.#client.listNodes, ListNodesRequest.create());
  }

  getNode(nodeId: string): Promise<GetNodeResponse> {
    return this.#unary(this.#client.getNode, GetNodeRequest.create({ nodeId }));
  }

  listConnections(request: Partial<ListConnectionsRequest>): Promise<ListConnectionsResponse> {
    return this.#unary(this.#client.listConnections, ListConnectionsRequest.create(request));
  }

  closeConnection(request: Partial<CloseConnectionRequest>): Promise<CloseConnectionResponse> {
    return this.#unary(this.#client.closeConnection, CloseConnectionRequest.create(request));
  }

  listDestinations(request: Partial<ListDestinationsRequest>): Promise<ListDestinationsResponse> {
    return this.#unary(this.#client.listDestinations, ListDestinationsRequest.create(request));
  }

  getDestination(request: Partial<GetDestinationRequest>): Promise<GetDestinationResponse> {
    return this.#unary(this.#client.getDestination, GetDestinationRequest.create(request));
  }

  undrain(nodeId: string): Promise<UndrainResponse> {
    return this.#unary(this.#client.undrain, UndrainRequest.create({ nodeId }));
  }

  drain(request: Partial<DrainRequest>): MessageStream<DrainResponse> {
    const call = this.#client.drain(DrainRequest.create(request), this.#metadata);
    return new MessageStream(call, this.#timeoutMs);
  }

  watchStats(request: Partial<WatchStatsRequest>): MessageStream<WatchStatsResponse> {
    const call = this.#client.watchStats(WatchStatsRequest.create(request), this.#metadata);
    return new MessageStream(call, this.#timeoutMs);
  }

  close(): void {
    this.#client.close();
  }

  #unary<Request, Response>(method: UnaryMethod<Request, Response>, request: Request): Promise<Response> {
    return new Promise((resolve, reject) => {
      const options = { deadline: Date.now() + this.#timeoutMs };
      method.call(this.#client, request, this.#metadata, options, (error, response) => {
        if (error) reject(error);
        else resolve(response);
      });
    });
  }
}

function channelCredentials(settings: ConnectionSettings): ChannelCredentials {
  const tls = settings.tls;
  if (tls === undefined) return credentials.createInsecure();
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

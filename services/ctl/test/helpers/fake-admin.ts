// A real gRPC server with the AdminService, answering with canned data and recording every call
// (method, request, authorization header) so tests can check what stompede-ctl asked for.
import {
  Server,
  ServerCredentials,
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { AdminServiceService, type AdminServiceServer } from '@stompede/admin-api';

export interface RecordedCall {
  readonly method: string;
  readonly request: unknown;
  readonly authorization: string | undefined;
}

export interface FakeAdmin {
  readonly address: string;
  readonly calls: RecordedCall[];
  /** Requests received by one method, in order. */
  requests<Request>(method: keyof AdminServiceServer): Request[];
  stop(): Promise<void>;
}

/** Unary and server-streaming handlers seen alike: both take the call (request, metadata) first. */
type Handler = (call: { request: unknown; metadata: { get(key: string): unknown[] } }, callback?: unknown) => void;

/** Serves `handlers` (UNIMPLEMENTED for the rest) on 127.0.0.1, plaintext unless `credentials` say otherwise. */
export async function startFakeAdmin(
  handlers: Partial<AdminServiceServer>,
  credentials: ServerCredentials = ServerCredentials.createInsecure(),
): Promise<FakeAdmin> {
  const calls: RecordedCall[] = [];
  const implementation: UntypedServiceImplementation = {};
  for (const method of Object.keys(AdminServiceService)) {
    const handler = (handlers as Record<string, Handler | undefined>)[method] ?? unimplemented(method);
    implementation[method] = ((call, callback) => {
      const authorization = call.metadata.get('authorization')[0];
      calls.push({ method, request: call.request, authorization: authorization === undefined ? undefined : String(authorization) });
      handler(call, callback);
    }) as Handler as UntypedServiceImplementation[string];
  }
  const server = new Server();
  server.addService(AdminServiceService, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    address: `127.0.0.1:${port}`,
    calls,
    requests: <Request>(method: string) => calls.filter((call) => call.method === method).map((call) => call.request as Request),
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}

function unimplemented(method: string): Handler {
  return (call, callback) => {
    const error = serviceError(status.UNIMPLEMENTED, `${method} is not faked in this test`);
    if (typeof callback === 'function') (callback as (error: ServiceError) => void)(error);
    else (call as unknown as { emit(event: 'error', error: Error): void }).emit('error', error);
  };
}

export function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: undefined as never });
}

/** A unary handler answering `respond(request)`, or failing when it returns a ServiceError. */
export function answer<Request, Response>(respond: (request: Request) => Response | ServiceError): handleUnaryCall<Request, Response> {
  return (call, callback) => {
    const result = respond(call.request);
    if (result instanceof Error) callback(result);
    else callback(null, result);
  };
}

/** A unary handler that always fails with `code`. */
export function fail(code: status, details: string): handleUnaryCall<unknown, never> {
  return (_call, callback) => callback(serviceError(code, details));
}

export interface StreamScript<Response> {
  readonly messages: readonly Response[];
  /** After the messages: end the call, keep it open, or fail it. */
  readonly then: 'end' | 'stay open' | ServiceError;
}

/** Records of server-streaming calls: whether the client cancelled them. */
export interface StreamLog {
  cancelled: number;
}

/** A server-streaming handler playing a script, counting the calls the client cancelled. */
export function play<Request, Response>(script: (request: Request) => StreamScript<Response>, log?: StreamLog): handleServerStreamingCall<Request, Response> {
  return (call) => {
    call.on('cancelled', () => {
      if (log) log.cancelled += 1;
    });
    const { messages, then } = script(call.request);
    for (const message of messages) call.write(message);
    if (then === 'end') call.end();
    // grpc-js turns an 'error' event on a server stream into the call's status.
    else if (then !== 'stay open') call.emit('error', then);
  };
}

// The AdminService as grpc-js handlers: each call runs its api/ function; an AdminError becomes its
// gRPC status, anything else INTERNAL (and a log line), never a crash.
import {
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type { AdminServiceServer } from '@stompede/admin-api';
import { closeConnection, listConnections } from './api/connections.js';
import type { ApiContext } from './api/context.js';
import { getDestination, listDestinations } from './api/destinations.js';
import { drain, undrain } from './api/drain.js';
import { getNode, listNodes } from './api/nodes.js';
import type { Sink } from './api/sink.js';
import { watchStats } from './api/stats.js';
import { AdminError } from './errors.js';

export function adminService(ctx: ApiContext): AdminServiceServer {
  const unary = <Req, Res>(name: string, fn: (request: Req) => Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      fn(call.request).then(
        (response) => callback(null, response),
        (err: unknown) => {
          const e = toStatus(ctx, name, err);
          callback({ code: e.code, details: e.message });
        },
      );
    };
  const streaming = <Req, Res>(name: string, fn: (request: Req, sink: Sink<Res>) => Promise<void>) =>
    (call: ServerWritableStream<Req, Res>): void => {
      const sink = streamSink(call);
      fn(call.request, sink).catch((err: unknown) => sink.fail(toStatus(ctx, name, err)));
    };
  return {
    listNodes: unary('ListNodes', () => listNodes(ctx)),
    getNode: unary('GetNode', (r) => getNode(ctx, r)),
    listConnections: unary('ListConnections', (r) => listConnections(ctx, r)),
    closeConnection: unary('CloseConnection', (r) => closeConnection(ctx, r)),
    listDestinations: unary('ListDestinations', (r) => listDestinations(ctx, r)),
    getDestination: unary('GetDestination', (r) => getDestination(ctx, r)),
    drain: streaming('Drain', (r, sink) => drain(ctx, r, sink)),
    undrain: unary('Undrain', (r) => undrain(ctx, r)),
    watchStats: streaming('WatchStats', (r, sink) => watchStats(ctx, r, sink)),
  };
}

function streamSink<Req, Res>(call: ServerWritableStream<Req, Res>): Sink<Res> {
  let open = true;
  const cancelHandlers: (() => void)[] = [];
  call.on('cancelled', () => {
    open = false;
    for (const fn of cancelHandlers) fn();
  });
  return {
    write: (message) => {
      if (open) call.write(message);
    },
    end: () => {
      if (!open) return;
      open = false;
      call.end();
    },
    fail: (err) => {
      if (!open) return;
      open = false;
      call.emit('error', { code: err.code, details: err.message });
    },
    onCancel: (fn) => {
      if (open) cancelHandlers.push(fn);
      else fn();
    },
  };
}

function toStatus(ctx: ApiContext, method: string, err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  ctx.log.error({ err, method }, 'admin call failed');
  return new AdminError(status.INTERNAL, `internal error in ${method}: ${(err as Error).message ?? String(err)}`);
}

// Bearer-token authentication of admin calls, as a grpc-js server interceptor. The health service
// stays open: Kubernetes' gRPC probes send no credentials (they cannot), and it reveals nothing.
import { timingSafeEqual, createHash } from 'node:crypto';
import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
  type Metadata,
  type ServerInterceptor,
} from '@grpc/grpc-js';

const OPEN_PREFIX = '/grpc.health.v1.Health/';

export function bearerTokenInterceptor(token: string): ServerInterceptor {
  const expected = digest(token);
  return (method, call) => {
    if (method.path.startsWith(OPEN_PREFIX)) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const refusal = check(metadata, expected);
        if (refusal === undefined) next(metadata);
        else call.sendStatus({ code: status.UNAUTHENTICATED, details: refusal });
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}

/** Why the call's credentials are refused, or undefined when they are good. */
function check(metadata: Metadata, expected: Buffer): string | undefined {
  const header = metadata.get('authorization')[0];
  if (header === undefined) return 'missing authorization metadata: send "authorization: Bearer <STOMPEDE_ADMIN_TOKEN>"';
  const m = /^Bearer\s+(.+)$/i.exec(String(header));
  if (m === null) return 'authorization metadata must be "Bearer <token>"';
  // Hashing first gives equal lengths, so the comparison takes the same time whatever was sent.
  if (!timingSafeEqual(digest(m[1]!.trim()), expected)) return 'wrong admin token';
  return undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

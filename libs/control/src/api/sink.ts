// A server stream as the admin calls see it, whatever carries it (the grpc-js adapter, a test).
import type { AdminError } from '../errors.js';

export interface Sink<T> {
  write(message: T): void;
  end(): void;
  fail(err: AdminError): void;
  /** Runs `fn` when the client cancels the call or goes away. */
  onCancel(fn: () => void): void;
}

/** Relays a peer's stream to the caller; the caller cancelling cancels the peer stream. */
export function relay<T>(from: NodeJS.EventEmitter & { cancel(): void }, to: Sink<T>, onError: (err: unknown) => AdminError): void {
  let cancelled = false;
  to.onCancel(() => {
    cancelled = true;
    from.cancel();
  });
  from.on('data', (message: T) => to.write(message));
  from.on('end', () => {
    if (!cancelled) to.end();
  });
  from.on('error', (err: unknown) => {
    if (!cancelled) to.fail(onError(err));
  });
}

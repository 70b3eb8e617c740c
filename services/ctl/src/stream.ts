// A server-streaming call read one message at a time, with a deadline on the first message only:
// a drain or a stats watch may last hours, but a server that never answers must not hang the CLI.
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import type { StatusError } from './exit.js';

export class MessageStream<T> {
  readonly #call: ClientReadableStream<T>;
  readonly #messages: AsyncIterator<T>;
  readonly #firstMessageTimeoutMs: number;
  #received = false;
  #cancelled = false;
  #expired = false;

  constructor(call: ClientReadableStream<T>, firstMessageTimeoutMs: number) {
    this.#call = call;
    this.#messages = call[Symbol.asyncIterator]() as AsyncIterator<T>;
    this.#firstMessageTimeoutMs = firstMessageTimeoutMs;
  }

  /** The next message; undefined once the server ended the stream or we cancelled it. */
  async next(): Promise<T | undefined> {
    const timer = this.#received ? undefined : setTimeout(() => this.#expire(), this.#firstMessageTimeoutMs);
    try {
      const result = await this.#messages.next();
      if (result.done) return undefined;
      this.#received = true;
      return result.value;
    } catch (error) {
      if (this.#expired) throw deadlineExceeded(this.#firstMessageTimeoutMs);
      if (this.#cancelled) return undefined;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops reading. The server sees the call cancelled; next() then returns undefined. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#call.cancel();
  }

  #expire(): void {
    this.#expired = true;
    this.cancel();
  }
}

function deadlineExceeded(timeoutMs: number): StatusError {
  return { code: status.DEADLINE_EXCEEDED, details: `no answer within ${timeoutMs} ms` };
}

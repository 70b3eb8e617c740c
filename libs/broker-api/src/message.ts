// The message model shared by the session layer and the cluster plane.

/**
 * User headers of a message, in the order the publisher sent them (repeats included). Server-owned
 * headers (message-id, subscription, ack, content-length, ...) are never in here.
 */
export interface UserHeaders {
  readonly names: readonly string[];
  readonly values: readonly string[];
}

export const NO_HEADERS: UserHeaders = { names: [], values: [] };

/**
 * A published message: what all deliveries of it share. Only `body` changes, once: it may start as
 * a view into a transport buffer that dies when the current callback returns, and `retain()`
 * replaces it with an owned copy. Anything that keeps a message past the callback calls `retain()`
 * (it copies at most once, however many holders there are).
 */
export class Message {
  private owned: boolean;
  /**
   * The header lines this message contributes to MESSAGE frames, encoded for one escaping rule
   * (`encodedFor`); other rules, when subscribers of several STOMP versions get it, in
   * `encodedOthers`. Fields rather than one Map: most messages meet one rule, and a Map per
   * message was a fifth of what a delivery allocated.
   */
  encodedFor: string | undefined;
  encoded: string | undefined;
  encodedOthers: Map<string, string> | undefined;
  /** Whether the body is valid UTF-8 (may travel in a WebSocket text message); computed on demand. */
  textBody: boolean | undefined;
  /**
   * Messages of this destination this node knows it missed right before this one (trimmed from the
   * stream before it read them, or lost by Redis): subscribers are told on this MESSAGE.
   */
  missedBefore = 0;

  constructor(
    readonly destination: string,
    readonly id: string,
    readonly headers: UserHeaders,
    public body: Uint8Array,
    owned = false,
  ) {
    this.owned = owned;
  }

  retain(): this {
    if (!this.owned) {
      this.body = copyBytes(this.body);
      this.owned = true;
    }
    return this;
  }

  /** First value of a user header. */
  header(name: string): string | undefined {
    const i = this.headers.names.indexOf(name);
    return i < 0 ? undefined : this.headers.values[i];
  }
}

/** A queue entry on its way to a consumer. `deliveries` counts earlier delivery attempts. */
export interface QueuedMessage {
  readonly queue: string;
  readonly message: Message;
  deliveries: number;
}

/** What a queue entry counts towards maxQueueBytes: body plus header names and values. */
export function entrySize(headers: UserHeaders, body: Uint8Array): number {
  let size = body.length;
  for (let i = 0; i < headers.names.length; i++) size += headers.names[i]!.length + headers.values[i]!.length + 2;
  return size;
}

/**
 * An owned copy of `bytes`. Not `bytes.slice()`: on a Node Buffer (TCP frames are views into one)
 * that is a view again, which would keep the transport's whole chunk alive.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}

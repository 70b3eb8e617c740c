// The contract between the session layer and the socket glue, after nats.js's Transport: the
// transports (uWS WebSocket, node:net TCP) are the only code that touches sockets.

export interface Transport {
  /** 'ws' or 'tcp': for logs and metrics only. */
  readonly kind: string;
  readonly remoteAddress: string;
  /** The peer's IP address alone (no port): what per-address limits and login throttling count by. */
  readonly remoteIp: string;
  /**
   * Writes bytes now, as one message where the transport has messages (WebSocket). `binary` is
   * false when the bytes are valid UTF-8 and may go as a text message.
   */
  write(chunks: readonly Uint8Array[], bytes: number, binary: boolean): void;
  /** Bytes accepted by the transport and not yet sent to the kernel. */
  bufferedBytes(): number;
  /** Joins a native fan-out group (a uWS topic); false when the transport has none. */
  joinGroup(topic: string): boolean;
  leaveGroup(topic: string): void;
  /** Sends what is buffered, then closes (gracefully: a peer that keeps sending does not cause a reset). */
  end(): void;
  /** Closes now, dropping whatever is buffered. */
  destroy(): void;
  /** Stops reading from the peer, so its input waits in the kernel (held-input.ts); absent if the transport cannot. */
  pause?(): void;
  resume?(): void;
}

/** Publishes to every member of a native group at once (uWS `app.publish`). */
export interface GroupPublisher {
  publish(topic: string, bytes: Uint8Array, binary: boolean): void;
}

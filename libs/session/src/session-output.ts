// One session's outbound bytes and backpressure. What the session writes during a turn is queued
// here and handed to the transport in one write at the end of the turn (the outbox flushes this
// object directly), never into a socket that is over its backpressure limit. The owning session
// is told when its own output outgrows every bound (slow consumer) and when room comes back for
// deliveries that paused for lack of it (credit; invariants P1-P4).
import type { SessionHost } from './host.js';
import type { FlushableSession } from './outbox.js';
import type { SessionState } from './session-state.js';
import type { Transport } from './transport.js';

/** The session side of its output. */
export interface OutputOwner {
  readonly state: SessionState;
  /** Closes the session with ERROR `slow consumer`. */
  abortSlowConsumer(): void;
  /** Room came back: deliveries that paused for lack of it go on. */
  resumeDeliveries(): void;
}

export class SessionOutput implements FlushableSession {
  queuedForFlush = false;
  lastWriteMs: number;
  /** A delivery was refused for lack of room in the socket; resume when it drains. */
  starved = false;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  private outBinary = false;
  private endAfterFlush = false;
  /** The socket is gone. (Kept here rather than read from the owner's state: one load less per write.) */
  private closed = false;

  constructor(
    private readonly owner: OutputOwner,
    private readonly hub: SessionHost,
    private readonly transport: Transport,
  ) {
    this.lastWriteMs = hub.now();
  }

  /** Bytes queued here for the end of the turn, not yet handed to the transport. */
  get queuedBytes(): number {
    return this.outBytes;
  }

  /** Bytes written and not yet taken by the kernel. */
  get pendingBytes(): number {
    return this.outBytes + this.transport.bufferedBytes();
  }

  /** Past the limit, where auto-ack topic frames meet the slow-consumer policy (P3). */
  get overLimit(): boolean {
    return this.pendingBytes > this.hub.config.maxPendingOutboundBytes;
  }

  /** Acked and queue deliveries stop while this is true (credit), and resume on drain. */
  get congested(): boolean {
    return this.pendingBytes >= this.hub.config.maxPendingOutboundBytes / 2;
  }

  /** Queues bytes for the end of the turn (or writes now when coalescing is off). */
  write(bytes: Uint8Array, binary: boolean): void {
    if (this.closed) return;
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (binary) this.outBinary = true;
    if (this.outBytes > this.hub.config.maxPendingOutboundBytes + this.hub.config.maxFrameBytes) {
      this.owner.abortSlowConsumer();
      return;
    }
    // Coalescing waits for the end of the turn, but not with a lot in hand: a busy turn must not
    // make a reader that keeps up look like a slow consumer, nor hold megabytes in memory.
    if (this.hub.outbox.coalesce && this.outBytes < this.hub.config.maxPendingOutboundBytes / 8) {
      this.hub.outbox.addSession(this);
    } else {
      this.flushOutput();
    }
  }

  flushOutput(): void {
    if (this.closed) return;
    if (this.outBytes > 0) {
      // uWS drops (rather than queues) a send made while it is over its backpressure limit, so
      // wait for the drain event instead of writing into a full socket.
      if (this.transport.bufferedBytes() > this.hub.config.maxPendingOutboundBytes) return;
      this.transport.write(this.out, this.outBytes, this.outBinary);
      this.out = [];
      this.outBytes = 0;
      this.outBinary = false;
      this.lastWriteMs = this.hub.now();
      // The kernel may take everything at once, and then no drain event ever comes: deliveries
      // that paused for our own queued output resume here.
      this.resumeIfRoom();
    }
    if (this.endAfterFlush) {
      this.endAfterFlush = false;
      this.transport.end();
    }
  }

  /** The transport can take more bytes. */
  drained(): void {
    if (this.outBytes > 0) this.flushOutput();
    this.resumeIfRoom();
  }

  /** Deliveries refused for lack of room go on once there is room again. */
  private resumeIfRoom(): void {
    if (this.starved && !this.congested && this.owner.state === 'connected') {
      this.starved = false;
      this.owner.resumeDeliveries();
    }
  }

  /** Drops what is queued and not yet written: the client is not reading. */
  discard(): void {
    this.out = [];
    this.outBytes = 0;
    this.outBinary = false;
  }

  /** The socket is gone (closed by either side): drops what is queued and writes nothing more. */
  close(): void {
    this.closed = true;
    this.discard();
  }

  /** Ends the transport once what is queued has been written, at the end of this turn. */
  endAfterWritten(): void {
    this.endAfterFlush = true;
    this.hub.outbox.addSession(this);
  }
}

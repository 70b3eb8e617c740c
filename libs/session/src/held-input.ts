// Input a session does not process yet: frames pipelined after a CONNECT that is still being
// authenticated, or input held because the cluster pushes back on its publishing (publish
// pressure: a node reading one of its destinations lags). A transport that can stop reading (TCP)
// is paused, so the backlog stays in the kernel and the peer slows down. A WebSocket cannot stop
// reading here (uWS v20.30 has no read pause), so what keeps arriving is kept, copied, up to
// `maxHeldInputBytes`; past that the session is closed with ERROR (publisher too fast). The hold
// takes effect after the frame that caused it: the rest of that chunk is kept too, so a large read
// is not processed whole under pressure. Created on a session's first hold, so connections that
// never publish under pressure pay nothing.
import type { Transport } from './transport.js';

export interface HeldInputOwner {
  readonly transport: Transport;
  /** Hands kept input to the parser, as if it had just arrived. */
  feed(chunk: Uint8Array): void;
}

export class HeldInput {
  active = false;
  private chunks: Uint8Array[] = [];
  private bytes = 0;

  constructor(
    private readonly owner: HeldInputOwner,
    private readonly maxBytes: number,
  ) {}

  hold(): void {
    if (this.active) return;
    this.active = true;
    this.owner.transport.pause?.();
  }

  /** Input that arrived while held: kept (a copy: the chunk dies with its callback); false past the bound. */
  keep(chunk: Uint8Array): boolean {
    if (this.bytes + chunk.length > this.maxBytes) return false;
    this.chunks.push(Uint8Array.prototype.slice.call(chunk));
    this.bytes += chunk.length;
    return true;
  }

  /**
   * The unparsed rest of the chunk whose frame held the input: it goes first. Not bounded by
   * maxHeldInputBytes (it was read before the hold, and is at most one read's worth).
   */
  keepFirst(rest: Uint8Array): void {
    this.chunks.unshift(Uint8Array.prototype.slice.call(rest));
    this.bytes += rest.length;
  }

  /** Drops what was kept, unprocessed, and reads again (a refused CONNECT: the close must not be a reset). */
  discard(): void {
    this.chunks = [];
    this.bytes = 0;
    if (!this.active) return;
    this.active = false;
    this.owner.transport.resume?.();
  }

  /** Processes what was kept, in order, until it is all done or a frame holds the input again. */
  release(): void {
    this.active = false;
    while (this.chunks.length > 0 && !this.active) {
      const chunk = this.chunks.shift()!;
      this.bytes -= chunk.length;
      this.owner.feed(chunk);
    }
    if (!this.active) this.owner.transport.resume?.();
  }
}

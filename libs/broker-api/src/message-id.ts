// Message ids are "<destination>@<ms>-<seq>": the position of the message in its destination's
// stream, in the shape of a Redis Stream id, qualified by the destination. That makes them unique
// across destinations and nodes (two nodes that read the same stream produce the same id for the
// same entry), ordered within a destination, and parseable back into a stream position for resume.

export interface StreamPosition {
  readonly ms: number;
  readonly seq: number;
}

export function formatMessageId(destination: string, pos: StreamPosition): string {
  return `${destination}@${pos.ms}-${pos.seq}`;
}

const POSITION = /^(0|[1-9]\d{0,15})-(0|[1-9]\d{0,15})$/;

/** Splits a message id into destination and stream position; null if it is not one of ours. */
export function parseMessageId(id: string): { destination: string; position: StreamPosition } | null {
  const at = id.lastIndexOf('@');
  if (at < 0) return null;
  // Only what formatMessageId writes: decimal digits without leading zeros.
  const m = POSITION.exec(id.slice(at + 1));
  if (m === null) return null;
  const ms = Number(m[1]);
  const seq = Number(m[2]);
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(seq)) return null;
  return { destination: id.slice(0, at), position: { ms, seq } };
}

/**
 * Hands out strictly increasing stream positions from a millisecond clock, the way Redis assigns
 * XADD ids: the sequence restarts when the clock moves on and the clock is never allowed to go back.
 */
export class PositionClock {
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  next(): StreamPosition {
    const ms = this.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.seq = 0;
    } else {
      this.seq++;
    }
    return { ms: this.lastMs, seq: this.seq };
  }
}

/** Orders two stream positions: negative if `a` comes first. */
export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.seq - b.seq;
}

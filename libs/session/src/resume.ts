// Resumable topic subscriptions: a SUBSCRIBE with `x-resume-after:<message-id>` first receives
// what the destination's history holds after that message, then goes live, with no gap and no
// duplicate. Message ids name stream positions (message-id.ts), so both are decided by position:
// while the history is read, live messages wait on the subscription; then the history is
// delivered, then the live messages that waited, and from then on each live message, every one
// only if it comes after the last one delivered. The history and the live feed overlap (the feed
// starts before the history read ends, and a broker may deliver an entry again after a
// reconnect); the overlap is dropped here.
//
// A resuming subscription is delivered through its session (Session.deliverTopic) whatever its ack
// mode, never through a shared fan-out group: which frames it gets depends on its own position.
//
// Its RECEIPT waits for the broker's watch and then for the history read: replayed messages the
// subscription has credit for are written before the RECEIPT (see docs/resume.md).
import { comparePositions, parseMessageId, type Message, type Replay, type StreamPosition } from '@stompede/broker-api';
import type { Headers } from '@stompede/stomp';
import type { Destination } from './destinations.js';
import { Refusal } from './refusal.js';

export const RESUME_AFTER = 'x-resume-after';
/** Set, once, on the first MESSAGE of a resumed subscription whose history did not reach back far enough. */
export const RESUME_GAP = 'x-resume-gap';

export class Resume {
  /** Position of the last message delivered; starts at the one the client saw last. */
  private last: StreamPosition;
  /** Live messages that arrived while the history was read; undefined once live. */
  private waiting: Message[] | undefined = [];
  /** Body bytes in `waiting`: bounded like any output the client has not taken yet. */
  waitingBytes = 0;
  /** The next MESSAGE frame carries `x-resume-gap:true`. */
  private gap = false;

  constructor(
    /** The message-id of x-resume-after, as the broker's replay takes it. */
    readonly afterId: string,
    after: StreamPosition,
  ) {
    this.last = after;
  }

  /** A live message: true to deliver it now; false while it waits for the history or if it was delivered already. */
  live(message: Message): boolean {
    if (this.waiting === undefined) return this.advance(message);
    // Kept past the broker's callback, whose body view dies with it.
    this.waiting.push(message.retain());
    this.waitingBytes += message.body.length;
    return false;
  }

  /** The history arrived: what to deliver, in order. The subscription is live from here on. */
  caughtUp(replay: Replay): Message[] {
    this.gap = replay.gap;
    const out: Message[] = [];
    for (const m of replay.messages) if (this.advance(m)) out.push(m);
    for (const m of this.waiting ?? []) if (this.advance(m)) out.push(m);
    this.waiting = undefined;
    this.waitingBytes = 0;
    return out;
  }

  /**
   * Header lines of the next MESSAGE frame: the gap mark on the first one, nothing after (nor when
   * the message carries the mark already: `marked`, a gap the node saw in its stream).
   */
  frameLines(marked: boolean): string {
    if (!this.gap) return '';
    this.gap = false;
    return marked ? '' : `${RESUME_GAP}:true\n`;
  }

  /** True if `message` comes after the last one delivered (it then becomes the last one). */
  private advance(message: Message): boolean {
    const id = parseMessageId(message.id);
    // An id that is not a stream position cannot be ordered: deliver it rather than lose it.
    if (id === null) return true;
    if (comparePositions(id.position, this.last) <= 0) return false;
    this.last = id.position;
    return true;
  }
}

/**
 * The resume point a SUBSCRIBE asks for; undefined without x-resume-after. Refused when it cannot be
 * honoured: history is kept per destination, so only an exact topic destination can resume, after
 * a message-id of that same destination.
 */
export function resumeRequest(h: Headers, destination: Destination): Resume | undefined {
  const after = h.get(RESUME_AFTER);
  if (after === undefined) return undefined;
  const name = destination.name;
  if (destination.kind !== 'topic') {
    refuse(`${name} is a queue: only topic subscriptions resume (queues keep undelivered messages anyway).`);
  }
  if (destination.wildcard) {
    refuse(`${name} is a wildcard pattern: only exact topic destinations resume, since history is kept per destination.`);
  }
  const id = parseMessageId(after);
  if (id === null) {
    refuse(`"${after}" is not a message-id of this broker (<destination>@<ms>-<seq>); pass the message-id header of the last MESSAGE received.`);
  }
  if (id.destination !== name) {
    refuse(`"${after}" is a message of ${id.destination}, not of ${name}; a subscription resumes after a message of its own destination.`);
  }
  return new Resume(after, id.position);
}

function refuse(detail: string): never {
  throw new Refusal(`invalid ${RESUME_AFTER}`, detail);
}

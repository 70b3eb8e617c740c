// A fan-out group: the auto-ack subscriptions of one topic destination (or pattern) that share a
// subscription id and header escaping. stompjs names subscriptions sub-0, sub-1, ... on every
// connection, so thousands of subscribers share one group and one encoded MESSAGE frame.
//
// WebSocket members join the group's native uWS topic and receive the frame from uWS's C++
// publish; the other members (TCP, or everyone with fanoutMode=per-socket) get a view of the same
// bytes written per socket. Frames of one turn accumulate in one buffer and go out as one
// WebSocket message per subscriber (see outbox.ts); STOMP clients parse several frames out of one
// message.
import type { Message } from '@stompede/broker-api';
import { utf8Length, writeUtf8, type StompVersion } from '@stompede/stomp';
import { messageOpening, messageTail } from './message-frame.js';
import type { Outbox } from './outbox.js';
import { hasMember, memberCount, membersOf, withMember, withoutMember, type SmallSet } from './small-set.js';
import type { GroupPublisher } from './transport.js';

/** A member that is written to per socket. */
export interface GroupMember {
  deliverShared(frame: Uint8Array, binary: boolean): void;
}

/** A member reached through the transport's native publish. */
export interface NativeMember {
  /** Looks at the socket's backlog; a member too far behind closes itself as a slow consumer. */
  checkBacklog(): void;
}

const MIN_BATCH_BYTES = 1024;

export class Group {
  dirty = false;
  /** Members reached by native publish. */
  private native: SmallSet<NativeMember>;
  /** Members written to per socket. */
  private members: SmallSet<GroupMember>;
  /** Bytes natively published since the members' backlogs were last looked at. */
  private uncheckedBytes = 0;
  private batch: Uint8Array | null = null;
  private batchLen = 0;
  private batchBinary = false;
  private lastBatchBytes = MIN_BATCH_BYTES;
  /** message-id of the latest message delivered to the group (a drained client resumes after it). */
  lastMessageId: string | undefined;

  constructor(
    /** Numbers the group's native topic (see `topic`). */
    private readonly seq: number,
    /** The members' subscription id. */
    readonly id: string,
    /** The members' STOMP version: how their headers are escaped. */
    readonly escaping: StompVersion,
    private readonly outbox: Outbox,
    /** Native publishes between two looks at the members' backlogs. */
    private readonly checkEveryBytes: number,
  ) {}

  /**
   * Name of the native topic: short, since uWS hashes it on every publish. Made when used rather
   * than kept: most groups are per-user feeds with one member and rarely publish.
   */
  get topic(): string {
    return 'g' + this.seq.toString(36);
  }

  get empty(): boolean {
    return this.native === undefined && this.members === undefined;
  }

  get size(): number {
    return memberCount(this.native) + memberCount(this.members);
  }

  /** Members reached by native publish. */
  get nativeSize(): number {
    return memberCount(this.native);
  }

  addNative(member: NativeMember): void {
    this.native = withMember(this.native, member);
  }

  addMember(member: GroupMember): void {
    this.members = withMember(this.members, member);
  }

  isNative(member: NativeMember): boolean {
    return hasMember(this.native, member);
  }

  removeNative(member: NativeMember): void {
    this.native = withoutMember(this.native, member);
  }

  removeMember(member: GroupMember): void {
    this.members = withoutMember(this.members, member);
  }

  /** Encodes `message` once for the whole group and hands it to every member. */
  deliver(message: Message, binary: boolean): void {
    this.lastMessageId = message.id;
    // Not kept on the group: one concatenation per message costs less than a string per group.
    const head = messageOpening(this.id, this.escaping) + messageTail(message, this.escaping);
    const headBytes = utf8Length(head);
    const frameBytes = headBytes + message.body.length + 1;
    const native = this.native !== undefined && this.outbox.publisher !== null;
    if (!native || !this.outbox.coalesce) {
      const frame = encode(new Uint8Array(frameBytes), 0, head, headBytes, message.body);
      if (native) this.publish(this.outbox.publisher!, frame, binary);
      this.share(frame, binary);
      return;
    }
    this.reserve(frameBytes);
    const start = this.batchLen;
    encode(this.batch!, start, head, headBytes, message.body);
    this.batchLen += frameBytes;
    if (binary) this.batchBinary = true;
    if (this.members !== undefined) this.share(this.batch!.subarray(start, start + frameBytes), binary);
    this.outbox.addGroup(this);
  }

  flush(publisher: GroupPublisher): void {
    this.dirty = false;
    if (this.batch === null) return;
    if (this.native !== undefined) this.publish(publisher, this.batch.subarray(0, this.batchLen), this.batchBinary);
    this.dropBatch();
  }

  /** Hands a frame to the members written to per socket. */
  private share(frame: Uint8Array, binary: boolean): void {
    const members = this.members;
    if (members instanceof Set) for (const m of members) m.deliverShared(frame, binary);
    else members?.deliverShared(frame, binary);
  }

  /**
   * uWS cuts a socket over its backpressure limit without telling anyone, so every
   * `checkEveryBytes` of native traffic the members' backlogs are looked at, and one falling
   * behind is closed (and counted) as a slow consumer before uWS has to. Between two looks a
   * member's backlog grows by at most `checkEveryBytes` from this group, so the cost is one
   * native call per member per that many bytes sent to each of them.
   */
  private publish(publisher: GroupPublisher, bytes: Uint8Array, binary: boolean): void {
    publisher.publish(this.topic, bytes, binary);
    this.uncheckedBytes += bytes.length;
    if (this.uncheckedBytes < this.checkEveryBytes) return;
    this.uncheckedBytes = 0;
    for (const m of membersOf(this.native)) m.checkBacklog();
  }

  /**
   * Makes room for `bytes` more. Views already handed to per-socket members keep the old buffer
   * alive, so growing never moves bytes out from under them.
   */
  private reserve(bytes: number): void {
    const need = this.batchLen + bytes;
    if (this.batch === null) {
      this.batch = new Uint8Array(Math.max(need, this.lastBatchBytes));
      return;
    }
    if (need <= this.batch.length) return;
    const grown = new Uint8Array(Math.max(need, this.batch.length * 2));
    grown.set(this.batch.subarray(0, this.batchLen));
    this.batch = grown;
  }

  private dropBatch(): void {
    // Size the next turn's buffer after this one, so a steady stream allocates once per turn.
    if (this.batchLen > 0) this.lastBatchBytes = Math.max(MIN_BATCH_BYTES, this.batchLen);
    this.batch = null;
    this.batchLen = 0;
    this.batchBinary = false;
  }
}

function encode(target: Uint8Array, offset: number, head: string, headBytes: number, body: Uint8Array): Uint8Array {
  writeUtf8(target, head, offset);
  target.set(body, offset + headBytes);
  target[offset + headBytes + body.length] = 0;
  return target;
}

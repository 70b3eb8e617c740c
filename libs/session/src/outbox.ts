// End-of-turn output. Everything a node writes during one event-loop turn is collected and
// written in one pass when the turn ends (setImmediate), in this order:
//   1. queued dispatch work (queue deliveries become session writes),
//   2. group batches: all MESSAGE frames for one native group, concatenated into one WebSocket
//      message and published once through uWS (one send per subscriber per turn, not per message),
//   3. per-session output, one write per session.
// This adds at most one loop turn of latency and is what lets fan-out beat one-syscall-per-message.
// With coalescing off (a benchmark setting) every write goes out immediately instead.
import type { GroupPublisher } from './transport.js';

export interface FlushableGroup {
  dirty: boolean;
  flush(publisher: GroupPublisher): void;
}

export interface FlushableSession {
  queuedForFlush: boolean;
  flushOutput(): void;
}

export class Outbox {
  private groups: FlushableGroup[] = [];
  private sessions: FlushableSession[] = [];
  private tasks: (() => void)[] = [];
  private scheduled = false;
  private readonly flushBound = () => this.flush();

  constructor(
    readonly coalesce: boolean,
    readonly publisher: GroupPublisher | null,
    private readonly onError: (err: unknown) => void,
  ) {}

  addGroup(group: FlushableGroup): void {
    if (group.dirty) return;
    group.dirty = true;
    this.groups.push(group);
    this.schedule();
  }

  addSession(session: FlushableSession): void {
    if (session.queuedForFlush) return;
    session.queuedForFlush = true;
    this.sessions.push(session);
    this.schedule();
  }

  /** Runs `task` at the start of the next flush, before anything is written. */
  addTask(task: () => void): void {
    this.tasks.push(task);
    this.schedule();
  }

  flush(): void {
    this.scheduled = false;
    // Tasks may schedule more tasks (a dispatch that frees credit); run until quiet.
    for (let i = 0; i < this.tasks.length; i++) this.guard(this.tasks[i]!);
    this.tasks = [];
    const groups = this.groups;
    this.groups = [];
    for (const g of groups) {
      if (this.publisher !== null) this.guard(() => g.flush(this.publisher!));
      g.dirty = false;
    }
    const sessions = this.sessions;
    this.sessions = [];
    for (const s of sessions) {
      s.queuedForFlush = false;
      this.guard(() => s.flushOutput());
    }
  }

  /** One failing write must not strand the rest of the turn's output. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.onError(err);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushBound);
  }
}

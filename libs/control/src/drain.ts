// Draining a node, after NATS's lame-duck mode: readiness turns NOT_SERVING at once; new
// connections are still accepted during a short grace (the load balancer needs it to notice);
// then the node refuses new ones and closes its clients one by one, spread evenly over a window
// with jitter, so the rest of the cluster never sees a reconnect storm. Each client gets an ERROR
// saying the node drains, with the position of each topic subscription to resume from. The drain
// is done when the last client is gone. docs/operations.md has the timeline.
import { DrainPhase, durationFromMs, type DrainStatus } from '@stompede/admin-api';
import { closeForDrain, type Hub, type Session } from '@stompede/session';
import { failedPrecondition } from './errors.js';

export type NodeState = 'serving' | 'draining' | 'drained';

/** What a drain switches around the session layer; the service provides it. */
export interface DrainHooks {
  /** Readiness (gRPC health and /readyz). */
  setReady(ready: boolean): void;
  /** Listen for new connections, or stop. */
  setAccepting(accepting: boolean): Promise<void>;
  /** Tells the cluster (the registry) this node's state. */
  announce(state: NodeState): void;
}

export interface DrainPlan {
  readonly graceMs: number;
  readonly windowMs: number;
  /** Started by SIGTERM: the process exits once drained, and Undrain is refused. */
  readonly shutdown: boolean;
}

/** Progress is reported at most this often while clients leave (phase changes always at once). */
const PROGRESS_EVERY_MS = 200;

export class Drainer {
  private phase: DrainPhase | undefined;
  private plan: DrainPlan | undefined;
  private startedAt = new Date(0);
  private clientsAtStart = 0;
  private closingStartMs = 0;
  /** When (ms into the window) each client is closed: one jittered slot per client. */
  private slots: number[] = [];
  private nextSlot = 0;
  private timer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private lastProgressMs = 0;
  private readonly listeners = new Set<(status: DrainStatus) => void>();
  private waiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private stopWatching: (() => void) | undefined;

  constructor(
    private readonly hub: Hub,
    private readonly nodeId: string,
    private readonly hooks: DrainHooks,
    private readonly random: () => number = Math.random,
  ) {}

  get state(): NodeState {
    if (this.phase === DrainPhase.DRAIN_PHASE_DRAINED) return 'drained';
    return this.phase === undefined ? 'serving' : 'draining';
  }

  get shuttingDown(): boolean {
    return this.plan?.shutdown ?? false;
  }

  status(): DrainStatus | undefined {
    if (this.phase === undefined || this.plan === undefined) return undefined;
    return {
      phase: this.phase,
      startedAt: this.startedAt,
      grace: durationFromMs(this.plan.graceMs),
      window: durationFromMs(this.plan.windowMs),
      clientsAtStart: this.clientsAtStart,
      clientsLeft: this.hub.connections,
      shutdown: this.plan.shutdown,
    };
  }

  start(plan: DrainPlan): void {
    if (this.phase === DrainPhase.DRAIN_PHASE_DRAINED) throw failedPrecondition(`node ${this.nodeId} has drained already; Undrain it first`);
    if (this.phase !== undefined) throw failedPrecondition(`node ${this.nodeId} is already draining (since ${this.startedAt.toISOString()})`);
    this.plan = plan;
    this.phase = DrainPhase.DRAIN_PHASE_GRACE;
    this.startedAt = new Date();
    this.clientsAtStart = 0;
    this.hooks.setReady(false);
    this.hub.setDraining(true);
    this.hooks.announce('draining');
    this.stopWatching = this.hub.onSessionClosed(() => this.clientGone());
    this.emit();
    this.timer = setTimeout(() => void this.beginClosing(), plan.graceMs);
  }

  /** SIGTERM during a drain an operator started: exit at its end, and refuse Undrain. */
  markShutdown(): void {
    if (this.plan !== undefined) this.plan = { ...this.plan, shutdown: true };
  }

  /** Undrain: the node serves again, whether it was still draining or had drained. */
  async cancel(): Promise<void> {
    if (this.phase === undefined) throw failedPrecondition(`node ${this.nodeId} is not draining`);
    if (this.shuttingDown) throw failedPrecondition(`node ${this.nodeId} is shutting down (SIGTERM); it cannot be undrained`);
    this.clearTimers();
    this.phase = DrainPhase.DRAIN_PHASE_CANCELLED;
    this.emit();
    this.phase = undefined;
    this.listeners.clear();
    for (const w of this.waiters.splice(0)) w.reject(new Error('the drain was cancelled'));
    this.hub.setDraining(false);
    await this.hooks.setAccepting(true);
    this.hooks.setReady(true);
    this.hooks.announce('serving');
  }

  /** Calls `listener` with every status change until the drain ends; returns the unsubscribe. */
  onProgress(listener: (status: DrainStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the node has drained; rejects if the drain is cancelled first. */
  whenDrained(): Promise<void> {
    if (this.phase === DrainPhase.DRAIN_PHASE_DRAINED) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async beginClosing(): Promise<void> {
    this.timer = undefined;
    this.phase = DrainPhase.DRAIN_PHASE_CLOSING;
    await this.hooks.setAccepting(false);
    if (this.phase !== DrainPhase.DRAIN_PHASE_CLOSING) return; // cancelled meanwhile
    this.clientsAtStart = this.hub.connections;
    this.slots = spreadSlots(this.clientsAtStart, this.plan!.windowMs, this.random);
    this.nextSlot = 0;
    this.closingStartMs = Date.now();
    this.emit();
    this.closeDue();
  }

  /** Closes every client whose slot has come, then sleeps until the next slot. */
  private closeDue(): void {
    this.timer = undefined;
    const elapsed = Date.now() - this.closingStartMs;
    while (this.nextSlot < this.slots.length && this.slots[this.nextSlot]! <= elapsed) {
      this.nextSlot++;
      this.closeOne();
    }
    // A socket may close while its ERROR is written (uWS emits the close inside end()): the last
    // client can be gone already, and the drain over.
    if (this.phase !== DrainPhase.DRAIN_PHASE_CLOSING) return;
    if (this.nextSlot < this.slots.length) {
      this.timer = setTimeout(() => this.closeDue(), this.slots[this.nextSlot]! - elapsed);
      return;
    }
    // Clients still open after the last slot (none, unless one connected just before the
    // listeners closed) go now.
    while (this.closeOne());
    this.checkDrained();
  }

  /** Closes the longest-connected client still open; false when there is none. */
  private closeOne(): boolean {
    const next = firstOpen(this.hub.list());
    if (next === undefined) return false;
    closeForDrain(next, this.nodeId);
    return true;
  }

  private clientGone(): void {
    if (this.phase === DrainPhase.DRAIN_PHASE_CLOSING) this.checkDrained();
    this.progress();
  }

  private checkDrained(): void {
    if (this.phase !== DrainPhase.DRAIN_PHASE_CLOSING || this.hub.connections > 0) return;
    this.clearTimers();
    this.phase = DrainPhase.DRAIN_PHASE_DRAINED;
    this.hooks.announce('drained');
    this.emit();
    this.listeners.clear();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** A client left: report it, at most every PROGRESS_EVERY_MS (the last change is never lost). */
  private progress(): void {
    if (this.phase === undefined || this.progressTimer !== undefined) return;
    const wait = this.lastProgressMs + PROGRESS_EVERY_MS - Date.now();
    if (wait <= 0) {
      this.emit();
      return;
    }
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      if (this.phase !== undefined) this.emit();
    }, wait);
  }

  private emit(): void {
    this.lastProgressMs = Date.now();
    const status = this.status();
    if (status === undefined) return;
    for (const listener of [...this.listeners]) listener(status);
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    clearTimeout(this.progressTimer);
    this.timer = undefined;
    this.progressTimer = undefined;
    this.stopWatching?.();
    this.stopWatching = undefined;
  }
}

/**
 * When to close each of `clients` over `windowMs`: client i at (i + u) * windowMs / clients, u
 * uniform in [0, 1). Every client has its own slice of the window, so the closes are spread evenly
 * (never two slices' worth at once) and jittered within it.
 */
export function spreadSlots(clients: number, windowMs: number, random: () => number): number[] {
  const width = clients > 0 ? windowMs / clients : 0;
  return Array.from({ length: clients }, (_, i) => (i + random()) * width);
}

function firstOpen(sessions: Iterable<Session>): Session | undefined {
  for (const s of sessions) if (s.state === 'connecting' || s.state === 'connected') return s;
  return undefined;
}

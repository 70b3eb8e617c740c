// Broker operations that complete later. With an asynchronous broker (Redis) an operation such as
// a SEND's publish is done only when its promise resolves: a RECEIPT, and the close after a
// DISCONNECT, wait for every earlier operation of the connection (invariant G3: receipts are
// cumulative), and a failed one closes the connection with ERROR. Created with the connection's
// first asynchronous operation; with a synchronous broker (memory) there is none.
import { queueRefusal, Refusal } from './refusal.js';
import type { SessionState } from './session-state.js';

/** The session side: a failed operation fails it, and nothing runs once it has stopped. */
export interface CompletionOwner {
  readonly state: SessionState;
  fail(message: string, detail: string, receipt?: string): void;
}

/** Shared by every connection's chain as its start: one less object per connection (an idle one has no chain). */
const SETTLED: Promise<void> = Promise.resolve();

export class Completions {
  /** Broker operations that complete asynchronously; receipts wait for them. */
  private inflight = 0;
  private chain: Promise<void> = SETTLED;

  constructor(private readonly owner: CompletionOwner) {}

  /**
   * Remembers an asynchronous broker operation: later receipts wait for it, a failure is fatal.
   * `receipt` is that of the frame that started it, for the ERROR.
   */
  track(done: Promise<void>, receipt: string | undefined): void {
    this.inflight++;
    // The chain attaches its handler only when earlier operations are done; mark a rejection as
    // handled now, or one that comes first is an unhandled rejection (fatal in Node by default).
    done.catch(() => {});
    this.chain = this.chain.then(
      () => done.then(
        () => {
          this.inflight--;
        },
        (err: unknown) => {
          this.inflight--;
          const refusal = err instanceof Refusal ? err : (queueRefusal(err) ?? new Refusal('broker unavailable', String(err)));
          this.owner.fail(refusal.error, refusal.detail, receipt);
        },
      ),
    );
  }

  /** Runs `fn` once every earlier asynchronous operation has completed. */
  after(fn: () => void): void {
    if (this.inflight === 0) fn();
    else this.chain = this.chain.then(() => (this.owner.state === 'connected' ? fn() : undefined));
  }
}

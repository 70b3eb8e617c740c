// A node's topic publishes, batched per stream: one command per batch (the publish script XADDs the
// whole batch in order). A stream has at most one batch in flight; what is published meanwhile waits
// for its reply and goes out as the next batch, and a batch with nothing in flight goes when the turn
// ends. So a batch costs nothing at low rates and grows with the rate up to what one round trip
// carries, without a timer (the flush of NATS clients). With a publish linger, a batch with nothing
// in flight waits that long instead: at low rates a write then carries several messages. ioredis's auto-pipelining alone flushed at
// every process.nextTick, which under uWS is after every WebSocket message: a write per SEND. The
// batches go over the stream-write connection in the order they are sent and each holds its stream's
// messages in publish order, so batching never reorders a stream (O1, C1).
import { BrokerUnavailableError } from '@stompede/broker-api';
import { cmdBuffer } from './connection.js';
import type { RedisContext } from './context.js';
import { DATA_FIELD, ORIGIN_FIELD } from './fields.js';
import { PUBLISH, run } from './scripts.js';

/** One message on its way to its stream. */
export interface Outgoing {
  readonly payload: Buffer;
  /** "<incarnation>:<seq>" (origin.ts). */
  readonly origin: string;
  readonly seq: number;
  readonly vhost: string;
  readonly destination: string;
  /** Its publisher waits for it to be stored (a RECEIPT). */
  readonly durable: boolean;
}

interface Batch {
  readonly key: string;
  readonly maxlen: number;
  readonly items: Outgoing[];
  /** What the batch's durable publishers wait for: one promise for all of them, made on the first. */
  stored: Promise<void> | undefined;
  settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** Must complete before the batch is sent (the destination's first announcement). */
  after: Promise<void> | undefined;
  /** Its command is on the stream-write connection. */
  written: boolean;
}

export interface BatchHooks {
  /** The batch is stored. */
  stored(key: string, items: readonly Outgoing[]): void;
  /** The batch could not be stored (it may have been, in part): the caller keeps the messages. */
  failed(key: string, maxlen: number, items: readonly Outgoing[], err: unknown): void;
}

export class PublishBatcher {
  /** Per stream, the batch taking messages now: sent when the turn ends, or when the stream's batch in flight returns. */
  private readonly filling = new Map<string, Batch>();
  /** Per stream, the batch in flight (waiting for its announcement, or for Redis's reply). */
  private readonly sending = new Map<string, Batch>();
  private scheduled = false;
  /** Messages added and not acknowledged by Redis yet (for publish pressure). */
  inFlight = 0;

  constructor(
    private readonly ctx: RedisContext,
    private readonly hooks: BatchHooks,
  ) {}

  /**
   * Adds a message to its stream's batch. With `durable` (the SEND asked for a RECEIPT) the promise
   * settles with the batch, failing with BrokerUnavailableError; it is the same promise for every
   * durable message of the batch, and other publishers get none to cost them.
   */
  add(key: string, maxlen: number, message: Outgoing, after: Promise<void> | undefined, durable: boolean): Promise<void> | undefined {
    let batch = this.filling.get(key);
    if (batch === undefined) {
      batch = { key, maxlen, items: [], stored: undefined, settle: undefined, after: undefined, written: false };
      this.filling.set(key, batch);
      if (!this.sending.has(key)) this.schedule();
    }
    batch.items.push(message);
    this.inFlight++;
    if (after !== undefined) batch.after = after;
    if (!durable) return undefined;
    return (batch.stored ??= new Promise((resolve, reject) => (batch.settle = { resolve, reject })));
  }

  /** Messages of `key` not written to the connection yet: a later command on it does not see them. */
  unwritten(key: string): number {
    const inFlight = this.sending.get(key);
    return (this.filling.get(key)?.items.length ?? 0) + (inFlight !== undefined && !inFlight.written ? inFlight.items.length : 0);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const lingerMs = this.ctx.o.publishLingerMs;
    if (lingerMs === 0) setImmediate(() => this.flush());
    else setTimeout(() => this.flush(), lingerMs);
  }

  private flush(): void {
    this.scheduled = false;
    for (const [key, batch] of this.filling) if (!this.sending.has(key)) this.send(batch);
  }

  private send(batch: Batch): void {
    const { key, items } = batch;
    this.filling.delete(key);
    this.sending.set(key, batch);
    const write = (): Promise<unknown> => this.write(batch);
    void (batch.after === undefined ? write() : batch.after.then(write)).then(
      () => {
        this.settled(batch);
        this.hooks.stored(key, items);
        batch.settle?.resolve();
        this.next(key);
      },
      (err: unknown) => {
        this.settled(batch);
        this.hooks.failed(key, batch.maxlen, items, err);
        batch.settle?.reject(new BrokerUnavailableError(`the message could not be stored in Redis: ${(err as Error).message}`));
        this.next(key);
      },
    );
  }

  private settled(batch: Batch): void {
    this.inFlight -= batch.items.length;
    this.sending.delete(batch.key);
  }

  /** What came for `key` while its batch was out goes now: it has waited a round trip already. */
  private next(key: string): void {
    const waiting = this.filling.get(key);
    if (waiting !== undefined && !this.sending.has(key)) this.send(waiting);
  }

  private write(batch: Batch): Promise<unknown> {
    const { key, maxlen, items } = batch;
    batch.written = true;
    const conn = this.ctx.streamWrites;
    if (items.length === 1) {
      const m = items[0]!;
      return cmdBuffer(conn, 'XADD', [key, 'MAXLEN', '~', maxlen, '*', DATA_FIELD, m.payload, ORIGIN_FIELD, m.origin]);
    }
    const args: (string | number | Buffer)[] = [maxlen];
    for (const m of items) args.push(m.payload, m.origin);
    return run(conn, PUBLISH, [key], args);
  }
}

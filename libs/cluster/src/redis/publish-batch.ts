// A node's topic publishes of one event-loop turn, sent together when the turn ends: one command per
// stream (the publish script XADDs the whole batch in order) and one socket write for all of them.
// ioredis's auto-pipelining alone flushes at every process.nextTick, which under uWS is after every
// WebSocket message: a write per SEND. A batch holds its stream's messages in publish order, so
// batching never reorders a stream (O1, C1).
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
}

export interface BatchHooks {
  /** The batch is stored. */
  stored(key: string, items: readonly Outgoing[]): void;
  /** The batch could not be stored (it may have been, in part): the caller keeps the messages. */
  failed(key: string, maxlen: number, items: readonly Outgoing[], err: unknown): void;
}

export class PublishBatcher {
  private batches = new Map<string, Batch>();
  private scheduled = false;
  /** Messages handed to Redis and not acknowledged yet (for publish pressure). */
  inFlight = 0;

  constructor(
    private readonly ctx: RedisContext,
    private readonly hooks: BatchHooks,
  ) {}

  /**
   * Adds a message to its stream's batch of this turn. With `durable` (the SEND asked for a
   * RECEIPT) the promise settles with the batch, failing with BrokerUnavailableError; it is the
   * same promise for every durable message of the batch, and other publishers get none to cost them.
   */
  add(key: string, maxlen: number, message: Outgoing, after: Promise<void> | undefined, durable: boolean): Promise<void> | undefined {
    let batch = this.batches.get(key);
    if (batch === undefined) {
      batch = { key, maxlen, items: [], stored: undefined, settle: undefined, after: undefined };
      this.batches.set(key, batch);
    }
    batch.items.push(message);
    if (after !== undefined) batch.after = after;
    this.schedule();
    if (!durable) return undefined;
    return (batch.stored ??= new Promise((resolve, reject) => (batch.settle = { resolve, reject })));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batches = this.batches;
    this.batches = new Map();
    for (const batch of batches.values()) {
      this.inFlight += batch.items.length;
      const send = (): Promise<unknown> => this.send(batch);
      void (batch.after === undefined ? send() : batch.after.then(send)).then(
        () => {
          this.inFlight -= batch.items.length;
          this.hooks.stored(batch.key, batch.items);
          batch.settle?.resolve();
        },
        (err: unknown) => {
          this.inFlight -= batch.items.length;
          this.hooks.failed(batch.key, batch.maxlen, batch.items, err);
          batch.settle?.reject(new BrokerUnavailableError(`the message could not be stored in Redis: ${(err as Error).message}`));
        },
      );
    }
  }

  private send(batch: Batch): Promise<unknown> {
    const { key, maxlen, items } = batch;
    if (items.length === 1) {
      const m = items[0]!;
      return cmdBuffer(this.ctx.commands, 'XADD', [key, 'MAXLEN', '~', maxlen, '*', DATA_FIELD, m.payload, ORIGIN_FIELD, m.origin]);
    }
    const args: (string | number | Buffer)[] = [maxlen];
    for (const m of items) args.push(m.payload, m.origin);
    return run(this.ctx.commands, PUBLISH, [key], args);
  }
}

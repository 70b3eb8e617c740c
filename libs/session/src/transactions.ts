// A connection's open transactions (BEGIN, COMMIT, ABORT). SEND, ACK and NACK frames that name a
// transaction are checked when received, copied (the parser's frame is only lent) and handed back
// on COMMIT, to be applied in their original order; ABORT and a lost connection discard them
// (invariant A4). Created with the connection's first transactional frame.
import { copyBytes } from '@stompede/broker-api';
import { Headers, type Frame } from '@stompede/stomp';
import type { SessionConfig } from './config.js';
import { checkedDestination, Refusal, required } from './refusal.js';

export interface TransactionFrame {
  readonly command: string;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export class Transactions {
  private readonly open = new Map<string, TransactionFrame[]>();

  constructor(private readonly config: SessionConfig) {}

  begin(h: Headers): void {
    const tx = required(h, 'transaction', 'BEGIN');
    if (this.open.has(tx)) throw new Refusal('duplicate transaction', `Transaction "${tx}" is already open.`);
    if (this.open.size >= this.config.maxTransactions) {
      throw new Refusal(
        'too many transactions',
        `A connection may have at most ${this.config.maxTransactions} open transactions (maxTransactions).`,
      );
    }
    this.open.set(tx, []);
  }

  /** Closes the transaction; its frames are to be applied in order. */
  commit(h: Headers): readonly TransactionFrame[] {
    return this.close(h, 'COMMIT');
  }

  abort(h: Headers): void {
    this.close(h, 'ABORT');
  }

  /** Buffers a SEND/ACK/NACK that has a `transaction` header. */
  buffer(frame: Frame): void {
    const frames = this.framesOf(frame.headers, frame.command);
    if (frames.length >= this.config.maxTransactionFrames) {
      throw new Refusal(
        'transaction too large',
        `A transaction may hold at most ${this.config.maxTransactionFrames} frames (maxTransactionFrames).`,
      );
    }
    if (frame.command === 'SEND') checkedDestination(required(frame.headers, 'destination', 'SEND'), 'send', this.config);
    const headers = new Headers();
    for (const [k, v] of frame.headers.entries()) if (k !== 'transaction' && k !== 'receipt') headers.add(k, v);
    frames.push({ command: frame.command, headers, body: copyBytes(frame.body) });
  }

  private close(h: Headers, command: string): TransactionFrame[] {
    const frames = this.framesOf(h, command);
    this.open.delete(h.get('transaction')!);
    return frames;
  }

  private framesOf(h: Headers, command: string): TransactionFrame[] {
    const tx = required(h, 'transaction', command);
    const frames = this.open.get(tx);
    if (frames === undefined) throw new Refusal('unknown transaction', `No open transaction "${tx}".`);
    return frames;
  }
}

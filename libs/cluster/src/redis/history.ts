// Topic history for resuming subscriptions: a destination's stream is its history. A replay is
// `XRANGE (<id> +` in pages; the gap check runs after it (see trimmedPast). The stream may keep more
// than the configured history (it keeps what a lagging node has not read yet), but a replay returns at
// most the configured number of messages, so the setting means what it says.
import {
  BrokerUnavailableError,
  comparePositions,
  historyLength,
  parseMessageId,
  type Message,
  type Replay,
  type StreamPosition,
} from '@stompede/broker-api';
import { messageOf, readEntry, type StreamEntry } from './codec.js';
import { cmdBuffer } from './connection.js';
import type { RedisContext } from './context.js';

export async function replay(ctx: RedisContext, vhost: string, destination: string, afterId: string): Promise<Replay> {
  const parsed = parseMessageId(afterId);
  if (parsed === null || parsed.destination !== destination) return { messages: [], gap: true };
  if (!ctx.up) throw new BrokerUnavailableError('Redis is unreachable: the history cannot be read now.');
  const key = ctx.keys.topic(vhost, destination);
  const messages: Message[] = [];
  let cursor = `(${parsed.position.ms}-${parsed.position.seq}`;
  for (;;) {
    const page = (await cmdBuffer(ctx.commands, 'XRANGE', [key, cursor, '+', 'COUNT', ctx.o.readCount])) as StreamEntry[];
    for (const raw of page) {
      const message = messageOf(destination, readEntry(raw));
      if (message !== undefined) messages.push(message);
    }
    if (page.length < ctx.o.readCount) break;
    cursor = '(' + page[page.length - 1]![0].toString();
  }
  const gap = await trimmedPast(ctx, key, parsed.position);
  const kept = historyLength(ctx.o.history, destination);
  if (messages.length > kept) return { messages: messages.slice(messages.length - kept), gap: true };
  return { messages, gap };
}

/**
 * Whether entries after `position` may have been trimmed: the stream now starts after it (or is
 * gone). Trimming removes from the head in order, so checking after the history was read is
 * enough. It errs on the safe side: when the trim ended exactly at `position`, a gap is reported
 * that is not there. (XINFO's max-deleted-entry-id would be exact, but Redis 7.0 updates it only
 * on XDEL, not on MAXLEN trimming.)
 */
async function trimmedPast(ctx: RedisContext, key: string, position: StreamPosition): Promise<boolean> {
  const first = (await cmdBuffer(ctx.commands, 'XRANGE', [key, '-', '+', 'COUNT', 1])) as StreamEntry[];
  if (first.length === 0) return true;
  const head = parseMessageId('@' + first[0]![0].toString());
  if (head === null) return true;
  return comparePositions(head.position, position) > 0;
}

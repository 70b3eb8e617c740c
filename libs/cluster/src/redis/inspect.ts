// What the admin API asks Redis about destinations: which exist (the topic and queue directories)
// and what their streams hold. Off the message path: a handful of pipelined commands per call.
import type { DestinationStats, DestinationTarget, KnownDestinations } from '@stompede/broker-api';
import { cmd } from './connection.js';
import { GROUP, type RedisContext } from './context.js';

export async function knownDestinations(ctx: RedisContext, vhost: string): Promise<KnownDestinations> {
  const [topics, queues] = (await Promise.all([
    cmd(ctx.commands, 'SMEMBERS', [ctx.keys.directory(vhost).known]),
    cmd(ctx.commands, 'SMEMBERS', [ctx.keys.queueDirectory(vhost)]),
  ])) as [string[], string[]];
  return { topics, queues };
}

/**
 * Queue entries stay in their stream until acknowledged, so a queue's depth is its stream's length
 * minus what its consumer group has delivered and not yet seen acked (the pending count).
 */
export function destinationStats(ctx: RedisContext, vhost: string, targets: readonly DestinationTarget[]): Promise<DestinationStats[]> {
  return Promise.all(targets.map(async (t): Promise<DestinationStats> => {
    if (t.kind === 'topic') {
      const length = Number(await cmd(ctx.commands, 'XLEN', [ctx.keys.topic(vhost, t.name)]));
      return { depth: 0, pending: 0, historyLength: length };
    }
    const key = ctx.keys.queue(vhost, t.name);
    const [length, pending] = await Promise.all([
      cmd(ctx.commands, 'XLEN', [key]).then(Number),
      pendingCount(ctx, key),
    ]);
    return { depth: Math.max(0, length - pending), pending, historyLength: 0 };
  }));
}

async function pendingCount(ctx: RedisContext, key: string): Promise<number> {
  try {
    const summary = (await cmd(ctx.commands, 'XPENDING', [key, GROUP])) as [number | string, ...unknown[]];
    return Number(summary[0]);
  } catch (err) {
    // A queue nobody has consumed from yet has no group: nothing is pending.
    if (/NOGROUP/.test(String((err as Error).message))) return 0;
    throw err;
  }
}

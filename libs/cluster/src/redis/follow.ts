// Following streams: how a node reads topic streams, the announcements of new destinations and its
// inbox. Each stream is read through a consumer group named after the node (XREADGROUP ... NOACK),
// so Redis keeps the node's read position: a stream is followed from an exact position (FOLLOW
// creates or moves the group atomically, '$' meaning "everything published from now on"), the
// trimmer keeps what some node has not read yet, and a group Redis lost (a restart without
// persistence) is re-created where the node had got to. One blocking reader per hash tag.
import { cmd, openConnection } from './connection.js';
import type { RedisContext } from './context.js';
import { WAKE_FIELD } from './fields.js';
import { KeySpace } from './keys.js';
import { StreamReader, type ReadTarget } from './reader.js';
import { FOLLOW, run } from './scripts.js';

/** How long a blocking read waits before it is re-issued (it returns early on data or a wake). */
const BLOCK_MS = 5_000;
const RETRY_MS = 250;
/** FOLLOW counts at most this many entries after a start position to tell Redis the group's lag. */
const COUNT_AFTER_START = 10_000;

export class Followers {
  private readonly readers = new Map<string, StreamReader>();
  /** Per hash tag: the reader's wake stream has this node's group. */
  private readonly wakeGroups = new Map<string, Promise<unknown>>();

  constructor(private readonly ctx: RedisContext) {}

  /**
   * Starts reading `key` after `startId` ('$': after its newest entry) into `target`. Resolves once
   * every entry added after that position will reach the target, with the position ('$' resolved).
   * If `wanted()` turned false meanwhile (unsubscribed), nothing is read and the group goes again.
   */
  async follow(key: string, startId: string, target: ReadTarget, wanted: () => boolean): Promise<string> {
    const tag = KeySpace.tagOf(key);
    const reader = this.reader(tag);
    await this.wakeGroup(tag, reader.wakeKey);
    const start = String(await run(this.ctx.commands, FOLLOW, [key], [this.ctx.o.nodeId, startId, COUNT_AFTER_START]));
    if (!wanted()) {
      this.dropGroup(key);
      return start;
    }
    target.lastId = start;
    reader.add(key, target);
    return start;
  }

  /** Stops reading `key`; its group goes too, so this node no longer holds the stream's entries back. */
  unfollow(key: string): void {
    this.readers.get(KeySpace.tagOf(key))?.remove(key);
    this.dropGroup(key);
  }

  following(key: string): boolean {
    return this.readers.get(KeySpace.tagOf(key))?.has(key) ?? false;
  }

  async close(): Promise<string[]> {
    await Promise.all([...this.readers.values()].map((r) => r.close()));
    const wakeKeys = [...this.readers.values()].map((r) => r.wakeKey);
    this.readers.clear();
    this.wakeGroups.clear();
    return wakeKeys;
  }

  private dropGroup(key: string): void {
    if (this.ctx.up) void cmd(this.ctx.commands, 'XGROUP', ['DESTROY', key, this.ctx.o.nodeId]).catch(() => {});
  }

  private wakeGroup(tag: string, wakeKey: string): Promise<unknown> {
    let ready = this.wakeGroups.get(tag);
    if (ready === undefined) {
      ready = run(this.ctx.commands, FOLLOW, [wakeKey], [this.ctx.o.nodeId, '$', COUNT_AFTER_START]);
      ready.catch(() => this.wakeGroups.delete(tag));
      this.wakeGroups.set(tag, ready);
    }
    return ready;
  }

  private reader(tag: string): StreamReader {
    let r = this.readers.get(tag);
    if (r !== undefined) return r;
    const ctx = this.ctx;
    const wakeKey = ctx.keys.wake(ctx.o.nodeId, tag, 'topics');
    const conn = openConnection(ctx.o.urls, `stompede:${ctx.o.nodeId}:topics:${tag}`, 'reader', ctx.o.timeoutMs);
    conn.on('error', () => {}); // the command connection reports outages; readers just retry
    r = new StreamReader({
      conn,
      wakeKey,
      wake: () => cmd(ctx.commands, 'XADD', [wakeKey, 'MAXLEN', '1', '*', WAKE_FIELD, '1']),
      readCount: ctx.o.readCount,
      blockMs: BLOCK_MS,
      group: { name: ctx.o.nodeId, consumer: ctx.o.nodeId, noAck: true },
      lingerMs: ctx.o.readLingerMs,
      // A failed read may have been served, its reply lost with the connection (NOACK moved the
      // group on), or Redis may have lost the group: put every position back where the node had
      // really got to before reading again, which waits until Redis is reachable.
      onError: async () => {
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
          if (this.readers.get(tag) !== r) return; // closed
          if (!ctx.up) continue;
          if (await this.recover(tag).then(() => true, () => false)) return;
        }
      },
      onRead: (entries, bytes) => ctx.countRead(entries, bytes),
    });
    this.readers.set(tag, r);
    return r;
  }

  /** Drops and re-opens every reader's connection (Redis stopped answering on this node's path). */
  reconnect(): void {
    for (const r of this.readers.values()) r.reconnect();
  }

  /**
   * Sets this node's group of every stream the reader follows to the last entry the node received
   * (re-creating groups Redis lost: a restart without persistence, an inbox that expired).
   */
  private async recover(tag: string): Promise<void> {
    const reader = this.readers.get(tag);
    if (reader === undefined) return;
    this.wakeGroups.delete(tag);
    await this.wakeGroup(tag, reader.wakeKey);
    const nodeId = this.ctx.o.nodeId;
    await Promise.all([...reader.entries()].map(([key, target]) => run(this.ctx.commands, FOLLOW, [key], [nodeId, target.lastId, COUNT_AFTER_START])));
  }
}

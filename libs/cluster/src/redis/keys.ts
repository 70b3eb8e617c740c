// Where everything lives in Redis. Every key carries a hash tag so that the keys one command touches
// share a slot in Redis Cluster: a destination's stream hashes into one of `partitions` tags, so a
// node reads every stream of a partition with one blocking XREAD; the directory and the registry
// each have a tag of their own.
/** Topic keys remembered (every SEND needs its destination's; computing one hashes the name). */
const MAX_CACHED_TOPIC_KEYS = 100_000;

export class KeySpace {
  private readonly topicKeys = new Map<string, string>();

  constructor(
    readonly prefix: string,
    readonly partitions: number,
  ) {}

  partitionOf(vhost: string, name: string): number {
    return fnv1a(vhost + '\u0000' + name) % this.partitions;
  }

  private tag(partition: number): string {
    return `{${this.prefix}.${partition}}`;
  }

  /** The stream of a topic destination. */
  topic(vhost: string, destination: string): string {
    const name = vhost + '\u0000' + destination;
    let key = this.topicKeys.get(name);
    if (key === undefined) {
      key = `${this.prefix}:t:${this.tag(fnv1a(name) % this.partitions)}:${escapeVhost(vhost)}:${destination}`;
      if (this.topicKeys.size >= MAX_CACHED_TOPIC_KEYS) this.topicKeys.clear();
      this.topicKeys.set(name, key);
    }
    return key;
  }

  /** The stream of a queue, read through the consumer group `GROUP`. */
  queue(vhost: string, queue: string): string {
    return `${this.prefix}:q:${this.tag(this.partitionOf(vhost, queue))}:${escapeVhost(vhost)}:${queue}`;
  }

  /** Bytes held by a queue (for maxQueueBytes); same slot as its stream. */
  queueBytes(queueKey: string): string {
    return queueKey.replace(`${this.prefix}:q:`, `${this.prefix}:qb:`);
  }

  /** A node's inbox: replies for reply queues that node holds. */
  inbox(nodeId: string): string {
    return `${this.prefix}:inbox:${this.tag(this.partitionOf('', nodeId))}:${nodeId}`;
  }

  /**
   * A reader's wake-up stream: adding to it returns the reader's blocking read, so it can re-issue
   * the read with the streams that were added meanwhile. It shares the reader's slot.
   */
  wake(nodeId: string, readerKey: string, kind: 'topics' | 'queues'): string {
    return `${this.prefix}:wake:${readerKey}:${nodeId}:${kind}`;
  }

  /** Every destination ever published to in `vhost` (a SET), and the stream announcing new ones. */
  directory(vhost: string): { known: string; announced: string } {
    const tag = `{${this.prefix}.dir}`;
    return { known: `${this.prefix}:dir:${tag}:${escapeVhost(vhost)}`, announced: `${this.prefix}:dirlog:${tag}:${escapeVhost(vhost)}` };
  }

  /** Every queue that was ever sent to or consumed from in `vhost` (a SET, for the admin API). */
  queueDirectory(vhost: string): string {
    return `${this.prefix}:qdir:{${this.prefix}.dir}:${escapeVhost(vhost)}`;
  }

  /** The node registry: a HASH of node snapshots and a stream of interest changes. */
  registry(): { nodes: string; events: string } {
    const tag = `{${this.prefix}.registry}`;
    return { nodes: `${this.prefix}:nodes:${tag}`, events: `${this.prefix}:events:${tag}` };
  }

  /** A value the nodes agree on (a generated admin token). */
  shared(name: string): string {
    return `${this.prefix}:shared:{${this.prefix}.registry}:${name}`;
  }

  /** The hash tag of a key: readers group streams by it (one blocking read per tag). */
  static tagOf(key: string): string {
    const open = key.indexOf('{');
    const close = key.indexOf('}', open + 1);
    return open >= 0 && close > open + 1 ? key.slice(open, close + 1) : key;
  }
}

/** FNV-1a over UTF-16 code units: cheap, stable across nodes and versions. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Vhost names may contain ':', which separates a key's parts: escaped, so no two keys spell the same. */
function escapeVhost(vhost: string): string {
  return vhost.replaceAll('%', '%25').replaceAll(':', '%3A');
}

// Trims the topic streams this node publishes to, and learns from it how far behind their slowest
// reader is. A stream keeps its destination's history and every entry some node has not read yet
// (each node reads through a consumer group of its own, so Redis knows where every node is), up to
// a hard bound. A node that lags therefore loses nothing unless it falls more than the hard bound
// behind; before that, the publishers feel it (publish pressure): slowed past `streamLagPressure`
// entries of lag, refused close to the hard bound.
import { historyLength, type PublishPressure } from '@stompede/broker-api';
import type { RedisContext } from './context.js';
import { run, TRIM } from './scripts.js';

/** Publishes are refused once a reader lags by this share of the hard bound (lag is learnt once per trim interval). */
const REFUSE_AT = 0.9;

interface Active {
  readonly vhost: string;
  readonly destination: string;
  /** Messages this node published to the stream since the pass began. */
  published: number;
}

export class StreamTrimmer {
  /** Streams published to since the last pass. */
  private active = new Map<string, Active>();
  /** Lag of the slowest reader, per stream, at the last pass (-1: unknown). */
  private lag = new Map<string, number>();
  private running = false;
  private pressured = false;

  constructor(
    private readonly ctx: RedisContext,
    /** Every node id in the registry (live or recently dead); undefined when not read lately. */
    private readonly knownNodes: () => readonly string[] | undefined,
    /** Some pressure went away: held publishers may go on. */
    private readonly relieved: () => void,
  ) {}

  published(key: string, vhost: string, destination: string): void {
    const a = this.active.get(key);
    if (a === undefined) this.active.set(key, { vhost, destination, published: 1 });
    else a.published++;
  }

  /**
   * From the slowest reader's lag at the last pass. The refusal also counts what this node published
   * since (as if nobody had read any of it): lag is learnt once per pass, and a publisher that fast
   * must not push a reader past the hard bound in between.
   */
  pressure(key: string): PublishPressure {
    const lag = this.lag.get(key) ?? 0;
    if (lag + (this.active.get(key)?.published ?? 0) >= this.ctx.o.streamMaxEntries * REFUSE_AT) return 'full';
    return lag >= this.ctx.o.streamLagPressure ? 'slow' : 'none';
  }

  /** One pass over the streams published to since the last one. */
  async pass(): Promise<void> {
    if (this.running || !this.ctx.up || this.active.size === 0) return;
    this.running = true;
    const active = this.active;
    this.active = new Map();
    const known = this.knownNodes();
    const o = this.ctx.o;
    try {
      const lag = new Map<string, number>();
      await Promise.all([...active].map(async ([key, a]) => {
        const history = historyLength(o.history, a.destination);
        const args = [history, o.streamMaxEntries, known === undefined ? '0' : '1', o.nodeId, ...(known ?? [])];
        const [maxLag] = (await run(this.ctx.commands, TRIM, [key], args)) as [number, number];
        lag.set(key, Number(maxLag));
      }));
      this.lag = lag;
      // A stream under pressure is measured again next pass even if nobody could publish to it
      // meanwhile (its publishers are held): the pressure ends when its reader caught up, not before.
      for (const [key, a] of active) if ((lag.get(key) ?? 0) >= o.streamLagPressure / 2) this.keepMeasuring(key, a);
      this.checkRelief();
    } catch (err) {
      this.ctx.log.warn({ err: String(err) }, 'trimming topic streams failed; retried at the next pass');
      for (const [key, a] of active) this.keepMeasuring(key, a);
    } finally {
      this.running = false;
    }
  }

  private keepMeasuring(key: string, a: Active): void {
    if (!this.active.has(key)) this.active.set(key, { vhost: a.vhost, destination: a.destination, published: 0 });
  }

  private checkRelief(): void {
    let any = false;
    for (const lag of this.lag.values()) if (lag >= this.ctx.o.streamLagPressure / 2) any = true;
    if (this.pressured && !any) this.relieved();
    this.pressured = any;
  }
}

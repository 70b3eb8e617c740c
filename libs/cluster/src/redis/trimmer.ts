// Trims the topic streams this node publishes to, and learns from it how far behind their slowest
// reader is. A stream keeps its destination's history and every entry some node has not read yet
// (each node reads through a consumer group of its own, so Redis knows where every node is), up to
// a hard bound. A node that lags therefore loses nothing unless it falls more than the hard bound
// behind; before that, the publishers feel it (publish pressure): slowed past `streamLagPressure`
// entries of lag, refused close to the hard bound.
import { historyLength, type PublishPressure } from '@stompede/broker-api';
import type { RedisContext } from './context.js';
import { DeadGroups } from './dead-groups.js';
import type { KnownNodes } from './registry.js';
import { run, TRIM } from './scripts.js';

/** Publishes are refused once a reader lags by this share of the hard bound (lag is learnt once per trim interval). */
const REFUSE_AT = 0.9;

interface Active {
  readonly vhost: string;
  readonly destination: string;
}

export class StreamTrimmer {
  /** Streams to measure at the next pass: published to since the last one, or under pressure. */
  private active = new Map<string, Active>();
  /** Lag of the slowest reader, per stream, at the last pass (the stream's length when Redis could not tell). */
  private lag = new Map<string, number>();
  /** Per stream, messages this node accepted that no completed pass has counted in the lag yet. */
  private readonly unmeasured = new Map<string, number>();
  private readonly deadGroups = new DeadGroups();
  private running = false;
  private pressured = false;

  constructor(
    private readonly ctx: RedisContext,
    /** Every node id in the registry (live or recently dead); undefined when not read lately. */
    private readonly knownNodes: () => KnownNodes | undefined,
    /** Some pressure went away: held publishers may go on. */
    private readonly relieved: () => void,
    /** Messages accepted for a stream and not yet written to the stream-write connection. */
    private readonly unwritten: (key: string) => number,
  ) {}

  published(key: string, vhost: string, destination: string): void {
    if (!this.active.has(key)) this.active.set(key, { vhost, destination });
    this.unmeasured.set(key, (this.unmeasured.get(key) ?? 0) + 1);
  }

  /**
   * From the slowest reader's lag at the last pass. The refusal also counts what this node accepted
   * that the lag does not include yet (as if nobody had read any of it): lag is learnt once per
   * pass, and a publisher that fast must not push a reader past the hard bound in between.
   */
  pressure(key: string): PublishPressure {
    const lag = this.lag.get(key) ?? 0;
    if (lag + (this.unmeasured.get(key) ?? 0) >= this.ctx.o.streamMaxEntries * REFUSE_AT) return 'full';
    return lag >= this.ctx.o.streamLagPressure ? 'slow' : 'none';
  }

  /**
   * One pass over the streams published to since the last one. The script goes over the
   * stream-write connection, behind every publish written before it: its lag covers exactly the
   * messages accepted so far minus those still waiting to be written (behind a batch in flight).
   */
  async pass(): Promise<void> {
    if (this.running || !this.ctx.up || this.active.size === 0) return;
    this.running = true;
    const active = this.active;
    this.active = new Map();
    const known = this.knownNodes();
    const o = this.ctx.o;
    try {
      await Promise.all([...active].map(async ([key, a]) => {
        const covered = (this.unmeasured.get(key) ?? 0) - this.unwritten(key);
        const [maxLag, length, ...unknown] = (await run(this.ctx.streamWrites, TRIM, [key], this.trimArgs(key, a, known))) as [number, number, ...string[]];
        // Lag and count change together, so pressure() never sees a message in neither. When Redis
        // cannot tell some group's lag, the stream's length bounds it: no group has more to read.
        this.lag.set(key, Number(maxLag) < 0 ? Number(length) : Number(maxLag));
        this.measured(key, covered);
        this.deadGroups.seen(key, known === undefined ? undefined : unknown.map(String), Date.now());
      }));
      // Streams nobody published to since the last pass, and not under pressure, count as caught up.
      for (const key of this.lag.keys()) if (!active.has(key)) this.lag.delete(key);
      this.deadGroups.keepOnly(active);
      // A stream under pressure is measured again next pass even if nobody could publish to it
      // meanwhile (its publishers are held or refused): the pressure ends when its reader caught up,
      // and when what was still being written when this pass began is measured, not before. So is
      // one with groups of unknown nodes, until they are judged.
      for (const [key, a] of active) {
        const again = (this.lag.get(key) ?? 0) >= o.streamLagPressure / 2 || this.unmeasured.has(key) || this.deadGroups.pending(key);
        if (again) this.keepMeasuring(key, a);
      }
      this.checkRelief();
    } catch (err) {
      this.ctx.log.warn({ err: String(err) }, 'trimming topic streams failed; retried at the next pass');
      for (const [key, a] of active) this.keepMeasuring(key, a);
    } finally {
      this.running = false;
    }
  }

  /** trim.lua's arguments: this node is always known; the registry's ids when read lately. */
  private trimArgs(key: string, a: Active, known: KnownNodes | undefined): (string | number)[] {
    const o = this.ctx.o;
    const history = historyLength(o.history, a.destination);
    if (known === undefined) return [history, o.streamMaxEntries, -1];
    const ids = known.ids.has(o.nodeId) ? [...known.ids] : [o.nodeId, ...known.ids];
    return [history, o.streamMaxEntries, ids.length, ...ids, ...this.deadGroups.doomed(key, known)];
  }

  private measured(key: string, covered: number): void {
    const left = (this.unmeasured.get(key) ?? 0) - covered;
    if (left > 0) this.unmeasured.set(key, left);
    else this.unmeasured.delete(key);
  }

  private keepMeasuring(key: string, a: Active): void {
    if (!this.active.has(key)) this.active.set(key, a);
  }

  private checkRelief(): void {
    let any = false;
    for (const lag of this.lag.values()) if (lag >= this.ctx.o.streamLagPressure / 2) any = true;
    if (this.pressured && !any) this.relieved();
    this.pressured = any;
  }
}

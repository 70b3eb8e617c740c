// The scenario file format, shared by the k6 scripts and the Node driver (this file imports
// nothing, so both runtimes load it as is): parameters, named profiles that override them, and
// thresholds in k6's expression syntax, where `${param}` stands for a parameter's value.

export type ParamValue = number | string | boolean;
export type Params = Readonly<Record<string, ParamValue>>;

export interface ScenarioFile {
  readonly description: string;
  readonly params: Params;
  /** Profile name -> parameters it overrides (e.g. "smoke": the few-seconds CI run). */
  readonly profiles?: Readonly<Record<string, Params>>;
  /** Metric name -> k6 threshold expressions ("p(99)<250", "count==0", "count>=${messages}"). */
  readonly thresholds: Readonly<Record<string, readonly string[]>>;
}

export interface Scenario {
  readonly name: string;
  readonly profile: string;
  readonly params: Params;
  readonly thresholds: Readonly<Record<string, readonly string[]>>;
}

/** Metrics the scenarios record, by k6 metric kind; thresholds may name only these. */
export const METRICS = {
  stomp_latency_ms: 'trend',
  stomp_published: 'counter',
  stomp_delivered: 'counter',
  stomp_lost: 'counter',
  stomp_duplicated: 'counter',
  stomp_incomplete: 'counter',
  stomp_unconfirmed_delivered: 'counter',
  stomp_errors: 'counter',
  stomp_connects: 'counter',
  stomp_connect_errors: 'counter',
  stomp_connect_ms: 'trend',
  stomp_drain_notices: 'counter',
  stomp_stale_drain_ids: 'counter',
  stomp_reconnects: 'counter',
  stomp_reconnect_ms: 'trend',
  queue_sent: 'counter',
  queue_lost: 'counter',
  queue_unconfirmed_acked: 'counter',
  queue_acked: 'counter',
  queue_duplicated: 'counter',
  queue_latency_ms: 'trend',
  queue_share_ratio: 'trend',
} as const;

export type MetricName = keyof typeof METRICS;
export type MetricKind = (typeof METRICS)[MetricName];

/** Headers every load-test SEND carries, read back from the MESSAGE. */
export const HEADER = {
  publisher: 'x-lt-pub',
  seq: 'x-lt-seq',
  sentMs: 'x-lt-sent',
  final: 'x-lt-final',
} as const;

/**
 * The scenario `name` with `profile`'s parameters and then `overrides` applied, and `${param}` in
 * thresholds replaced. Throws on an unknown profile, an override of an unknown parameter, a
 * threshold on an unknown metric or one naming an unknown parameter.
 */
export function resolveScenario(name: string, file: ScenarioFile, profile = 'default', overrides: Params = {}): Scenario {
  const profileParams = profile === 'default' ? {} : file.profiles?.[profile];
  if (profileParams === undefined) {
    throw new Error(`scenario ${name} has no profile "${profile}" (it has: default, ${Object.keys(file.profiles ?? {}).join(', ')})`);
  }
  for (const key of [...Object.keys(profileParams), ...Object.keys(overrides)]) {
    if (!(key in file.params)) throw new Error(`scenario ${name} has no parameter "${key}"`);
  }
  const params: Params = { ...file.params, ...profileParams, ...overrides };
  const thresholds: Record<string, string[]> = {};
  for (const [metric, expressions] of Object.entries(file.thresholds)) {
    if (!(metric in METRICS)) throw new Error(`scenario ${name}: threshold on unknown metric ${metric}`);
    thresholds[metric] = expressions.map((e) =>
      e.replace(/\$\{(\w+)\}/g, (_, key: string) => {
        const value = params[key];
        if (value === undefined) throw new Error(`scenario ${name}: threshold "${e}" names unknown parameter ${key}`);
        return String(value);
      }),
    );
  }
  return { name, profile, params, thresholds };
}

/** A numeric parameter (throws when it is missing or not a number). */
export function num(scenario: Scenario, key: string): number {
  const value = scenario.params[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`scenario ${scenario.name}: parameter ${key} must be a number, is ${JSON.stringify(value)}`);
  return value;
}

/** A string parameter. */
export function str(scenario: Scenario, key: string): string {
  const value = scenario.params[key];
  if (typeof value !== 'string') throw new Error(`scenario ${scenario.name}: parameter ${key} must be a string, is ${JSON.stringify(value)}`);
  return value;
}

/** Sequence bookkeeping of one subscriber for one publisher: what k6 and the driver both count. */
export class SeqTrack {
  /** Highest seq seen. */
  max = 0;
  /** Seqs below `max` not seen yet (a late arrival removes itself). */
  readonly missing = new Set<number>();
  duplicated = 0;
  distinct = 0;
  sawFinal = false;

  /** Records `seq` (1-based, the publisher's counter). */
  see(seq: number, final: boolean): void {
    if (final) this.sawFinal = true;
    if (seq > this.max) {
      for (let s = this.max + 1; s < seq; s++) this.missing.add(s);
      this.max = seq;
      this.distinct++;
    } else if (this.missing.delete(seq)) {
      this.distinct++;
    } else {
      this.duplicated++;
    }
  }
}

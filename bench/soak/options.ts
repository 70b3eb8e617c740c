// The soak's command line (node:util parseArgs), validated once.
import { parseArgs } from 'node:util';

export interface SoakOptions {
  readonly minutes: number;
  readonly out: string | undefined;
  readonly chart: string | undefined;
  readonly sampleSeconds: number;
  readonly restartAt: number;
  readonly publishers: number;
  readonly topicRate: number;
  readonly subscribers: number;
  readonly producers: number;
  readonly queueRate: number;
  readonly consumers: number;
  readonly nackShare: number;
  readonly churners: number;
  readonly settleSeconds: number;
  readonly maxRssMibPerMin: number;
  readonly maxHeapMibPerMin: number;
  readonly maxFdsPerMin: number;
  readonly brokerCore: number | undefined;
  readonly loadCore: number | undefined;
  readonly seed: number;
}

export const USAGE = `usage: npm run soak -- [options]      (make soak ARGS="...")

Mixed traffic through a 3-node cluster over a private redis-server for --minutes, with one node
restarted (SIGTERM: drain, exit, start again) at --restart-at of the run. Samples every process's
RSS, V8 heap and open fds; fails when a slope over the second half exceeds its bound, or when a
confirmed message was lost. Writes samples.csv, chart.svg, summary.json and summary.md.

  --minutes N              load duration (default 10; fractions allowed, at least 0.5)
  --out DIR                output directory (default bench/results/soak-<time>)
  --chart FILE             also write the chart there (e.g. docs/soak-30min.svg)
  --sample-seconds S       sampling interval (default 5)
  --restart-at F           when node-b restarts, as a fraction of the run (default 0.25)
  --publishers N           topic publishers, one topic each (default 3)
  --topic-rate R           msgs/s per topic publisher (default 20)
  --subscribers N          long-lived topic subscribers per node, on every topic (default 4)
  --producers N            queue producers, one queue each (default 2)
  --queue-rate R           msgs/s per queue producer (default 20)
  --consumers N            queue consumers per node (default 2)
  --nack-share F           share of first deliveries NACKed (default 0.05)
  --churners N             connect/subscribe/disconnect loops, half WebSocket, half TCP (default 4)
  --settle-seconds S       after the load, how long to wait for everything to arrive (default 60)
  --max-rss-mib-per-min X  bound of the RSS slope (default 1)
  --max-heap-mib-per-min X bound of the heap-used slope (default 1)
  --max-fds-per-min X      bound of the open-fds slope (default 1)
  --broker-core C          core of the nodes and Redis (default 0)
  --load-core C            core of this process, the load (default 1)
  --no-pin                 no taskset pinning
  --seed N                 random seed of the traffic mix (default 1)
  -h, --help
`;

export class UsageError extends Error {}

const NUMBERS: Record<string, { key: keyof SoakOptions; def: number; min: number; max: number; int?: boolean }> = {
  minutes: { key: 'minutes', def: 10, min: 0.5, max: 24 * 60 },
  'sample-seconds': { key: 'sampleSeconds', def: 5, min: 1, max: 600 },
  'restart-at': { key: 'restartAt', def: 0.25, min: 0.05, max: 0.45 },
  publishers: { key: 'publishers', def: 3, min: 1, max: 100, int: true },
  'topic-rate': { key: 'topicRate', def: 20, min: 0.1, max: 10_000 },
  subscribers: { key: 'subscribers', def: 4, min: 1, max: 1000, int: true },
  producers: { key: 'producers', def: 2, min: 1, max: 100, int: true },
  'queue-rate': { key: 'queueRate', def: 20, min: 0.1, max: 10_000 },
  consumers: { key: 'consumers', def: 2, min: 1, max: 1000, int: true },
  'nack-share': { key: 'nackShare', def: 0.05, min: 0, max: 0.9 },
  churners: { key: 'churners', def: 4, min: 0, max: 1000, int: true },
  'settle-seconds': { key: 'settleSeconds', def: 60, min: 1, max: 3600 },
  'max-rss-mib-per-min': { key: 'maxRssMibPerMin', def: 1, min: 0, max: 1e6 },
  'max-heap-mib-per-min': { key: 'maxHeapMibPerMin', def: 1, min: 0, max: 1e6 },
  'max-fds-per-min': { key: 'maxFdsPerMin', def: 1, min: 0, max: 1e6 },
  'broker-core': { key: 'brokerCore', def: 0, min: 0, max: 1023, int: true },
  'load-core': { key: 'loadCore', def: 1, min: 0, max: 1023, int: true },
  seed: { key: 'seed', def: 1, min: 0, max: 2 ** 31, int: true },
};

/** The options, or undefined for --help; throws UsageError. */
export function parseSoakArgs(argv: readonly string[]): SoakOptions | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(Object.keys(NUMBERS).map((k) => [k, { type: 'string' as const }])),
        out: { type: 'string' }, chart: { type: 'string' }, 'no-pin': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values['help'] === true) return undefined;
  const out: Record<string, unknown> = { out: values['out'], chart: values['chart'] };
  for (const [flag, spec] of Object.entries(NUMBERS)) {
    const raw = values[flag];
    const n = typeof raw === 'string' ? Number(raw) : spec.def;
    if (!Number.isFinite(n) || n < spec.min || n > spec.max || (spec.int === true && !Number.isInteger(n))) {
      throw new UsageError(`--${flag} must be ${spec.int === true ? 'a whole number' : 'a number'} between ${spec.min} and ${spec.max}, got "${String(raw)}"`);
    }
    out[spec.key] = n;
  }
  if (values['no-pin'] === true) Object.assign(out, { brokerCore: undefined, loadCore: undefined });
  else if (out['brokerCore'] === out['loadCore']) throw new UsageError('--broker-core and --load-core must differ');
  return out as unknown as SoakOptions;
}

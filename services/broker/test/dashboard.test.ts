// deploy/grafana/stompede.json against what a node really exports: every query parses with
// Prometheus's own grammar, every metric it names is on a live cluster node's /metrics, and every
// stompede_ metric is on the dashboard. A renamed metric would otherwise show "No data" in
// production, and a new one would go unwatched.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { PrometheusFamily } from 'parse-prometheus-text-format';
import { opensslMissing, TestCa } from './helpers/certs.js';
import { useCluster } from './helpers/cluster.js';
import { metricsText, parseMetrics } from './helpers/metrics.js';
import { familyOf, interpolateGrafana, parsePromQL, variablePromQL, type ParsedPromQL } from './helpers/promql.js';
import { redisUnavailable } from './helpers/redis-server.js';
import { Inbox, publishAll, range, subscribed } from './helpers/stompjs.js';

const DASHBOARD = new URL('../../../deploy/grafana/stompede.json', import.meta.url);
const DATASOURCE = '${datasource}';

/** Series Prometheus itself adds per scrape target: no node can export them. */
const SCRAPE_SERIES: ReadonlyMap<string, string> = new Map([['up', 'Prometheus sets it per target: 1 scraped, 0 unreachable']]);
/** stompede_ metrics deliberately left off the dashboard, each with the reason. */
const NOT_DASHBOARDED: ReadonlyMap<string, string> = new Map();
const RATE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

interface DatasourceRef {
  readonly type?: string;
  readonly uid?: string;
}
interface Panel {
  readonly id?: unknown;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: DatasourceRef;
  readonly targets?: readonly { readonly expr?: string; readonly datasource?: DatasourceRef }[];
  /** The panels of a collapsed row. */
  readonly panels?: readonly Panel[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly datasource?: DatasourceRef;
}
interface Dashboard {
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const variables = dashboard.templating.list;
const queryVariables = variables.filter((v) => v.type === 'query');

interface Query extends ParsedPromQL {
  readonly where: string;
}

/** Every PromQL expression of the dashboard: panel targets, and variable queries and definitions. */
const queries: readonly Query[] = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t, i) => ({ where: `panel "${p.title}" target ${i}`, expr: t.expr ?? '' }))),
  ...queryVariables.flatMap((v) =>
    [typeof v.query === 'string' ? v.query : v.query?.query, v.definition].flatMap((q) => {
      const expr = q === undefined ? undefined : variablePromQL(q);
      return expr === undefined ? [] : [{ where: `variable $${v.name}`, expr }];
    }),
  ),
].map(({ where, expr }) => {
  try {
    return { where, ...parsePromQL(interpolateGrafana(expr, new Set(variables.map((v) => v.name)))) };
  } catch (err) {
    return { where, selectors: [], errors: [(err as Error).message] };
  }
});

test('the dashboard has what Grafana needs: unique panel ids, titles, the datasource variable everywhere', () => {
  assert.equal(dashboard.schemaVersion, 39);
  const ids = panels.map((p) => p.id);
  assert.ok(ids.every((id) => Number.isInteger(id)), `integer panel ids: ${ids.join(', ')}`);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'duplicate panel ids');
  assert.deepEqual(panels.filter((p) => !p.title?.trim()).map((p) => p.id), [], 'panels without a title');
  const ds = variables.find((v) => v.name === DATASOURCE.slice(2, -1));
  assert.equal(ds?.type, 'datasource');
  assert.equal(ds?.query, 'prometheus');
  const wrong: string[] = [];
  for (const p of panels.filter((p) => p.type !== 'row')) {
    if (p.datasource?.uid !== DATASOURCE || p.datasource.type !== 'prometheus') wrong.push(`panel "${p.title}"`);
    if ((p.targets ?? []).length === 0) wrong.push(`panel "${p.title}" has no targets`);
    p.targets?.forEach((t, i) => t.datasource !== undefined && t.datasource.uid !== DATASOURCE && wrong.push(`panel "${p.title}" target ${i}`));
  }
  for (const v of queryVariables) if (v.datasource?.uid !== DATASOURCE) wrong.push(`variable $${v.name}`);
  assert.deepEqual(wrong, [], `not on the ${DATASOURCE} Prometheus datasource`);
});

test('every query parses with the PromQL grammar and uses only defined variables', () => {
  assert.ok(queries.length > 40, `only ${queries.length} queries found: is the dashboard read right?`);
  assert.deepEqual(queries.flatMap((q) => q.errors.map((e) => `${q.where}: ${e}`)), []);
});

describe('the dashboard against a live cluster node', { skip: redisUnavailable() ?? opensslMissing() }, () => {
  // With STOMP over TLS on, so that the stompede_tls_* metrics are exported and checked too.
  const ca = redisUnavailable() ?? opensslMissing() ? undefined : new TestCa();
  const cert = ca?.issue('dashboard');
  const cluster = useCluster({ nodes: 1, env: cert && { STOMPEDE_TLS_CERT: cert.cert, STOMPEDE_TLS_KEY: cert.key } });
  after(() => ca?.cleanup()); // registered after useCluster's: runs once the node is gone
  let families: ReadonlyMap<string, PrometheusFamily>;

  before(async () => {
    // Traffic over topics and a queue, so that labelled and histogram series have samples too.
    const client = await cluster.stompjs(0);
    const inbox = new Inbox();
    await subscribed(client, '/topic/dashboard', inbox.push);
    await publishAll(client, '/topic/dashboard', range(3));
    await publishAll(client, '/queue/dashboard', range(3));
    await inbox.until(3);
    families = parseMetrics(await metricsText(cluster.node(0)));
  });

  const used = (): { metric: string; family: string | undefined; rangeFunction: string | undefined; where: string }[] =>
    queries.flatMap((q) => q.selectors.map((s) => ({ ...s, family: familyOf(s.metric, families), where: q.where })));

  test('every metric the dashboard queries is exported by the node', () => {
    const missing = used().filter((u) => u.family === undefined && !SCRAPE_SERIES.has(u.metric));
    assert.deepEqual(missing.map((u) => `${u.metric} (${u.where})`), [], 'queried but not on /metrics');
  });

  test('every stompede_ metric the node exports is on the dashboard', () => {
    const dashboarded = new Set(used().map((u) => u.family));
    const stompede = [...families.keys()].filter((name) => name.startsWith('stompede_'));
    assert.ok(stompede.length > 30, `only ${stompede.length} stompede_ metrics: not a cluster node?`);
    assert.deepEqual(stompede.filter((name) => !dashboarded.has(name) && !NOT_DASHBOARDED.has(name)), [], 'exported but on no panel');
    const stale = [...NOT_DASHBOARDED.keys()].filter((name) => !families.has(name) || dashboarded.has(name));
    assert.deepEqual(stale, [], 'NOT_DASHBOARDED entries that are gone or dashboarded after all');
  });

  test('counters and histogram series are queried through rate() or increase(), gauges as they are', () => {
    const wrong: string[] = [];
    for (const u of used()) {
      if (u.family === undefined) continue;
      const counting = families.get(u.family)!.type === 'COUNTER' || u.family !== u.metric;
      const rated = u.rangeFunction !== undefined && RATE_FUNCTIONS.has(u.rangeFunction);
      if (counting !== rated) wrong.push(`${u.metric} (${families.get(u.family)!.type}) in ${u.rangeFunction ?? 'no'} range function, ${u.where}`);
    }
    assert.deepEqual(wrong, []);
  });
});

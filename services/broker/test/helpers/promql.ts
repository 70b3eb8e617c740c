// PromQL as Prometheus's own grammar (@prometheus-io/lezer-promql) parses it, for checking what
// dashboards query: the metric names of the selectors, and whether each selector is the range
// argument of a function such as rate(). Node types are matched by the grammar's exported term ids,
// so a renamed node type is a compile error rather than a silently empty result.
import {
  EqlSingle,
  FunctionCall,
  FunctionCallBody,
  FunctionIdentifier,
  Identifier,
  LabelMatchers,
  LabelName,
  MatchOp,
  MatrixSelector,
  OffsetExpr,
  ParenExpr,
  QuotedLabelMatcher,
  QuotedLabelName,
  StepInvariantExpr,
  StringLiteral,
  SubqueryExpr,
  UnquotedLabelMatcher,
  VectorSelector,
  parser,
} from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export interface Selector {
  /** The metric name the selector fixes (`foo`, `{__name__="foo"}` or `{"foo"}`). */
  readonly metric: string;
  /**
   * The function whose range argument this is (a range selector or subquery), as written: `rate`
   * in rate(foo[5m]); undefined for an instant vector.
   */
  readonly rangeFunction: string | undefined;
}

export interface ParsedPromQL {
  readonly selectors: readonly Selector[];
  /** Syntax errors (the tree's ⚠ nodes) and selectors without a fixed metric name. */
  readonly errors: readonly string[];
}

export function parsePromQL(expr: string): ParsedPromQL {
  const text = (n: SyntaxNode): string => expr.slice(n.from, n.to);
  const where = (n: SyntaxNode): string => `at ${n.from}: «${expr.slice(Math.max(0, n.from - 20), n.to + 20)}»`;
  const errors: string[] = expr.trim() === '' ? ['empty expression'] : [];
  const selectors: Selector[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) errors.push(`syntax error ${where(cursor.node)}`);
    if (cursor.type.id !== VectorSelector) continue;
    const node = cursor.node;
    const metric = metricName(node, text);
    if (metric === undefined) errors.push(`selector without a fixed metric name ${where(node)}`);
    else selectors.push({ metric, rangeFunction: rangeFunction(node, text) });
  } while (cursor.next());
  return { selectors, errors };
}

/** A string literal's value; metric names need no escapes, so the quotes are all there is to strip. */
const unquote = (literal: string): string => literal.slice(1, -1);

function metricName(selector: SyntaxNode, text: (n: SyntaxNode) => string): string | undefined {
  const identifier = selector.getChild(Identifier);
  if (identifier !== null) return text(identifier);
  for (const m of selector.getChild(LabelMatchers)?.getChildren(UnquotedLabelMatcher) ?? []) {
    if (text(m.getChild(LabelName)!) === '__name__' && m.getChild(MatchOp)?.firstChild?.type.id === EqlSingle) return unquote(text(m.getChild(StringLiteral)!));
  }
  for (const m of selector.getChild(LabelMatchers)?.getChildren(QuotedLabelMatcher) ?? []) {
    const label = unquote(text(m.getChild(QuotedLabelName)!));
    if (label === '__name__' && m.getChild(MatchOp)?.firstChild?.type.id === EqlSingle) return unquote(text(m.getChild(StringLiteral)!));
  }
  // {"name", ...}: a bare quoted name in the braces is the metric name (Prometheus 3 UTF-8 names).
  const bare = selector.getChild(LabelMatchers)?.getChild(QuotedLabelName);
  return bare ? unquote(text(bare)) : undefined;
}

/** The nearest ancestor of `node` that is not one of the `through` types. */
function above(node: SyntaxNode, through: ReadonlySet<number>): SyntaxNode | null {
  let parent = node.parent;
  while (parent !== null && through.has(parent.type.id)) parent = parent.parent;
  return parent;
}

// `offset` and `@` wrap either side of a range (rate(c offset 5m [5m]), rate(c[5m] offset 5m)).
const MODIFIERS: ReadonlySet<number> = new Set([OffsetExpr, StepInvariantExpr]);
const INSIDE_RANGE: ReadonlySet<number> = new Set([...MODIFIERS, ParenExpr]);

function rangeFunction(selector: SyntaxNode, text: (n: SyntaxNode) => string): string | undefined {
  const range = above(selector, INSIDE_RANGE);
  if (range === null || (range.type.id !== MatrixSelector && range.type.id !== SubqueryExpr)) return undefined;
  const body = above(range, MODIFIERS);
  const call = body?.type.id === FunctionCallBody ? body.parent : null;
  const identifier = call?.type.id === FunctionCall ? call.getChild(FunctionIdentifier) : null;
  return identifier ? text(identifier) : undefined;
}

/** What Grafana's global variables stand for while an expression is parsed: values of the right kind. */
const GRAFANA_GLOBALS: Readonly<Record<string, string>> = {
  __rate_interval: '1m',
  __interval: '1m',
  __interval_ms: '60000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

/**
 * `expr` with Grafana variables ($name, ${name}, ${name:format}, [[name]]) replaced so that
 * Prometheus's grammar can parse it: globals by a value of their kind, the dashboard's own
 * `variables` by a plain word (they stand in label values). Throws on any other variable.
 */
export function interpolateGrafana(expr: string, variables: ReadonlySet<string>): string {
  return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c!;
    const value = GRAFANA_GLOBALS[name] ?? (variables.has(name) ? 'value' : undefined);
    if (value === undefined) throw new Error(`${whole} is neither a Grafana global nor a dashboard variable, in ${expr}`);
    return value;
  });
}

/**
 * The PromQL inside a Grafana Prometheus variable query: the selector of label_values(selector,
 * label) or the query of query_result(query); undefined for forms without one (label_values(label),
 * label_names(), metrics(regex)); anything else is a query itself.
 */
export function variablePromQL(query: string): string | undefined {
  const q = query.trim();
  const labelValues = /^label_values\((.*)\)$/s.exec(q);
  if (labelValues) {
    const args = labelValues[1]!;
    const comma = args.lastIndexOf(',');
    return comma < 0 ? undefined : args.slice(0, comma);
  }
  const queryResult = /^query_result\((.*)\)$/s.exec(q);
  if (queryResult) return queryResult[1]!;
  return /^(label_names|metrics)\(/.test(q) ? undefined : q;
}

/**
 * The exposition family a queried series name belongs to: the name itself, or for x_bucket, x_sum
 * and x_count the histogram (or, for _sum and _count, summary) x. Undefined when there is none.
 */
export function familyOf<F extends { readonly type: string }>(metric: string, families: ReadonlyMap<string, F>): string | undefined {
  if (families.has(metric)) return metric;
  for (const [suffix, types] of [['_bucket', ['HISTOGRAM']], ['_sum', ['HISTOGRAM', 'SUMMARY']], ['_count', ['HISTOGRAM', 'SUMMARY']]] as const) {
    if (!metric.endsWith(suffix)) continue;
    const base = metric.slice(0, -suffix.length);
    if ((types as readonly string[]).includes(families.get(base)?.type ?? '')) return base;
  }
  return undefined;
}

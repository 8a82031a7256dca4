/**
 * The Grafana dashboard of deploy/grafana is one an operator can import and use: it parses as a
 * schema-39 dashboard with a data source variable and a multi-value actor variable, every panel
 * and query reads from the chosen data source, the panels fit the 24-column grid without
 * overlapping, every query names only metrics wasmesh serves and uses `$__rate_interval` for its
 * ranges, and a real Prometheus accepts every query (the variables filled in as Grafana would)
 * and answers it with an instant vector, as a panel needs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrometheusServer } from './prometheus.js';

const DASHBOARD_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'deploy',
  'grafana',
  'wasmesh-dashboard.json',
);

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

interface Target {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  collapsed?: boolean;
}

interface Variable {
  name: string;
  type: string;
  query: unknown;
  definition?: string;
  datasource?: { type?: string; uid?: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}

interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

/** Counters and gauges as wasmesh serves them on `/metrics` (README, "Observability"). */
const SERIES = [
  'wasmesh_actor_invocations_total',
  'wasmesh_actor_invocations_in_flight',
  'wasmesh_actors_running',
  'wasmesh_pool_slots_in_use',
  'wasmesh_pool_slots_limit',
  'wasmesh_host_calls_total',
  'wasmesh_provider_healthy',
  'wasmesh_provider_restarts_total',
  'wasmesh_nats_io_bytes_total',
  'wasmesh_nats_messages_total',
  'wasmesh_nats_reconnects_total',
  'http_server_active_requests',
  'wasmesh_keyvalue_operations_total',
  'wasmesh_messaging_deliveries_total',
  'wasmesh_reconciler_rounds_total',
  'wasmesh_reconciler_actions_total',
  'wasmesh_app_status_transitions_total',
  'wasmesh_gateway_requests_total',
  'target_info',
];
/** Histograms, each served as `_bucket`, `_count` and `_sum`. */
const HISTOGRAMS = [
  'wasmesh_actor_invocation_duration_seconds',
  'wasmesh_actor_invocation_queue_wait_seconds',
  'wasmesh_host_call_duration_seconds',
  'http_server_request_duration_seconds',
  'wasmesh_keyvalue_operation_duration_seconds',
  'wasmesh_messaging_delivery_duration_seconds',
  'wasmesh_app_converge_duration_seconds',
  'wasmesh_gateway_request_duration_seconds',
];
const KNOWN_METRICS = new Set([
  ...SERIES,
  ...HISTOGRAMS.flatMap((h) => ['_bucket', '_count', '_sum'].map((s) => h + s)),
]);

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

/** Every panel, rows' nested panels (a collapsed row keeps them) included. */
const allPanels: Panel[] = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
/** The panels that query: every one but the rows. */
const queryPanels = allPanels.filter((p) => p.type !== 'row');
const queries = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

/** PromQL `expr` with its string literals emptied (label values, regular expressions). */
function withoutStrings(expr: string): string {
  return expr.replaceAll(/"(?:[^"\\]|\\.)*"/g, '""');
}

/** The metric names in PromQL `expr`: what is left once strings, matchers and label lists are gone. */
function metricNames(expr: string): RegExpMatchArray[] {
  const bare = withoutStrings(expr)
    .replaceAll(/\{[^}]*\}/g, '{}')
    .replaceAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/\b(?:wasmesh_\w+|http_server_\w+|target_info)\b/g)];
}

/** `expr` with the dashboard's variables as Grafana fills them in (every actor: `.*`). */
function filledIn(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$actor', '.*');
}

test('the file is a schema-39 dashboard with a Prometheus data source variable and a multi-value actor variable', () => {
  expect(dashboard.schemaVersion).toBe(39);
  expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
  expect(dashboard.title).toBeTruthy();
  const [datasource, actor, ...rest] = dashboard.templating.list;
  expect(rest).toEqual([]);
  expect(datasource).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
  expect(actor).toMatchObject({
    name: 'actor',
    type: 'query',
    datasource: DATASOURCE,
    definition: 'label_values(wasmesh_actor_invocations_total, wasmesh_actor_id)',
    multi: true,
    includeAll: true,
    allValue: '.*',
  });
  expect((actor!.query as { query: string }).query).toBe(actor!.definition);
});

test('every panel and every query reads from ${datasource}; panel ids are unique', () => {
  expect(queryPanels.length).toBeGreaterThanOrEqual(20);
  const readsOf = (p: Panel) => ({
    panel: p.title,
    datasource: p.datasource,
    queries: (p.targets ?? []).map((t) => ({ refId: t.refId, datasource: t.datasource })),
  });
  expect(queryPanels.map(readsOf)).toEqual(
    queryPanels.map((p) => ({
      panel: p.title,
      datasource: DATASOURCE,
      queries: (p.targets ?? []).map((t) => ({ refId: t.refId, datasource: DATASOURCE })),
    })),
  );
  expect(queryPanels.filter((p) => !p.targets?.length).map((p) => p.title)).toEqual([]);
  for (const p of queryPanels) expect(new Set(p.targets!.map((t) => t.refId)).size).toBe(p.targets!.length);
  const ids = allPanels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
});

test('the rows hold the panels of each area, laid out in 24 columns without overlapping', () => {
  expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
    'Invocations',
    'Pool & actors',
    'Host calls',
    'Providers',
    'HTTP',
    'Keyvalue and messaging',
    'NATS',
    'Reconciler & gateway',
  ]);
  const owner = new Map<string, string>();
  const problems: string[] = [];
  for (const { title, gridPos: g } of dashboard.panels) {
    if (!(g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24)) problems.push(`${title}: outside the 24 columns`);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        const other = owner.get(`${x},${y}`);
        if (other !== undefined) problems.push(`${title} overlaps ${other} at ${x},${y}`);
        owner.set(`${x},${y}`, title);
      }
    }
  }
  expect(problems).toEqual([]);
});

test('every query names only metrics wasmesh serves, and every range is $__rate_interval', () => {
  const used = new Set<string>();
  for (const { panel, expr } of queries) {
    const names = metricNames(expr);
    expect({ panel, metrics: names.length > 0 }).toEqual({ panel, metrics: true });
    for (const [name] of names) {
      expect({ panel, metric: name, known: KNOWN_METRICS.has(name) }).toEqual({ panel, metric: name, known: true });
      used.add(name.replace(/_(bucket|count|sum)$/, ''));
    }
    for (const [range] of withoutStrings(expr).matchAll(/\[[^\]]*\]/g)) {
      expect({ panel, range }).toEqual({ panel, range: '[$__rate_interval]' });
    }
  }
  // Every documented metric is on the dashboard somewhere.
  expect([...SERIES, ...HISTOGRAMS].filter((m) => !used.has(m))).toEqual([]);
});

test('a real Prometheus accepts every query and answers each with an instant vector', async () => {
  await using prometheus = await PrometheusServer.start();
  const failures: string[] = [];
  for (const { panel, refId, expr } of queries) {
    const promql = filledIn(expr);
    // Only label_replace's group references (`${1}`) may be left: no Grafana variable is unfilled.
    expect({ panel, refId, left: promql.replaceAll(/\$\{\d+\}/g, '').includes('$') }).toEqual({
      panel,
      refId,
      left: false,
    });
    // query() throws on a syntax error and on an answer that is not an instant vector.
    await prometheus.query(promql).catch((err: unknown) => failures.push(`${panel} ${refId}: ${String(err)}`));
  }
  expect(failures).toEqual([]);
  // A broken query does fail: the check is not vacuous.
  await expect(prometheus.query('sum by (le (rate(wasmesh_actor_invocations_total[1m]))')).rejects.toThrow(
    /failed: .*parse error/,
  );
}, 60_000);

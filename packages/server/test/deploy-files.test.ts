import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { RunningServer } from '../src/app.js';
import { startEmbedded } from './support/server.js';

/**
 * The monitoring files under deploy/ name metrics by string; a renamed metric would leave a dashboard panel
 * empty and an alert silent without anyone noticing. Every name they use must be one a live /metrics serves.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DASHBOARD = join(ROOT, 'deploy/grafana/presence-dashboard.json');
const RULES = join(ROOT, 'deploy/prometheus/presence-alerts.yml');

/** Series Prometheus makes for every target itself; they are never on /metrics. */
const SCRAPE_SERIES = new Set(['up']);
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression selects (functions, keywords, labels and numbers left out). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\$\{?\w+\}?/g, 'var') // Grafana variables ($__rate_interval, ${job}) inside ranges and matchers
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    const name = match[1] as string;
    if (!KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/** Metric names in a Grafana template query: `label_values(selector, label)` names its selector's metric. */
function templateMetricNames(query: string): string[] {
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(query);
  if (labelValues) return metricNames(labelValues[1] as string);
  return /^\s*label_values\(\s*\w+\s*\)\s*$/.test(query) ? [] : metricNames(query);
}

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}

function dashboardExpressions(): Array<{ where: string; names: string[] }> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating?: { list: Array<{ name: string; type: string; query?: string | { query?: string } }> };
  };
  const found: Array<{ where: string; names: string[] }> = [];
  const visit = (panel: Panel) => {
    for (const target of panel.targets ?? [])
      if (target.expr) found.push({ where: `panel "${panel.title}"`, names: metricNames(target.expr) });
    for (const inner of panel.panels ?? []) visit(inner);
  };
  for (const panel of dashboard.panels) visit(panel);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
    found.push({ where: `variable $${variable.name}`, names: templateMetricNames(query) });
  }
  return found;
}

function ruleExpressions(): Array<{ where: string; names: string[] }> {
  const file = parse(readFileSync(RULES, 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>;
  };
  return file.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      where: rule.alert ?? rule.record ?? '?',
      names: metricNames(String(rule.expr)),
    })),
  );
}

/** Every sample name a scrape can hold: each family, and for histograms and summaries their derived series. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const family = name as string;
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix);
    else names.add(family);
  }
  return names;
}

function unknownNames(used: Array<{ where: string; names: string[] }>, exposed: Set<string>): string[] {
  return used.flatMap(({ where, names }) =>
    names.filter((n) => !exposed.has(n) && !SCRAPE_SERIES.has(n)).map((n) => `${where}: ${n}`),
  );
}

describe('PromQL metric-name extraction', () => {
  it('keeps metrics and drops functions, keywords, labels, ranges and numbers', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job", x="rate(y)"}[$__rate_interval])))',
      ),
    ).toEqual(['a_bucket']);
    expect(
      metricNames(
        'sum by (reason) (rate(b_total{r="d"}[5m])) / on (job) group_left sum(rate(b_total[5m])) > 0.05',
      ),
    ).toEqual(['b_total']);
    expect(metricNames('count(c == 0) or vector(0) and absent(up{job="p"}) unless d offset 5m')).toEqual([
      'c',
      'up',
      'd',
    ]);
    expect(templateMetricNames('label_values(e{job=~"$job"}, instance)')).toEqual(['e']);
  });
});

describe('monitoring files under deploy/', () => {
  let server: RunningServer;
  let exposed: Set<string>;

  beforeAll(async () => {
    server = await startEmbedded();
    exposed = exposedNames(await (await fetch(`${server.httpUrl}/metrics`)).text());
  });
  afterAll(() => server?.close());

  it('the Grafana dashboard uses only metrics that /metrics serves', () => {
    const used = dashboardExpressions();
    const all = new Set(used.flatMap((u) => u.names));
    // What the dashboard is for: if the parser found none of these, the check below would pass on nothing.
    for (const name of [
      'presence_online_users',
      'presence_udp_packets_total',
      'presence_http_heartbeats_total',
      'presence_ws_connections',
      'presence_transitions_total',
      'presence_broadcasts_total',
      'presence_heartbeat_batch_seconds_bucket',
      'presence_degraded',
      'presence_process_nodejs_eventloop_lag_p99_seconds',
      'presence_process_process_resident_memory_bytes',
    ])
      expect(all, name).toContain(name);
    expect(unknownNames(used, exposed)).toEqual([]);
  });

  it('the Prometheus alert rules use only metrics that /metrics serves', () => {
    const used = ruleExpressions();
    const all = new Set(used.flatMap((u) => u.names));
    for (const name of [
      'up',
      'presence_ready',
      'presence_degraded',
      'presence_udp_packets_total',
      'presence_process_nodejs_eventloop_lag_p99_seconds',
    ])
      expect(all, name).toContain(name);
    expect(unknownNames(used, exposed)).toEqual([]);
  });

  it('gives every dashboard panel a unique id and a place on the grid', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: Array<{ id: number; gridPos?: { w: number; h: number } }>;
    };
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) expect(panel.gridPos?.w, `panel ${panel.id}`).toBeGreaterThan(0);
  });
});

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { requireCommand } from '@alki/testkit';

// A checker written from Grafana's documented dashboard JSON model
// (grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/):
// the top-level fields, panels with unique ids and a gridPos inside the
// 24-column grid, targets with unique refIds, template variables with a name
// and type. Each PromQL expression is parsed by Debian's promtool (as a
// recording rule, with the $instance variable replaced by a regex).

const file = fileURLToPath(new URL('../../../../docs/monitoring/grafana-dashboard.json', import.meta.url));

interface Target {
  refId?: unknown;
  expr?: unknown;
}
interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { x?: unknown; y?: unknown; w?: unknown; h?: unknown };
  targets?: Target[];
}

/** Every way the dashboard departs from the documented model, as sentences. */
function dashboardProblems(model: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const is = (value: unknown, type: string) => typeof value === type;
  for (const [key, type] of [
    ['uid', 'string'],
    ['title', 'string'],
    ['timezone', 'string'],
    ['schemaVersion', 'number'],
    ['version', 'number'],
    ['editable', 'boolean'],
  ] as const)
    if (!is(model[key], type)) problems.push(`${key} is not a ${type}`);
  if (!Array.isArray(model.tags)) problems.push('tags is not an array');
  const time = model.time as { from?: unknown; to?: unknown } | undefined;
  if (!is(time?.from, 'string') || !is(time?.to, 'string')) problems.push('time needs from and to');
  const variables = (model.templating as { list?: unknown } | undefined)?.list;
  if (!Array.isArray(variables)) problems.push('templating.list is not an array');
  else
    for (const v of variables as { name?: unknown; type?: unknown }[])
      if (!is(v.name, 'string') || !is(v.type, 'string'))
        problems.push('a template variable lacks name or type');
  if (!Array.isArray((model.annotations as { list?: unknown } | undefined)?.list))
    problems.push('annotations.list is not an array');
  if (!Array.isArray(model.panels) || model.panels.length === 0) return [...problems, 'no panels'];
  const ids = new Set<unknown>();
  for (const panel of model.panels as Panel[]) {
    const name = `panel ${String(panel.id)}`;
    if (!Number.isInteger(panel.id) || ids.has(panel.id)) problems.push(`${name}: id missing or repeated`);
    ids.add(panel.id);
    if (!is(panel.type, 'string') || !is(panel.title, 'string'))
      problems.push(`${name}: type or title missing`);
    const { x, y, w, h } = panel.gridPos ?? {};
    if (![x, y, w, h].every((n) => Number.isInteger(n) && (n as number) >= 0))
      problems.push(`${name}: bad gridPos`);
    else if ((w as number) < 1 || (x as number) + (w as number) > 24 || (h as number) < 1)
      problems.push(`${name}: gridPos outside the 24-column grid`);
    const refIds = new Set<unknown>();
    if (!Array.isArray(panel.targets) || panel.targets.length === 0) problems.push(`${name}: no targets`);
    for (const target of panel.targets ?? []) {
      if (!is(target.refId, 'string') || refIds.has(target.refId))
        problems.push(`${name}: refId missing or repeated`);
      refIds.add(target.refId);
      if (!is(target.expr, 'string')) problems.push(`${name}: target without expr`);
    }
  }
  return problems;
}

describe('docs/monitoring/grafana-dashboard.json', () => {
  const model = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;

  it('follows the documented dashboard model', () => {
    expect(dashboardProblems(model)).toEqual([]);
  });

  it('the checker finds a broken dashboard', () => {
    const panels = model.panels as Panel[];
    const broken = {
      ...model,
      uid: 3,
      panels: [{ ...panels[0], gridPos: { x: 20, y: 0, w: 8, h: 8 } }, panels[0]],
    };
    expect(dashboardProblems(broken)).toEqual([
      'uid is not a string',
      'panel 1: gridPos outside the 24-column grid',
      'panel 1: id missing or repeated',
    ]);
  });

  it('has PromQL that promtool parses', () => {
    const exprs = (model.panels as Panel[]).flatMap((p) => (p.targets ?? []).map((t) => String(t.expr)));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-grafana-'));
    try {
      const rules = exprs
        .map(
          (expr, i) =>
            `      - record: panel_${i}\n        expr: ${JSON.stringify(expr.replaceAll('$instance', '.*'))}\n`,
        )
        .join('');
      fs.writeFileSync(path.join(dir, 'rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}`);
      const result = spawnSync(
        requireCommand('promtool', 'the dashboard test'),
        ['check', 'rules', 'rules.yml'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      expect(`${result.stdout}${result.stderr}`).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(result.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

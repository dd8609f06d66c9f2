import { describe, expect, it } from '@jest/globals';
import { parseMetricsText, sumMetric } from './parse.js';
import { MetricsRegistry } from './prometheus.js';

describe('parseMetricsText', () => {
  it('reads labels with escapes, +Inf and skips comments and malformed lines', () => {
    const samples = parseMetricsText(
      '# HELP x y\nx{a="q\\"uote",b="line\\nbreak"} 1.5\nx_bucket{le="+Inf"} +Inf\nnot a metric line\nx 2\n',
    );
    expect(samples).toEqual([
      { name: 'x', labels: { a: 'q"uote', b: 'line\nbreak' }, value: 1.5 },
      { name: 'x_bucket', labels: { le: '+Inf' }, value: Infinity },
      { name: 'x', labels: {}, value: 2 },
    ]);
    expect(sumMetric(samples, 'x')).toBe(3.5);
    expect(sumMetric(samples, 'missing')).toBeUndefined();
  });
});

describe('parseMetricsText and MetricsRegistry', () => {
  it('read back the label values they write, escapes included', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter('x_total', 'A counter.');
    const values = ['C:\\new', 'say "hi"\nthen go', 'back\\\\slash', '\\"', 'plain'];
    values.forEach((value, i) => counter.inc({ path: value }, i + 1));
    const samples = parseMetricsText(registry.render());
    expect(samples.map((s) => s.labels.path)).toEqual(values);
    expect(sumMetric(samples, 'x_total')).toBe(15);
  });
});

import { describe, expect, it } from '@jest/globals';
import { MetricsRegistry } from './prometheus.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and cumulative histograms in the text exposition format', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('demo_requests_total', 'Requests.');
    const inFlight = registry.gauge('demo_in_flight', 'In flight.');
    const latency = registry.histogram('demo_seconds', 'Latency.', [0.1, 1]);
    requests.inc({ status: '200', route: '/a' });
    requests.inc({ route: '/a', status: '200' }, 2);
    inFlight.add(1);
    latency.observe(0.05, { route: '/a' });
    latency.observe(0.5, { route: '/a' });
    latency.observe(5, { route: '/a' });
    expect(registry.render()).toBe(
      [
        '# HELP demo_requests_total Requests.',
        '# TYPE demo_requests_total counter',
        'demo_requests_total{route="/a",status="200"} 3',
        '# HELP demo_in_flight In flight.',
        '# TYPE demo_in_flight gauge',
        'demo_in_flight 1',
        '# HELP demo_seconds Latency.',
        '# TYPE demo_seconds histogram',
        'demo_seconds_bucket{route="/a",le="0.1"} 1',
        'demo_seconds_bucket{route="/a",le="1"} 2',
        'demo_seconds_bucket{route="/a",le="+Inf"} 3',
        'demo_seconds_sum{route="/a"} 5.55',
        'demo_seconds_count{route="/a"} 3',
        '',
      ].join('\n'),
    );
  });

  it('escapes backslashes, quotes and newlines in label values', () => {
    const registry = new MetricsRegistry();
    registry.counter('demo_total', 'x').inc({ path: 'a"b\\c\nd' });
    expect(registry.render()).toContain('demo_total{path="a\\"b\\\\c\\nd"} 1');
  });
});

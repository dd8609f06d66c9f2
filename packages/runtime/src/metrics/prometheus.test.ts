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

  it('sums a counter over its label sets, or over those a filter accepts, and a histogram over its series', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('demo_requests_total', 'Requests.');
    requests.inc({ route: '/a', status: '200' }, 2);
    requests.inc({ route: '/b', status: '200' });
    requests.inc({ route: '/a', status: '500' }, 4);
    expect(requests.total()).toBe(7);
    expect(requests.total((labels) => labels.route === '/a')).toBe(6);
    const latency = registry.histogram('demo_seconds', 'Latency.', [1]);
    expect(latency.totals()).toEqual({ sum: 0, count: 0 });
    latency.observe(0.25, { route: '/a' });
    latency.observe(2, { route: '/b' });
    expect(latency.totals()).toEqual({ sum: 2.25, count: 2 });
  });
});

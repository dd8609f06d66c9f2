import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { requireCommand } from '@alki/testkit';
import { MetricsRegistry } from './prometheus.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and cumulative histograms in the text exposition format', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('demo_requests_total', 'Requests.');
    const inFlight = registry.gauge('demo_in_flight', 'In flight.');
    const latency = registry.histogram('demo_seconds', 'Latency.', [0.1, 1]);
    requests.inc({ status: '200', route: '/a' });
    requests.inc({ route: '/a', status: '200' }, 2);
    inFlight.add({}, 1);
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

  it('keeps one series per label set in a gauge, replaced by set, moved by add, dropped by reset', () => {
    const registry = new MetricsRegistry();
    const info = registry.gauge('demo_build_info', 'Build.');
    const state = registry.gauge('demo_state', 'State.');
    info.set({ version: '1', commit: 'a' }, 1);
    for (const s of ['up', 'down']) state.set({ state: s }, s === 'up' ? 1 : 0);
    state.set({ state: 'up' }, 0);
    state.add({ state: 'down' }, 1);
    expect(registry.render()).toBe(
      [
        '# HELP demo_build_info Build.',
        '# TYPE demo_build_info gauge',
        'demo_build_info{commit="a",version="1"} 1',
        '# HELP demo_state State.',
        '# TYPE demo_state gauge',
        'demo_state{state="up"} 0',
        'demo_state{state="down"} 1',
        '',
      ].join('\n'),
    );
    expect(state.get({ state: 'down' })).toBe(1);
    info.reset();
    info.set({ version: '2', commit: 'b' }, 1);
    expect(registry.render()).toContain(
      '# TYPE demo_build_info gauge\ndemo_build_info{commit="b",version="2"} 1\n#',
    );
    info.reset();
    expect(registry.render()).toContain('# TYPE demo_build_info gauge\n# HELP demo_state');
  });

  it('shows a series only once it is updated, so unlabelled ones are started at zero to show from the start', () => {
    const registry = new MetricsRegistry();
    const events = registry.counter('demo_events_total', 'Events.');
    const level = registry.gauge('demo_level', 'Level.');
    const wait = registry.histogram('demo_wait_seconds', 'Wait.', [1, 5]);
    expect(registry.render()).toBe(
      [
        '# HELP demo_events_total Events.',
        '# TYPE demo_events_total counter',
        '# HELP demo_level Level.',
        '# TYPE demo_level gauge',
        '# HELP demo_wait_seconds Wait.',
        '# TYPE demo_wait_seconds histogram',
        '',
      ].join('\n'),
    );
    events.inc({}, 0);
    level.set({}, 0);
    wait.zero();
    expect(registry.render()).toBe(
      [
        '# HELP demo_events_total Events.',
        '# TYPE demo_events_total counter',
        'demo_events_total 0',
        '# HELP demo_level Level.',
        '# TYPE demo_level gauge',
        'demo_level 0',
        '# HELP demo_wait_seconds Wait.',
        '# TYPE demo_wait_seconds histogram',
        'demo_wait_seconds_bucket{le="1"} 0',
        'demo_wait_seconds_bucket{le="5"} 0',
        'demo_wait_seconds_bucket{le="+Inf"} 0',
        'demo_wait_seconds_sum 0',
        'demo_wait_seconds_count 0',
        '',
      ].join('\n'),
    );
    wait.observe(3);
    wait.zero();
    expect(wait.totals()).toEqual({ sum: 3, count: 1 });
  });

  it('writes text that promtool accepts', () => {
    const promtool = requireCommand('promtool', 'the metrics test');
    const registry = new MetricsRegistry();
    registry.counter('demo_requests_total', 'Requests, by route.').inc({ route: '/a"b\\c\nd' });
    registry.counter('demo_idle_total', 'Never counted.');
    registry.gauge('demo_build_info', 'Build.').set({ version: '1.0.0' }, 1);
    registry.gauge('demo_temperature_celsius', 'Temperature.').set({}, -Infinity);
    const latency = registry.histogram('demo_request_duration_seconds', 'Latency, by route.', [0.1, 1]);
    latency.observe(0.5, { route: '/a' });
    latency.zero({ route: '/b' });
    const result = spawnSync(promtool, ['check', 'metrics'], { input: registry.render(), encoding: 'utf8' });
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({
      status: 0,
      output: '',
    });
  });
});

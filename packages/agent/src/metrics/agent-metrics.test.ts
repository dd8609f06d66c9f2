import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { requireCommand, startPrometheus } from '@alki/testkit';
import { AgentError } from '../errors.js';
import { initialState, type AgentState } from '../state/agent-state.js';
import { AgentMetrics, healthState, parseListen, serveMetrics } from './agent-metrics.js';

// Real parts: Debian's promtool checks the exposition text, and Debian's
// prometheus scrapes the agent's /metrics listener over 127.0.0.1.

const v1 = { digest: `sha256:${'1'.repeat(64)}`, name: 'tiny', version: '1.0.0' };
const v2 = { digest: `sha256:${'2'.repeat(64)}`, name: 'tiny', version: '2.0.0' };
const v3 = { digest: `sha256:${'3'.repeat(64)}`, name: 'tiny', version: '3.0.0' };

/** The states an agent reports while it installs v1 (recorded by an earlier run), updates to v2, and rolls v3 back. */
function history(): AgentState[] {
  const base: AgentState = {
    ...initialState('127.0.0.1:5000/models/tiny:stable'),
    current: v1,
    healthy: [v1.digest],
  };
  const start = {
    ...base,
    lastSwitch: {
      at: '2026-12-05T06:00:00.000Z',
      to: v1.digest,
      outcome: 'updated' as const,
      restartWindowMs: 4000,
    },
  };
  const updating: AgentState = {
    ...start,
    update: { digest: v2.digest, from: v1.digest, phase: 'download', started: '2026-12-05T06:01:00.000Z' },
  };
  const switching: AgentState = { ...updating, update: { ...updating.update!, phase: 'restart' } };
  const updated: AgentState = {
    ...start,
    current: v2,
    previous: v1,
    healthy: [v1.digest, v2.digest],
    lastCheck: { at: '2026-12-05T06:01:30.000Z', digest: v2.digest, outcome: 'updated' },
    lastSwitch: {
      at: '2026-12-05T06:01:30.000Z',
      from: v1.digest,
      to: v2.digest,
      outcome: 'updated',
      restartWindowMs: 6600,
    },
  };
  const trying: AgentState = {
    ...updated,
    update: { digest: v3.digest, from: v2.digest, phase: 'download', started: '2026-12-05T06:02:00.000Z' },
  };
  const rolledBack: AgentState = {
    ...updated,
    denied: [{ digest: v3.digest, reason: 'health check failed', at: '2026-12-05T06:02:40.000Z' }],
    lastCheck: { at: '2026-12-05T06:02:40.000Z', digest: v3.digest, outcome: 'rolled-back' },
    lastSwitch: {
      at: '2026-12-05T06:02:40.000Z',
      from: v3.digest,
      to: v2.digest,
      outcome: 'rolled-back',
      restartWindowMs: 19_300,
    },
  };
  return [start, updating, switching, updated, trying, rolledBack];
}

function fed(): AgentMetrics {
  const metrics = new AgentMetrics();
  const states = history();
  metrics.observeState(states[0]);
  metrics.observeState(states[1]);
  for (const done of [0, 1000, 3000]) metrics.observeProgress(done);
  for (const state of states.slice(2, 5)) metrics.observeState(state);
  for (const done of [500, 2500]) metrics.observeProgress(done);
  metrics.observeState(states[5]);
  return metrics;
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('AgentMetrics', () => {
  it('counts the attempts, successes, rollbacks, bytes and restart windows of this run', () => {
    const text = fed().render();
    expect(sample(text, 'alki_agent_update_attempts_total')).toBe(2);
    expect(sample(text, 'alki_agent_update_successes_total')).toBe(1);
    expect(sample(text, 'alki_agent_rollbacks_total')).toBe(1);
    expect(sample(text, 'alki_agent_download_bytes_total')).toBe(5500);
    expect(sample(text, 'alki_agent_last_check_timestamp_seconds')).toBe(
      Date.parse('2026-12-05T06:02:40Z') / 1000,
    );
    expect(sample(text, 'alki_agent_restart_window_seconds_count')).toBe(2);
    expect(sample(text, 'alki_agent_restart_window_seconds_sum')).toBeCloseTo(25.9, 6);
    expect(sample(text, 'alki_agent_restart_window_seconds_bucket{le="5"}')).toBe(0);
    expect(sample(text, 'alki_agent_restart_window_seconds_bucket{le="10"}')).toBe(1);
    expect(sample(text, 'alki_agent_restart_window_seconds_bucket{le="20"}')).toBe(2);
    expect(
      sample(
        text,
        `alki_agent_bundle_info{channel="127.0.0.1:5000/models/tiny:stable",digest="${v2.digest}",name="tiny",version="2.0.0"}`,
      ),
    ).toBe(1);
    expect(sample(text, 'alki_agent_health_state{state="healthy"}')).toBe(1);
    expect(sample(text, 'alki_agent_health_state{state="updating"}')).toBe(0);
  });

  it('tells the health state from the agent state', () => {
    const [start, updating] = history();
    expect(healthState(undefined)).toBe('unknown');
    expect(healthState(start)).toBe('healthy');
    expect(healthState(updating)).toBe('updating');
    expect(healthState({ ...start, lastCheck: { at: '2026-12-05T06:00:00Z', outcome: 'failed' } })).toBe(
      'failing',
    );
  });

  it('writes text that promtool accepts, with and without a served bundle', () => {
    const promtool = requireCommand('promtool', 'the metrics test');
    for (const text of [fed().render(), new AgentMetrics().render()]) {
      const result = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({
        status: 0,
        output: '',
      });
    }
  });

  it('parses --listen and refuses what is not HOST:PORT', () => {
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['127.0.0.1', ':9464', '127.0.0.1:70000', 'host:port'])
      expect(() => parseListen(bad)).toThrow(AgentError);
  });

  it('is scraped by a real Prometheus over its /metrics listener', async () => {
    const metrics = fed();
    const server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-agent-metrics-'));
    try {
      const res = await fetch(`${server.url}/metrics`);
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await res.text()).toBe(metrics.render());
      expect((await fetch(`${server.url}/other`)).status).toBe(404);

      const config = path.join(dir, 'prometheus.yml');
      fs.writeFileSync(
        config,
        `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: alki-agent\n    static_configs:\n      - targets: ['${server.url.slice('http://'.length)}']\n`,
      );
      const prometheus = await startPrometheus(config);
      try {
        const deadline = Date.now() + 30_000;
        let value: string | undefined;
        while (Date.now() < deadline && value === undefined) {
          const query = await fetch(`${prometheus.url}/api/v1/query?query=alki_agent_rollbacks_total`);
          const body = (await query.json()) as { data: { result: { value: [number, string] }[] } };
          value = body.data.result[0]?.value[1];
          if (value === undefined) await new Promise((r) => setTimeout(r, 500));
        }
        expect(value).toBe('1');
        const up = await fetch(`${prometheus.url}/api/v1/query?query=up{job="alki-agent"}`);
        expect(
          ((await up.json()) as { data: { result: { value: [number, string] }[] } }).data.result[0]?.value[1],
        ).toBe('1');
      } finally {
        await prometheus.stop();
      }
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

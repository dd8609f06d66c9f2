import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RuntimeError } from '../errors.js';
import type { RunningServer } from '../serve/openai-server.js';
import { serveModel } from '../serve/serve.js';
import { resolveGgufSettings, resolveServeSettings } from '../serve/settings.js';
import { tinyBundle, tinyModel } from '../test-support/models.js';
import { DASHBOARD_DATA_PATH, dashboardPathProblem, type DashboardData } from './dashboard.js';

const KEY = 'dashboard-key-7f3a';
const auth = { Authorization: `Bearer ${KEY}` };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-dashboard-'));
const stateFile = path.join(work, 'state.json');

// The dashboard of a real server: the tiny model's bundle on node-llama-cpp,
// an API key, readings every 200 ms, and an agent state file.
describe('the dashboard of serveModel', () => {
  let server: RunningServer;
  let bundle: string;

  beforeAll(async () => {
    bundle = await tinyBundle(work, 'bundle', ['Q8_0']);
    const settings = await resolveServeSettings(bundle, { port: 0, ctx: 128, threads: 1, parallel: 1 });
    ({ server } = await serveModel({
      settings,
      engine: 'node-llama-cpp',
      access: { apiKeys: [KEY] },
      dashboard: { path: '/', bundleDir: bundle, agentStateFile: stateFile, intervalMs: 200 },
    }));
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const data = async (): Promise<DashboardData> => {
    const response = await fetch(`${server.url}${DASHBOARD_DATA_PATH}`, { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    return (await response.json()) as DashboardData;
  };

  const chat = async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { usage: { completion_tokens: number } };
  };

  it('serves the page under the rule of /metrics: 401 without the key, the page with it', async () => {
    expect((await fetch(`${server.url}/`)).status).toBe(401);
    expect((await fetch(`${server.url}${DASHBOARD_DATA_PATH}`)).status).toBe(401);
    const response = await fetch(`${server.url}/`, { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await response.text();
    expect(html).toContain('Chart.js v4.');
    expect(html).toContain('<canvas data-chart="tokens"');
  });

  it('shows the model, the engine and the digest of the bundle manifest', async () => {
    const manifest = fs.readFileSync(path.join(bundle, 'metadata', 'manifest.json'));
    const first = await data();
    expect(first.model).toBe((JSON.parse(manifest.toString('utf8')) as { name: string }).name);
    expect(first.engine).toBe('node-llama-cpp');
    expect(first.bundleDigest).toBe(`sha256:${createHash('sha256').update(manifest).digest('hex')}`);
    expect(first.intervalSeconds).toBe(0.2);
    expect(first.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('counts chat completions and their tokens, draws a tokens-per-second point, and does not count its own polls', async () => {
    const before = await data();
    for (let i = 0; i < 3; i++) await data();
    expect((await data()).totals.requests).toBe(before.totals.requests);
    let tokens = 0;
    for (let i = 0; i < 2; i++) tokens += (await chat()).usage.completion_tokens;
    await new Promise((resolve) => setTimeout(resolve, 450));
    const after = await data();
    expect(after.totals.requests).toBe(before.totals.requests + 2);
    expect(after.totals.completionTokens).toBe(before.totals.completionTokens + tokens);
    expect(after.samples.length).toBeGreaterThan(before.samples.length);
    const busy = after.samples.filter((sample) => sample.tokensPerSecond > 0);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.some((sample) => sample.firstTokenSeconds !== null && sample.firstTokenSeconds > 0)).toBe(
      true,
    );
    expect(after.samples.at(-1)!.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  }, 60_000);

  it('reads the agent state on every poll: missing, then written, then half-written', async () => {
    expect((await data()).agent).toEqual({ status: 'missing' });
    const digest = `sha256:${'c'.repeat(64)}`;
    const state = JSON.stringify({
      schema: 1,
      channel: '127.0.0.1:5000/models/demo:stable',
      current: { digest, name: 'demo', version: '2.0.0' },
      healthy: [digest],
      denied: [],
      lastCheck: { at: '2026-12-05T09:00:00.000Z', digest, outcome: 'updated' },
    });
    fs.writeFileSync(stateFile, state);
    expect((await data()).agent).toMatchObject({
      status: 'ok',
      current: { digest },
      lastCheck: { outcome: 'updated' },
    });
    fs.writeFileSync(stateFile, state.slice(0, 40));
    expect((await data()).agent).toEqual({ status: 'unreadable' });
  });

  it('leaves /health open and /metrics under the key beside it', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/alki_requests_total\{route="\/dashboard\/data\.json",status="200"\} \d+/);
  });
});

describe('the dashboard path', () => {
  it('may be any absolute path the server does not answer itself', () => {
    for (const ok of ['/', '/dashboard', '/ops/live-1.0']) expect(dashboardPathProblem(ok)).toBeUndefined();
    for (const taken of ['/health', '/metrics', '/v1/models', '/v1', DASHBOARD_DATA_PATH])
      expect(dashboardPathProblem(taken)).toMatch(/the server answers that path itself/);
    for (const bad of ['dashboard', '', '/a b', '/a?b', '/%2e'])
      expect(dashboardPathProblem(bad)).toMatch(/must start with \//);
  });

  it('is refused by serveModel before any model is loaded when it collides', async () => {
    const settings = await resolveGgufSettings(await tinyModel(), { port: 0 });
    const refused = await serveModel({
      settings: { ...settings, modelPath: path.join(work, 'never-read.gguf') },
      dashboard: { path: '/metrics' },
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RuntimeError);
    expect((refused as RuntimeError).code).toBe('INVALID_INPUT');
    expect((refused as RuntimeError).message).toMatch(/cannot be served on \/metrics/);
  });
});

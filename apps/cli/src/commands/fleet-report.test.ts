import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  canaryChecks,
  histogramQuantile,
  parseFleet,
  planFleet,
  prometheusApi,
  resolveInventory,
  writePlan,
  type ExperimentReport,
  type FleetStatus,
  type GroupProfile,
} from '@alki/fleet';
import {
  cachedTinyLlamaGguf,
  freePort,
  nativeTools,
  sendChatLoad,
  startProcess,
  startPrometheus,
  waitForHttp,
  type RunningProcess,
  type TestPrometheus,
} from '@alki/testkit';
import { EXIT_CODES } from '../exit-codes.js';
import { cliLauncher, runCli } from '../test-support.js';

// Real parts: four `alki serve` processes (llama-server engine, the tiny
// test model), Debian's Prometheus scraping them with the configuration and
// targets `alki fleet plan` wrote, a bounded request loop, then `alki fleet
// report` against that Prometheus. Two experiments: "same" runs one
// variant twice; in "ctx" cohort B has a 256-token context, so the long
// half of the prompts fail there.

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const BUNDLE_A = `127.0.0.1:5000/models/tiny@${digest('a')}`;
const BUNDLE_B = `127.0.0.1:5000/models/tiny@${digest('b')}`;
const LOAD_SECONDS = 24;
const SHORT_PROMPT = 'Say hi.';
// About 340 tokens with the test model's byte-level tokenizer: more than
// cohort B's 256-token context, well within the others' 1024.
const LONG_PROMPT = `Summarise this: ${'the quick brown fox jumps over the lazy dog '.repeat(9)}`;

interface Device {
  name: string;
  ctx: number;
  port: number;
  process?: RunningProcess;
}

function fleetFile(devices: Device[]): string {
  const entry = (d: Device) =>
    `      - { name: ${d.name}, endpoint: "http://127.0.0.1:${d.port}", labels: { cohort: ${d.name.endsWith('-b') ? 'b' : 'a'} } }`;
  const group = (name: string) => `  - name: ${name}
    hardware: { deviceClass: lab }
    reach: { systemd: {} }
    devices:
${devices
  .filter((d) => d.name.startsWith(`${name}-`))
  .map(entry)
  .join('\n')}`;
  return `apiVersion: alki.dev/v1
kind: Fleet
name: lab
runtime: { image: "127.0.0.1:5000/alki-runtime@${digest('c')}" }
analysis: { window: 30s }
groups:
${group('same')}
${group('ctx')}
experiments:
  - { name: same, selector: { group: same }, split: { by: label, selectorB: { cohort: b } } }
  - { name: ctx, selector: { group: ctx }, split: { by: label, selectorB: { cohort: b } } }
`;
}

const LAB: GroupProfile = {
  source: 'the test machine',
  architecture: 'x86_64',
  cores: 1,
  memoryBytes: 2 * 1024 ** 3,
};

describe('alki fleet report against a real Prometheus scraping alki serve', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-fleet-report-'));
  const devices: Device[] = [
    { name: 'same-a', ctx: 1024, port: 0 },
    { name: 'same-b', ctx: 1024, port: 0 },
    { name: 'ctx-a', ctx: 1024, port: 0 },
    { name: 'ctx-b', ctx: 256, port: 0 },
  ];
  let prometheus: TestPrometheus;
  let modelId = '';
  let model = '';
  let launcher = '';
  let loadStarted = 0;
  let loadEnded = 0;
  // Each device's failed requests, as "status: error", so a failure names its cause.
  const failures: Record<string, string[]> = {};

  beforeAll(async () => {
    await nativeTools();
    // A trained context of 2048 tokens, so the servers' --ctx decides what fits.
    model = (await cachedTinyLlamaGguf({ contextLength: 2048 })).path;
    launcher = cliLauncher(work);
    for (const device of devices) device.port = await freePort();
    for (const device of devices) {
      device.process = startProcess(
        process.execPath,
        [
          '--import',
          'tsx',
          launcher,
          'serve',
          model,
          '--engine',
          'llama-server',
          '--port',
          String(device.port),
          '--ctx',
          String(device.ctx),
          '--threads',
          '1',
          '--parallel',
          '1',
        ],
        { cwd: repoRoot },
      );
    }
    for (const device of devices) {
      await waitForHttp(`http://127.0.0.1:${device.port}/health`, { timeoutMs: 120_000 }).catch(
        (error: Error) => {
          throw new Error(`${device.name} did not start: ${error.message}\n${device.process?.output()}`);
        },
      );
    }

    const models = (await (await fetch(`http://127.0.0.1:${devices[0].port}/v1/models`)).json()) as {
      data: Array<{ id: string }>;
    };
    modelId = models.data[0].id;

    // The Prometheus configuration and targets are the plan's own: one A/B plan per experiment.
    const inventory = resolveInventory(parseFleet(fleetFile(devices), 'lab.yaml'));
    const profiles = new Map(inventory.groups.map((g) => [g.name, LAB]));
    const promDir = path.join(work, 'prometheus');
    for (const experiment of ['same', 'ctx']) {
      const plan = planFleet(inventory, profiles, {
        strategy: 'ab',
        bundle: BUNDLE_A,
        bundleB: BUNDLE_B,
        experiment,
      });
      await writePlan(plan.files, path.join(work, `plan-${experiment}`));
      fs.mkdirSync(path.join(promDir, 'targets'), { recursive: true });
      fs.copyFileSync(
        path.join(work, `plan-${experiment}`, 'prometheus', 'targets', `${experiment}.json`),
        path.join(promDir, 'targets', `${experiment}.json`),
      );
    }
    const config = fs
      .readFileSync(path.join(work, 'plan-ctx', 'prometheus', 'prometheus.yml'), 'utf8')
      .replace(/scrape_interval: 15s/, 'scrape_interval: 1s')
      .replace(/evaluation_interval: 15s/, 'evaluation_interval: 1s')
      .replace(/refresh_interval: 5m/, 'refresh_interval: 1s');
    fs.writeFileSync(path.join(promDir, 'prometheus.yml'), config);
    fs.copyFileSync(
      path.join(work, 'plan-ctx', 'prometheus', 'alki-rules.yml'),
      path.join(promDir, 'alki-rules.yml'),
    );
    prometheus = await startPrometheus(path.join(promDir, 'prometheus.yml'));

    // A bounded loop: rounds of two streamed requests (one short, one long)
    // to every device at once, so the four see the same load.
    loadStarted = Date.now() / 1000;
    let round = 0;
    while (Date.now() / 1000 - loadStarted < LOAD_SECONDS) {
      const results = await Promise.all(
        devices.map((device) =>
          sendChatLoad({
            url: `http://127.0.0.1:${device.port}`,
            model: modelId,
            requests: 2,
            maxTokens: 8,
            temperature: 0,
            prompt: (i) => (i === 0 ? `${SHORT_PROMPT} (${round})` : `${LONG_PROMPT} (${round})`),
          }),
        ),
      );
      results.forEach((result, i) => {
        failures[devices[i].name] = [
          ...(failures[devices[i].name] ?? []),
          ...result.failures.map((f) => `${f.status}: ${f.error}`),
        ];
      });
      round++;
    }
    loadEnded = Date.now() / 1000;
    // Two more scrapes, so the last requests are in Prometheus.
    await new Promise((resolve) => setTimeout(resolve, 2500));
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(devices.flatMap((d) => (d.process ? [d.process.stop()] : [])));
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function report(experiment: string): Promise<ExperimentReport> {
    const window = Math.ceil(Date.now() / 1000 - loadStarted + 2);
    const run = await runCli([
      'fleet',
      'report',
      '--prometheus',
      prometheus.url,
      '--experiment',
      experiment,
      '--window',
      `${window}s`,
      '--step',
      '4s',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT_CODES.ok);
    return JSON.parse(run.stdout) as ExperimentReport;
  }

  it('sends the load the test meant: only cohort B of "ctx" refuses the long prompts', () => {
    expect(loadEnded - loadStarted).toBeGreaterThanOrEqual(LOAD_SECONDS);
    expect(failures['same-a']).toEqual([]);
    expect(failures['same-b']).toEqual([]);
    expect(failures['ctx-a']).toEqual([]);
    expect(failures['ctx-b'].length).toBeGreaterThan(5);
  });

  it('finds that cohort B of "ctx" fails more often, with the two-proportion test', async () => {
    const result = await report('ctx');
    expect(result.cohorts.a.devices).toEqual(['ctx-a']);
    expect(result.cohorts.b.devices).toEqual(['ctx-b']);
    expect(result.cohorts.a.requests).toBeGreaterThan(10);
    const errors = result.comparisons.find((c) => c.metric === 'error-rate');
    expect(errors).toMatchObject({ test: 'two-proportion z-test', significant: true });
    expect(errors?.effect).toBeGreaterThan(0.3);
    expect(result.verdict).toMatch(/^B fails more often: /);
    // Every request of B that failed is counted as an error, and none of A's.
    expect(result.cohorts.a.errors).toBe(0);
    expect(result.cohorts.b.errorRate).toBeGreaterThan(0.3);
  });

  it('reports no significant difference between two identical variants', async () => {
    const result = await report('same');
    expect(result.comparisons.every((c) => !c.significant)).toBe(true);
    expect(result.verdict).toMatch(/^No significant difference between B and A at α=0.01/);
    expect(result.cohorts.a.tokensPerSecond.samples).toBeGreaterThanOrEqual(2);
    expect(result.comparisons.find((c) => c.metric === 'tokens-per-second')?.p).not.toBeNull();
  });

  it('computes latency percentiles as Prometheus histogram_quantile does', async () => {
    const result = await report('same');
    const api = prometheusApi({ url: prometheus.url });
    const window = Math.ceil(Date.now() / 1000 - loadStarted + 2);
    const [p50] = await api.query(
      `histogram_quantile(0.5, sum by (le) (increase(alki_request_duration_seconds_bucket{alki_experiment="same",alki_variant="a",route=~"/v1/chat/completions|/v1/completions"}[${window}s])))`,
      Date.now() / 1000,
    );
    expect(result.cohorts.a.latency.p50).toBeCloseTo(p50.value, 2);
    expect(histogramQuantile(0.5, { bounds: [0.1, 1, Infinity], cumulative: [0, 10, 10] })).toBeCloseTo(
      0.55,
      10,
    );
  });

  it('runs every AnalysisTemplate query through Prometheus, which returns data; the ctx canary would abort', async () => {
    const api = prometheusApi({ url: prometheus.url });
    const analysis = {
      window: '30s',
      maxErrorRateIncrease: 0.02,
      maxTimeToFirstTokenRatio: 1.25,
      minTokensPerSecondRatio: 0.8,
    };
    for (const group of ['same', 'ctx']) {
      for (const check of canaryChecks(analysis, group, digest('b'))) {
        const samples = await api.query(check.query, loadEnded);
        expect({ group, check: check.name, count: samples.length }).toEqual({
          group,
          check: check.name,
          count: 1,
        });
        expect(Number.isNaN(samples[0].value)).toBe(false);
      }
    }
    const [increase] = await api.query(canaryChecks(analysis, 'ctx', digest('b'))[0].query, loadEnded);
    expect(increase.value).toBeGreaterThan(analysis.maxErrorRateIncrease);
    const [same] = await api.query(canaryChecks(analysis, 'same', digest('b'))[0].query, loadEnded);
    expect(same.value).toBeLessThanOrEqual(analysis.maxErrorRateIncrease);
  });

  it("evaluates the plan's recording rules", async () => {
    const api = prometheusApi({ url: prometheus.url });
    for (const rule of [
      'alki:request_error_ratio:rate30s',
      'alki:time_to_first_token_seconds:p95_30s',
      'alki:generated_tokens_per_second:rate30s',
    ]) {
      const samples = await api.query(`${rule}{alki_group="ctx"}`, loadEnded);
      expect({ rule, cohorts: samples.map((s) => s.labels.alki_variant).sort() }).toEqual({
        rule,
        cohorts: ['a', 'b'],
      });
    }
  });

  it('writes a self-contained HTML report, and refuses to overwrite it without --force', async () => {
    const html = path.join(work, 'ctx.html');
    const args = [
      'fleet',
      'report',
      '--prometheus',
      prometheus.url,
      '--experiment',
      'ctx',
      '--window',
      '2m',
      '--step',
      '4s',
      '--html',
      html,
    ];
    const first = await runCli(args);
    expect(first.code).toBe(EXIT_CODES.ok);
    const text = fs.readFileSync(html, 'utf8');
    expect(text).toContain('Chart.js v4');
    expect(text).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/cdn/);
    expect(first.stdout).toContain('B fails more often');
    const second = await runCli(args);
    expect(second.code).toBe(EXIT_CODES.usage);
    expect(second.stderr).toContain('already exists');
  });

  it('fleet status scrapes the real servers: health, model, rates; a device that does not answer is listed, not fatal', async () => {
    // A fifth server whose model name carries a bundle digest, as the plan's --alias does.
    const pinned = path.join(work, `tiny@${digest('d')}.gguf`);
    fs.linkSync(model, pinned);
    const port = await freePort();
    const pinnedServer = startProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        launcher,
        'serve',
        pinned,
        '--engine',
        'llama-server',
        '--port',
        String(port),
        '--ctx',
        '256',
        '--threads',
        '1',
        '--parallel',
        '1',
      ],
      { cwd: repoRoot },
    );
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 120_000 });
      const dead = await freePort();
      const endpoints = [
        ...devices.map((d) => ({ name: d.name, port: d.port })),
        { name: 'pinned', port },
        { name: 'dead', port: dead },
      ];
      const file = path.join(work, 'status.yaml');
      fs.writeFileSync(
        file,
        `apiVersion: alki.dev/v1
kind: Fleet
name: lab
runtime: { image: "127.0.0.1:5000/alki-runtime@${digest('c')}" }
groups:
  - name: lab
    hardware: { deviceClass: lab }
    reach: { systemd: {} }
    devices:
${endpoints.map((e) => `      - { name: ${e.name}, endpoint: "http://127.0.0.1:${e.port}" }`).join('\n')}
`,
      );
      // Requests throughout the scrapes, so the rates have something to count.
      let scraping = true;
      const load = (async () => {
        while (scraping)
          await sendChatLoad({
            url: `http://127.0.0.1:${devices[0].port}`,
            model: modelId,
            requests: 2,
            maxTokens: 8,
          });
      })();
      const run = await runCli([
        'fleet',
        'status',
        file,
        '--interval',
        '2s',
        '--timeout',
        '2s',
        '--retries',
        '1',
        '--json',
      ]);
      scraping = false;
      await load;
      expect(run.code).toBe(EXIT_CODES.ok);
      const status = JSON.parse(run.stdout) as FleetStatus;
      const byName = new Map(status.devices.map((d) => [d.device, d]));
      expect(status.counts).toMatchObject({ healthy: 5, unreachable: 1 });
      for (const device of devices) {
        expect(byName.get(device.name)).toMatchObject({
          state: 'healthy',
          healthStatus: 200,
          model: modelId,
        });
        expect(byName.get(device.name)?.rates?.requestsPerSecond).toBeGreaterThanOrEqual(0);
      }
      expect(byName.get(devices[0].name)?.rates?.requestsPerSecond).toBeGreaterThan(0);
      expect(byName.get('pinned')).toMatchObject({ state: 'healthy', digest: digest('d') });
      expect(byName.get('dead')).toMatchObject({ state: 'unreachable' });
      expect(status.digests[digest('d')]).toBe(1);
    } finally {
      await pinnedServer.stop();
    }
  }, 240_000);

  it('says when Prometheus has nothing for an experiment, with exit 3', async () => {
    const run = await runCli([
      'fleet',
      'report',
      '--prometheus',
      prometheus.url,
      '--experiment',
      'nope',
      '--window',
      '2m',
    ]);
    expect(run.code).toBe(EXIT_CODES.inputInvalid);
    expect(run.stderr).toContain('Prometheus has no requests of experiment "nope"');
  });

  it('says when Prometheus does not answer, with exit 4', async () => {
    const port = await freePort();
    const run = await runCli([
      'fleet',
      'report',
      '--prometheus',
      `http://127.0.0.1:${port}`,
      '--experiment',
      'ctx',
    ]);
    expect(run.code).toBe(EXIT_CODES.network);
    expect(run.stderr).toContain(`Prometheus at http://127.0.0.1:${port} did not answer`);
  });
});

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { packDemo, readBundle } from '@alki/bundler';
import {
  freePort,
  launchChromium,
  startProcess,
  startRegistry,
  waitForHttp,
  type RunningProcess,
  type TestRegistry,
} from '@alki/testkit';
import type { Browser, Page } from 'playwright-core';
import { EXIT_CODES } from '../exit-codes.js';
import { cliLauncher, publishedDigest, runCli } from '../test-support.js';

// The edge dashboard of a real `alki serve` (llama-server engine) on the demo
// bundle, opened in Debian's headless Chromium: it loads without errors or
// outside requests, and its figures and charts move when chat completions
// are sent. Then the same page under a real `alki agent --exec`, which names
// its state file to the server it starts.

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

let work: string;
let browser: Browser;
let bundle: string;

/** The CLI's environment as a user has it: without Jest's NODE_OPTIONS or nx's FORCE_COLOR, which make Node warn. */
function cliEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.FORCE_COLOR;
  return env;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-dashboard-cli-'));
  bundle = path.join(work, 'demo');
  await packDemo({ out: bundle, quantize: ['Q8_0'] });
  browser = await launchChromium('the dashboard test');
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A page that records console errors and warnings, page errors, failed requests and requests to other origins. */
async function openDashboard(url: string, viewport = { width: 1100, height: 1400 }) {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  const origin = new URL(url).origin;
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
  });
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin) problems.push(`outside request: ${request.url()}`);
  });
  await page.goto(url);
  await waitUntil(page, 'Number(document.body.dataset.polls || 0) >= 1', 30_000).catch(
    async (error: Error) => {
      throw new Error(`${error.message}: ${await page.locator('#state').innerText()} ${problems.join('; ')}`);
    },
  );
  return { page, problems };
}

// The page's scripts run in the browser; this project's types have no DOM, so they are strings.
// page.waitForFunction would compile them inside the page, which the page's
// Content-Security-Policy (no eval) forbids, so they are polled from here.

/** Polls a browser expression until it is true, or fails after `timeoutMs`. */
async function waitUntil(page: Page, expression: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate<boolean>(expression))) {
    if (Date.now() > deadline) throw new Error(`Still false after ${timeoutMs} ms: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The points a chart draws, through Chart.js's own registry of charts. */
function chartPoints(page: Page, id: string): Promise<Array<number | null>> {
  return page.evaluate<Array<number | null>>(
    `Chart.getChart(document.querySelector('canvas[data-chart="${id}"]')).data.datasets[0].data`,
  );
}

/** Waits until the text of the element `id` starts with `prefix`. */
async function waitForText(page: Page, id: string, prefix: string): Promise<void> {
  await waitUntil(
    page,
    `(document.getElementById(${JSON.stringify(id)}).textContent || '').startsWith(${JSON.stringify(prefix)})`,
    60_000,
  );
}

const text = (page: Page, id: string) => page.locator(`#${id}`).innerText();

async function chat(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 8 }),
  });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
}

/** `alki serve` of the demo bundle on 127.0.0.1 in a real process, once /health answers. */
async function startServe(flags: string[]): Promise<{ server: RunningProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['serve', bundle, '--host', '127.0.0.1', '--port', String(port), '--threads', '1', '--json'];
  const server = startProcess(process.execPath, ['--import', 'tsx', cliLauncher(work), ...args, ...flags], {
    cwd: repoRoot,
    env: cliEnvironment(),
  });
  await waitForHttp(`${url}/health`, { timeoutMs: 120_000 }).catch(async (error: Error) => {
    const output = server.output();
    await server.stop(15_000);
    throw new Error(`${error.message}\n${output}`);
  });
  return { server, url };
}

describe('the dashboard of alki serve in Chromium', () => {
  it('loads without errors or outside requests, and its figures and charts change after chat completions', async () => {
    const { server, url } = await startServe(['--engine', 'llama-server']);
    try {
      expect(server.output()).toContain(`"dashboard": "${url}/"`);
      const { page, problems } = await openDashboard(`${url}/`);
      const manifest = fs.readFileSync(path.join(bundle, 'metadata', 'manifest.json'));
      expect(await text(page, 'model')).toBe((await readBundle(bundle)).manifest.name);
      expect(await text(page, 'engine')).toBe('llama-server');
      expect(await text(page, 'digest')).toBe(
        `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
      );
      expect(await text(page, 'requests')).toBe('0');
      expect(await page.locator('#agent').isHidden()).toBe(true);
      // Four charts, each drawn by Chart.js on its canvas.
      for (const id of ['requests', 'tokens', 'first-token', 'memory'])
        expect(Array.isArray(await chartPoints(page, id))).toBe(true);
      const before = await page.screenshot({ fullPage: true });
      fs.writeFileSync(path.join(work, 'dashboard-before.png'), before);

      for (let i = 0; i < 3; i++) await chat(url);
      await waitForText(page, 'requests', '3');
      expect(Number(await text(page, 'tokens'))).toBeGreaterThan(0);
      const tokensPerSecond = await chartPoints(page, 'tokens');
      expect(tokensPerSecond.some((value) => value !== null && value > 0)).toBe(true);
      const firstToken = await chartPoints(page, 'first-token');
      expect(firstToken.some((value) => value !== null && value > 0)).toBe(true);
      // Memory counts llama-server's resident model beside the front.
      const memory = await chartPoints(page, 'memory');
      expect(memory.at(-1)).toBeGreaterThan(20);
      const after = await page.screenshot({ fullPage: true });
      fs.writeFileSync(path.join(work, 'dashboard-after.png'), after);
      expect(after.equals(before)).toBe(false);

      // On a phone's width nothing scrolls sideways.
      const phone = await openDashboard(`${url}/`, { width: 360, height: 740 });
      expect(
        await phone.page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth'),
      ).toBe(true);
      expect([...problems, ...phone.problems]).toEqual([]);
      await page.close();
      await phone.page.close();
    } finally {
      await server.stop(15_000);
    }
  }, 240_000);
});

describe('alki serve --dashboard', () => {
  it('refuses a path that is not absolute or that the server answers itself, as a usage error', async () => {
    for (const [value, message] of [
      ['status', /must start with \//],
      ['/metrics', /cannot be served on \/metrics/],
      ['/v1/models', /cannot be served on \/v1\/models/],
    ] as const) {
      const { code, stderr } = await runCli(['serve', bundle, '--dashboard', value]);
      expect([code, stderr]).toEqual([EXIT_CODES.usage, expect.stringMatching(message)]);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('serves no page with --dashboard off, and the API as before', async () => {
    const { server, url } = await startServe(['--engine', 'node-llama-cpp', '--dashboard', 'off']);
    try {
      expect(server.output()).toContain('"dashboard": null');
      expect((await fetch(`${url}/`)).status).toBe(404);
      expect((await fetch(`${url}/dashboard/data.json`)).status).toBe(404);
      await chat(url);
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
        /alki_requests_total\{route="\/v1\/chat\/completions",status="200"\} 1/,
      );
    } finally {
      await server.stop(15_000);
    }
  }, 180_000);
});

describe('the dashboard under alki agent --exec', () => {
  let registry: TestRegistry;
  let agent: RunningProcess | undefined;

  beforeAll(async () => {
    registry = await startRegistry();
  });

  afterAll(async () => {
    await agent?.stop(15_000);
    await registry?.stop();
  });

  it("shows the agent's current digest and last check from the state file the agent names", async () => {
    const repository = `${registry.host}/models`;
    const digest = await publishedDigest(bundle, repository, 'stable');
    const slug = (await readBundle(bundle)).manifest.slug;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    agent = startProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        cliLauncher(work),
        'agent',
        `${repository}/${slug}:stable`,
        '--dir',
        path.join(work, 'device'),
        '--exec',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--engine',
        'llama-server',
        '--serve-arg=--threads=1',
        '--interval',
        '60',
        '--health-timeout',
        '90',
        '--listen',
        `127.0.0.1:${await freePort()}`,
        '--json',
      ],
      { cwd: repoRoot, env: cliEnvironment() },
    );
    await waitForHttp(`${url}/health`, { timeoutMs: 150_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\n${agent?.output()}`);
    });
    const { page, problems } = await openDashboard(`${url}/`);
    await waitForText(page, 'agent-current', digest);
    expect(await page.locator('#agent').isVisible()).toBe(true);
    expect(await text(page, 'agent-channel')).toBe(`${repository}/${slug}:stable`);
    await waitForText(page, 'agent-check', 'updated');
    expect(await text(page, 'agent-update')).toBe('none');
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});

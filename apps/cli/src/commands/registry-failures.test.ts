import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import {
  startCuttingProxy,
  processAlive,
  startRegistry,
  writeHostileCredentialHelpers,
  writeTinyLlamaGguf,
  type CuttingProxy,
  type HostileCredentialHelpers,
  type TestRegistry,
} from '@alki/testkit';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from '../exit-codes.js';
import { runCli } from '../test-support.js';

// Registry commands against a registry that stalls and credential helpers
// that leak or hang (issue 22): real docker-registry behind the testkit's
// cutting proxy, real helper programs on PATH, and for signals a real alki
// process.
const bin = fileURLToPath(new URL('../../bin/alki.js', import.meta.url));
const SECRET = 'hunter2-from-the-helper-must-never-be-printed';
let work: string;
let hostile: HostileCredentialHelpers;
let registry: TestRegistry;
let proxy: CuttingProxy;
const saved = { ...process.env };

function dockerConfig(name: string, helper: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credsStore: helper }));
  return dir;
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
}

/** `alki tags` as its own process, with the hanging helper; resolves to its exit code. */
function startTags(pids: string, timeoutSeconds: number) {
  const child = spawn(process.execPath, [bin, 'tags', `${registry.host}/models/any`], {
    env: {
      ...process.env,
      PATH: `${hostile.binDir}:${process.env.PATH}`,
      DOCKER_CONFIG: dockerConfig(path.basename(pids), 'hang'),
      HANG_PIDS: pids,
      ALKI_CREDENTIAL_HELPER_TIMEOUT: String(timeoutSeconds),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => stderr };
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cli-failures-'));
  hostile = writeHostileCredentialHelpers(work, SECRET);
  registry = await startRegistry();
  proxy = await startCuttingProxy(registry.host);
  const gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name: 'stall-tiny' });
  const bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  const published = await runCli([
    'publish',
    bundle,
    '--registry',
    `${registry.host}/models`,
    '--tag',
    'v1',
    '--quiet',
  ]);
  expect(published.code).toBe(0);
});

afterAll(async () => {
  for (const key of ['PATH', 'DOCKER_CONFIG']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await proxy?.stop();
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('a registry that stalls mid-blob', () => {
  it('makes pull retry with resume, then exit 4 (network), not 70, leaving nothing', async () => {
    const out = path.join(work, 'stalled');
    // Every blob answer stops after 1 KiB: each resume gets a little further, never to the end.
    proxy.stallAfter(1024, { times: Infinity, request: 'GET /v2/models/stall-tiny/blobs/' });
    const started = Date.now();
    try {
      const run = await runCli([
        'pull',
        `${proxy.host}/models/stall-tiny:v1`,
        '-o',
        out,
        '--stall-timeout',
        '0.5',
        '--json',
      ]);
      expect(run.code).toBe(EXIT_CODES.network);
      expect(run.stderr).toMatch(
        /^error: The download of sha256:[a-f0-9]{64} from .* broke 6 times; the last time: no data for 0.5 s/m,
      );
      expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'UNREACHABLE', category: 'network' } });
    } finally {
      proxy.stallAfter(0, { times: 0 });
    }
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(work).filter((name) => name.startsWith('stalled'))).toEqual([]);
  }, 120_000);

  it('makes pull resume and succeed when the stall happens once', async () => {
    const out = path.join(work, 'resumed');
    proxy.stallAfter(1024, { request: 'GET /v2/models/stall-tiny/blobs/' });
    const run = await runCli([
      'pull',
      `${proxy.host}/models/stall-tiny:v1`,
      '-o',
      out,
      '--stall-timeout',
      '0.5',
    ]);
    expect(run.code).toBe(0);
    expect(proxy.stalls).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(out, 'metadata', 'manifest.json'))).toBe(true);
  }, 120_000);
});

describe('credential helpers', () => {
  it('never print what a failing helper printed; the error names the helper and its exit code (exit 5)', async () => {
    process.env.PATH = `${hostile.binDir}:${saved.PATH}`;
    process.env.DOCKER_CONFIG = dockerConfig('leaky', 'leaky');
    for (const args of [[], ['--json'], ['--verbose']]) {
      const run = await runCli(['tags', `${registry.host}/models/stall-tiny`, ...args]);
      expect(run.code).toBe(EXIT_CODES.environment);
      expect(run.stderr).toMatch(/docker-credential-leaky failed with exit code 1/);
      expect(run.stdout + run.stderr).not.toContain(SECRET);
    }
  });

  it('stop a hanging helper and its children when alki gets SIGTERM, and exit 130', async () => {
    const pids = path.join(work, 'sigterm');
    const tags = startTags(pids, 120);
    const { helper, child } = await hostile.hangPids(pids);
    expect([processAlive(helper), processAlive(child)]).toEqual([true, true]);
    tags.child.kill('SIGTERM');
    const exit = await Promise.race([
      tags.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000)),
    ]);
    expect(exit).toEqual({ code: EXIT_CODES.interrupted, signal: null });
    expect(await until(() => !processAlive(helper) && !processAlive(child), 5_000)).toBe(true);
  }, 60_000);

  it('do not outlive a kill -9 of alki by more than their timeout', async () => {
    const pids = path.join(work, 'sigkill');
    const tags = startTags(pids, 2);
    const { helper, child } = await hostile.hangPids(pids);
    tags.child.kill('SIGKILL');
    await tags.exited;
    expect([processAlive(helper), processAlive(child)]).toEqual([true, true]);
    // timeout(1) holds the helper's group and kills it 2 s past the helper timeout.
    expect(await until(() => !processAlive(helper) && !processAlive(child), 10_000)).toBe(true);
  }, 60_000);
});

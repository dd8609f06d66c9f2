import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { agentPaths, readState, slotDir, type AgentState } from '@alki/agent';
import { packDemo, readBundle } from '@alki/bundler';
import { RegistryClient } from '@alki/oci';
import {
  freePort,
  splitSystemdCommandLine,
  startProcess,
  startRegistry,
  type TestRegistry,
} from '@alki/testkit';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from '../exit-codes.js';
import { cliLauncher, publishedDigest, runCli } from '../test-support.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const PASSPHRASE = 'agent-test-pass-phrase-91c2';

let work: string;
let registry: TestRegistry;
let client: RegistryClient;
/** Where `alki publish --registry <host>/models` puts the demo bundle: models/<its slug>. */
let REPOSITORY: string;
/**
 * Four demo bundles: v1 (Q8_0) and v2 (Q4_K_M) published unsigned, v3 (Q8_0
 * with a smaller context) published with `--sign --key other.key`, v4 (F16)
 * with `--sign --key release.key`.
 */
const digests = { v1: '', v2: '', v3: '', v4: '' };

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cli-agent-'));
  registry = await startRegistry();
  client = new RegistryClient({ registry: registry.host });
  const [v1, v2, v3, v4] = ['v1', 'v2', 'v3', 'v4'].map((name) => path.join(work, name));
  await packDemo({ out: v1, quantize: ['Q8_0'] });
  await packDemo({ out: v2, quantize: ['Q4_K_M'] });
  await packDemo({ out: v3, quantize: ['Q8_0'], contextSize: 256 });
  await packDemo({ out: v4, quantize: ['F16'] });
  REPOSITORY = `models/${(await readBundle(v1)).manifest.slug}`;
  const models = `${registry.host}/models`;
  digests.v1 = await publishedDigest(v1, models, 'v1');
  digests.v2 = await publishedDigest(v2, models, 'v2');
  process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
  try {
    for (const key of ['release', 'other'])
      expect((await runCli(['keygen', '--out', path.join(work, key), '--quiet'])).code).toBe(0);
    digests.v3 = await publishedDigest(v3, models, 'v3', '--sign', '--key', path.join(work, 'other.key'));
    digests.v4 = await publishedDigest(v4, models, 'v4', '--sign', '--key', path.join(work, 'release.key'));
  } finally {
    delete process.env.ALKI_KEY_PASSPHRASE;
  }
}, 300_000);

afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Points the channel tag `stable` at a digest, as a publisher promoting a release does. */
async function moveStableTo(digest: string): Promise<void> {
  const manifest = await client.getManifest(REPOSITORY, digest);
  await client.putManifest(REPOSITORY, 'stable', manifest.bytes, manifest.mediaType);
}

/** Polls the agent's state file until `done` holds for it, or fails with the agent's output after `timeoutMs`. */
async function waitForState(
  dir: string,
  done: (state: AgentState) => boolean,
  output: () => string,
  timeoutMs = 150_000,
): Promise<AgentState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await readState(agentPaths(dir));
    if (state && done(state)) return state;
    if (Date.now() > deadline)
      throw new Error(`The agent's state never got there: ${JSON.stringify(state)}\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Waits until the server the agent restarted on its start answers 200. */
async function waitForHttpOk(url: string, output: () => string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url)
      .then((response) => response.status)
      .catch(() => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} never answered 200\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function completion(url: string): Promise<{ status: number; object?: string }> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
  });
  const body = (await response.json()) as { object?: string };
  return { status: response.status, object: body.object };
}

describe('alki agent', () => {
  it('refuses bad flags as usage errors (exit 2) before touching the registry', async () => {
    const channel = `${registry.host}/${REPOSITORY}:stable`;
    const dir = path.join(work, 'never-made');
    const neither = await runCli(['agent', channel, '--dir', dir]);
    expect(neither.code).toBe(EXIT_CODES.usage);
    expect(neither.stderr).toContain('--exec');
    const both = await runCli(['agent', channel, '--dir', dir, '--exec', '--systemd-unit', 'x.service']);
    expect(both.code).toBe(EXIT_CODES.usage);
    const keep = await runCli(['agent', channel, '--dir', dir, '--exec', '--keep', '1']);
    expect([keep.code, keep.stderr]).toEqual([EXIT_CODES.usage, expect.stringContaining('--keep')]);
    const onceExec = await runCli(['agent', channel, '--dir', dir, '--exec', '--once']);
    expect([onceExec.code, onceExec.stderr]).toEqual([
      EXIT_CODES.usage,
      expect.stringContaining('--once needs --systemd-unit'),
    ]);
    const interval = await runCli(['agent', channel, '--dir', dir, '--exec', '--interval', '0']);
    expect([interval.code, interval.stderr]).toEqual([
      EXIT_CODES.usage,
      expect.stringContaining('--interval'),
    ]);
    for (const run of [neither, both, keep, onceExec, interval]) expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(dir)).toBe(false);
  });

  /** `alki agent` as on a device: the CLI (sources through tsx) in its own process, supervising `alki serve`. */
  function startAgent(dir: string, port: number, flags: string[]) {
    const agent = startProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        cliLauncher(work),
        'agent',
        `${registry.host}/${REPOSITORY}:stable`,
        '--dir',
        dir,
        '--exec',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--engine',
        'llama-server',
        '--serve-arg=--threads=1',
        '--interval',
        '1',
        '--retry',
        '1',
        '--health-timeout',
        '90',
        '--json',
        ...flags,
      ],
      { cwd: repoRoot },
    );
    const stdout: string[] = [];
    agent.child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk.toString('utf8')));
    return {
      ...agent,
      /** Sends SIGTERM and returns the exit code and the decisions it printed, one JSON object per line. */
      async terminate() {
        const exited = once(agent.child, 'exit');
        agent.child.kill('SIGTERM');
        const [code] = (await exited) as [number | null];
        const events = stdout
          .join('')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { decision: string; digest?: string; message: string });
        return { code, events };
      },
    };
  }

  const dir = () => path.join(work, 'device');
  let port: number;

  it('installs the bundle the tag names, serves it, logs one JSON line per decision, and exits 0 on SIGTERM', async () => {
    port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    await moveStableTo(digests.v1);
    const agent = startAgent(dir(), port, []);
    try {
      const state = await waitForState(
        dir(),
        (s) => s.current?.digest === digests.v1 && s.lastCheck?.outcome === 'updated',
        () => agent.output(),
      );
      expect(state.lastError).toBeUndefined();
      expect(state.healthy).toEqual([digests.v1]);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(await completion(url)).toEqual({ status: 200, object: 'chat.completion' });
      const { code, events } = await agent.terminate();
      expect([code, agent.output()]).toEqual([EXIT_CODES.ok, expect.any(String)]);
      await expect(fetch(`${url}/health`)).rejects.toThrow();
      expect(events.map((event) => event.decision)).toEqual(
        expect.arrayContaining(['start', 'download', 'switch', 'restart', 'healthy', 'stop']),
      );
      expect(events.filter((e) => e.decision === 'switch').map((e) => e.digest)).toEqual([digests.v1]);
    } finally {
      await agent.stop(15_000);
    }
  }, 300_000);

  it('under --key, refuses and denies an unsigned release and one signed with another key, and keeps serving the old one', async () => {
    const url = `http://127.0.0.1:${port}`;
    const agent = startAgent(dir(), port, ['--key', path.join(work, 'release.pub')]);
    try {
      for (const [digest, reason] of [
        [digests.v2, /has no signature attached.*the policy requires a signature/],
        [digests.v3, /refused by the trust policy: .*which the policy does not trust/],
      ] as const) {
        await moveStableTo(digest);
        const state = await waitForState(
          dir(),
          (s) => s.denied.some((entry) => entry.digest === digest),
          () => agent.output(),
        );
        expect(state.lastError?.code).toBe('UNTRUSTED_BUNDLE');
        expect(state.denied.find((entry) => entry.digest === digest)?.reason).toMatch(reason);
        expect(state.current?.digest).toBe(digests.v1);
        // Nothing of the refused release reached the disk, not even a staging dir: only v1's slot.
        expect(fs.readdirSync(agentPaths(dir()).slots)).toEqual([
          expect.stringContaining(digests.v1.slice(7)),
        ]);
      }
      await waitForHttpOk(`${url}/health`, () => agent.output());
      expect(await completion(url)).toEqual({ status: 200, object: 'chat.completion' });
      const { code, events } = await agent.terminate();
      expect(code).toBe(EXIT_CODES.ok);
      // One line per refusal, each with its reason.
      const denials = events.filter((e) => e.decision === 'deny');
      expect(denials.map((e) => e.digest)).toEqual([digests.v2, digests.v3]);
      for (const denial of denials)
        expect(denial.message).toMatch(/^\S+ is denied .*: .*refused by the trust policy: /);
      expect(agent.output()).not.toMatch(/\n\s+at /);
      expect(events.filter((e) => e.decision === 'switch')).toEqual([]);
    } finally {
      await agent.stop(15_000);
    }
  }, 300_000);

  it('under --key, installs and serves a release published with `alki publish --sign --key`', async () => {
    const url = `http://127.0.0.1:${port}`;
    await moveStableTo(digests.v4);
    const pub = path.join(work, 'release.pub');
    const agent = startAgent(dir(), port, ['--key', pub]);
    try {
      const state = await waitForState(
        dir(),
        (s) => s.current?.digest === digests.v4 && s.lastCheck?.outcome === 'updated',
        () => agent.output(),
      );
      expect(state.healthy).toContain(digests.v4);
      expect(await completion(url)).toEqual({ status: 200, object: 'chat.completion' });
      // The slot carries the trusted signature, so it verifies on its own, offline.
      const verified = await runCli(['verify', slotDir(agentPaths(dir()), digests.v4), '--key', pub]);
      expect([verified.code, verified.stderr]).toEqual([EXIT_CODES.ok, expect.any(String)]);
      const { code, events } = await agent.terminate();
      expect(code).toBe(EXIT_CODES.ok);
      expect(events.filter((e) => e.decision === 'switch').map((e) => e.digest)).toEqual([digests.v4]);
      expect(events.filter((e) => e.decision === 'deny')).toEqual([]);
    } finally {
      await agent.stop(15_000);
    }
  }, 300_000);

  it('runs as the unit `alki pack --agent-channel` writes: its ExecStart arguments, the API key from its credential', async () => {
    const channel = `${registry.host}/${REPOSITORY}:stable`;
    const bad = await runCli([
      'pack',
      '--demo',
      '--agent-channel',
      'no-registry:latest',
      '--out',
      path.join(work, 'bad'),
    ]);
    expect([bad.code, bad.stderr]).toEqual([EXIT_CODES.usage, expect.stringContaining('--agent-channel')]);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(work, 'bad'))).toBe(false);

    const bundle = path.join(work, 'with-agent');
    const packed = await runCli([
      'pack',
      '--demo',
      '--quantize',
      'Q8_0',
      '--agent-channel',
      channel,
      '--out',
      bundle,
    ]);
    expect([packed.code, packed.stderr]).toEqual([EXIT_CODES.ok, expect.any(String)]);
    const { manifest, runtime } = await readBundle(bundle);
    expect(runtime.agent).toEqual({ channel });
    const unitPath = `deploy/systemd/alki-${manifest.slug}-agent.service`;
    expect(manifest.files.map((file) => file.path)).toContain(unitPath);
    // The bundle that names its channel is itself what the channel serves.
    await moveStableTo(await publishedDigest(bundle, `${registry.host}/models`, 'with-agent'));

    const exec = fs
      .readFileSync(path.join(bundle, unitPath), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('ExecStart='));
    expect(exec).toHaveLength(1);
    const suffix = ' --api-key-file %d/api-key';
    expect(exec[0].endsWith(suffix)).toBe(true);
    const [program, ...args] = splitSystemdCommandLine(exec[0].slice('ExecStart='.length, -suffix.length));
    expect([program, args[0], args[1]]).toEqual(['/usr/local/bin/alki', 'agent', channel]);
    // What systemd would resolve, resolved for this test: the state directory, the credential, free ports.
    const dir = path.join(work, 'unit-device');
    const keyFile = path.join(work, 'api-key');
    fs.writeFileSync(keyFile, '# the device key\nk-unit-4411\n', { mode: 0o600 });
    const serverPort = await freePort();
    const substitute: Record<string, string> = {
      '--dir': dir,
      '--host': '127.0.0.1',
      '--port': String(serverPort),
      '--listen': `127.0.0.1:${await freePort()}`,
    };
    const unitArgs = args.map((arg, i) => substitute[args[i - 1]] ?? arg);
    const agent = startProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        cliLauncher(work),
        ...unitArgs,
        '--api-key-file',
        keyFile,
        '--engine',
        'llama-server',
        '--serve-arg=--threads=1',
        '--health-timeout',
        '90',
        '--json',
      ],
      { cwd: repoRoot },
    );
    try {
      // Healthy means its health check presented the key: the server refuses a completion without one.
      const state = await waitForState(
        dir,
        (s) => s.lastCheck?.outcome === 'updated',
        () => agent.output(),
      );
      expect(state.lastError).toBeUndefined();
      const url = `http://127.0.0.1:${serverPort}`;
      expect((await completion(url)).status).toBe(401);
      const keyed = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer k-unit-4411' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
      });
      expect(keyed.status).toBe(200);
      expect(agent.output()).not.toContain('k-unit-4411');
    } finally {
      await agent.stop(15_000);
    }
  }, 300_000);
});

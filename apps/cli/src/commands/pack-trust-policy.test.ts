import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requireCommand, splitSystemdCommandLine, writeTinyLlamaGguf } from '@alki/testkit';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../test-support.js';

// `alki pack --trust-policy`: the bundle carries the policy (self-contained,
// listed in its manifest), and its systemd unit verifies the bundle before
// llama-server starts. The unit's ExecStartPre= is run here as systemd would
// run it under the unit's MemoryDenyWriteExecute=yes (the kernel's
// PR_SET_MDWE, which V8's JIT dies under) with the unit's Environment=: it
// refuses the unsigned bundle and passes once `alki sign --key` signed it.
const PASSPHRASE = 'pass-phrase-for-the-trust-policy-test';
const bin = fileURLToPath(new URL('../../bin/alki.js', import.meta.url));
let work: string;
let gguf: string;
let policyFile: string;
let publicPem: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'alki-cli-trust-'));
  gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name: 'trusted' });
  process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
  expect((await runCli(['keygen', '--out', path.join(work, 'builder'), '--quiet'])).code).toBe(0);
  delete process.env.ALKI_KEY_PASSPHRASE;
  publicPem = readFileSync(path.join(work, 'builder.pub'), 'utf8');
  // The key by path, relative to the policy, as people write policies.
  policyFile = path.join(work, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({ schema_version: 1, keys: [{ name: 'builder', path: 'builder.pub' }] }),
  );
});

afterAll(() => {
  delete process.env.ALKI_KEY_PASSPHRASE;
  rmSync(work, { recursive: true, force: true });
});

/** Runs a unit's command line as systemd would: its environment only, under MemoryDenyWriteExecute. */
function runUnderMdwe(command: string[], environment: Record<string, string>) {
  const python = requireCommand('python3', 'the MemoryDenyWriteExecute check');
  // PR_SET_MDWE (65) with PR_MDWE_REFUSE_EXEC_GAIN (1), inherited across execve: what systemd sets up.
  const wrapper =
    'import ctypes, os, sys\n' +
    'libc = ctypes.CDLL(None, use_errno=True)\n' +
    'if libc.prctl(65, 1, 0, 0, 0) != 0: sys.exit("PR_SET_MDWE failed: %d" % ctypes.get_errno())\n' +
    'os.execv(sys.argv[1], sys.argv[1:])\n';
  return spawnSync(python, ['-c', wrapper, ...command], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...environment },
  });
}

describe('alki pack --trust-policy', () => {
  let bundle: string;
  let unit: string[];

  beforeAll(async () => {
    bundle = path.join(work, 'bundle');
    const packed = await runCli(['pack', gguf, '--out', bundle, '--trust-policy', policyFile, '--quiet']);
    expect(packed).toMatchObject({ code: 0, stderr: '' });
    unit = readFileSync(path.join(bundle, 'deploy/systemd/alki-trusted.service'), 'utf8').split('\n');
  }, 120_000);

  it('carries the policy self-contained, listed in the manifest, and the bundle verifies', async () => {
    const carried = JSON.parse(
      readFileSync(path.join(bundle, 'metadata/trust-policy.json'), 'utf8'),
    ) as unknown;
    expect(carried).toEqual({ schema_version: 1, keys: [{ name: 'builder', public_key: publicPem }] });
    const manifest = JSON.parse(readFileSync(path.join(bundle, 'metadata/manifest.json'), 'utf8')) as {
      files: Array<{ path: string }>;
    };
    expect(manifest.files.map((file) => file.path)).toContain('metadata/trust-policy.json');
    expect((await runCli(['verify', bundle])).code).toBe(0);
  });

  it("gives the systemd unit an alki verify of the bundle against the host's copy of the policy", () => {
    const pre = unit.filter((line) => line.startsWith('ExecStartPre='));
    expect(pre).toHaveLength(1);
    expect(splitSystemdCommandLine(pre[0].slice('ExecStartPre='.length))).toEqual([
      '/usr/local/bin/alki',
      'verify',
      '/opt/alki/trusted',
      '--policy',
      '/etc/alki/alki-trusted.trust-policy.json',
    ]);
    expect(unit).toContain('MemoryDenyWriteExecute=yes');
  });

  it('refuses the unsigned bundle and passes the signed one when run as the unit runs it', async () => {
    // The host's copy, installed from the bundle as the unit's comment says; paths of this machine
    // stand in for /usr/local/bin/alki, /opt/alki/trusted and /etc/alki.
    const hostPolicy = path.join(work, 'alki-trusted.trust-policy.json');
    writeFileSync(hostPolicy, readFileSync(path.join(bundle, 'metadata/trust-policy.json')));
    const [, ...args] = splitSystemdCommandLine(
      unit.find((line) => line.startsWith('ExecStartPre='))!.slice('ExecStartPre='.length),
    );
    const command = [
      process.execPath,
      bin,
      ...args.map((arg) => (arg === '/opt/alki/trusted' ? bundle : arg)),
    ];
    command[command.length - 1] = hostPolicy;
    const environment = Object.fromEntries(
      unit
        .filter((line) => line.startsWith('Environment=NODE_OPTIONS='))
        .map((line) => line.slice('Environment='.length).split('=', 2) as [string, string]),
    );
    expect(environment).toEqual({ NODE_OPTIONS: '--jitless' });

    const unsigned = runUnderMdwe(command, environment);
    expect(unsigned.status).toBe(1);
    expect(unsigned.stdout + unsigned.stderr).toMatch(/not signed/);

    process.env.ALKI_KEY_PASSPHRASE = PASSPHRASE;
    const signed = await runCli(['sign', bundle, '--key', path.join(work, 'builder.key'), '--quiet']);
    delete process.env.ALKI_KEY_PASSPHRASE;
    expect(signed.code).toBe(0);
    const passed = runUnderMdwe(command, environment);
    expect({
      status: passed.status,
      stderr: passed.stderr.replace(/^Warning: disabling flag --expose_wasm.*\n/m, ''),
    }).toEqual({ status: 0, stderr: '' });

    // Without --jitless, Node does not survive MemoryDenyWriteExecute: the unit's Environment= is needed.
    expect(runUnderMdwe(command, {}).status).not.toBe(0);
  }, 120_000);

  it('refuses a policy that cannot be used before packing anything', async () => {
    const trustsNobody = path.join(work, 'nobody.json');
    writeFileSync(trustsNobody, JSON.stringify({ schema_version: 1 }));
    for (const [policy, message] of [
      [trustsNobody, /trusts no key and no identity/],
      [path.join(work, 'missing.json'), /missing\.json/],
    ] as const) {
      const out = path.join(work, `refused-${path.basename(policy)}`);
      const run = await runCli(['pack', gguf, '--out', out, '--trust-policy', policy]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    }
  });
});

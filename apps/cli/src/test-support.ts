import { jest } from '@jest/globals';
import { pack } from '@alki/bundler';
import { writeTinyLlamaGguf } from '@alki/testkit';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from './main.js';

/**
 * Writes `dir/alki.mjs`, a launcher that runs this CLI's sources in a separate Node process
 * (`node --import tsx <launcher> serve ...`), for tests that need `alki` as a real process.
 */
export function cliLauncher(dir: string): string {
  const file = path.join(dir, 'alki.mjs');
  fs.writeFileSync(
    file,
    `import { main } from ${JSON.stringify(new URL('./main.ts', import.meta.url).href)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  return file;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in-process and captures what it writes, for tests. Output goes
 * through process.stdout/stderr exactly as in production.
 */
export async function runCli(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    stdout += `${parts.join(' ')}\n`;
  });
  const error = jest.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    stderr += `${parts.join(' ')}\n`;
  });
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = previousExitCode;
    out.mockRestore();
    err.mockRestore();
    log.mockRestore();
    error.mockRestore();
  }
}

/** Publishes a bundle with `alki publish --json` (and any further `flags`) and returns the manifest digest it printed. */
export async function publishedDigest(
  bundle: string,
  registry: string,
  tag: string,
  ...flags: string[]
): Promise<string> {
  const run = await runCli(['publish', bundle, '--registry', registry, '--tag', tag, '--json', ...flags]);
  if (run.code !== 0) throw new Error(`alki publish failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { digest: string }).digest;
}

/** A signing test's work folder: a packed tiny bundle and two key pairs (`builder`, `other`) made by `alki keygen`. */
export interface SigningWorkspace {
  work: string;
  bundle: string;
  /** A fresh copy of the bundle in the work folder. */
  copyOf: (dir: string) => string;
}

/** Packs a tiny bundle named `name` and runs `alki keygen` twice with `passphrase`, in a new temp folder. */
export async function signingWorkspace(
  prefix: string,
  name: string,
  passphrase: string,
): Promise<SigningWorkspace> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name });
  const bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  process.env.ALKI_KEY_PASSPHRASE = passphrase;
  try {
    for (const key of ['builder', 'other']) {
      const run = await runCli(['keygen', '--out', path.join(work, key), '--quiet']);
      if (run.code !== 0) throw new Error(`alki keygen failed: ${run.stderr}`);
    }
  } finally {
    delete process.env.ALKI_KEY_PASSPHRASE;
  }
  let copies = 0;
  const copyOf = (dir: string): string => {
    const copy = path.join(work, `copy-${copies++}`);
    fs.cpSync(dir, copy, { recursive: true });
    return copy;
  };
  return { work, bundle, copyOf };
}

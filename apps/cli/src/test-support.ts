import { jest } from '@jest/globals';
import fs from 'node:fs';
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

/** Publishes a bundle with `alki publish --json` and returns the manifest digest it printed. */
export async function publishedDigest(bundle: string, registry: string, tag: string): Promise<string> {
  const run = await runCli(['publish', bundle, '--registry', registry, '--tag', tag, '--json']);
  return (JSON.parse(run.stdout) as { digest: string }).digest;
}

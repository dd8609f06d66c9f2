import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import { cachedTinyLlamaGguf, freePort } from '@alki/testkit';
import { EXIT_CODES } from './exit-codes.js';

// Every exit code docs/cli.md documents, provoked for real through the
// installed entry point (bin/alki.js and the built CLI), so the table, the
// code and what a user sees cannot drift apart.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const bin = path.join(repoRoot, 'apps/cli/bin/alki.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-exit-codes-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The code column of the exit-code table in docs/cli.md. */
function documentedCodes(): number[] {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs/cli.md'), 'utf8');
  const section = doc.slice(
    doc.indexOf('## Exit codes'),
    doc.indexOf('\n## ', doc.indexOf('## Exit codes') + 1),
  );
  return [...section.matchAll(/^\| (\d+)\s+\|/gm)].map((match) => Number(match[1]));
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr together, in arrival order. */
  output: string;
}

// No run may outlive its test: a process still there after this is killed.
const RUN_LIMIT_MS = 100_000;

// Node itself catches SIGTERM from its first instant (to restore the
// terminal), so /proc cannot tell when Alki's handler is in place. This
// preload, test instrumentation only, says on stderr where each SIGTERM
// handler was added from, once it is in place: bin/alki.js adds one before
// it loads the CLI.
const HANDLER_MARK = 'alki-test: SIGTERM handler added at';
const preload = path.join(work, 'mark-sigterm-handler.mjs');
fs.writeFileSync(
  preload,
  `const on = process.on;
process.on = function (event, listener) {
  const result = on.call(this, event, listener);
  if (event === 'SIGTERM') process.stderr.write(${JSON.stringify(`${HANDLER_MARK} `)} + new Error().stack.split('\\n')[2].trim() + '\\n');
  return result;
};
`,
);

/**
 * Runs bin/alki.js. With `interruptWhen`, sends SIGTERM once the process has
 * a SIGTERM handler and the predicate holds for its output so far.
 */
function run(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; interruptWhen?: (output: string) => boolean } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, bin, ...args], {
      cwd: work,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    let output = '';
    let sent = false;
    const take = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (options.interruptWhen && !sent && output.includes(HANDLER_MARK) && options.interruptWhen(output)) {
        sent = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, output });
    });
  });
}

let model: string;
let bundle: string;
beforeAll(async () => {
  // npm test builds everything first; a bare jest run needs `npm run build`.
  if (!fs.existsSync(path.join(repoRoot, 'apps/cli/dist/main.js')))
    throw new Error('apps/cli/dist is missing: run `npm run build` first.');
  model = (await cachedTinyLlamaGguf()).path;
  bundle = path.join(work, 'bundle');
  await pack({ source: model, out: bundle });
}, 120_000);

describe('the exit codes of docs/cli.md', () => {
  it('are the codes the CLI uses, no more and no fewer', () => {
    expect(documentedCodes().sort((a, b) => a - b)).toEqual(
      [...new Set(Object.values(EXIT_CODES))].sort((a, b) => a - b),
    );
  });

  it('0: success', async () => {
    expect((await run(['verify', bundle])).code).toBe(0);
  }, 60_000);

  it('1: a check failed (a tampered bundle)', async () => {
    const tampered = path.join(work, 'tampered');
    fs.cpSync(bundle, tampered, { recursive: true });
    fs.appendFileSync(path.join(tampered, 'metadata/README.md'), 'changed');
    expect((await run(['verify', tampered])).code).toBe(1);
  }, 60_000);

  it('2: usage (an unknown flag)', async () => {
    expect((await run(['verify', bundle, '--no-such-flag'])).code).toBe(2);
  }, 60_000);

  it('3: an invalid input (validate on a corrupt GGUF)', async () => {
    const corrupt = path.join(work, 'corrupt.gguf');
    fs.writeFileSync(corrupt, Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0])]));
    const result = await run(['validate', corrupt]);
    expect(result.code).toBe(3);
    expect(result.output).toMatch(/^error: The structure check failed for .*corrupt\.gguf: /m);
  }, 60_000);

  it('4: a network failure (nothing listens at the URL)', async () => {
    const port = await freePort();
    expect((await run(['inspect', `http://127.0.0.1:${port}/model.gguf`])).code).toBe(4);
  }, 120_000);

  it('5: the local environment (no llama-server to serve with)', async () => {
    const empty = fs.mkdtempSync(path.join(work, 'bin-'));
    const result = await run(['serve', model, '--engine', 'llama-server'], {
      env: { ALKI_LLAMA_BIN_DIR: empty, XDG_CACHE_HOME: empty, PATH: '/usr/bin:/bin' },
    });
    expect(result.code).toBe(5);
    expect(result.output).toMatch(/^error: llama-server was not found/m);
  }, 60_000);

  it('70: internal errors are what no input may cause; the table maps no category but internal to it', () => {
    expect(EXIT_CODES.internal).toBe(70);
  });

  it('130: interrupted (SIGTERM during validate), nothing left half-written', async () => {
    const result = await run(['validate', model, '--threads', '1', '--verbose'], {
      interruptWhen: (output) => output.includes('running the load check'),
    });
    expect(result).toMatchObject({ code: 130, signal: null });
    expect(result.output).toMatch(/Interrupted \(SIGTERM\)/);
  }, 60_000);

  it('130 also for a SIGTERM while the CLI is still loading, not the 143 of a killed process', async () => {
    // The signal goes out when bin/alki.js has its handler, while it loads the rest of the CLI.
    const result = await run(['validate', model], {
      interruptWhen: (output) => new RegExp(`${HANDLER_MARK} .*bin/alki\\.js`).test(output),
    });
    expect(result).toMatchObject({ code: 130, signal: null });
  }, 60_000);

  it('0 for alki serve stopped by SIGTERM while serving, its normal way to stop', async () => {
    const port = await freePort();
    const result = await run(
      ['serve', model, '--engine', 'node-llama-cpp', '--threads', '1', '--port', String(port)],
      { interruptWhen: (output) => output.includes('Serving ') },
    );
    expect(result).toMatchObject({ code: 0, signal: null });
  }, 120_000);

  it('0 for alki serve stopped by SIGTERM before it has loaded, on both engines', async () => {
    for (const engine of ['node-llama-cpp', 'llama-server']) {
      const result = await run(['serve', model, '--engine', engine, '--port', String(await freePort())], {
        interruptWhen: () => true,
      });
      expect({ engine, code: result.code, signal: result.signal }).toEqual({ engine, code: 0, signal: null });
    }
  }, 120_000);
});

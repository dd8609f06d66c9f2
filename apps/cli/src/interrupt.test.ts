import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedTinyLlamaGguf } from '@alki/testkit';
import { INTERRUPT_GRACE_MS } from './interrupt.js';

// Issue #21 item 3: an interrupt ends the CLI within a bounded time even when a read is stuck in the kernel,
// and only then. The built CLI (bin/alki.js) runs as a real process; a module loaded before it (--import)
// makes its open of the model wait: "kernel" opens a FIFO without a writer instead (a pool thread blocks in
// openat, as for a FIFO or a hung network file system), "slow" waits 8 s on a timer and then opens the model
// (a command that is slow but not stuck). The module touches a marker file when the command reaches the open.
const ALKI = fileURLToPath(new URL('../bin/alki.js', import.meta.url));
const SLOW_MS = 8000;
// Beyond the grace: the looks that confirm a stuck read (1 s) and a loaded machine's scheduling.
const SLACK_MS = 10_000;

const PRELOAD = `import fs from 'node:fs';
const { STUCK_TARGET: target, STUCK_FIFO: fifo, STUCK_MODE: mode, STUCK_MARKER: marker } = process.env;
const open = fs.promises.open;
fs.promises.open = async (file, ...rest) => {
  if (String(file) !== target) return open(file, ...rest);
  fs.writeFileSync(marker, '');
  if (mode === 'slow') {
    await new Promise((resolve) => setTimeout(resolve, ${SLOW_MS}));
    return open(file, ...rest);
  }
  return open(fifo, 'r');
};
`;

interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** From the first signal to the end of the process. */
  ms: number;
}

let dir: string;
let model: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-interrupt-'));
  fs.writeFileSync(path.join(dir, 'preload.mjs'), PRELOAD);
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  model = (await cachedTinyLlamaGguf()).path;
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `alki inspect` with its model open held up, sends `signals` (ms after the open began), waits for the end. */
async function interruptInspect(
  mode: 'kernel' | 'slow',
  signals: [NodeJS.Signals, number][],
): Promise<Interrupted> {
  const marker = path.join(dir, `reached-${mode}-${signals.length}-${signals[0][0]}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: '',
    NO_COLOR: '1',
    STUCK_TARGET: model,
    STUCK_FIFO: path.join(dir, 'fifo'),
    STUCK_MODE: mode,
    STUCK_MARKER: marker,
  };
  delete env.FORCE_COLOR;
  const child = spawn(
    process.execPath,
    ['--import', path.join(dir, 'preload.mjs'), ALKI, 'inspect', model, '--quiet'],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // A safety net for the test only: a CLI that never ends is killed, and fails the expectations below.
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    while (!fs.existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 50));
    const reached = performance.now();
    let first: number | undefined;
    for (const [signal, at] of signals) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, reached + at - performance.now())));
      child.kill(signal);
      first ??= performance.now();
    }
    const { code, signal } = await ended;
    return { code, signal, stderr, ms: performance.now() - (first as number) };
  } finally {
    clearTimeout(killer);
  }
}

function expectOneInterruptLine(run: Interrupted, signal: NodeJS.Signals): void {
  expect(run.stderr.split('\n').filter((line) => line.trim() !== '')).toEqual([
    `Interrupted (${signal}); cleaning up. Press Ctrl-C again to quit at once.`,
  ]);
}

describe('an interrupt while a read is stuck in the kernel', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s ends the CLI after the grace by that signal (a shell shows 128 + its number), with one line',
    async (signal) => {
      const run = await interruptInspect('kernel', [[signal, 300]]);
      expect({ code: run.code, signal: run.signal }).toEqual({ code: null, signal });
      expectOneInterruptLine(run, signal);
      expect(run.ms).toBeGreaterThanOrEqual(INTERRUPT_GRACE_MS);
      expect(run.ms).toBeLessThan(INTERRUPT_GRACE_MS + SLACK_MS);
    },
    120_000,
  );

  it('a second SIGTERM more than a second later ends it at once, before the grace', async () => {
    const run = await interruptInspect('kernel', [
      ['SIGTERM', 300],
      ['SIGTERM', 1800],
    ]);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: null, signal: 'SIGTERM' });
    expectOneInterruptLine(run, 'SIGTERM');
    expect(run.ms).toBeLessThan(INTERRUPT_GRACE_MS);
  }, 120_000);
});

describe('an interrupt while the command is slow but not stuck', () => {
  it('lets it finish its cleanup past the grace and exit 130, as docs/cli.md says', async () => {
    const run = await interruptInspect('slow', [['SIGTERM', 300]]);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 130, signal: null });
    expect(run.stderr).toContain('Interrupted (SIGTERM); cleaning up.');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    // The open waited SLOW_MS in all, well past the grace, and the process was not ended early.
    expect(run.ms).toBeGreaterThan(SLOW_MS - 300 - 100);
    expect(run.ms).toBeGreaterThan(INTERRUPT_GRACE_MS + 1000);
  }, 120_000);
});

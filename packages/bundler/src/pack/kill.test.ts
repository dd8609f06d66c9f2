import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTestGguf } from '../__fixtures__/test-gguf.js';
import { pack, readBundle, verifyBundle } from '../index.js';

// A pack killed with SIGKILL (no cleanup code runs) must leave the old bundle
// or nothing at the destination. The child runs the package sources through
// tsx, and freezes at its first copied chunk so the kill lands mid-copy.
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'alki-kill-'));
const big = path.join(work, 'big.gguf');
const small = path.join(work, 'small.gguf');

beforeAll(async () => {
  await writeTestGguf(small, { name: 'small' });
  // 32 MiB: four copy chunks, so the first chunk is not the last.
  await writeTestGguf(big, { name: 'big', paddingFloats: 8 * 1024 * 1024 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function killMidCopy(out: string): Promise<{ said: string; signal: NodeJS.Signals | null }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(here, '../__fixtures__/pack-child.ts'), big, out],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let said = '';
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('copying')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      said.includes('copying')
        ? resolve({ said, signal })
        : reject(new Error(`the child did not reach the copy: ${said}${errors}`)),
    );
  });
}

const leftovers = () => readdirSync(work).filter((name) => name.startsWith('.'));

describe('a pack killed mid-copy', () => {
  it('leaves nothing at a new destination, and the next pack clears its leftovers', async () => {
    const out = path.join(work, 'new');
    const { said, signal } = await killMidCopy(out);
    expect(signal).toBe('SIGKILL');
    expect(said).not.toContain('finished');
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toHaveLength(1);
    await pack({ source: small, out, sourceDateEpoch: 1 });
    expect(leftovers()).toEqual([]);
    expect((await verifyBundle(out)).ok).toBe(true);
  }, 120_000);

  it('leaves the old bundle whole when it was replacing one', async () => {
    const out = path.join(work, 'old');
    const old = await pack({ source: small, out, sourceDateEpoch: 1 });
    await killMidCopy(out);
    expect((await readBundle(out)).manifest).toEqual(old.manifest);
    expect((await verifyBundle(out)).ok).toBe(true);
  }, 120_000);
});

import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from '@alki/gguf-reader';
import { removeDeadDemoCheckpoints } from './pack-demo.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alki-demo-sweep-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('removeDeadDemoCheckpoints', () => {
  it("removes the checkpoint directories of dead processes and never a live process's", async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    expect(isProcessAlive(dead)).toBe(false);
    // Another process, alive while the sweep runs: its directory must stay.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const names = [
        `alki-demo-checkpoint-${dead}-Ab3dE9`,
        `alki-demo-checkpoint-${other.pid}-Zz09aQ`,
        `alki-demo-checkpoint-${process.pid}-q1W2e3`,
        // Written by an Alki that put no process id in the name: nothing says whose it is.
        'alki-demo-checkpoint-Xy12Zw',
        `alki-other-${dead}-Ab3dE9`,
      ];
      for (const name of names) mkdirSync(path.join(tmp, name, 'alki-demo'), { recursive: true });
      expect(await removeDeadDemoCheckpoints(tmp)).toEqual([names[0]]);
      expect(readdirSync(tmp).sort()).toEqual(names.slice(1).sort());
    } finally {
      other.kill('SIGKILL');
    }
  });
});

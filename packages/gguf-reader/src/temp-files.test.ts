import { afterAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deadPid } from './__fixtures__/dead-pid.js';
import { ownerAfterPrefix, removeDeadProcessLeftovers, tempSibling } from './temp-files.js';
import { removeDeadTempSiblings } from './file-set.js';
import { createGgufWriter, ggufEntry, GgmlType } from './index.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-temp-files-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('temp files beside a destination', () => {
  it('names a temp file after the destination and this process', () => {
    expect(path.basename(tempSibling('/models/out.gguf', 'f16'))).toBe(`.out.gguf.${process.pid}.f16.tmp`);
    expect(path.dirname(tempSibling('/models/out.gguf'))).toBe('/models');
    expect(path.basename(tempSibling('/models/out.gguf'))).toMatch(
      new RegExp(`^\\.out\\.gguf\\.${process.pid}\\.[0-9a-f]{8}\\.tmp$`),
    );
  });

  it("removes a dead process's temp files and directories, and keeps a live one's and everything else", async () => {
    const dir = fs.mkdtempSync(path.join(work, 'sweep-'));
    const dead = deadPid();
    const names = {
      deadFile: `.out.gguf.${dead}.0a1b2c3d.tmp`,
      deadDir: `.out.gguf.${dead}.f16.tmp`,
      live: `.out.gguf.${process.pid}.0a1b2c3d.tmp`,
      otherDestination: `.other.gguf.${dead}.0a1b2c3d.tmp`,
      notOurs: `.out.gguf.${dead}.tmp`,
      destination: 'out.gguf',
    };
    for (const [kind, name] of Object.entries(names)) {
      if (kind === 'deadDir') {
        fs.mkdirSync(path.join(dir, name));
        fs.writeFileSync(path.join(dir, name, 'f16.gguf'), 'partial');
      } else fs.writeFileSync(path.join(dir, name), kind);
    }
    expect(await removeDeadTempSiblings(path.join(dir, 'out.gguf'))).toEqual(
      expect.arrayContaining([names.deadFile, names.deadDir]),
    );
    expect(fs.readdirSync(dir).sort()).toEqual(
      [names.live, names.otherDestination, names.notOurs, names.destination].sort(),
    );
  });

  it('sweeps nothing, and does not fail, where the directory does not exist yet', async () => {
    expect(await removeDeadTempSiblings(path.join(work, 'missing', 'out.gguf'))).toEqual([]);
  });

  it('removes only entries whose owner the caller names and whose owner is dead', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'owned-'));
    const dead = deadPid();
    const kept = [
      `scratch-${process.pid}-b`,
      'scratch-x-c',
      `scratch-${dead}`,
      `other-${dead}-d`,
      'unrelated',
    ];
    for (const name of [`scratch-${dead}-a`, `work-${dead}-e`, ...kept]) fs.mkdirSync(path.join(dir, name));
    const removed = await removeDeadProcessLeftovers(dir, ownerAfterPrefix('scratch-', 'work-'));
    expect(removed.sort()).toEqual([`scratch-${dead}-a`, `work-${dead}-e`].sort());
    expect(fs.readdirSync(dir).sort()).toEqual(kept.sort());
  });

  it("createGgufWriter removes a killed writer's temp file before it writes, and leaves only the GGUF", async () => {
    const dir = fs.mkdtempSync(path.join(work, 'writer-'));
    const leftover = path.join(dir, `.out.gguf.${deadPid()}.0a1b2c3d.tmp`);
    fs.writeFileSync(leftover, 'half a GGUF');
    const writer = await createGgufWriter(path.join(dir, 'out.gguf'), {
      metadata: [ggufEntry.string('general.architecture', 'llama')],
      tensors: [{ name: 'w', type: GgmlType.F32, dims: [4] }],
    });
    await writer.writeTensorData(new Uint8Array(16));
    await writer.finish();
    expect(fs.readdirSync(dir)).toEqual(['out.gguf']);
  });
});

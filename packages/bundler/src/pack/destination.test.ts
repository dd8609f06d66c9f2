import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeStaleSiblings } from './destination.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-destination-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid;

function bundleAt(dir: string, text: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'manifest.json'), text);
}

describe('removeStaleSiblings', () => {
  it("removes a dead pack's staging, retired and scratch directories, and keeps a live pack's", async () => {
    const parent = mkdtempSync(path.join(work, 'sweep-'));
    const dead = deadPid();
    const out = path.join(parent, 'bundle');
    bundleAt(out, 'current');
    const names = [
      `.bundle.alki-tmp-${dead}-0a1b2c3d`,
      `.bundle.alki-old-${dead}-0a1b2c3d`,
      `.alki-pack-tmp-${dead}-0a1b2c3d`,
      `.bundle.alki-tmp-${process.pid}-0a1b2c3d`,
      `.other.alki-tmp-${dead}-0a1b2c3d`,
    ];
    for (const name of names) mkdirSync(path.join(parent, name));
    expect((await removeStaleSiblings(out)).sort()).toEqual(names.slice(0, 3).sort());
    expect(readdirSync(parent).sort()).toEqual(['bundle', ...names.slice(3)].sort());
  });

  it('puts back the old bundle of a pack killed between its two renames', async () => {
    const parent = mkdtempSync(path.join(work, 'restore-'));
    const dead = deadPid();
    const out = path.join(parent, 'bundle');
    // The old bundle renamed aside, the new one still in staging: no bundle at the destination.
    bundleAt(path.join(parent, `.bundle.alki-old-${dead}-0a1b2c3d`), 'old');
    bundleAt(path.join(parent, `.bundle.alki-tmp-${dead}-4e5f6a7b`), 'new');
    await removeStaleSiblings(out);
    expect(readdirSync(parent)).toEqual(['bundle']);
    expect(readFileSync(path.join(out, 'manifest.json'), 'utf8')).toBe('old');
  });

  it("leaves a live pack's retired bundle where it is", async () => {
    const parent = mkdtempSync(path.join(work, 'live-'));
    const retired = `.bundle.alki-old-${process.pid}-0a1b2c3d`;
    bundleAt(path.join(parent, retired), 'old');
    await removeStaleSiblings(path.join(parent, 'bundle'));
    expect(readdirSync(parent)).toEqual([retired]);
  });
});

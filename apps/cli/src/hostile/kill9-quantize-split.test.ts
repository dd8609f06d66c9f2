import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isProcessAlive } from '@alki/gguf-reader';
import { generateCheckpoint, nativeTools } from '@alki/testkit';
import { entriesBelow, killAtRename, runAlki, treeDigest } from './__fixtures__/kill9-harness.js';

// `alki quantize --keep-split` killed with SIGKILL exactly between two shard
// renames: strace kills the CLI as it enters its second rename(2). Node
// renames on its thread pool, whose threads strace counts apart, so the pool
// has one thread here (UV_THREADPOOL_SIZE=1) and the second rename of that
// thread is the second shard's. A kill there used to leave shard 1 new beside
// shards 2 and 3 absent, or old after --force: a set llama.cpp may load as a
// silently wrong model. Now the journal beside them makes the next quantize
// finish the renames first.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-kill9-quantize-split-'));
const tmp = path.join(work, 'tmp');
const input = path.join(work, 'in-00001-of-00003.gguf');
const SHARDS = ['out-00001-of-00003.gguf', 'out-00002-of-00003.gguf', 'out-00003-of-00003.gguf'];
/** Each shard's digest after an uninterrupted `alki quantize --keep-split ... Q4_K_M`. */
let reference: string[];

beforeAll(async () => {
  fs.mkdirSync(tmp);
  const checkpoint = await generateCheckpoint({ family: 'mistral', hiddenSize: 256, layers: 4 });
  const f16 = path.join(work, 'model-f16.gguf');
  expect((await runAlki(['convert', checkpoint, '-o', f16, '--quiet'], tmp)).code).toBe(0);
  const { paths } = await nativeTools();
  // 39 tensors, 16 a shard: three shards.
  const split = ['--split', '--split-max-tensors', '16', f16, path.join(work, 'in')];
  execFileSync(paths['llama-gguf-split'], split, { stdio: 'pipe' });
  const dir = fs.mkdtempSync(path.join(work, 'reference-'));
  expect(
    (await runAlki(['quantize', input, path.join(dir, 'out.gguf'), 'Q4_K_M', '--keep-split'], tmp)).code,
  ).toBe(0);
  reference = SHARDS.map((name) => treeDigest(path.join(dir, name)));
}, 900_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// The second rename of the one thread-pool thread (see above) is the second shard's.
function killAtSecondRename(args: string[]): void {
  killAtRename(args, tmp, { when: 2, followThreads: true, env: { UV_THREADPOOL_SIZE: '1' } });
}

/** The shards' digests, by whether they equal the reference run's (`new`), `old`'s, or neither. */
function shardStates(dir: string, old: string[] = []): string[] {
  return SHARDS.map((name, i) => {
    const digest = treeDigest(path.join(dir, name));
    return digest === reference[i] ? 'new' : digest === old[i] ? 'old' : digest;
  });
}

/** What the killed run left beside the shards: its journal and the temp files of the shards not yet renamed. */
function expectJournalAndTemps(dir: string, pending: string[]): void {
  const left = entriesBelow(dir, SHARDS);
  expect(left).toEqual([
    expect.stringMatching(/^\.alki-set-\d+-[0-9a-f]{8}\.journal$/),
    ...pending.map((name) =>
      expect.stringMatching(new RegExp(`^\\.${name.replaceAll('.', '\\.')}\\.\\d+\\.[0-9a-f]{8}\\.tmp$`)),
    ),
  ]);
  // Every leftover names the killed process, which is gone.
  const owners = new Set(left.map((name) => Number(/\d+/.exec(name.replace(/-0000\d-of-0000\d/, ''))![0])));
  expect(owners.size).toBe(1);
  expect(isProcessAlive([...owners][0])).toBe(false);
}

describe('alki quantize --keep-split killed between two shard renames', () => {
  it('leaves a journal, and the next quantize with the same arguments completes the set (then refuses to replace it)', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'fresh-'));
    const args = ['quantize', input, path.join(dir, 'out.gguf'), 'Q4_K_M', '--keep-split'];
    killAtSecondRename(args);
    expect(shardStates(dir)).toEqual(['new', 'absent', 'absent']);
    expectJournalAndTemps(dir, SHARDS.slice(1));

    const next = await runAlki(args, tmp);
    expect({
      code: next.code,
      warned: next.lines.some((line) => line.includes('Completed an interrupted write')),
      shards: shardStates(dir),
      left: entriesBelow(dir, SHARDS),
    }).toEqual({ code: 2, warned: true, shards: ['new', 'new', 'new'], left: [] });
  }, 300_000);

  it('with --force over an older set: after the kill and the next run, no old shard remains', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'force-'));
    const output = path.join(dir, 'out.gguf');
    expect((await runAlki(['quantize', input, output, 'Q8_0', '--keep-split'], tmp)).code).toBe(0);
    const old = SHARDS.map((name) => treeDigest(path.join(dir, name)));
    const args = ['quantize', input, output, 'Q4_K_M', '--keep-split', '--force'];
    killAtSecondRename(args);
    // The mixed set on disk at the kill: shard 1 new, shards 2 and 3 still the older quantization's.
    expect(shardStates(dir, old)).toEqual(['new', 'old', 'old']);
    expectJournalAndTemps(dir, SHARDS.slice(1));

    // Until then inspect refuses the set (exit 3), naming the journal, rather than show a mixed model.
    const inspected = await runAlki(['inspect', path.join(dir, SHARDS[0])], tmp);
    expect({
      code: inspected.code,
      journal: inspected.lines.some((line) => /\.alki-set-\d+-[0-9a-f]{8}\.journal/.test(line)),
    }).toEqual({ code: 3, journal: true });

    // Rolled forward before anything else: a plain quantize (no --force) already finds the whole new set.
    const refused = await runAlki(args.slice(0, -1), tmp);
    expect({ code: refused.code, shards: shardStates(dir, old), left: entriesBelow(dir, SHARDS) }).toEqual({
      code: 2,
      shards: ['new', 'new', 'new'],
      left: [],
    });
    const next = await runAlki(args, tmp);
    expect({ code: next.code, shards: shardStates(dir, old), left: entriesBelow(dir, SHARDS) }).toEqual({
      code: 0,
      shards: ['new', 'new', 'new'],
      left: [],
    });
  }, 300_000);
});

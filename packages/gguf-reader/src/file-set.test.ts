import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { deadPid } from './__fixtures__/dead-pid.js';
import { failingFileSystem } from './__fixtures__/failing-file-system.js';
import { commitFileSet, parseJournal, removeDeadTempSiblings, rollForwardFileSets } from './file-set.js';
import { createGgufWriter, ggufEntry, GgmlType } from './index.js';
import { tempSibling } from './temp-files.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-file-set-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const SHARDS = ['out-00001-of-00003.gguf', 'out-00002-of-00003.gguf', 'out-00003-of-00003.gguf'];

/** A directory holding an old set (`old N`) and this process's complete temp files of a new one (`new N`). */
function setUp(label: string, { old = true } = {}): { dir: string; renames: { from: string; to: string }[] } {
  const dir = fs.mkdtempSync(path.join(work, `${label}-`));
  const renames = SHARDS.map((name, i) => {
    const to = path.join(dir, name);
    if (old) fs.writeFileSync(to, `old ${i + 1}`);
    const from = tempSibling(to);
    fs.writeFileSync(from, `new ${i + 1}`);
    return { from, to };
  });
  return { dir, renames };
}

/** Every entry of `dir` with its text: the state a test compares. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .sort()
      .map((name) => [name, fs.readFileSync(path.join(dir, name), 'utf8')]),
  );
}

const allNew = { [SHARDS[0]]: 'new 1', [SHARDS[1]]: 'new 2', [SHARDS[2]]: 'new 3' };

function journalName(owner: number): string {
  return `.alki-set-${owner}-0a1b2c3d.journal`;
}

function writeJournal(dir: string, owner: number, renames: unknown[] | string): void {
  const text = typeof renames === 'string' ? renames : JSON.stringify({ version: 1, renames });
  fs.writeFileSync(path.join(dir, journalName(owner)), text);
}

describe('commitFileSet', () => {
  it('replaces every destination and leaves no journal or temp file', async () => {
    const { dir, renames } = setUp('whole');
    await commitFileSet(renames);
    expect(contents(dir)).toEqual(allNew);
  });

  it.each([1, 2, 3])(
    'when rename %i of 3 fails, keeps the journal, and the next roll forward completes the set',
    async (failAt) => {
      const { dir, renames } = setUp(`rename-${failAt}`);
      await expect(
        commitFileSet(renames, { fileSystem: failingFileSystem({ renameAt: failAt }) }),
      ).rejects.toMatchObject({
        code: 'WRITE_FAILED',
        category: 'environment',
        message: expect.stringContaining('The set is recorded in'),
        details: { path: renames[failAt - 1].to, journal: expect.stringContaining('.alki-set-') },
      });
      // Shards before the failure are new, the rest old, with their temp files and the journal beside them.
      const left = contents(dir);
      for (const [i, { to }] of renames.entries())
        expect(left[path.basename(to)]).toBe(i < failAt - 1 ? `new ${i + 1}` : `old ${i + 1}`);
      expect(Object.keys(left).filter((name) => name.endsWith('.journal'))).toHaveLength(1);
      expect(Object.keys(left).filter((name) => name.endsWith('.tmp'))).toHaveLength(4 - failAt);

      // The commit is over, so this process's journal counts as abandoned.
      const recovery = await rollForwardFileSets(dir);
      expect(recovery).toEqual({ completed: renames.slice(failAt - 1).map(({ to }) => to), warnings: [] });
      expect(contents(dir)).toEqual(allNew);
    },
  );

  it('drops the whole set, destinations untouched, when the journal cannot be written', async () => {
    const { dir, renames } = setUp('journal-fails');
    const fileSystem = failingFileSystem({ journal: true });
    await expect(commitFileSet(renames, { fileSystem })).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(fileSystem.renames).toBe(0);
    expect(contents(dir)).toEqual({ [SHARDS[0]]: 'old 1', [SHARDS[1]]: 'old 2', [SHARDS[2]]: 'old 3' });
  });

  it('renames a set of one without a journal', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'one-'));
    const to = path.join(dir, 'out.gguf');
    const from = tempSibling(to);
    fs.writeFileSync(from, 'new');
    const fileSystem = failingFileSystem({});
    const written: string[] = [];
    await commitFileSet([{ from, to }], {
      fileSystem: { ...fileSystem, writeNewFile: async (file) => void written.push(file) },
    });
    expect({ written, left: contents(dir) }).toEqual({ written: [], left: { 'out.gguf': 'new' } });
  });

  it("refuses files that are not this process's temp files beside their destinations", async () => {
    const { dir, renames } = setUp('misplaced');
    const other = fs.mkdtempSync(path.join(work, 'other-'));
    for (const bad of [
      [{ from: path.join(dir, 'plain.gguf'), to: renames[0].to }],
      [{ from: renames[0].from, to: path.join(other, SHARDS[0]) }],
      [renames[0], { from: renames[1].from, to: renames[0].to }],
    ])
      await expect(commitFileSet(bad)).rejects.toMatchObject({ code: 'INVALID_INPUT', category: 'internal' });
    expect(contents(dir)[SHARDS[0]]).toBe('old 1');
  });
});

describe('rollForwardFileSets', () => {
  // What a kill between the first and second rename leaves: shard 1 new, shards 2 and 3 old, their temps and the journal.
  function killedAfterFirstRename(label: string, owner: number): string {
    const dir = fs.mkdtempSync(path.join(work, `${label}-`));
    const entries = SHARDS.map((name, i) => {
      const temp = `.${name}.${owner}.0a1b2c3d.tmp`;
      fs.writeFileSync(path.join(dir, i === 0 ? name : temp), `new ${i + 1}`);
      if (i > 0) fs.writeFileSync(path.join(dir, name), `old ${i + 1}`);
      return { from: temp, to: name };
    });
    writeJournal(dir, owner, entries);
    return dir;
  }

  it("completes a dead process's set: renames the temp files still there, skips those renamed, removes the journal", async () => {
    const dir = killedAfterFirstRename('dead', deadPid());
    expect(await rollForwardFileSets(dir)).toEqual({
      completed: [path.join(dir, SHARDS[1]), path.join(dir, SHARDS[2])],
      warnings: [],
    });
    expect(contents(dir)).toEqual(allNew);
  });

  it("leaves a live process's commit alone", async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const dir = killedAfterFirstRename('live', child.pid!);
      const before = contents(dir);
      expect(await rollForwardFileSets(dir)).toEqual({ completed: [], warnings: [] });
      expect(await removeDeadTempSiblings(path.join(dir, SHARDS[1]))).toEqual([]);
      expect(contents(dir)).toEqual(before);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('runs before every sweep of dead temp files, so a writer never deletes a temp file a journal needs', async () => {
    const dir = killedAfterFirstRename('sweep', deadPid());
    const writer = await createGgufWriter(path.join(dir, 'other.gguf'), {
      metadata: [ggufEntry.string('general.architecture', 'llama')],
      tensors: [{ name: 'w', type: GgmlType.F32, dims: [4] }],
    });
    await writer.abort();
    expect(contents(dir)).toEqual(allNew);
    // The same through the sweep of one shard's own temp files.
    const again = killedAfterFirstRename('sweep-shard', deadPid());
    expect(await removeDeadTempSiblings(path.join(again, SHARDS[1]))).toEqual([]);
    expect(contents(again)).toEqual(allNew);
  });

  it('stops the sweep, keeping the journal and the temp file it still needs, when a roll-forward rename fails', async () => {
    const dir = killedAfterFirstRename('stuck', deadPid());
    // Shard 3's destination became a directory: renaming a file onto it fails.
    fs.rmSync(path.join(dir, SHARDS[2]));
    fs.mkdirSync(path.join(dir, SHARDS[2], 'in-the-way'), { recursive: true });
    await expect(removeDeadTempSiblings(path.join(dir, SHARDS[1]))).rejects.toThrow(
      `Cannot complete the interrupted write of ${path.join(dir, SHARDS[2])}`,
    );
    const left = fs.readdirSync(dir);
    expect(left.filter((name) => name.endsWith('.journal'))).toHaveLength(1);
    // Shard 2 was renamed before shard 3 failed; shard 3's temp file waits for the journal.
    expect(left.filter((name) => name.endsWith('.tmp'))).toHaveLength(1);
    // Out of the way, the next write completes the set.
    fs.rmSync(path.join(dir, SHARDS[2]), { recursive: true });
    expect(await removeDeadTempSiblings(path.join(dir, SHARDS[1]))).toEqual([]);
    expect(contents(dir)).toEqual(allNew);
  });

  it('drops a journal cut short while it was written, with a warning; the sweep then removes its temp files', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'cut-'));
    const owner = deadPid();
    fs.writeFileSync(path.join(dir, SHARDS[0]), 'old 1');
    fs.writeFileSync(path.join(dir, `.${SHARDS[0]}.${owner}.0a1b2c3d.tmp`), 'new 1');
    writeJournal(dir, owner, `{"version":1,"renames":[{"from":".${SHARDS[0]}.${owner}.0a1b2c3d.tmp","to"`);
    const recovery = await rollForwardFileSets(dir);
    expect(recovery.completed).toEqual([]);
    expect(recovery.warnings).toEqual([expect.stringContaining('it is incomplete')]);
    expect(await removeDeadTempSiblings(path.join(dir, SHARDS[0]))).toHaveLength(1);
    expect(contents(dir)).toEqual({ [SHARDS[0]]: 'old 1' });
  });

  it('warns, and still completes the rest, when a listed file is neither renamed nor there to rename', async () => {
    const dir = killedAfterFirstRename('missing', deadPid());
    const temp = fs.readdirSync(dir).find((name) => name.startsWith(`.${SHARDS[2]}.`))!;
    fs.rmSync(path.join(dir, temp));
    fs.rmSync(path.join(dir, SHARDS[2]));
    const recovery = await rollForwardFileSets(dir);
    expect(recovery).toEqual({
      completed: [path.join(dir, SHARDS[1])],
      warnings: [expect.stringMatching(/cannot be completed: .*out-00003-of-00003\.gguf is missing/)],
    });
    expect(contents(dir)).toEqual({ [SHARDS[0]]: 'new 1', [SHARDS[1]]: 'new 2' });
  });

  it('refuses a hostile journal: renames nothing it lists, removes it with a warning', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'hostile-'));
    const inside = path.join(dir, 'inside');
    fs.mkdirSync(inside);
    const outside = path.join(dir, 'outside.gguf');
    fs.writeFileSync(outside, 'precious');
    fs.writeFileSync(path.join(inside, 'model.gguf'), 'model');
    const owner = deadPid();
    const temp = `.${SHARDS[0]}.${owner}.0a1b2c3d.tmp`;
    fs.writeFileSync(path.join(inside, temp), 'new 1');
    for (const entry of [
      { from: temp, to: '../outside.gguf' },
      { from: temp, to: outside },
      { from: `../${temp}`, to: SHARDS[0] },
      { from: 'model.gguf', to: SHARDS[0] },
      { from: `.${SHARDS[0]}.${owner + 1}.0a1b2c3d.tmp`, to: SHARDS[0] },
      { from: temp, to: SHARDS[1] },
      'not an entry',
    ]) {
      writeJournal(inside, owner, [entry]);
      const recovery = await rollForwardFileSets(inside);
      expect(recovery).toEqual({ completed: [], warnings: [expect.stringContaining('is not its owner')] });
      expect(contents(inside)).toEqual({ 'model.gguf': 'model', [temp]: 'new 1' });
      expect(fs.readFileSync(outside, 'utf8')).toBe('precious');
    }
    for (const text of ['{"version":2,"renames":[]}', '[]', 'null']) {
      writeJournal(inside, owner, text);
      expect((await rollForwardFileSets(inside)).warnings).toEqual([
        expect.stringContaining('not a file set journal'),
      ]);
    }
    expect(contents(inside)).toEqual({ 'model.gguf': 'model', [temp]: 'new 1' });
  });

  it('finds nothing to do where the directory does not exist', async () => {
    expect(await rollForwardFileSets(path.join(work, 'missing'))).toEqual({ completed: [], warnings: [] });
  });
});

describe('parseJournal', () => {
  it("accepts only its owner's temp files renamed onto plain names beside them", () => {
    const entry = { from: '.a.gguf.42.f0.tmp', to: 'a.gguf' };
    expect(parseJournal(JSON.stringify({ version: 1, renames: [entry] }), 42)).toEqual({ renames: [entry] });
    expect(parseJournal(JSON.stringify({ version: 1, renames: [entry] }), 43)).toHaveProperty('problem');
    expect(
      parseJournal(
        JSON.stringify({ version: 1, renames: [{ from: '.a\\b.gguf.42.f0.tmp', to: 'a\\b.gguf' }] }),
        42,
      ),
    ).toHaveProperty('problem');
  });
});

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GgufError } from './errors.js';
import { fileSystemError } from './sources/file-source.js';
import {
  isDeadOwner,
  ownerAfterPrefix,
  removeDeadProcessLeftovers,
  syncDirectory,
  tempOwner,
} from './temp-files.js';

// Several files (the shards of a split model) replace their destinations as
// one: once every temp file is complete and durable, a journal listing the
// renames is written and fsynced beside them, then the renames run, then the
// journal goes. A kill, a power cut or a failed rename in between leaves the
// journal, which means "every temp it lists is complete: roll forward"; the
// next write to that directory (removeDeadTempSiblings, so every writer) does
// the remaining renames. The set is never left half old, half new.
//
// The journal's name carries its owner's process id (`.alki-set-<pid>-<tag>.journal`),
// like every other leftover; a live process's journal is a commit in progress.
// Its text is JSON: a journal cut short by a kill while it was written does not
// parse, and then no rename had started (renames begin after its fsync), so it
// is dropped and its temps swept as any dead writer's.

const JOURNAL_PREFIX = '.alki-set-';
const JOURNAL_SUFFIX = '.journal';
const JOURNAL_VERSION = 1;
const journalOwner = ownerAfterPrefix(JOURNAL_PREFIX);

/** One file of a set: a complete, durable temp file and the destination it replaces. */
export interface FileSetRename {
  from: string;
  to: string;
}

/** The few file operations a set commit and its roll forward need; tests inject failures here. */
export interface FileSetFileSystem {
  readdir(dir: string): Promise<string[]>;
  readFile(file: string): Promise<string>;
  /** Creates `file` (failing when it exists) with `text`, and fsyncs it. */
  writeNewFile(file: string, text: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(file: string, options: { force: true }): Promise<void>;
  exists(file: string): Promise<boolean>;
  /** fsyncs a directory, so that renames and new names in it are durable. */
  syncDirectory(dir: string): Promise<void>;
}

export interface FileSetOptions {
  fileSystem?: FileSetFileSystem;
}

/** What rolling forward found: the destinations it completed, and journals it could not act on. */
export interface FileSetRecovery {
  /** Destinations renamed into place from a dead owner's journal. */
  completed: string[];
  /** One sentence per journal dropped without (fully) acting on it. */
  warnings: string[];
}

const nodeFileSystem: FileSetFileSystem = {
  readdir: (dir) => fs.promises.readdir(dir),
  readFile: (file) => fs.promises.readFile(file, 'utf8'),
  async writeNewFile(file, text) {
    const handle = await fs.promises.open(file, 'wx');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fs.promises.rename(from, to),
  rm: (file, options) => fs.promises.rm(file, options),
  exists: (file) =>
    fs.promises.lstat(file).then(
      () => true,
      () => false,
    ),
  syncDirectory,
};

// This process's journals whose commit is running now; any other journal of
// this process is a commit that failed part way, which a later write here
// rolls forward like a dead owner's.
const committing = new Set<string>();

/**
 * Renames complete, durable temp files onto their destinations (all in one
 * directory) as one: either every destination ends up replaced or, after a
 * kill or a failed rename, a journal beside them makes the next write to the
 * directory finish the renames (see rollForwardFileSets). Temp files are
 * named by `tempSibling` and owned by this process. A failure before the
 * journal is durable removes the temp files; one after it leaves them to the
 * journal and names it in the error.
 *
 * @example
 * const temps = [await shard1.prepare(), await shard2.prepare()];
 * await commitFileSet([
 *   { from: temps[0], to: 'out-00001-of-00002.gguf' },
 *   { from: temps[1], to: 'out-00002-of-00002.gguf' },
 * ]);
 */
export async function commitFileSet(renames: FileSetRename[], options: FileSetOptions = {}): Promise<void> {
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  const resolved = renames.map(({ from, to }) => ({ from: path.resolve(from), to: path.resolve(to) }));
  const dir = path.dirname(resolved[0]?.to ?? '.');
  const misplaced = resolved.find(
    ({ from, to }) =>
      path.dirname(from) !== dir ||
      path.dirname(to) !== dir ||
      tempOwner(to)(path.basename(from)) !== process.pid,
  );
  if (misplaced) {
    throw new GgufError(
      'INVALID_INPUT',
      `A file set must be this process's temp files beside their destinations, in one directory: ${misplaced.from} -> ${misplaced.to}.`,
      { category: 'internal', details: { from: misplaced.from, to: misplaced.to } },
    );
  }
  // One file needs no journal: its rename alone is atomic.
  if (resolved.length === 1) {
    await renameEach(fileSystem, resolved, dir);
    return;
  }
  const journal = path.join(
    dir,
    `${JOURNAL_PREFIX}${process.pid}-${crypto.randomBytes(4).toString('hex')}${JOURNAL_SUFFIX}`,
  );
  committing.add(journal);
  try {
    try {
      await fileSystem.writeNewFile(journal, serializeJournal(resolved));
      await fileSystem.syncDirectory(dir);
    } catch (error) {
      // Nothing was renamed: the set is dropped whole.
      await fileSystem.rm(journal, { force: true });
      for (const { from } of resolved) await fileSystem.rm(from, { force: true });
      throw fileSystemError(error, journal, 'write');
    }
    try {
      await renameEach(fileSystem, resolved, dir);
    } catch (error) {
      if (!(error instanceof GgufError)) throw error;
      throw new GgufError(error.code, `${error.message} The set is recorded in ${journal}.`, {
        category: error.category,
        cause: error,
        hint: 'Fix the cause, then write to the same directory again (alki quantize with the same output): the remaining files are renamed into place first.',
        details: { ...error.details, journal },
      });
    }
    await fileSystem.rm(journal, { force: true });
  } finally {
    committing.delete(journal);
  }
}

// The renames in order, then a directory fsync so they are durable before the journal goes.
async function renameEach(
  fileSystem: FileSetFileSystem,
  renames: FileSetRename[],
  dir: string,
): Promise<void> {
  for (const { from, to } of renames) {
    try {
      await fileSystem.rename(from, to);
    } catch (error) {
      throw fileSystemError(error, to, 'write');
    }
  }
  await syncRenames(fileSystem, dir);
}

// fsyncs `dir` so the renames in it are durable; a failure is a write error of the directory.
async function syncRenames(fileSystem: FileSetFileSystem, dir: string): Promise<void> {
  try {
    await fileSystem.syncDirectory(dir);
  } catch (error) {
    throw fileSystemError(error, dir, 'write');
  }
}

// The journals in `dir`, each with the owner its name gives; none where the directory cannot be read (no
// directory yet, so nothing to finish; or unreadable, which the write itself reports).
async function journalsIn(
  fileSystem: FileSetFileSystem,
  dir: string,
): Promise<Array<{ journal: string; owner: number }>> {
  const names = await fileSystem.readdir(dir).catch(() => [] as string[]);
  return names.flatMap((name) => {
    const owner = name.endsWith(JOURNAL_SUFFIX) ? journalOwner(name) : undefined;
    return owner === undefined ? [] : [{ journal: path.join(dir, name), owner }];
  });
}

// A journal's renames, or why they cannot be acted on; undefined when it is gone (another process finished it).
async function readJournal(
  fileSystem: FileSetFileSystem,
  journal: string,
  owner: number,
): Promise<ReturnType<typeof parseJournal> | undefined> {
  const text = await fileSystem.readFile(journal).catch(() => undefined);
  return text === undefined ? undefined : parseJournal(text, owner);
}

function serializeJournal(renames: FileSetRename[]): string {
  const entries = renames.map(({ from, to }) => ({ from: path.basename(from), to: path.basename(to) }));
  return `${JSON.stringify({ version: JOURNAL_VERSION, renames: entries }, null, 2)}\n`;
}

/**
 * The renames a journal's text lists, as names in the journal's directory,
 * or why it cannot be acted on. Only a dead owner's own temp files (named as
 * `tempSibling` names them, with the owner's id) onto plain names beside
 * them are accepted: a journal is never a way to rename anything else, or
 * anything outside its directory.
 *
 * @example
 * parseJournal('{"version":1,"renames":[{"from":".a.gguf.42.f0.tmp","to":"a.gguf"}]}', 42);
 * // { renames: [{ from: '.a.gguf.42.f0.tmp', to: 'a.gguf' }] }
 */
export function parseJournal(
  text: string,
  owner: number,
): { renames: FileSetRename[] } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'it is incomplete (its writer was stopped before any rename began)' };
  }
  const journal = value as { version?: unknown; renames?: unknown };
  if (journal?.version !== JOURNAL_VERSION || !Array.isArray(journal.renames) || journal.renames.length === 0)
    return { problem: 'it is not a file set journal this version of Alki knows' };
  const renames: FileSetRename[] = [];
  for (const entry of journal.renames as unknown[]) {
    const { from, to } = (entry ?? {}) as { from?: unknown; to?: unknown };
    if (!isPlainName(from) || !isPlainName(to) || tempOwner(to)(from) !== owner)
      return {
        problem: `it lists ${JSON.stringify(entry)}, which is not its owner's temp file and a destination beside it`,
      };
    renames.push({ from, to });
  }
  return { renames };
}

function isPlainName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name !== '' &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\0]/.test(name) &&
    path.basename(name) === name
  );
}

/**
 * Finishes the file sets (see commitFileSet) whose committing process died
 * (or, in this process, failed part way) in `dir`: renames each temp file
 * still there onto its destination, skips those already renamed, then
 * removes the journal. A live process's commit is left alone. A journal
 * that cannot be acted on (cut short, hostile names, a file neither renamed
 * nor there to rename) is removed, after doing what it safely can, with a
 * warning. Throws only when a rename fails, leaving the journal.
 *
 * @example
 * const { completed, warnings } = await rollForwardFileSets('/models');
 */
export async function rollForwardFileSets(
  dir: string,
  options: FileSetOptions = {},
): Promise<FileSetRecovery> {
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  const recovery: FileSetRecovery = { completed: [], warnings: [] };
  for (const { journal, owner } of await journalsIn(fileSystem, dir)) {
    const abandoned = owner === process.pid ? !committing.has(journal) : isDeadOwner(owner);
    if (!abandoned) continue;
    const parsed = await readJournal(fileSystem, journal, owner);
    if (parsed === undefined) continue;
    if ('problem' in parsed) {
      recovery.warnings.push(
        `Removed the file set journal ${journal}, left by stopped process ${owner}: ${parsed.problem}.`,
      );
      await fileSystem.rm(journal, { force: true });
      continue;
    }
    const missing: string[] = [];
    for (const { from, to } of parsed.renames) {
      const temp = path.join(dir, from);
      const destination = path.join(dir, to);
      if (await fileSystem.exists(temp)) {
        try {
          await fileSystem.rename(temp, destination);
          recovery.completed.push(destination);
        } catch (error) {
          // Another process finishing the same journal renamed it first.
          const gone =
            (error as NodeJS.ErrnoException).code === 'ENOENT' && (await fileSystem.exists(destination));
          if (!gone) throw fileSystemError(error, destination, 'complete the interrupted write of');
        }
      } else if (!(await fileSystem.exists(destination))) missing.push(destination);
    }
    await syncRenames(fileSystem, dir);
    if (missing.length > 0)
      recovery.warnings.push(
        `The file set of ${journal}, left by stopped process ${owner}, cannot be completed: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing (neither written nor renamed); write the set again.`,
      );
    await fileSystem.rm(journal, { force: true });
  }
  return recovery;
}

/**
 * The journal in `dir` (of any owner) that still has a temp file to rename
 * onto one of `names`, if any: those files are a set being replaced, or whose
 * replacement a kill cut short, and may be half old, half new until a write
 * to the directory rolls it forward.
 *
 * @example
 * await unfinishedFileSet('/models', ['out-00001-of-00002.gguf', 'out-00002-of-00002.gguf']);
 * // '/models/.alki-set-4242-9f86d081.journal' or undefined
 */
export async function unfinishedFileSet(
  dir: string,
  names: string[],
  options: FileSetOptions = {},
): Promise<string | undefined> {
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  for (const { journal, owner } of await journalsIn(fileSystem, dir)) {
    const parsed = await readJournal(fileSystem, journal, owner);
    if (!parsed || 'problem' in parsed) continue;
    for (const { from, to } of parsed.renames)
      if (names.includes(to) && (await fileSystem.exists(path.join(dir, from)))) return journal;
  }
  return undefined;
}

/**
 * Removes the temp files and directories (see `tempSibling`) that dead
 * processes left beside `destination`; a live process's are kept. File sets
 * that dead processes committed in that directory are rolled forward first
 * (see rollForwardFileSets), so no temp file a journal still needs is
 * removed. Returns the names removed.
 *
 * @example
 * await removeDeadTempSiblings('/models/out.gguf'); // ['.out.gguf.4242.9f86d081.tmp']
 */
export async function removeDeadTempSiblings(destination: string): Promise<string[]> {
  const dir = path.dirname(path.resolve(destination));
  await rollForwardFileSets(dir);
  return removeDeadProcessLeftovers(dir, tempOwner(destination));
}

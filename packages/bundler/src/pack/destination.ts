import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { isDeadOwner, ownerAfterPrefix, removeDeadProcessLeftovers } from '@alki/gguf-reader';
import { BundlerError } from '../errors.js';
import { MANIFEST_PATH } from '../format/layout.js';

// Temp and retired directories sit beside the destination (same file system,
// so rename is atomic) and carry the owning process id, so a later pack can
// tell a crashed run's leftovers from a running one's.
const TEMP_MARK = '.alki-tmp-';
const OLD_MARK = '.alki-old-';
const SCRATCH_PREFIX = '.alki-pack-tmp-';

function hiddenSibling(destination: string, mark: string, pid = process.pid): string {
  return path.join(
    path.dirname(destination),
    `.${path.basename(destination)}${mark}${pid}-${randomBytes(4).toString('hex')}`,
  );
}

async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Removes temp and retired directories that an earlier, killed pack left
 * beside `destination` (its own staging and retired bundles, and scratch
 * directories of conversions). Directories of live processes are kept. A
 * pack killed between its two renames left no destination and the old
 * bundle retired: that bundle is renamed back first.
 */
export async function removeStaleSiblings(destination: string): Promise<string[]> {
  const parent = path.dirname(destination);
  const own = `.${path.basename(destination)}`;
  if (!(await exists(destination))) {
    const retiredOwner = ownerAfterPrefix(own + OLD_MARK);
    const names = await readdir(parent).catch(() => [] as string[]);
    const orphan = names.find((name) => isDeadOwner(retiredOwner(name)));
    if (orphan) await rename(path.join(parent, orphan), destination);
  }
  return removeDeadProcessLeftovers(
    parent,
    ownerAfterPrefix(SCRATCH_PREFIX, own + TEMP_MARK, own + OLD_MARK),
  );
}

/**
 * A scratch directory for conversion and quantization outputs, in `parent`
 * (the destination's parent, so finished models are renamed, not copied).
 */
export async function createScratchDir(parent: string): Promise<string> {
  await mkdir(parent, { recursive: true });
  const scratch = path.join(parent, `${SCRATCH_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(scratch);
  return scratch;
}

/** Fails with DESTINATION_EXISTS unless the destination is free or `force` is set. */
export async function checkDestination(destination: string, force: boolean): Promise<boolean> {
  const present = await exists(destination);
  if (present && !force) {
    throw new BundlerError('DESTINATION_EXISTS', `${destination} already exists.`, {
      hint: 'Choose another --out, or pass --force to replace it (the old bundle stays until the new one is complete).',
      details: { path: destination },
    });
  }
  if (present && !(await isReplaceable(destination))) {
    throw new BundlerError(
      'DESTINATION_EXISTS',
      `${destination} exists and is not an Alki bundle; refusing to replace it, even with --force.`,
      {
        hint: 'Choose an --out that is new, empty, or a bundle an earlier `alki pack` wrote.',
        details: { path: destination },
      },
    );
  }
  return present;
}

// --force replaces bundles, never a directory that merely happens to be there
// (a home directory passed as --out by mistake).
async function isReplaceable(destination: string): Promise<boolean> {
  const info = await lstat(destination);
  if (!info.isDirectory()) return false;
  if ((await readdir(destination)).length === 0) return true;
  return exists(path.join(destination, MANIFEST_PATH));
}

/** Creates the temp directory a bundle is built in, beside its destination. */
export async function createStagingDir(destination: string): Promise<string> {
  await mkdir(path.dirname(destination), { recursive: true });
  const staging = hiddenSibling(destination, TEMP_MARK);
  await mkdir(staging);
  return staging;
}

/**
 * Moves a finished staging directory into place. A new destination is one
 * rename. An existing one (with force) is first renamed aside, then the new
 * one renamed in, then the old one removed: at every moment the destination
 * holds the old bundle, the new bundle, or (between the two renames) nothing,
 * never a mix. The two renames are made back to back, with no turn of the
 * event loop between them, so that gap lasts two system calls; a process
 * killed inside it leaves the old bundle whole under its retired name, and
 * the next pack (removeStaleSiblings) renames it back.
 */
export async function commitStagingDir(
  staging: string,
  destination: string,
  replace: boolean,
): Promise<void> {
  if (!replace) {
    try {
      await rename(staging, destination);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
      throw new BundlerError(
        'DESTINATION_EXISTS',
        `${destination} appeared while the bundle was being built.`,
        {
          hint: 'Another process wrote there; pack again, with --force to replace it.',
          details: { path: destination },
        },
      );
    }
  }
  const retired = hiddenSibling(destination, OLD_MARK);
  renameSync(destination, retired);
  try {
    renameSync(staging, destination);
  } catch (error) {
    renameSync(retired, destination);
    throw error;
  }
  await rm(retired, { recursive: true, force: true });
}

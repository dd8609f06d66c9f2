import fs from 'node:fs';
import path from 'node:path';
import { replaceDirectory, tempPathBeside } from '@alki/oci';
import { FleetError } from '../errors.js';
import type { PlannedFile } from './types.js';

/** The file every plan tree has; a directory with it may be replaced by a new plan. */
export const PLAN_MARKER = 'plan.json';

async function isReplaceable(dir: string): Promise<boolean> {
  const entries = await fs.promises.readdir(dir).catch(() => undefined);
  return entries !== undefined && (entries.length === 0 || entries.includes(PLAN_MARKER));
}

/**
 * Writes a plan's files as a directory tree, all or nothing: into a temp
 * directory beside `outDir`, then renamed into place. An existing tree is
 * replaced only with `force`, and only if it is a previous plan (it has
 * plan.json) or empty, so a mistyped `-o .` never replaces a repository.
 *
 * @example
 * await writePlan(plan.files, './gitops', { force: true });
 */
export async function writePlan(
  files: readonly PlannedFile[],
  outDir: string,
  options: { force?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const existing = await fs.promises.lstat(outDir).catch(() => undefined);
  if (existing) {
    if (!options.force) {
      throw new FleetError('OUTPUT_EXISTS', `${outDir} already exists.`, {
        hint: 'Choose another -o, or pass --force to replace the previous plan there.',
        details: { path: outDir },
      });
    }
    if (!existing.isDirectory() || !(await isReplaceable(outDir))) {
      throw new FleetError(
        'OUTPUT_EXISTS',
        `${outDir} is not a previous plan (it has no ${PLAN_MARKER}), so --force will not replace it.`,
        { hint: 'Write the plan to a folder of its own, such as ./gitops.', details: { path: outDir } },
      );
    }
  }
  await fs.promises.mkdir(path.dirname(path.resolve(outDir)), { recursive: true });
  const temp = tempPathBeside(path.resolve(outDir));
  try {
    for (const file of files) {
      options.signal?.throwIfAborted();
      const target = path.join(temp, file.path);
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      // Scripts are written executable; everything else is plain data.
      await fs.promises.writeFile(target, file.text, { mode: file.path.endsWith('.sh') ? 0o755 : 0o644 });
    }
    await replaceDirectory(temp, path.resolve(outDir));
  } catch (error) {
    await fs.promises.rm(temp, { recursive: true, force: true });
    throw error;
  }
}

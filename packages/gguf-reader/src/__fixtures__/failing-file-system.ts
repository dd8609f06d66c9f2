import fs from 'node:fs';
import type { FileSetFileSystem } from '../file-set.js';

/**
 * The real file system for commitFileSet and rollForwardFileSets, with the
 * `renameAt`-th rename (1-based) failing as a full disk would, or the journal
 * write failing half way; `renames` counts the renames tried.
 */
export function failingFileSystem(fault: {
  renameAt?: number;
  journal?: boolean;
}): FileSetFileSystem & { renames: number } {
  const real = {
    readdir: (dir: string) => fs.promises.readdir(dir),
    readFile: (file: string) => fs.promises.readFile(file, 'utf8'),
    writeNewFile: (file: string, text: string) => fs.promises.writeFile(file, text, { flag: 'wx' }),
    rm: (file: string, options: { force: true }) => fs.promises.rm(file, options),
    exists: async (file: string) => fs.existsSync(file),
    syncDirectory: async () => undefined,
  };
  const enospc = (file: string) =>
    Object.assign(new Error('no space left on device'), { code: 'ENOSPC', path: file });
  const fileSystem = {
    ...real,
    renames: 0,
    async writeNewFile(file: string, text: string) {
      if (fault.journal) {
        // Half the journal reaches the disk before the disk fills.
        await fs.promises.writeFile(file, text.slice(0, text.length / 2), { flag: 'wx' });
        throw enospc(file);
      }
      return real.writeNewFile(file, text);
    },
    async rename(from: string, to: string) {
      fileSystem.renames++;
      if (fileSystem.renames === fault.renameAt) throw enospc(to);
      return fs.promises.rename(from, to);
    },
  };
  return fileSystem;
}

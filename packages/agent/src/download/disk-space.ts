import { syncDirectory } from '@alki/gguf-reader';
import fs from 'node:fs';

/** Bytes a process without privileges may still write on the file system holding `dir`. */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

/** The real probe: statfs(2)'s available blocks times the block size. */
export const freeSpace: FreeSpaceProbe = async (dir) => {
  const stats = await fs.promises.statfs(dir);
  return stats.bavail * stats.bsize;
};

/** The bytes of every file under `dir` (0 when it does not exist): what a resumed download already holds. */
export async function bytesUnder(dir: string): Promise<number> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const stat = await fs.promises.stat(`${entry.parentPath}/${entry.name}`).catch(() => undefined);
    total += stat?.size ?? 0;
  }
  return total;
}

/** Flushes every file and directory under `dir` to disk, so that a power cut after a rename finds whole files. */
export async function syncTree(dir: string): Promise<void> {
  const entries = await fs.promises.readdir(dir, { withFileTypes: true, recursive: true });
  for (const entry of entries) {
    const file = `${entry.parentPath}/${entry.name}`;
    if (entry.isDirectory()) {
      await syncDirectory(file);
      continue;
    }
    const handle = await fs.promises.open(file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  await syncDirectory(dir);
}

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

// A file is written to a temp name beside its destination (same file system, so
// the final rename is atomic). The name carries the writing process's id, so
// when a process is killed (SIGKILL, power loss: no cleanup code runs) the next
// write to the same destination can tell its leftovers from a live writer's.
//   .<destination name>.<pid>.<tag>.tmp
export function tempOwner(destination: string): (name: string) => number | undefined {
  const prefix = `.${path.basename(destination)}.`;
  return (name) => {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return undefined;
    const [pid, tag, extra] = name.slice(prefix.length, -'.tmp'.length).split('.');
    return extra === undefined && tag && /^[A-Za-z0-9-]+$/.test(tag) && /^\d+$/.test(pid)
      ? Number(pid)
      : undefined;
  };
}

/**
 * Whether a process with this id exists. EPERM means it exists under another
 * user; a reused id counts as alive, so at worst a leftover waits for a later run.
 *
 * @example
 * isProcessAlive(process.pid); // true
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a leftover's owner (the process id its name carries, if any) is a
 * process that is gone, so its leftover may be removed or taken back.
 *
 * @example
 * isDeadOwner(process.pid); // false
 */
export function isDeadOwner(pid: number | undefined): boolean {
  return pid !== undefined && Number.isSafeInteger(pid) && pid > 0 && !isProcessAlive(pid);
}

/**
 * A temp path beside `destination`, owned by this process:
 * `.<name>.<pid>.<tag>.tmp`, with a random tag unless one is given. A file or
 * a directory created there is removed by `removeDeadTempSiblings` once this
 * process is gone.
 *
 * @example
 * tempSibling('/models/out.gguf'); // '/models/.out.gguf.4242.9f86d081.tmp'
 */
export function tempSibling(destination: string, tag = crypto.randomBytes(4).toString('hex')): string {
  return path.join(path.dirname(destination), `.${path.basename(destination)}.${process.pid}.${tag}.tmp`);
}

/**
 * An owner function for `removeDeadProcessLeftovers`: the process id in a
 * name made of one of `prefixes`, the id, a dash and anything after it
 * (`<prefix><pid>-<tag>`); undefined for any other name.
 *
 * @example
 * ownerAfterPrefix('scratch-')('scratch-4242-9f86d081'); // 4242
 */
export function ownerAfterPrefix(...prefixes: string[]): (name: string) => number | undefined {
  return (name) => {
    const prefix = prefixes.find((p) => name.startsWith(p));
    const pid = prefix === undefined ? undefined : /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
    return pid === undefined ? undefined : Number(pid);
  };
}

/**
 * Removes the entries of `dir` that `ownerOf` gives a process id for (the
 * rest are not leftovers) and whose process is dead: what a killed process
 * left behind. A live process's entries are kept. Returns the names removed.
 *
 * @example
 * await removeDeadProcessLeftovers(os.tmpdir(), ownerAfterPrefix('scratch-'));
 */
export async function removeDeadProcessLeftovers(
  dir: string,
  ownerOf: (name: string) => number | undefined,
): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    // No directory yet (nothing to sweep), or unreadable: the write itself reports that.
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isDeadOwner(ownerOf(name))) continue;
    try {
      await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Best effort: another user's leftover in a shared temp dir is theirs to remove.
    }
  }
  return removed;
}

/**
 * Flushes a directory entry (a rename or a new file) to disk; a no-op where
 * the platform cannot open directories.
 *
 * @example
 * await fs.promises.rename(temp, destination);
 * await syncDirectory(path.dirname(destination));
 */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on a directory (EINVAL); the rename is still atomic there.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { HubError } from './errors.js';

// How often a waiting process looks at the lock again.
const POLL_MS = 100;

function ownerIsAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lock, 'utf8').trim());
  } catch {
    // Gone meanwhile, or being written: look again.
    return true;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` while holding a lock on one blob, so two processes (or two
 * calls in one) never append to the same `.incomplete` file. The lock lives
 * beside huggingface_hub's own (`<cache>/.locks/models--org--name/`), under a
 * name of ours: its locks are flock()s Node cannot take, and a leftover
 * Python lock file must not block us. A lock whose process died is taken over.
 */
export async function withBlobLock<T>(
  cacheDir: string,
  repoFolder: string,
  etag: string,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const lock = path.join(cacheDir, '.locks', repoFolder, `${etag}.alki.lock`);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!ownerIsAlive(lock)) {
      fs.rmSync(lock, { force: true });
      continue;
    }
    if (signal?.aborted)
      throw new HubError('ABORTED', 'Interrupted while waiting for another download of the same file.', {
        cause: signal.reason,
      });
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

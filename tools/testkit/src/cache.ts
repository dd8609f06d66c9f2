import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A per-purpose directory under `$XDG_CACHE_HOME/alki/test-fixtures`, where
 * generated fixtures live between test runs. Nothing generated is committed.
 */
export function fixtureCacheDir(...parts: string[]): string {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const dir = path.join(cacheHome, 'alki', 'test-fixtures', ...parts);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

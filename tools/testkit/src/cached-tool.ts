import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A tool that a tools/setup script fetched into `$XDG_CACHE_HOME/alki/<name>/<version>/<name>`
 * (podman's quadlet generator, helm), newest version first, or an error that names the script.
 */
export function cachedToolPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const cache = path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'alki', name);
  const versions = fs.existsSync(cache) ? fs.readdirSync(cache).sort().reverse() : [];
  for (const version of versions) {
    const file = path.join(cache, version, name);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(
    `${name} is not in ${cache}, and the tests need it. Run \`bash tools/setup/${name}.sh\`, or \`npm test\`, which does it for you.`,
  );
}

// Worker threads load compiled JavaScript, so the tests need this package's
// dist/ to be current: an incremental build, quick when nothing changed.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function buildForWorkers() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  execFileSync(
    process.execPath,
    [path.join(here, '../../node_modules/typescript/bin/tsc'), '-b', path.join(here, 'tsconfig.build.json')],
    {
      stdio: 'inherit',
    },
  );
}

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Imports a TypeScript module in a fresh Node process whose resolve hook
 * refuses `refused`, so that a static import of it anywhere below the entry
 * fails the import: how a test proves a heavy dependency loads only on use.
 * The refusal names the importing module on stderr.
 *
 * @example
 * const run = importRefusing(new URL('../index.ts', import.meta.url), 'node-llama-cpp');
 * expect(run.status).toBe(0);
 */
export function importRefusing(entry: URL, refused: string): SpawnSyncReturns<string> {
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === ${JSON.stringify(refused)}) throw new Error(${JSON.stringify(refused)} + ' imported by ' + context.parentURL);
    return next(specifier, context);
  }`;
  const script = `import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
    await import(${JSON.stringify(entry.href)});`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    // tsx resolves from the working directory: the entry's own.
    cwd: path.dirname(fileURLToPath(entry)),
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: undefined, NO_COLOR: '1' },
  });
}

import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleContent } from '../assemble/bundle-content.js';
import { BundlerError } from '../errors.js';
import { commitStagingDir, createStagingDir } from '../pack/destination.js';
import { readBundle } from '../read-bundle.js';
import { renderTwoStageFiles, type DeployOptions, type TwoStageOptions } from './render-deploy.js';

async function hasEntries(dir: string): Promise<boolean | undefined> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes the two-stage deploy files of a bundle on disk into `outDir`
 * (see renderTwoStageFiles), all or nothing: they are staged beside it and
 * renamed into place. A folder with files in it is replaced only with
 * `force`. Returns the written paths, relative to `outDir`.
 *
 * @example
 * await writeTwoStageDeploy('./dist/qwen3', './deploy-qwen3', {
 *   bundleUri: 'registry.local/models/qwen3@sha256:' + 'ab'.repeat(32),
 *   runtimeImage: 'registry.local/alki-runtime:1',
 * });
 */
export async function writeTwoStageDeploy(
  bundleDir: string,
  outDir: string,
  twoStage: TwoStageOptions,
  options: DeployOptions & { force?: boolean } = {},
): Promise<string[]> {
  const bundle = await readBundle(bundleDir);
  const files = renderTwoStageFiles(await bundleContent(bundle), bundle.runtime, twoStage, options);
  const present = await hasEntries(outDir);
  if (present && !options.force) {
    throw new BundlerError('DESTINATION_EXISTS', `${outDir} already holds files.`, {
      hint: 'Choose another folder, or pass --force to replace it.',
      details: { path: outDir },
    });
  }
  const staging = await createStagingDir(path.resolve(outDir));
  try {
    for (const file of files) {
      await mkdir(path.join(staging, path.dirname(file.path)), { recursive: true });
      await writeFile(path.join(staging, file.path), file.text);
    }
    await commitStagingDir(staging, path.resolve(outDir), present !== undefined);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return files.map((file) => file.path);
}

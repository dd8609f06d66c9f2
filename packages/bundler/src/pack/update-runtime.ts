import { createHash } from 'node:crypto';
import { link, mkdir, readFile, rm, utimes, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleContent } from '../assemble/bundle-content.js';
import { renderBundleReadme } from '../assemble/bundle-readme.js';
import { formatJson } from '../assemble/manifest.js';
import { renderDeployFiles } from '../deploy/render-deploy.js';
import { BundlerError } from '../errors.js';
import { MANIFEST_PATH, README_PATH, RUNTIME_PATH } from '../format/layout.js';
import type { BundleFileEntry, RuntimeAccelerator, RuntimeManifest, ThreadSetting } from '../format/types.js';
import { modelArtifacts } from '../format/artifacts.js';
import { walkTree } from '../io/walk.js';
import { readBundle } from '../read-bundle.js';
import { commitStagingDir, createStagingDir, removeStaleSiblings } from './destination.js';

/** Settings to change in a bundle's runtime.json; absent ones stay as they are. */
export interface RuntimeUpdate {
  /** The quant to serve, one of the bundle's artifacts (`Q4_K_M`). */
  quant?: string;
  ctx?: number;
  threads?: ThreadSetting;
  /** The device the bundle was calibrated for (from a calibration profile). */
  accelerator?: RuntimeAccelerator;
}

export interface UpdatedRuntime {
  runtime: RuntimeManifest;
  /** Bundle-relative paths whose content changed (runtime.json, README, deploy configs, manifest). */
  changed: string[];
}

/**
 * Changes what a bundle serves (model, context, threads, the accelerator it
 * was calibrated for) and rewrites every
 * file made from those settings: runtime.json, the README's command line,
 * the systemd unit, the k3s Deployment (resources follow the model and
 * context) and the Dockerfile, then the manifest's hashes. The new bundle is
 * staged beside the old one (models hard-linked, not copied) and renamed
 * into place, so an interruption leaves the old bundle whole.
 *
 * @example
 * await updateBundleRuntime('./dist/tiny', { quant: 'Q4_K_M', ctx: 2048, threads: 3 });
 */
export async function updateBundleRuntime(dir: string, update: RuntimeUpdate): Promise<UpdatedRuntime> {
  const bundle = await readBundle(dir);
  const { manifest } = bundle;
  let model = bundle.runtime.model;
  if (update.quant !== undefined) {
    // The projector is no model to serve, whatever its quant label.
    const models = modelArtifacts(manifest);
    const artifact = models.find((a) => a.quant === update.quant);
    if (!artifact) {
      throw new BundlerError('INVALID_INPUT', `The bundle has no ${update.quant} model.`, {
        hint: `It holds ${models.map((a) => a.quant).join(', ')}; pack the quant in (alki pack --quantize) or choose one of those.`,
        details: { quant: update.quant, available: models.map((a) => a.quant) },
      });
    }
    model = artifact.uri;
  }
  if (update.ctx !== undefined && !(Number.isSafeInteger(update.ctx) && update.ctx >= 1)) {
    throw new BundlerError(
      'INVALID_INPUT',
      `The context must be a positive whole number, not ${update.ctx}.`,
    );
  }
  const runtime: RuntimeManifest = {
    ...bundle.runtime,
    model,
    args: {
      ...bundle.runtime.args,
      ...(update.ctx !== undefined ? { ctx: update.ctx } : {}),
      ...(update.threads !== undefined ? { threads: update.threads } : {}),
    },
    ...(update.accelerator !== undefined ? { accelerator: update.accelerator } : {}),
  };
  const content = await bundleContent(bundle);
  const texts = new Map<string, string>([
    [RUNTIME_PATH, formatJson(runtime)],
    [README_PATH, renderBundleReadme(content, runtime)],
    ...renderDeployFiles(content, runtime).map((file): [string, string] => [file.path, file.text]),
  ]);
  const changed: string[] = [];
  const files: BundleFileEntry[] = manifest.files.map((entry) => {
    const text = texts.get(entry.path);
    if (text === undefined) return entry;
    const bytes = Buffer.from(text, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== entry.sha256) changed.push(entry.path);
    return { path: entry.path, sha256, size: bytes.length };
  });
  if (changed.length === 0) return { runtime, changed };
  changed.push(MANIFEST_PATH);

  await removeStaleSiblings(bundle.dir);
  const staging = await createStagingDir(bundle.dir);
  const created = new Date(manifest.created);
  try {
    for (const entry of await walkTree(bundle.dir)) {
      const target = path.join(staging, entry.path);
      if (entry.directory) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      const text = entry.path === MANIFEST_PATH ? undefined : texts.get(entry.path);
      if (entry.path === MANIFEST_PATH) {
        const current = JSON.parse(await readFile(path.join(bundle.dir, entry.path), 'utf8')) as object;
        await writeFile(target, formatJson({ ...current, files }));
      } else if (text !== undefined) {
        await writeFile(target, text);
      } else {
        // Models and untouched files: the same inode, not a copy.
        await link(path.join(bundle.dir, entry.path), target).catch(() =>
          copyFile(path.join(bundle.dir, entry.path), target),
        );
      }
      // Rewritten files keep the bundle's date, so archives stay reproducible.
      if (text !== undefined || entry.path === MANIFEST_PATH) await utimes(target, created, created);
    }
    for (const entry of await walkTree(staging)) {
      if (entry.directory) await utimes(path.join(staging, entry.path), created, created);
    }
    await utimes(staging, created, created);
    await commitStagingDir(staging, bundle.dir, true);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { runtime, changed };
}

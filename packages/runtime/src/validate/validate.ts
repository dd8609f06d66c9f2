import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  artifactPath,
  bundleFile,
  BundlerError,
  modelArtifacts,
  readBundle,
  verifyBundle,
} from '@alki/bundler';
import { downloadFile, resolveModel, resolveModelTarget, selectGguf, type HubOptions } from '@alki/hub';
import type { ValidationCheck, ValidationReport } from './report.js';
import { effectiveThreads } from '../serve/node-llama-engine.js';
import { validateGgufModel, validationThreads, type ValidateModelOptions } from './validate-gguf.js';
import { checkVision } from './vision-check.js';

export interface ValidateOptions extends ValidateModelOptions {
  /** For `org/name` targets: a glob that picks one GGUF (`*Q8_0.gguf`). */
  filename?: string;
  /** For `org/name` targets: branch, tag or commit. */
  revision?: string;
  /** Hub endpoint, token, fetch; defaults from the environment (HF_ENDPOINT, HF_TOKEN). */
  hub?: Omit<HubOptions, 'cacheDir' | 'signal'>;
  /**
   * Keep hub downloads in the Hugging Face cache (`--no-cleanup`). By default
   * they go to a temporary cache that is removed afterwards.
   */
  keepDownloads?: boolean;
  /** Bytes hashed and downloaded, for progress bars. */
  onBytes?: (done: number, total: number) => void;
}

function reportOf(
  target: string,
  kind: ValidationReport['kind'],
  models: ValidationReport['models'],
  checks: ValidationCheck[],
): ValidationReport {
  return {
    target,
    kind,
    ok: checks.every((c) => c.status !== 'fail') && models.every((m) => m.ok),
    models,
    checks,
  };
}

async function validateBundle(dir: string, options: ValidateOptions): Promise<ValidationReport> {
  const bundle = await readBundle(dir);
  options.onCheck?.('hash');
  const started = performance.now();
  const verified = await verifyBundle(dir, {
    signal: options.signal,
    onProgress: (event) => options.onBytes?.(event.done, event.total),
  });
  const hash: ValidationCheck = verified.ok
    ? {
        name: 'hash',
        status: 'pass',
        message: `${verified.checked.length} files match the manifest's SHA-256 and sizes.`,
        durationMs: Math.round(performance.now() - started),
      }
    : {
        name: 'hash',
        status: 'fail',
        message: verified.problems.map((p) => p.message).join(' '),
        details: { problems: verified.problems },
        durationMs: Math.round(performance.now() - started),
      };
  const models = [];
  // Every model, not only the one runtime.json serves: each is shipped. One that fails the
  // bundle's containment check (a link out of it, a pipe) is never opened; the hash check names it.
  for (const artifact of modelArtifacts(bundle.manifest)) {
    const file = await bundleFile(bundle.dir, artifactPath(artifact.uri)).catch((error: unknown) => {
      if (error instanceof BundlerError) return undefined;
      throw error;
    });
    if (file) models.push(await validateGgufModel(file, options));
  }
  const checks = [hash];
  // A vision bundle must answer a request with an image, through the model
  // and projector runtime.json serves together.
  const projector = bundle.runtime.mmproj;
  if (projector !== undefined && hash.status === 'pass') {
    options.onCheck?.('vision');
    checks.push(
      await checkVision(
        path.join(bundle.dir, artifactPath(bundle.runtime.model)),
        path.join(bundle.dir, artifactPath(projector)),
        {
          maxTokens: Math.min(options.maxTokens ?? 16, 8),
          contextSize: options.contextSize ?? 512,
          threads: options.threads === undefined ? validationThreads() : effectiveThreads(options.threads),
          signal: options.signal,
        },
      ),
    );
  }
  return reportOf(dir, 'bundle', models, checks);
}

async function validateHubModel(repo: string, options: ValidateOptions): Promise<ValidationReport> {
  const cacheDir = options.keepDownloads
    ? undefined
    : fs.mkdtempSync(path.join(os.tmpdir(), 'alki-validate-'));
  try {
    const hub = { ...options.hub, signal: options.signal, ...(cacheDir ? { cacheDir } : {}) };
    const model = await resolveModel(repo, { ...hub, revision: options.revision });
    const selection = selectGguf(
      model.files.map((f) => f.path),
      options.filename,
      repo,
    );
    const sizes = new Map(model.files.map((f) => [f.path, f.size]));
    const total = selection.shards.reduce((sum, shard) => sum + (sizes.get(shard) ?? 0), 0);
    let before = 0;
    let first: string | undefined;
    for (const shard of selection.shards) {
      const file = await downloadFile(repo, shard, {
        ...hub,
        revision: model.commit,
        onProgress: (bytes) => options.onBytes?.(before + bytes, total),
      });
      before += sizes.get(shard) ?? 0;
      first ??= file.localPath;
    }
    const report = await validateGgufModel(first!, options);
    return reportOf(`${repo}/${selection.file}`, 'hub', [report], []);
  } finally {
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

/**
 * Validates what `alki validate` is pointed at: a .gguf file, a bundle
 * directory (every artifact, and every file's hash against the manifest), or
 * `org/name` on the hub with `filename` picking the GGUF. Check failures are
 * in the report (`ok: false`); bad targets throw a typed error.
 *
 * @example
 * const report = await validate('./dist/tiny', { maxTokens: 8 });
 * console.log(report.ok, report.models.map((m) => m.metrics.generationTokensPerSecond));
 */
export async function validate(target: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const resolved = await resolveModelTarget(target, { accept: ['file', 'directory', 'hub'] });
  if (resolved.kind === 'directory') return validateBundle(target, options);
  if (resolved.kind === 'hub') return validateHubModel(resolved.repo, options);
  const model = await validateGgufModel(target, options);
  return reportOf(target, 'gguf', [model], []);
}

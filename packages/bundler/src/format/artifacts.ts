import type { BundleArtifact, BundleManifest } from './types.js';

/** True for the artifacts llama-server can serve as `--model` (not the vision projector). */
export function isModelArtifact(artifact: BundleArtifact): boolean {
  return (artifact.role ?? 'model') === 'model';
}

/**
 * The language models of a bundle, in manifest order: every artifact but the
 * vision projector. Each is a quant a deployment can serve.
 *
 * @example
 * const quants = modelArtifacts(bundle.manifest).map((a) => a.quant); // ['Q4_K_M', 'Q8_0']
 */
export function modelArtifacts(manifest: Pick<BundleManifest, 'artifacts'>): BundleArtifact[] {
  return manifest.artifacts.filter(isModelArtifact);
}

/**
 * The vision projector (`--mmproj`) a bundle ships, if any (format 2). One
 * projector serves every quant of the model.
 *
 * @example
 * const projector = projectorArtifact(bundle.manifest);
 * if (projector) args.push('--mmproj', path.join(bundle.dir, projector.uri));
 */
export function projectorArtifact(manifest: Pick<BundleManifest, 'artifacts'>): BundleArtifact | undefined {
  return manifest.artifacts.find((artifact) => !isModelArtifact(artifact));
}

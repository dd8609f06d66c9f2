// Where each file of a bundle lives, relative to its root. The layout is the
// one in the original Alki README ("Bundle Layout"), plus metadata/runtime.json.

export const MODELS_DIR = 'models';
export const MANIFEST_PATH = 'metadata/manifest.json';
export const RUNTIME_PATH = 'metadata/runtime.json';
export const SBOM_PATH = 'metadata/sbom.spdx.json';
export const LICENSE_PATH = 'metadata/LICENSE.txt';
export const README_PATH = 'metadata/README.md';
/**
 * The trust policy a bundle carries (`alki pack --trust-policy`), listed in
 * its manifest, for installing on hosts: the deploy configs verify the bundle
 * against the host's copy, never against this file (a policy inside the
 * bundle it judges would vouch for any bundle that replaced it).
 */
export const TRUST_POLICY_PATH = 'metadata/trust-policy.json';
export const K3S_DEPLOYMENT_PATH = 'deploy/k3s/deployment.yaml';
export const K3S_SERVICE_PATH = 'deploy/k3s/service.yaml';
export const DOCKERFILE_PATH = 'deploy/docker/Dockerfile';
export const COMPOSE_PATH = 'deploy/compose/compose.yaml';
/**
 * Sigstore bundles (signatures and provenance) of a signed bundle. They are
 * added after the manifest is written and sign its digest, so the manifest
 * cannot list them; verifyBundle leaves them to @alki/signer.
 */
export const SIGNATURES_DIR = 'metadata/signatures';

/** Signature files: one level under SIGNATURES_DIR, safe names, `.sigstore.json`. */
const SIGNATURE_FILE = /^metadata\/signatures\/[A-Za-z0-9][A-Za-z0-9._-]*\.sigstore\.json$/;

/** True for a path (relative, forward slashes) that names a signature file of a bundle. */
export function isSignatureFile(relative: string): boolean {
  return SIGNATURE_FILE.test(relative);
}

/** The systemd unit's path for a bundle slug: `deploy/systemd/alki-<slug>.service`. */
export function systemdUnitPath(slug: string): string {
  return `deploy/systemd/alki-${slug}.service`;
}

/** The update agent's systemd unit for a bundle slug: `deploy/systemd/alki-<slug>-agent.service`. */
export function agentUnitPath(slug: string): string {
  return `deploy/systemd/alki-${slug}-agent.service`;
}

/** The Helm chart's folder for a deploy object name: `deploy/helm/alki-<slug>`. */
export function helmChartPath(objectName: string): string {
  return `deploy/helm/${objectName}`;
}

/** The Podman quadlet's path for a bundle slug: `deploy/podman/alki-<slug>.container`. */
export function quadletPath(slug: string): string {
  return `deploy/podman/alki-${slug}.container`;
}

/** A model file's uri for a slug and quant, as the README names them: `./models/<slug>-q4_k_m.gguf`. */
export function artifactUri(slug: string, quant: string): string {
  return `./${MODELS_DIR}/${slug}-${quant.toLowerCase()}.gguf`;
}

/**
 * The vision projector's uri: `./models/mmproj-<slug>-f16.gguf`. The
 * `mmproj` in the name is how llama.cpp tells projectors from models in a
 * folder (common/download.cpp, gguf_filename_is_model).
 */
export function projectorUri(slug: string, quant: string): string {
  return `./${MODELS_DIR}/mmproj-${slug}-${quant.toLowerCase()}.gguf`;
}

import type { BundleArtifact, RuntimeAgent, RuntimeArgs, RuntimeManifest } from '../format/types.js';

/** The port llama-server listens on by default (tools/server/README.md). */
export const DEFAULT_PORT = 8080;
/** llama-server's health endpoint: 200 once the model is loaded, 503 while loading. */
export const HEALTH_PATH = '/health';

/**
 * runtime.json for a bundle: llama-server on all interfaces, port 8080, the
 * first artifact, and the bundle's default arguments; with a vision
 * projector, format 2 and the projector beside the model; with an agent
 * channel, the channel devices follow.
 */
export function buildRuntime(
  defaultArtifact: BundleArtifact,
  args: RuntimeArgs,
  projector?: BundleArtifact,
  agent?: RuntimeAgent,
): RuntimeManifest {
  return {
    schema_version: projector ? 2 : 1,
    runtime: 'llama.cpp',
    model: defaultArtifact.uri,
    ...(projector ? { mmproj: projector.uri } : {}),
    server: { host: '0.0.0.0', port: DEFAULT_PORT, api: true },
    args: { ...args },
    health: { path: HEALTH_PATH, timeout_s: 5 },
    ...(agent ? { agent: { ...agent } } : {}),
  };
}

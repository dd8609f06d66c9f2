import { spawn as spawnChild } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle } from '@alki/bundler';
import { isAlkiError } from '@alki/errors';
import { loadTrustPolicy, verifySignedBundle, type TrustPolicy } from '@alki/signer';
import { bundleServerArgs, chooseArtifact } from '../bundle/bundle-layer.js';
import { ImageBuilderError } from '../errors.js';
import { replaceDirectory, tempPathBeside, writeFileAtomic } from '@alki/oci';

/** Where the runtime image keeps the pulled bundle (a declared volume). */
export const RUNTIME_BUNDLE_DIR = '/var/lib/alki/bundle';
/**
 * Written beside the bundle (not inside it, where verifyBundle would call
 * it an extra file) after a verified pull: which reference it came from.
 */
function markerPath(bundleDir: string): string {
  return `${bundleDir.replace(/\/+$/, '')}.source.json`;
}

/** What the two-stage entrypoint does, injected so it runs (and is tested) outside a container too. */
export interface RuntimeDeps {
  /**
   * Pulls the bundle named by `reference` into `dir` (absent before), checking
   * every digest. Given the trust `policy`, it may judge the signatures
   * attached to it in the registry (OCI referrers) before downloading, write
   * the trusted ones into `dir/metadata/signatures/` and verify the result
   * (`trusted: true`), or leave the judging to the runtime (`trusted: false`).
   */
  pullBundle: (
    reference: string,
    dir: string,
    options: { signal?: AbortSignal; policy?: TrustPolicy },
  ) => Promise<{ trusted: boolean }>;
  readBundle: (dir: string) => Promise<Bundle>;
  /** Recomputes every hash of a bundle on disk; ok false when any file is tampered, missing or extra. */
  verifyBundle: (dir: string) => Promise<{ ok: boolean; problems: Array<{ path: string; message: string }> }>;
  /** Runs llama-server in the foreground and resolves to its exit code. */
  runServer: (server: string, args: string[]) => Promise<number>;
  log: (line: string) => void;
}

export interface RuntimeSettings {
  /** ALKI_BUNDLE_URI: `registry/repo:tag` or `@sha256:...`. */
  bundleUri: string;
  /** ALKI_BUNDLE_DIR. */
  bundleDir: string;
  /** ALKI_LLAMA_SERVER. */
  llamaServer: string;
  /** ALKI_QUANT: serve this quant instead of runtime.json's model. */
  quant?: string;
  /** Arguments appended to llama-server's (the container's Cmd). */
  extraArgs: string[];
  /**
   * ALKI_TRUST_POLICY: a trust policy file, or the policy's JSON itself (the
   * schema of `alki verify --policy`). Set, the bundle must pass it before
   * llama-server starts.
   */
  trustPolicy?: string;
}

/** Reads the runtime's settings from its environment; ALKI_BUNDLE_URI is required. */
export function runtimeSettings(env: NodeJS.ProcessEnv, extraArgs: string[] = []): RuntimeSettings {
  const bundleUri = env.ALKI_BUNDLE_URI?.trim();
  if (!bundleUri) {
    throw new ImageBuilderError(
      'RUNTIME_BUNDLE_FAILED',
      'ALKI_BUNDLE_URI is not set, so the runtime does not know which bundle to serve.',
      {
        hint: 'Run the image with -e ALKI_BUNDLE_URI=registry.example.com/models/name:tag.',
      },
    );
  }
  return {
    bundleUri,
    bundleDir: env.ALKI_BUNDLE_DIR || RUNTIME_BUNDLE_DIR,
    llamaServer: env.ALKI_LLAMA_SERVER || '/app/llama-server',
    quant: env.ALKI_QUANT || undefined,
    extraArgs,
    ...(env.ALKI_TRUST_POLICY?.trim() ? { trustPolicy: env.ALKI_TRUST_POLICY.trim() } : {}),
  };
}

/** One line: failure messages are sentences, and a policy's may span lines. */
function oneLine(parts: string[]): string {
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}

/**
 * Reads ALKI_TRUST_POLICY (a file or inline JSON) with @alki/signer's
 * loader, the one `alki verify --policy` uses.
 */
async function runtimePolicy(settings: RuntimeSettings): Promise<TrustPolicy | undefined> {
  if (settings.trustPolicy === undefined) return undefined;
  try {
    return await loadTrustPolicy(settings.trustPolicy);
  } catch (error) {
    if (!isAlkiError(error)) throw error;
    throw new ImageBuilderError('INVALID_TRUST_POLICY', oneLine([`ALKI_TRUST_POLICY: ${error.message}`]), {
      cause: error,
      details: { code: error.code },
    });
  }
}

/** Why the bundle in `dir` fails the policy (files, then signatures), or undefined when it passes. */
async function untrusted(dir: string, policy: TrustPolicy): Promise<string | undefined> {
  const report = await verifySignedBundle(dir, policy);
  return report.ok ? undefined : oneLine(report.failures.map((failure) => failure.message));
}

function untrustedPull(settings: RuntimeSettings, why: string): ImageBuilderError {
  return new ImageBuilderError(
    'RUNTIME_UNTRUSTED',
    `The bundle pulled from ${settings.bundleUri} does not pass ALKI_TRUST_POLICY: ${why}`,
    { details: { uri: settings.bundleUri } },
  );
}

async function presentAndIntact(
  settings: RuntimeSettings,
  deps: RuntimeDeps,
  policy: TrustPolicy | undefined,
): Promise<boolean> {
  const marker = markerPath(settings.bundleDir);
  if (!fs.existsSync(marker)) return false;
  try {
    const source = JSON.parse(await fs.promises.readFile(marker, 'utf8')) as { uri?: string };
    if (source.uri !== settings.bundleUri) {
      deps.log(
        `alki-runtime: the bundle on disk came from ${source.uri}; ${settings.bundleUri} is asked for, pulling it`,
      );
      return false;
    }
    if (policy) {
      const why = await untrusted(settings.bundleDir, policy);
      if (why === undefined) return true;
      deps.log(`alki-runtime: the bundle on disk does not pass ALKI_TRUST_POLICY (${why}); pulling it again`);
      return false;
    }
    const report = await deps.verifyBundle(settings.bundleDir);
    if (report.ok) return true;
    deps.log(
      `alki-runtime: the bundle on disk is damaged (${report.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}); pulling it again`,
    );
    return false;
  } catch (error) {
    deps.log(
      `alki-runtime: the bundle on disk cannot be read (${(error as Error).message}); pulling it again`,
    );
    return false;
  }
}

/**
 * The two-stage runtime: makes sure the bundle named by ALKI_BUNDLE_URI is on
 * disk and intact (a restart with an intact bundle skips the download; a
 * damaged one is pulled again), then runs llama-server with its runtime.json.
 * Any digest mismatch stops it before llama-server starts. With
 * ALKI_TRUST_POLICY, the bundle (on disk or just pulled, with the signatures
 * attached to it in the registry) must also be signed as the policy requires,
 * or nothing starts.
 *
 * @example
 * const code = await runRuntime(runtimeSettings(process.env), defaultRuntimeDeps());
 */
export async function runRuntime(
  settings: RuntimeSettings,
  deps: RuntimeDeps,
  signal?: AbortSignal,
): Promise<number> {
  const policy = await runtimePolicy(settings);
  if (await presentAndIntact(settings, deps, policy)) {
    deps.log(
      `alki-runtime: ${settings.bundleUri} is present and intact in ${settings.bundleDir}; skipping the download`,
    );
  } else {
    deps.log(`alki-runtime: pulling ${settings.bundleUri}`);
    await fs.promises.mkdir(path.dirname(settings.bundleDir), { recursive: true });
    const temp = tempPathBeside(settings.bundleDir);
    try {
      let trusted: boolean;
      try {
        ({ trusted } = await deps.pullBundle(settings.bundleUri, temp, {
          signal,
          ...(policy ? { policy } : {}),
        }));
      } catch (error) {
        // The signer's refusal (no signature, an untrusted key, a replaced signature blob): one line, no hint.
        if (policy && isAlkiError(error) && error.code === 'VERIFICATION_FAILED') {
          const failures = (error.details.failures ?? []) as Array<{ message: string }>;
          throw untrustedPull(
            settings,
            failures.length ? oneLine(failures.map((f) => f.message)) : error.message,
          );
        }
        throw error;
      }
      if (policy) {
        // Files and signatures in one pass: verifySignedBundle checks every file against the manifest too.
        const why = trusted ? undefined : await untrusted(temp, policy);
        if (why !== undefined) throw untrustedPull(settings, why);
      } else {
        const report = await deps.verifyBundle(temp);
        if (!report.ok) {
          throw new ImageBuilderError(
            'RUNTIME_BUNDLE_FAILED',
            `The bundle pulled from ${settings.bundleUri} does not verify: ${report.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
            { category: 'check' },
          );
        }
      }
      // Marker last: a crash anywhere before it leaves no marker, so the next start pulls again.
      await fs.promises.rm(markerPath(settings.bundleDir), { force: true });
      await replaceDirectory(temp, settings.bundleDir);
      await writeFileAtomic(markerPath(settings.bundleDir), JSON.stringify({ uri: settings.bundleUri }));
    } catch (error) {
      await fs.promises.rm(temp, { recursive: true, force: true });
      throw error;
    }
    deps.log(
      `alki-runtime: pulled and verified ${settings.bundleUri}${policy ? ', signed as ALKI_TRUST_POLICY requires' : ''}`,
    );
  }
  const bundle = await deps.readBundle(settings.bundleDir);
  const artifact = chooseArtifact(bundle, settings.quant);
  const args = [
    ...bundleServerArgs(bundle, artifact, (uri) => path.join(bundle.dir, uri)),
    ...settings.extraArgs,
  ];
  deps.log(`alki-runtime: starting ${settings.llamaServer} ${args.join(' ')}`);
  return deps.runServer(settings.llamaServer, args);
}

/** Runs llama-server in the foreground, passing SIGTERM and SIGINT on, and resolves to its exit code. */
export function runServerForeground(server: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(server, args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}

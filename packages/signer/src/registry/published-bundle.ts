import { artifactPath, MANIFEST_PATH, parseManifest, readBundle, SIGNATURES_DIR } from '@alki/bundler';
import { OciError, registryStore, type RegistryClient } from '@alki/oci';
import {
  attachSignature,
  fetchSignature,
  listSignatures,
  matchLayersToManifest,
  parsePublishedArtifact,
  PublishError,
  pullBundle,
  type PublishedArtifact,
  type PullOptions,
  type PullResult,
} from '@alki/registry-publisher';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignerError } from '../errors.js';
import type { TrustPolicy } from '../policy/policy.js';
import { signManifest, type SignBundleOptions, type SignedManifest } from '../bundle/sign-bundle.js';
import {
  judgeSignatures,
  verifySignedBundle,
  type SignatureVerdict,
  type TrustFailure,
  type TrustReport,
  type VerifyTrustOptions,
} from '../bundle/verify-signed-bundle.js';
import { readSignatureFiles, signatureFilePath, type FoundSignatureFile } from '../bundle/signature-files.js';

/** A bundle in a registry: a repository and a tag or `sha256:` digest in it. */
export interface PublishedBundleSource {
  client: RegistryClient;
  repository: string;
  /** A tag or `sha256:` digest. */
  reference: string;
}

/** A Sigstore bundle attached to a published bundle, as it was read from the registry. */
export interface AttachedSigstoreBundle {
  /** The referrer manifest's digest. */
  referrer: string;
  bytes: Buffer;
}

/** The verdict on a published bundle: what verifySignedBundle says of a directory, for a registry reference. */
export interface PublishedTrustReport extends SignatureVerdict {
  /** `host/repository@sha256:...`: the exact bundle that was judged; pull this digest. */
  reference: string;
  digest: string;
  name?: string;
  version?: string;
  /** True when the bundle may run under the policy. */
  ok: boolean;
  /** The attached Sigstore bundles that were read, in referrer order (a replaced blob is absent). */
  attached: AttachedSigstoreBundle[];
  /** Set when the reference is one quant's artifact of a multi-quant bundle: the other quants' models are not in it. */
  quant?: string;
}

function where(source: Pick<PublishedBundleSource, 'client' | 'repository'>): string {
  return `${source.client.registry}/${source.repository}`;
}

// The published artifact, its manifest.json bytes, and the check that binds
// every layer to that manifest (the bytes a signature covers).
async function readPublished(source: PublishedBundleSource, signal?: AbortSignal) {
  const { client, repository, reference } = source;
  const fetched = await client.getManifest(repository, reference, signal);
  const artifact = parsePublishedArtifact(fetched, where(source), reference);
  const manifestBytes = await client.fetchBlobBytes(repository, artifact.manifestLayer, signal);
  return { artifact, manifestBytes };
}

/**
 * Fetches a published bundle's signatures (OCI 1.1 referrers, or the
 * `sha256-<hex>` tag index) and judges them under a trust policy, writing
 * nothing: the bundle's metadata/manifest.json is read from the registry, every
 * layer is bound to it by digest (layers are content-addressed, so a trusted
 * signature of that manifest covers every byte a pull would write), and each
 * attached Sigstore bundle is verified against it. A signature blob replaced in
 * the registry, a missing signature, an untrusted key or identity, and a layer
 * that disagrees with the manifest are failures in the report, each naming what
 * failed; registry and transport errors are thrown.
 *
 * @example
 * const report = await verifyPublishedBundle({ client, repository: 'models/tiny', reference: 'v1' }, policy);
 * if (!report.ok) for (const failure of report.failures) console.error(failure.message);
 */
export async function verifyPublishedBundle(
  source: PublishedBundleSource,
  policy: TrustPolicy,
  options: VerifyTrustOptions = {},
): Promise<PublishedTrustReport> {
  const { client, repository } = source;
  const { signal } = options;
  const { artifact, manifestBytes } = await readPublished(source, signal);
  const reference = `${where(source)}@${artifact.digest}`;
  const failures: TrustFailure[] = [];
  let names: { name?: string; version?: string } = {};
  try {
    names = matchLayersToManifest(artifact, manifestBytes, source.reference);
  } catch (error) {
    if (!(error instanceof PublishError) || error.code !== 'DIGEST_MISMATCH') throw error;
    const file = error.details.path;
    failures.push({
      kind: 'file-changed',
      ...(typeof file === 'string' ? { path: file } : {}),
      message: error.message,
    });
  }

  const found: FoundSignatureFile[] = [];
  const attached: AttachedSigstoreBundle[] = [];
  for (const entry of await listSignatures(client, repository, artifact.digest, signal)) {
    const label = `${where(source)}@${entry.digest}`;
    let bytes: Buffer;
    try {
      bytes = await fetchSignature(client, repository, entry.digest, signal);
    } catch (error) {
      const replaced = error instanceof OciError && error.code === 'DIGEST_MISMATCH';
      if (!replaced && !(error instanceof PublishError && error.code === 'INVALID_MANIFEST')) throw error;
      found.push({
        path: label,
        json: undefined,
        problem: replaced
          ? 'its Sigstore bundle does not match its digest (the blob was replaced in the registry)'
          : (error as Error).message,
      });
      continue;
    }
    attached.push({ referrer: entry.digest, bytes });
    try {
      found.push({ path: label, json: JSON.parse(bytes.toString('utf8')) });
    } catch {
      found.push({ path: label, json: undefined, problem: 'it is not valid JSON' });
    }
  }
  const verdict = await judgeSignatures(manifestBytes, found, policy, options);
  const all = [
    ...failures,
    ...verdict.failures.map((failure) =>
      failure.kind === 'unsigned' && found.length === 0
        ? {
            ...failure,
            message: `${reference} has no signature attached (no Sigstore referrer), and the policy requires a signature.`,
          }
        : failure,
    ),
  ];
  return {
    ...verdict,
    reference,
    digest: artifact.digest,
    ...names,
    ok: all.length === 0,
    failures: all,
    attached,
    ...(artifact.quant ? { quant: artifact.quant } : {}),
  };
}

function refused(what: string, failures: TrustFailure[]): SignerError {
  return new SignerError(
    'VERIFICATION_FAILED',
    `${what} is refused by the trust policy: ${failures.map((f) => f.message).join(' ')}`,
    {
      hint: 'Pull a bundle signed by a key or identity the policy trusts (alki sign), or change the policy.',
      details: { failures },
    },
  );
}

// The trusted signatures of a report as bundle files: where `alki sign`
// would have written them, so the pulled bundle verifies on its own.
function trustedFiles(report: PublishedTrustReport): Array<{ path: string; bytes: Buffer }> {
  const files: Array<{ path: string; bytes: Buffer }> = [];
  report.signatures.forEach((signature) => {
    if (!signature.check.ok) return;
    const referrer = signature.path.slice(signature.path.lastIndexOf('@') + 1);
    const bytes = report.attached.find((entry) => entry.referrer === referrer)?.bytes;
    if (bytes) files.push({ path: signatureFilePath(signature.kind, signature.check.signer), bytes });
  });
  return files;
}

// One quant's artifact of a multi-quant bundle holds only that quant's model:
// the others' absence is not a failure (their digests were never fetched).
async function withoutOtherQuants(
  dir: string,
  report: TrustReport,
  quant: string | undefined,
): Promise<TrustFailure[]> {
  if (!quant) return report.failures;
  const { manifest } = await readBundle(dir);
  const absent = new Set(
    (report.files?.problems ?? [])
      .filter((problem) => problem.kind === 'missing')
      .map((problem) => problem.path),
  );
  const others = new Set(
    manifest.artifacts
      .filter((artifact) => artifact.quant !== quant)
      .map((artifact) => artifactPath(artifact.uri)),
  );
  return report.failures.filter(
    (failure) =>
      !(
        failure.kind === 'file-changed' &&
        failure.path &&
        absent.has(failure.path) &&
        others.has(failure.path)
      ),
  );
}

export interface PullVerifiedOptions extends Omit<PullOptions, 'store' | 'reference'>, PublishedBundleSource {
  policy: TrustPolicy;
  trust?: Omit<VerifyTrustOptions, 'signal' | 'onProgress'>;
}

/**
 * Pulls a published bundle only if its signatures pass the trust policy:
 * verifyPublishedBundle first (a refused bundle costs no download and writes
 * nothing), then pullBundle of that exact digest, with the trusted signatures
 * written to the staged bundle's metadata/signatures/ and the whole staged
 * bundle verified again (every file re-hashed) before it is renamed into
 * place. A refusal is a SignerError VERIFICATION_FAILED (category `check`)
 * naming each failure; `outDir` is then untouched.
 *
 * @example
 * const pulled = await pullVerifiedBundle({ client, repository: 'models/tiny', reference: 'v1', outDir: './tiny', policy });
 */
export async function pullVerifiedBundle(
  options: PullVerifiedOptions,
): Promise<PullResult & { trust: PublishedTrustReport }> {
  const { client, repository, policy, signal } = options;
  const report = await verifyPublishedBundle(options, policy, { ...options.trust, signal });
  if (!report.ok) throw refused(`${where(options)}:${options.reference} (${report.digest})`, report.failures);
  const files = trustedFiles(report);
  const pulled = await pullBundle({
    ...options,
    store: registryStore(client, repository),
    reference: report.digest,
    check: async (staged) => {
      await mkdir(path.join(staged, SIGNATURES_DIR), { recursive: true });
      for (const file of files) await writeFile(path.join(staged, file.path), file.bytes);
      const local = await verifySignedBundle(staged, policy, { ...options.trust, signal });
      const failures = await withoutOtherQuants(staged, local, report.quant);
      if (failures.length > 0) throw refused(`The pulled bundle ${report.reference}`, failures);
      await options.check?.(staged);
    },
  });
  return { ...pulled, trust: report };
}

/** What signPublishedBundle attached: the referrer digests of the signature and the provenance. */
export interface SignedPublishedBundle extends SignedManifest {
  reference: string;
  digest: string;
  referrers: { signature: string; provenance?: string };
}

/**
 * Signs a bundle already in a registry exactly as signBundle signs a
 * directory (signManifest over its metadata/manifest.json, read from the
 * registry after every layer is bound to it), and attaches the signature and
 * the provenance as OCI 1.1 referrers of the bundle's manifest. Nothing in
 * the registry changes but the two referrers (and the tag index a registry
 * without the referrers API needs).
 *
 * @example
 * await signPublishedBundle({ client, repository: 'models/tiny', reference: 'v1' }, { method, provenance: false });
 */
export async function signPublishedBundle(
  source: PublishedBundleSource,
  options: Omit<SignBundleOptions, 'verify'>,
): Promise<SignedPublishedBundle> {
  const { artifact, manifestBytes } = await readPublished(source, options.signal);
  matchLayersToManifest(artifact, manifestBytes, source.reference);
  const manifest = parseManifest(JSON.parse(manifestBytes.toString('utf8')), MANIFEST_PATH);
  const signed = await signManifest(manifestBytes, manifest, options);
  const attach = (json: unknown) =>
    attachSignature(
      source.client,
      source.repository,
      artifact.descriptor,
      Buffer.from(`${JSON.stringify(json, null, 2)}\n`),
      options.signal,
    );
  const signature = await attach(signed.signature);
  const provenance = signed.provenance === undefined ? undefined : await attach(signed.provenance);
  return {
    ...signed,
    reference: `${where(source)}@${artifact.digest}`,
    digest: artifact.digest,
    referrers: {
      signature: signature.referrer,
      ...(provenance ? { provenance: provenance.referrer } : {}),
    },
  };
}

/**
 * Attaches every signature file of a bundle directory
 * (metadata/signatures/*.sigstore.json, byte for byte) to published
 * artifacts of that bundle, as referrers: what `alki publish` does after the
 * push, so a signed bundle stays signed in the registry. A file that is not
 * JSON is refused before anything is attached. Returns the paths attached.
 *
 * @example
 * await attachBundleSignatures(client, 'models/tiny', [artifact.descriptor], './dist/tiny');
 */
export async function attachBundleSignatures(
  client: RegistryClient,
  repository: string,
  subjects: PublishedArtifact['descriptor'][],
  bundleDir: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const found = await readSignatureFiles(bundleDir);
  const bad = found.find((entry) => entry.problem !== undefined);
  if (bad)
    throw new SignerError(
      'INVALID_SIGNATURE_FILE',
      `${bad.path} cannot be published as a signature: ${bad.problem}.`,
      { hint: 'Remove it, or sign the bundle again with `alki sign`.', details: { file: bad.path } },
    );
  for (const entry of found) {
    const bytes = await readFile(path.join(bundleDir, entry.path));
    for (const subject of subjects) await attachSignature(client, repository, subject, bytes, signal);
  }
  return found.map((entry) => entry.path);
}

/** The published artifact `reference` names, checked as a bundle: for callers that need its subject descriptor. */
export async function publishedArtifact(
  source: PublishedBundleSource,
  signal?: AbortSignal,
): Promise<PublishedArtifact> {
  return (await readPublished(source, signal)).artifact;
}

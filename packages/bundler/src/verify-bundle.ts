import { checkSbom } from '@alki/sbom';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleFile } from './bundle-file.js';
import { BundlerError } from './errors.js';
import { isSignatureFile, MANIFEST_PATH, SBOM_PATH } from './format/layout.js';
import type { BundleManifest } from './format/types.js';
import { artifactPath } from './format/validate.js';
import { hashFile, throwIfAborted, type HashedFile } from './io/hash.js';
import { walkTree } from './io/walk.js';
import { readBundle } from './read-bundle.js';

/** What is wrong with one path of a bundle. */
export type VerifyProblemKind =
  /** The file exists but its size or SHA-256 differs from the manifest. */
  | 'tampered'
  /** The manifest lists it and it is not there. */
  | 'missing'
  /** It is there and the manifest does not list it. */
  | 'extra'
  /** The manifest lists it, and a directory, link or device is there instead of a file. */
  | 'not-a-file'
  /** The SBOM is not SPDX 2.3 JSON or disagrees with the manifest's models. */
  | 'invalid-sbom';

export interface VerifyProblem {
  /** Relative to the bundle root, forward slashes. */
  path: string;
  kind: VerifyProblemKind;
  /** One sentence for people. */
  message: string;
  expected?: HashedFile;
  actual?: HashedFile;
}

export interface VerifyReport {
  dir: string;
  name: string;
  version: string;
  /** True when no problem was found. */
  ok: boolean;
  /** Every file the manifest lists, with the hash found. */
  checked: Array<{ path: string; sha256: string; size: number }>;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Bytes hashed so far across the bundle, and the total. */
  onProgress?: (event: { done: number; total: number; file: string }) => void;
}

// The SBOM must agree with the models, not only with its own hash: a bundle
// whose manifest and SBOM were both rewritten still fails here.
async function sbomProblems(dir: string, manifest: BundleManifest): Promise<VerifyProblem[]> {
  let text: string;
  try {
    text = await readFile(path.join(dir, SBOM_PATH), 'utf8');
  } catch {
    return []; // A missing SBOM is already reported as missing.
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return [{ path: SBOM_PATH, kind: 'invalid-sbom', message: `${SBOM_PATH} is not valid JSON.` }];
  }
  return checkSbom(document, manifest.artifacts).map((problem) => ({
    path: SBOM_PATH,
    kind: 'invalid-sbom' as const,
    message: `${SBOM_PATH}: ${problem}.`,
  }));
}

function describeSize(bytes: number): string {
  return `${bytes} bytes`;
}

/**
 * Recomputes the hash of every file a bundle's manifest lists, and reports
 * each tampered, missing or extra file by path. The manifest and runtime are
 * validated first (readBundle); an invalid one throws a BundlerError.
 *
 * @example
 * const report = await verifyBundle('./dist/tiny');
 * for (const problem of report.problems) console.error(`${problem.kind}: ${problem.path}`);
 */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const bundle = await readBundle(dir);
  const { manifest } = bundle;
  const expected = new Map<string, HashedFile>();
  for (const artifact of manifest.artifacts)
    expected.set(artifactPath(artifact.uri), { sha256: artifact.sha256, size: artifact.size });
  for (const file of manifest.files) expected.set(file.path, { sha256: file.sha256, size: file.size });

  const problems: VerifyProblem[] = [];
  const checked: VerifyReport['checked'] = [];
  const total = [...expected.values()].reduce((sum, entry) => sum + entry.size, 0);
  let doneBefore = 0;

  for (const [relative, want] of expected) {
    throwIfAborted(options.signal);
    let absolute: string;
    try {
      absolute = await bundleFile(bundle.dir, relative);
    } catch (error) {
      if (!(error instanceof BundlerError)) throw error;
      problems.push(
        error.code === 'FILE_MISSING'
          ? { path: relative, kind: 'missing', message: `${relative} is missing.`, expected: want }
          : { path: relative, kind: 'not-a-file', message: error.message, expected: want },
      );
      doneBefore += want.size;
      continue;
    }
    const got = await hashFile(absolute, {
      signal: options.signal,
      onBytes: (done) => options.onProgress?.({ done: doneBefore + done, total, file: relative }),
    });
    doneBefore += want.size;
    checked.push({ path: relative, ...got });
    if (got.size !== want.size) {
      problems.push({
        path: relative,
        kind: 'tampered',
        message: `${relative} has ${describeSize(got.size)}, the manifest says ${describeSize(want.size)}.`,
        expected: want,
        actual: got,
      });
    } else if (got.sha256 !== want.sha256) {
      problems.push({
        path: relative,
        kind: 'tampered',
        message: `${relative} has SHA-256 ${got.sha256}, the manifest says ${want.sha256}.`,
        expected: want,
        actual: got,
      });
    }
  }

  problems.push(...(await sbomProblems(bundle.dir, manifest)));

  for (const { path: relative } of (await walkTree(bundle.dir)).filter((entry) => !entry.directory)) {
    // Signatures sign the manifest's digest, so the manifest cannot list them;
    // @alki/signer verifies them.
    if (relative === MANIFEST_PATH || expected.has(relative) || isSignatureFile(relative)) continue;
    problems.push({ path: relative, kind: 'extra', message: `${relative} is not listed in the manifest.` });
  }

  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    dir: bundle.dir,
    name: manifest.name,
    version: manifest.version,
    ok: problems.length === 0,
    checked,
    problems,
  };
}

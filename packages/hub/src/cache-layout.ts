import fs from 'node:fs';
import path from 'node:path';
import { assertSafeRelativePath } from './repo-id.js';

// The layout of huggingface_hub's cache (file_download.py, "cache layout"):
//   <cache>/models--org--name/refs/<revision>          the commit sha, no newline
//   <cache>/models--org--name/blobs/<etag>              the content; sha256 for LFS, git oid otherwise
//   <cache>/models--org--name/blobs/<etag>.incomplete   a partial download, resumed with Range
//   <cache>/models--org--name/snapshots/<sha>/<path>    relative symlink to ../../blobs/<etag>

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** True for a full 40-hex git commit id (huggingface_hub REGEX_COMMIT_HASH). */
export function isCommitSha(revision: string): boolean {
  return COMMIT_SHA.test(revision);
}

/** `<cache>/models--org--name`. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`);
}

export function blobPath(storage: string, etag: string): string {
  return path.join(storage, 'blobs', etag);
}

export function snapshotDir(storage: string, commit: string): string {
  return path.join(storage, 'snapshots', commit);
}

export function snapshotFilePath(storage: string, commit: string, file: string): string {
  return path.join(snapshotDir(storage, commit), ...file.split('/'));
}

/** The commit a branch or tag pointed to when it was last downloaded, or undefined. */
export function readRef(storage: string, revision: string): string | undefined {
  assertSafeRelativePath(revision, 'revision');
  try {
    const sha = fs.readFileSync(path.join(storage, 'refs', ...revision.split('/')), 'utf8').trim();
    return isCommitSha(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/** Records `revision -> commit` atomically; huggingface_hub writes it without a newline. */
export function writeRef(storage: string, revision: string, commit: string): void {
  if (isCommitSha(revision)) return;
  assertSafeRelativePath(revision, 'revision');
  const file = path.join(storage, 'refs', ...revision.split('/'));
  if (readRef(storage, revision) === commit) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, commit);
  fs.renameSync(temp, file);
}

/**
 * Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative symlink,
 * replacing whatever was there atomically (a new link renamed over the old).
 */
export function linkSnapshotFile(storage: string, commit: string, file: string, etag: string): string {
  const pointer = snapshotFilePath(storage, commit, file);
  fs.mkdirSync(path.dirname(pointer), { recursive: true });
  const target = path.relative(path.dirname(pointer), blobPath(storage, etag));
  const temp = `${pointer}.${process.pid}.link`;
  fs.rmSync(temp, { force: true });
  fs.symlinkSync(target, temp);
  fs.renameSync(temp, pointer);
  return pointer;
}

/**
 * Where the cache keeps a repo's files at a commit (`<cache>/models--org--name/snapshots/<sha>`),
 * whether or not they are there.
 *
 * @example
 * const dir = cachedSnapshotDir(hubCacheDir(), 'acme/tiny', manifest.source.revision);
 */
export function cachedSnapshotDir(cacheDir: string, repo: string, commit: string): string {
  return snapshotDir(repoCacheDir(cacheDir, repo), commit);
}

/** What the cache holds for a snapshot file: its size and, when it is a blob link, the blob's etag. */
export function statSnapshotFile(pointer: string): { size: number; etag: string | undefined } | undefined {
  try {
    const { size } = fs.statSync(pointer);
    const link = fs.lstatSync(pointer).isSymbolicLink() ? path.basename(fs.readlinkSync(pointer)) : undefined;
    return { size, etag: link };
  } catch {
    return undefined;
  }
}

/** Every file of a cached snapshot, as repo paths with `/`, sorted. */
export function listSnapshotFiles(dir: string, relative = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listSnapshotFiles(dir, child));
    // Symlinks to blobs (and plain files, as huggingface_hub writes where symlinks fail).
    else if (entry.isSymbolicLink() || entry.isFile()) out.push(child);
  }
  return out.sort();
}

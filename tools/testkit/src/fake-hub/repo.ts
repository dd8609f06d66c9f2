import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

/** A file's bytes, given inline. Strings are UTF-8. */
export type FakeFileContent = string | Uint8Array;

/** What one revision of a fake repo holds: inline files, a directory on disk, or both. */
export interface FakeRevisionSpec {
  files?: Record<string, FakeFileContent>;
  /** Every regular file under this directory is served, by its path relative to it. */
  dir?: string;
}

/** A model repo served by the fake hub. Its `main` branch is the top-level `files`/`dir`. */
export interface FakeRepoSpec extends FakeRevisionSpec {
  /** `org/name` (or a bare `name`). */
  id: string;
  /** Other branches or tags, by name (`v1.0`, `refs/pr/1`). */
  revisions?: Record<string, FakeRevisionSpec>;
  /** Private repos answer 401 without a token and 404 to a token not in `access`. */
  private?: boolean;
  /** Gated repos list their files to anyone, but their files answer 401 without a token and 403 to a token not in `access`. */
  gated?: false | 'auto' | 'manual';
  /** Tokens that may read this private or gated repo. Defaults to every token the hub accepts. */
  access?: string[];
  /** Served as the model card metadata (`cardData`), for example `{ license: 'apache-2.0' }`. */
  cardData?: Record<string, unknown>;
}

/** One file of a fake revision, with the hashes the real hub reports for it. */
export interface FakeFile {
  path: string;
  size: number;
  /** The git blob sha1 of the file as committed (of the LFS pointer for LFS files). */
  oid: string;
  /** Set for files the hub stores in LFS: sha256 of the content. */
  lfs?: { oid: string; size: number; pointerSize: number };
  /** The bytes from `start` to `end` inclusive. */
  read(start: number, end: number): NodeJS.ReadableStream;
}

export interface FakeRevision {
  name: string;
  sha: string;
  files: Map<string, FakeFile>;
}

export interface FakeRepo {
  spec: FakeRepoSpec;
  revisions: Map<string, FakeRevision>;
}

// The hub stores these in LFS through the default .gitattributes of new repos,
// and anything over 10 MB whatever its name (huggingface_hub's upload rules).
const LFS_EXTENSIONS = new Set([
  '.gguf',
  '.safetensors',
  '.bin',
  '.pt',
  '.pth',
  '.ckpt',
  '.onnx',
  '.h5',
  '.msgpack',
  '.model',
  '.pkl',
  '.npy',
  '.zip',
  '.tar',
  '.gz',
]);
const LFS_MIN_SIZE = 10 * 1024 * 1024;

function isLfs(filePath: string, size: number): boolean {
  return size >= LFS_MIN_SIZE || LFS_EXTENSIONS.has(path.extname(filePath).toLowerCase());
}

/** Git's object id of a blob: sha1 over `blob <size>\0` and the bytes. */
function gitBlobOid(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

async function hashFile(file: string): Promise<{ sha256: string; sha1: string; size: number }> {
  const size = (await fs.promises.stat(file)).size;
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1').update(`blob ${size}\0`);
  for await (const chunk of fs.createReadStream(file)) {
    sha256.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex'), size };
}

function describe(
  filePath: string,
  size: number,
  sha256: string,
  gitOid: string,
  read: FakeFile['read'],
): FakeFile {
  if (!isLfs(filePath, size)) return { path: filePath, size, oid: gitOid, read };
  const pointer = lfsPointer(sha256, size);
  return {
    path: filePath,
    size,
    oid: gitBlobOid(Buffer.from(pointer)),
    lfs: { oid: sha256, size, pointerSize: Buffer.byteLength(pointer) },
    read,
  };
}

function listDir(root: string, relative = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listDir(root, child));
    else if (entry.isFile()) out.push(child);
  }
  return out;
}

async function loadRevision(repoId: string, name: string, spec: FakeRevisionSpec): Promise<FakeRevision> {
  const files = new Map<string, FakeFile>();
  if (spec.dir) {
    for (const relative of listDir(spec.dir)) {
      const absolute = path.join(spec.dir, relative);
      const { sha256, sha1, size } = await hashFile(absolute);
      files.set(
        relative,
        describe(relative, size, sha256, sha1, (start, end) => fs.createReadStream(absolute, { start, end })),
      );
    }
  }
  for (const [filePath, content] of Object.entries(spec.files ?? {})) {
    const bytes =
      typeof content === 'string'
        ? Buffer.from(content)
        : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    files.set(
      filePath,
      describe(filePath, bytes.length, sha256, gitBlobOid(bytes), (start, end) =>
        Readable.from([bytes.subarray(start, end + 1)]),
      ),
    );
  }
  // A commit id that changes whenever the content does, like a real one.
  const commit = createHash('sha1').update(`${repoId}\0${name}\0`);
  for (const file of [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
    commit.update(`${file.path}\0${file.oid}\0`);
  return { name, sha: commit.digest('hex'), files };
}

/** Hashes every file of every revision, as the hub would have on push. */
export async function loadRepo(spec: FakeRepoSpec): Promise<FakeRepo> {
  const revisions = new Map<string, FakeRevision>();
  revisions.set('main', await loadRevision(spec.id, 'main', spec));
  for (const [name, revision] of Object.entries(spec.revisions ?? {}))
    revisions.set(name, await loadRevision(spec.id, name, revision));
  return { spec, revisions };
}

/** Finds a revision by branch or tag name, or by its full commit sha. */
export function findRevision(repo: FakeRepo, revision: string): FakeRevision | undefined {
  return repo.revisions.get(revision) ?? [...repo.revisions.values()].find((r) => r.sha === revision);
}

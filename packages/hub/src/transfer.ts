import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describeSystemError } from '@alki/errors';
import { HubError } from './errors.js';
import { hubErrorFromStatus, toHubError, type RequestContext } from './hub-errors.js';

/** What the hub says a file is: the blob name and how to check the bytes. */
export interface ExpectedBlob {
  size: number;
  /** The blob name: sha256 for LFS files, the git blob sha1 otherwise. */
  etag: string;
  /** Set for LFS files: the sha256 of the content (equal to the etag). */
  sha256?: string;
}

export interface TransferOptions {
  url: string;
  /** Where the finished blob goes; the partial lives at `<blob>.incomplete`. */
  blob: string;
  expected: ExpectedBlob;
  fetch: typeof fetch;
  token: string | undefined;
  ctx: RequestContext;
  signal?: AbortSignal;
  /** A download that receives nothing for this long is cut and resumed. */
  stallTimeoutMs: number;
  /** Called with the bytes of this file held so far, including resumed ones. */
  onProgress?: (bytes: number, total: number) => void;
  /** Reconnects after a dropped connection, each time resuming with Range (huggingface_hub http_get retries 5 times). */
  maxResumes?: number;
}

const DEFAULT_MAX_RESUMES = 5;

/** Strips the weak marker and the quotes from an ETag header value. */
function normalizeEtag(value: string | null): string | undefined {
  return value ? value.replace(/^W\//, '').replace(/^"|"$/g, '') : undefined;
}

// Checks the bytes the way the hub names them: LFS files by sha256, other
// files by their git blob id, sha1 over "blob <size>\0" and the content.
interface Hashes {
  update(chunk: Uint8Array): void;
  /** Undefined when the bytes match, else the hash they have. */
  verify(): string | undefined;
}

function startHashes(expected: ExpectedBlob): Hashes {
  const hash: Hash = expected.sha256
    ? createHash('sha256')
    : createHash('sha1').update(`blob ${expected.size}\0`);
  return {
    update: (chunk) => void hash.update(chunk),
    verify() {
      const actual = hash.digest('hex');
      const wanted = expected.sha256 ?? expected.etag;
      return actual === wanted ? undefined : actual;
    },
  };
}

async function hashExisting(file: string, hashes: Hashes): Promise<void> {
  for await (const chunk of fs.createReadStream(file)) hashes.update(chunk as Buffer);
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function mismatch(message: string, options: TransferOptions, details: Record<string, unknown>): HubError {
  return new HubError('INTEGRITY_MISMATCH', message, {
    hint: 'The partial download was deleted; run the command again. If it fails again, the file on the hub does not match its published hash.',
    details: {
      repo: options.ctx.repo,
      path: options.ctx.path,
      expectedEtag: options.expected.etag,
      expectedSize: options.expected.size,
      ...details,
    },
  });
}

/**
 * Downloads one file into the cache's blob store, resuming `<blob>.incomplete`
 * with a Range request (as huggingface_hub's http_get does), checking the size
 * and the hash, and renaming the blob into place only when both match. A
 * mismatch deletes the partial; a dropped connection keeps it for the next try.
 */
export async function transferBlob(options: TransferOptions): Promise<void> {
  const { expected, blob } = options;
  const partial = `${blob}.incomplete`;
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  const maxResumes = options.maxResumes ?? DEFAULT_MAX_RESUMES;
  let hashes: Hashes;
  for (let resumes = 0; ; resumes++) {
    let offset = sizeOf(partial);
    if (offset > expected.size) {
      fs.rmSync(partial, { force: true });
      offset = 0;
    }
    try {
      hashes = startHashes(expected);
      // A resumed partial is hashed once from disk, the rest while it arrives.
      if (offset > 0) await hashExisting(partial, hashes);
      options.onProgress?.(offset, expected.size);
      if (offset < expected.size) hashes = await receive(options, partial, offset, hashes);
      break;
    } catch (error) {
      // A full disk or a bad cache folder is not the network's fault: no retry.
      const system = describeSystemError(error);
      if (system && system.category !== 'network') throw error;
      const wrapped = toHubError(error, options.ctx, undefined, options.signal);
      if (wrapped.code === 'INTEGRITY_MISMATCH') fs.rmSync(partial, { force: true });
      if (wrapped.code !== 'NETWORK' || resumes >= maxResumes) throw wrapped;
    }
  }
  const received = sizeOf(partial);
  if (received !== expected.size) {
    fs.rmSync(partial, { force: true });
    throw mismatch(
      `${options.ctx.path} from ${options.ctx.repo} is ${received} bytes, but the hub said ${expected.size}.`,
      options,
      { receivedSize: received },
    );
  }
  const actual = hashes.verify();
  if (actual) {
    fs.rmSync(partial, { force: true });
    throw mismatch(
      `${options.ctx.path} from ${options.ctx.repo} does not match its ${expected.sha256 ? 'sha256' : 'git blob id'}: expected ${expected.sha256 ?? expected.etag}, got ${actual}.`,
      options,
      { actual },
    );
  }
  fs.renameSync(partial, blob);
}

async function receive(
  options: TransferOptions,
  partial: string,
  offset: number,
  hashes: Hashes,
): Promise<Hashes> {
  // A watchdog that cuts the request when the bytes stop coming; the loop
  // above then resumes it like any dropped connection.
  const stall = new AbortController();
  let timer = setTimeout(() => stall.abort(), options.stallTimeoutMs);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), options.stallTimeoutMs);
  };
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  try {
    return await receiveBody(options, partial, offset, hashes, signal, rearm);
  } catch (error) {
    if (stall.signal.aborted && !options.signal?.aborted) {
      throw new TypeError('fetch failed', {
        cause: { code: 'ETIMEDOUT', message: `no data for ${options.stallTimeoutMs} ms` },
      });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function receiveBody(
  options: TransferOptions,
  partial: string,
  offset: number,
  hashes: Hashes,
  signal: AbortSignal,
  rearm: () => void,
): Promise<Hashes> {
  const { expected, ctx } = options;
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (offset > 0) headers.Range = `bytes=${offset}-`;
  const response = await options.fetch(options.url, { headers, signal });
  rearm();
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    let serverMessage = text;
    try {
      const body = JSON.parse(text) as { error?: unknown } | null;
      if (typeof body?.error === 'string') serverMessage = body.error;
    } catch {
      // Not JSON: keep the text.
    }
    throw hubErrorFromStatus(
      response.status,
      response.headers.get('x-error-code'),
      serverMessage.slice(0, 200),
      ctx,
    );
  }
  // The hub names LFS content by X-Linked-Etag; a redirect to a CDN brings
  // another ETag, so a plain ETag is only compared when no redirect happened.
  const sameOrigin = !response.redirected;
  const advertised =
    normalizeEtag(response.headers.get('x-linked-etag')) ??
    (sameOrigin ? normalizeEtag(response.headers.get('etag')) : undefined);
  if (advertised && advertised !== expected.etag) {
    await response.body?.cancel();
    throw mismatch(
      `The hub serves ${ctx.path} of ${ctx.repo} with etag ${advertised}, but listed it as ${expected.etag}.`,
      options,
      { advertised },
    );
  }
  let position = offset;
  if (response.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
    if (!range || Number(range[1]) !== offset) {
      await response.body?.cancel();
      throw new HubError(
        'BAD_RESPONSE',
        `The hub answered a resume request for ${ctx.path} with the wrong range (${response.headers.get('content-range')}).`,
        {
          details: { repo: ctx.repo, path: ctx.path, offset },
        },
      );
    }
  } else if (offset > 0) {
    // The server ignored Range and sends everything: start over.
    fs.rmSync(partial, { force: true });
    position = 0;
    hashes = startHashes(expected);
  }
  if (!response.body)
    throw new HubError('BAD_RESPONSE', `The hub sent no body for ${ctx.path}.`, {
      details: { repo: ctx.repo, path: ctx.path },
    });
  const out = fs.openSync(partial, position === 0 ? 'w' : 'a');
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (position + chunk.length > expected.size) {
        throw mismatch(
          `The hub sent more than the ${expected.size} bytes it listed for ${ctx.path}.`,
          options,
          {},
        );
      }
      rearm();
      fs.writeSync(out, chunk);
      hashes.update(chunk);
      position += chunk.length;
      options.onProgress?.(position, expected.size);
    }
    fs.fsyncSync(out);
  } finally {
    fs.closeSync(out);
  }
  if (position < expected.size) {
    // The body ended early without an error: treat it as a dropped connection.
    throw new TypeError('fetch failed', {
      cause: { code: 'ECONNRESET', message: `body ended after ${position} of ${expected.size} bytes` },
    });
  }
  return hashes;
}

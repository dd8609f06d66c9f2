import { describeCause } from '@alki/errors';
import type { Descriptor } from '../descriptor.js';
import { OciError, throwIfAborted } from '../errors.js';
import { repositoryScope } from './auth.js';
import { drain, type RegistryHttp } from './http.js';
import { isTransportError } from './retry.js';

// How often one blob's download is resumed after a dropped or stalled
// connection before giving up: enough for a flaky link, bounded so a dead
// registry ends in an error the user can act on.
const MAX_RESUMES = 5;

/** `bytes=<n>-` for a resumed GET (RFC 9110 section 14.1.2). */
function rangeFrom(offset: number): Record<string, string> {
  return offset > 0 ? { range: `bytes=${offset}-` } : {};
}

/**
 * The bytes of a blob, streamed (GET /v2/<name>/blobs/<digest>). When the
 * connection drops or stalls mid-body, the rest is asked for with
 * `Range: bytes=<received>-` and the stream goes on where it stopped, up to
 * MAX_RESUMES times with the retry policy's back-off; a registry that
 * ignores Range (200 instead of 206) is read again from the start and the
 * bytes already passed on are skipped. The caller hashes what it gets
 * (writeVerifiedFile, verifying): this only moves bytes. With `from`, the
 * stream starts at that byte (a download resumed from a partial file).
 *
 * @example
 * for await (const chunk of blobChunks(http, 'models/tiny', descriptor)) sink.write(chunk);
 */
export async function* blobChunks(
  http: RegistryHttp,
  repository: string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  signal?: AbortSignal,
  from = 0,
): AsyncGenerator<Uint8Array> {
  const { digest } = descriptor;
  const url = http.repoUrl(repository, `blobs/${digest}`);
  let received = from;
  for (let resumes = 0; ; resumes++) {
    throwIfAborted(signal);
    const response = await http.send('GET', url, {
      scopes: [repositoryScope(repository, ['pull'])],
      headers: rangeFrom(received),
      signal,
    });
    if (response.status === 404) {
      await drain(response);
      throw new OciError('NOT_FOUND', `${http.registry}/${repository} has no blob ${digest}.`, {
        details: { repository, digest },
      });
    }
    if (!(response.status === 200 || (received > 0 && response.status === 206)) || !response.body)
      throw await http.unexpected(response, `send blob ${digest}`);
    // 200 to a Range request: the whole blob again; skip what was passed on.
    let skip = response.status === 200 ? received : 0;
    try {
      // The body is watched for stalls by RegistryHttp (watchBody).
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        const fresh = skip > 0 ? chunk.subarray(skip) : chunk;
        skip = 0;
        received += fresh.length;
        yield fresh;
      }
      return;
    } catch (error) {
      throwIfAborted(signal);
      if (!isTransportError(error)) throw error;
      // A body that ended early is not our business here: the verifier
      // downstream reports a short blob as SIZE_MISMATCH.
      if (resumes >= MAX_RESUMES) {
        throw new OciError(
          'UNREACHABLE',
          `The download of ${digest} from ${http.registry} broke ${MAX_RESUMES + 1} times; the last time: ${describeCause(error)}.`,
          {
            cause: error,
            hint: 'Check the network and the registry; the stall timeout is --stall-timeout (seconds).',
            details: { digest, repository, received },
          },
        );
      }
      const delayMs = Math.min(http.retry.maxDelayMs, http.retry.baseDelayMs * 2 ** resumes);
      http.onEvent(
        `download of ${digest} broke at byte ${received} (${describeCause(error)}); resuming in ${delayMs} ms`,
      );
      await http.sleep(delayMs, signal).catch(() => throwIfAborted(signal));
    }
  }
}

import { OciError } from '../errors.js';
import { assertRepository } from '../reference.js';
import { repositoryScope } from './auth.js';
import { drain, type RegistryHttp } from './http.js';

// Tags pages: the registry's default is 100; ask for more to save round trips.
const TAGS_PAGE_SIZE = 1000;
// A registry whose Link headers never end is broken; stop rather than loop.
const MAX_TAG_PAGES = 10_000;

// RFC 8288: `<url>; rel="next"`.
function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/i.exec(part.trim());
    if (match) return match[1];
  }
  return undefined;
}

/**
 * Every tag of a repository (GET /v2/<name>/tags/list), following
 * `Link: <...>; rel="next"` pages. Each tag is listed once, in the order the
 * registry first gave it, even when pages overlap or a Link repeats a page;
 * a Link back to a page already read ends the listing.
 */
export async function listTags(
  http: RegistryHttp,
  repository: string,
  signal?: AbortSignal,
): Promise<string[]> {
  assertRepository(repository);
  const tags = new Set<string>();
  const seen = new Set<string>();
  let url: string | undefined = http.repoUrl(repository, `tags/list?n=${TAGS_PAGE_SIZE}`);
  while (url && !seen.has(url) && seen.size < MAX_TAG_PAGES) {
    seen.add(url);
    const { response, bytes } = await http.sendAndRead('GET', url, {
      scopes: [repositoryScope(repository, ['pull'])],
      signal,
    });
    if (response.status === 404) {
      await drain(response);
      throw new OciError('NOT_FOUND', `${http.registry} has no repository ${repository}.`, {
        details: { repository },
      });
    }
    if (!bytes) throw await http.unexpected(response, `list the tags of ${repository}`);
    let page: { tags?: unknown };
    try {
      page = JSON.parse(bytes.toString('utf8')) as typeof page;
    } catch (error) {
      throw new OciError(
        'REGISTRY_ERROR',
        `${http.registry} answered the tag list of ${repository} with something that is not JSON.`,
        {
          cause: error,
          details: { repository, url },
        },
      );
    }
    for (const tag of Array.isArray(page.tags) ? page.tags : []) if (typeof tag === 'string') tags.add(tag);
    const next = nextLink(response.headers.get('link'));
    url = next ? http.resolve(next) : undefined;
  }
  return [...tags];
}

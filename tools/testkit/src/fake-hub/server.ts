import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  findRevision,
  loadRepo,
  type FakeFile,
  type FakeRepo,
  type FakeRepoSpec,
  type FakeRevision,
} from './repo.js';

export interface FakeHubOptions {
  repos: FakeRepoSpec[];
  /** Tokens the hub accepts. Any other bearer token gets 401, as on the real hub. */
  tokens?: string[];
  /** Entries per page of the tree listing; further pages are linked with `Link: <...>; rel="next"`. */
  treePageSize?: number;
  /**
   * Answer LFS downloads with a 302 to a CDN-like path on the same server, as
   * the real hub does: the hub headers (X-Linked-Etag, X-Repo-Commit) are on
   * the redirect, the bytes and an unrelated ETag on the target.
   */
  redirectLfs?: boolean;
}

/** One request as the fake hub saw it. */
export interface FakeHubRequest {
  method: string;
  /** The decoded path, without the query. */
  path: string;
  /** The raw URL path and query. */
  url: string;
  range?: string;
  authorization?: string;
  status: number;
}

/** A failure the fake hub injects into the next matching requests. */
export type FakeHubFault =
  /** Sends `afterBytes` bytes of the file's body, then destroys the socket (`times` times, default once). */
  | { kind: 'drop-connection'; repo: string; path: string; afterBytes: number; times?: number }
  /** Sends `afterBytes` bytes of the file's body, then sends nothing more and keeps the connection open (`times` times, default once). */
  | { kind: 'stall'; repo: string; path: string; afterBytes: number; times?: number }
  /** From now on, advertises a sha256/etag for the file (tree, paths-info, resolve headers) that its bytes do not have. */
  | { kind: 'wrong-etag'; repo: string; path: string }
  /** Answers every request whose path starts with `pathPrefix` with this status (`times` times, default once). */
  | { kind: 'status'; status: number; pathPrefix?: string; times?: number };

export interface FakeHub {
  /** `http://127.0.0.1:PORT`, to pass as `hubUrl` / endpoint. */
  url: string;
  /** Every request so far, oldest first. */
  readonly requests: FakeHubRequest[];
  clearRequests(): void;
  inject(fault: FakeHubFault): void;
  /** The commit sha a revision of a repo resolves to. */
  commitOf(repo: string, revision?: string): string;
  stop(): Promise<void>;
}

// The hub's error answers: JSON with `error`, plus the X-Error-Code header
// that huggingface_hub's hf_raise_for_status reads (utils/_http.py).
class HubReply extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const WRONG_SHA256 = '0'.repeat(64);

/**
 * Starts an HTTP server on 127.0.0.1 that speaks the Hugging Face hub
 * endpoints @huggingface/hub and huggingface_hub call, serving the given
 * repos, with fault injection for tests.
 *
 * @example
 * const hub = await startFakeHub({ repos: [{ id: 'acme/tiny', files: { 'model.gguf': bytes } }] });
 * await listFiles({ repo: 'acme/tiny', hubUrl: hub.url });
 * await hub.stop();
 */
export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const repos = new Map<string, FakeRepo>();
  for (const spec of options.repos) repos.set(spec.id, await loadRepo(spec));
  const tokens = new Set(options.tokens ?? []);
  const requests: FakeHubRequest[] = [];
  const faults: FakeHubFault[] = [];
  let url = '';

  const takeFault = <K extends FakeHubFault['kind']>(
    kind: K,
    matches: (fault: Extract<FakeHubFault, { kind: K }>) => boolean,
  ) => {
    const index = faults.findIndex(
      (fault) => fault.kind === kind && matches(fault as Extract<FakeHubFault, { kind: K }>),
    );
    if (index < 0) return undefined;
    const fault = faults[index] as Extract<FakeHubFault, { kind: K }>;
    if (kind !== 'wrong-etag') {
      const remaining = ((fault as { times?: number }).times ?? 1) - 1;
      if (remaining <= 0) faults.splice(index, 1);
      else (fault as { times?: number }).times = remaining;
    }
    return fault;
  };
  const hasWrongEtag = (repo: string, filePath: string) =>
    faults.some((f) => f.kind === 'wrong-etag' && f.repo === repo && f.path === filePath);
  const advertisedSha256 = (repo: FakeRepo, file: FakeFile) =>
    hasWrongEtag(repo.spec.id, file.path) ? WRONG_SHA256 : file.lfs?.oid;

  function tokenOf(req: http.IncomingMessage): string | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const token = header.replace(/^Bearer\s+/i, '');
    if (!tokens.has(token)) throw new HubReply(401, undefined, 'Invalid credentials in Authorization header');
    return token;
  }

  // Splits `org/name/rest...` into a known repo and the rest; repo ids have one or two segments.
  function findRepo(segments: string[]): { repo: FakeRepo; rest: string[] } {
    for (const length of [2, 1]) {
      const repo = repos.get(segments.slice(0, length).join('/'));
      if (repo) return { repo, rest: segments.slice(length) };
    }
    throw new HubReply(
      404,
      'RepoNotFound',
      `Repository Not Found for url: ${url}/${segments.slice(0, 2).join('/')}.`,
    );
  }

  function checkAccess(repo: FakeRepo, token: string | undefined, forContent: boolean): void {
    const { spec } = repo;
    const allowed = token !== undefined && (spec.access ? spec.access.includes(token) : true);
    if (spec.private && !allowed) {
      // The real hub hides private repos: 401 without a token, 404 with someone else's.
      if (token === undefined) throw new HubReply(401, 'RepoNotFound', 'Invalid username or password.');
      throw new HubReply(404, 'RepoNotFound', `Repository Not Found for url: ${url}/${spec.id}.`);
    }
    if (spec.gated && forContent && !allowed) {
      if (token === undefined) {
        throw new HubReply(
          401,
          'GatedRepo',
          `Access to model ${spec.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
        );
      }
      throw new HubReply(
        403,
        'GatedRepo',
        `Access to model ${spec.id} is restricted and you are not in the authorized list. Visit ${url}/${spec.id} to ask for access.`,
      );
    }
  }

  function revisionOf(repo: FakeRepo, name: string): FakeRevision {
    const revision = findRevision(repo, name);
    if (!revision) throw new HubReply(404, 'RevisionNotFound', `Invalid rev id: ${name}`);
    return revision;
  }

  function fileEntry(repo: FakeRepo, revision: FakeRevision, file: FakeFile, expand: boolean) {
    const sha256 = advertisedSha256(repo, file);
    return {
      type: 'file',
      oid: file.oid,
      size: file.size,
      path: file.path,
      ...(file.lfs ? { lfs: { ...file.lfs, oid: sha256 } } : {}),
      ...(expand
        ? { lastCommit: { id: revision.sha, title: 'Upload', date: '2025-01-01T00:00:00.000Z' } }
        : {}),
    };
  }

  function directoriesOf(revision: FakeRevision): string[] {
    const dirs = new Set<string>();
    for (const filePath of revision.files.keys()) {
      const parts = filePath.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    return [...dirs];
  }

  function directoryEntry(dir: string) {
    return { type: 'directory', oid: '0'.repeat(40), size: 0, path: dir };
  }

  function sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  function modelInfo(repo: FakeRepo, revision: FakeRevision) {
    const { spec } = repo;
    return {
      _id: spec.id
        .replace(/[^a-z0-9]/gi, '')
        .padEnd(24, '0')
        .slice(0, 24),
      id: spec.id,
      modelId: spec.id,
      author: spec.id.includes('/') ? spec.id.split('/')[0] : undefined,
      sha: revision.sha,
      lastModified: '2025-01-01T00:00:00.000Z',
      createdAt: '2025-01-01T00:00:00.000Z',
      private: Boolean(spec.private),
      gated: spec.gated ?? false,
      disabled: false,
      downloads: 0,
      likes: 0,
      tags: [],
      pipeline_tag: 'text-generation',
      cardData: spec.cardData,
      siblings: [...revision.files.keys()].sort().map((rfilename) => ({ rfilename })),
    };
  }

  function tree(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    repo: FakeRepo,
    revision: FakeRevision,
    under: string,
    query: URLSearchParams,
  ): void {
    const recursive = query.get('recursive') === 'true' || query.get('recursive') === '1';
    const expand = query.get('expand') === 'true';
    const prefix = under ? `${under}/` : '';
    if (under && !directoriesOf(revision).includes(under))
      throw new HubReply(404, 'EntryNotFound', `${under} does not exist on "${revision.name}"`);
    const inScope = (p: string) =>
      p.startsWith(prefix) && (recursive || !p.slice(prefix.length).includes('/'));
    const entries = [
      ...directoriesOf(revision).filter(inScope).map(directoryEntry),
      ...[...revision.files.values()]
        .filter((f) => inScope(f.path))
        .map((f) => fileEntry(repo, revision, f, expand)),
    ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const pageSize = options.treePageSize ?? entries.length;
    const cursor = Number(query.get('cursor') ?? 0);
    const page = entries.slice(cursor, cursor + Math.max(pageSize, 1));
    const headers: Record<string, string> = {};
    if (cursor + page.length < entries.length) {
      const next = new URL(req.url ?? '/', url);
      next.searchParams.set('cursor', String(cursor + page.length));
      headers.Link = `<${next.href}>; rel="next"`;
    }
    sendJson(res, 200, page, headers);
  }

  async function pathsInfo(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    repo: FakeRepo,
    revision: FakeRevision,
  ): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    let body: { paths?: unknown; expand?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new HubReply(400, undefined, 'Invalid JSON body');
    }
    if (!Array.isArray(body.paths)) throw new HubReply(400, undefined, '"paths" must be an array');
    const dirs = directoriesOf(revision);
    const out: unknown[] = [];
    for (const p of body.paths as string[]) {
      const file = revision.files.get(p);
      if (file) out.push(fileEntry(repo, revision, file, Boolean(body.expand)));
      else if (dirs.includes(p)) out.push(directoryEntry(p));
    }
    sendJson(res, 200, out);
  }

  function parseRange(
    header: string | undefined,
    size: number,
  ): { start: number; end: number } | 'unsatisfiable' | undefined {
    if (!header) return undefined;
    const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
    if (!match || (match[1] === '' && match[2] === '')) return 'unsatisfiable';
    if (match[1] === '') {
      const suffix = Number(match[2]);
      if (suffix === 0) return 'unsatisfiable';
      return { start: Math.max(size - suffix, 0), end: size - 1 };
    }
    const start = Number(match[1]);
    const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (start >= size || end < start) return 'unsatisfiable';
    return { start, end };
  }

  function resolve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    repo: FakeRepo,
    revision: FakeRevision,
    filePath: string,
    viaCdn = false,
  ): void {
    const file = revision.files.get(filePath);
    if (!file) throw new HubReply(404, 'EntryNotFound', `Entry not found: ${filePath} on "${revision.name}"`);
    const sha256 = advertisedSha256(repo, file);
    const hubHeaders: Record<string, string> = {
      'X-Repo-Commit': revision.sha,
      ...(file.lfs ? { 'X-Linked-Etag': `"${sha256}"`, 'X-Linked-Size': String(file.size) } : {}),
    };
    if (file.lfs && options.redirectLfs && !viaCdn) {
      const location = `${url}/cdn/${repo.spec.id}/${revision.sha}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
      res.writeHead(302, { ...hubHeaders, ETag: `"${file.oid}"`, Location: location, 'Content-Length': '0' });
      res.end();
      return;
    }
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      // A CDN names content its own way; the hub by sha256 or git oid.
      ...(viaCdn
        ? { ETag: `"cdn-${file.oid.slice(0, 16)}"` }
        : { ...hubHeaders, ETag: `"${sha256 ?? file.oid}"` }),
    };
    const range = parseRange(req.headers.range, file.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.size}` });
      res.end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: file.size - 1 };
    const length = Math.max(end - start + 1, 0);
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'Content-Length': String(length),
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}),
    });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const matches = (f: { repo: string; path: string }) => f.repo === repo.spec.id && f.path === filePath;
    const fault = takeFault('drop-connection', matches) ?? takeFault('stall', matches);
    if (!fault) {
      file.read(start, end).pipe(res);
      return;
    }
    // Send part of the body, then cut the connection as a flaky network
    // would, or go silent as a stuck one does.
    const cut = Math.min(fault.afterBytes, length);
    const after = () => {
      if (fault.kind === 'drop-connection') res.socket?.destroy();
    };
    res.flushHeaders();
    if (cut === 0) {
      setImmediate(after);
      return;
    }
    const partial = file.read(start, start + cut - 1);
    partial.on('data', (chunk) => res.write(chunk));
    partial.on('end', () => res.write('', after));
  }

  async function route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    pathname: string,
    query: URLSearchParams,
  ): Promise<void> {
    const segments = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const token = tokenOf(req);
    const status = takeFault('status', (f) => !f.pathPrefix || pathname.startsWith(f.pathPrefix));
    if (status) throw new HubReply(status.status, undefined, `Injected failure ${status.status}`);

    if (segments[0] === 'api' && segments[1] === 'models') {
      const { repo, rest } = findRepo(segments.slice(2));
      checkAccess(repo, token, false);
      const [action, revisionName, ...under] = rest;
      if (revisionName === undefined) throw new HubReply(404, undefined, 'Not Found');
      const revision = revisionOf(repo, revisionName);
      if (action === 'revision' && req.method === 'GET') return sendJson(res, 200, modelInfo(repo, revision));
      if (action === 'tree' && req.method === 'GET')
        return tree(req, res, repo, revision, under.join('/'), query);
      if (action === 'paths-info' && req.method === 'POST') return pathsInfo(req, res, repo, revision);
      throw new HubReply(404, undefined, 'Not Found');
    }

    if (segments[0] === 'cdn') {
      // Stands for a signed CDN URL: no token needed, whatever the repo.
      const { repo, rest } = findRepo(segments.slice(1));
      const [commit, ...filePath] = rest;
      return resolve(req, res, repo, revisionOf(repo, commit ?? ''), filePath.join('/'), true);
    }
    const { repo, rest } = findRepo(segments);
    const [action, revisionName, ...filePath] = rest;
    if (action !== 'resolve' || revisionName === undefined || !['GET', 'HEAD'].includes(req.method ?? ''))
      throw new HubReply(404, undefined, 'Not Found');
    checkAccess(repo, token, true);
    resolve(req, res, repo, revisionOf(repo, revisionName), filePath.join('/'));
  }

  const server = http.createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: FakeHubRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(parsed.pathname),
      url: req.url ?? '/',
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      status: 0,
    };
    requests.push(record);
    res.on('finish', () => (record.status = res.statusCode));
    res.on('close', () => (record.status ||= res.statusCode));
    route(req, res, parsed.pathname, parsed.searchParams).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HubReply) {
        sendJson(
          res,
          error.status,
          { error: error.message },
          error.errorCode ? { 'X-Error-Code': error.errorCode, 'X-Error-Message': error.message } : {},
        );
      } else {
        sendJson(res, 500, { error: String(error) });
      }
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    clearRequests: () => void requests.splice(0, requests.length),
    inject: (fault) => void faults.push({ ...fault }),
    commitOf(repoId, revision = 'main') {
      const repo = repos.get(repoId);
      const found = repo && findRevision(repo, revision);
      if (!found) throw new Error(`the fake hub has no ${repoId}@${revision}`);
      return found.sha;
    },
    stop: () =>
      new Promise<void>((resolveClose, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolveClose()));
      }),
  };
}

// fetch to the local llama-server, asking again when a kept-alive
// connection was closed under the request.
//
// llama-server (cpp-httplib) closes an idle connection after 5 s and says so
// in `Keep-Alive: timeout=5`. Node's fetch stops reusing a connection a
// second before that, but it checks with timers of about a second's
// resolution, so on a busy machine it can still send a request down a
// connection the server is closing at that moment. The request then fails
// with "other side closed" before any answer. Browsers ask again on a fresh
// connection in that case, and so does this. Nothing came back, so nothing
// reached the client; llama-server never started on a request it did not
// read, and a repeated generation has no effect beyond the compute.

import { causeChain } from '@alki/errors';

const STALE_CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/** Tries per request: a pool can hold several connections that went stale together. */
const ATTEMPTS = 3;

/**
 * `fetch(url, init)`, sent again (at most twice more) when the connection
 * broke before any answer came: a kept-alive connection closed by the server.
 * Other failures, and any failure once `init.signal` is aborted, are thrown
 * as they come. The body must be a string (or absent), so it can be sent again.
 */
export async function fetchUpstream(
  url: string,
  init: RequestInit & { body?: string } = {},
  fetchImpl: typeof fetch = fetch,
): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchImpl(url, init);
    } catch (error) {
      const innermostCode = causeChain(error)
        .map((cause) => cause.code)
        .filter((code): code is string => typeof code === 'string')
        .at(-1);
      const stale = STALE_CONNECTION_CODES.has(innermostCode ?? '');
      if (!stale || attempt >= ATTEMPTS || init.signal?.aborted) throw error;
    }
  }
}

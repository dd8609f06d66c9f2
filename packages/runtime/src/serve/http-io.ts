import type { IncomingMessage, ServerResponse } from 'node:http';
import { RuntimeError } from '../errors.js';

// application/json, or a structured +json type (RFC 6839), with parameters.
const JSON_MEDIA_TYPE = /^application\/([a-z0-9.-]+\+)?json\s*(;.*)?$/i;

/**
 * Reads a JSON request body of at most `limit` bytes. A body that does not
 * say it is JSON gets 415: a web page can POST text/plain, form data or an
 * untyped body to any address without a CORS preflight, so accepting those
 * would let any page a user visits make the device generate. Oversized
 * bodies and malformed JSON become RuntimeErrors that map to 413 and 400.
 */
export async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const type = request.headers['content-type'];
  if (!type || !JSON_MEDIA_TYPE.test(type)) {
    throw new RuntimeError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The request body must be JSON, sent with Content-Type: application/json; got ${type ? JSON.stringify(type) : 'no Content-Type'}.`,
      { details: { param: 'Content-Type' } },
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RuntimeError('BODY_TOO_LARGE', `The request body is over ${limit} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RuntimeError(
      'REQUEST_INVALID',
      `The request body is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Starts a server-sent events stream (the format OpenAI streaming uses). */
export function startEventStream(response: ServerResponse): { send(data: unknown): void; end(): void } {
  response.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  response.flushHeaders();
  // A client that hung up gets nothing more; writing to its socket would only raise errors.
  const open = () => !response.destroyed && !response.writableEnded;
  return {
    send: (data) => {
      if (open()) response.write(`data: ${JSON.stringify(data)}\n\n`);
    },
    end: () => {
      if (open()) response.end('data: [DONE]\n\n');
    },
  };
}

// A load generator for OpenAI-compatible servers: many streamed chat
// completions at once, each timed from the request to its first token (the
// wait for a free slot plus prompt processing) and to its end. Used by the
// serving load test and tools/bench/serve-load.ts.
import http from 'node:http';

export interface ChatLoadOptions {
  /** Base URL of the server, `http://127.0.0.1:8080`. */
  url: string;
  model: string;
  /** Requests sent at the same moment. */
  requests: number;
  maxTokens: number;
  /** The user message of request `i`; distinct by default so no cache answers twice. */
  prompt?: (i: number) => string;
  /** Extra request headers (an API key). */
  headers?: Record<string, string>;
  temperature?: number;
}

export interface ChatLoadAnswer {
  status: number;
  /** The error body, or the error event of a broken stream; empty for a good answer. */
  error: string;
  firstTokenMs: number;
  totalMs: number;
  completionTokens: number;
  promptTokens: number;
  finishReason: string | null;
}

export interface ChatLoadResult {
  answers: ChatLoadAnswer[];
  /** Answers that were not a 200 with a complete stream. */
  failures: ChatLoadAnswer[];
  wallMs: number;
}

// A POST with a JSON body, answered by the response stream; no timeout of its own.
function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
    });
    request.once('response', resolve);
    request.once('error', reject);
    request.end(JSON.stringify(body));
  });
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** One streamed chat completion, timed. Never throws: a failure is data. */
async function timedChat(options: ChatLoadOptions, i: number, started: number): Promise<ChatLoadAnswer> {
  const answer: ChatLoadAnswer = {
    status: 0,
    error: '',
    firstTokenMs: NaN,
    totalMs: NaN,
    completionTokens: 0,
    promptTokens: 0,
    finishReason: null,
  };
  try {
    // node:http, not fetch: fetch gives up on a response whose headers take over 300 s (undici's
    // headersTimeout), and a request queued behind 64x the slots can wait that long for its turn.
    const response = await postJson(`${options.url}/v1/chat/completions`, options.headers ?? {}, {
      model: options.model,
      messages: [{ role: 'user', content: options.prompt?.(i) ?? `Request ${i}: tell me a story.` }],
      max_tokens: options.maxTokens,
      temperature: options.temperature ?? 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    answer.status = response.statusCode ?? 0;
    if (answer.status !== 200) {
      answer.error = await readAll(response);
      return answer;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    let done = false;
    for await (const bytes of response as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(bytes, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = buffer.slice(0, end).replace(/^data: /, '');
        buffer = buffer.slice(end + 2);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const event = JSON.parse(data) as {
          error?: unknown;
          choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }>;
          usage?: { completion_tokens: number; prompt_tokens: number };
        };
        if (event.error) answer.error = JSON.stringify(event.error);
        const choice = event.choices?.[0];
        if (choice?.delta?.content && Number.isNaN(answer.firstTokenMs))
          answer.firstTokenMs = performance.now() - started;
        if (choice?.finish_reason) answer.finishReason = choice.finish_reason;
        if (event.usage) {
          answer.completionTokens = event.usage.completion_tokens;
          answer.promptTokens = event.usage.prompt_tokens;
        }
      }
    }
    if (!done && !answer.error) answer.error = 'the stream ended without [DONE]';
  } catch (error) {
    answer.error = (error as Error).message;
  } finally {
    answer.totalMs = performance.now() - started;
  }
  return answer;
}

/**
 * Sends `requests` streamed chat completions at once and waits for all of
 * them.
 *
 * @example
 * const { failures, answers } = await sendChatLoad({ url, model: 'tiny', requests: 16, maxTokens: 32 });
 */
export async function sendChatLoad(options: ChatLoadOptions): Promise<ChatLoadResult> {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: options.requests }, (_, i) => timedChat(options, i, started)),
  );
  return {
    answers,
    failures: answers.filter((a) => a.status !== 200 || a.error !== ''),
    wallMs: performance.now() - started,
  };
}

/** The value below which `fraction` of the values lie (nearest rank). */
export function percentile(values: number[], fraction: number): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

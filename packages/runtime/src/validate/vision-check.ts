import { requireLlamaTool } from '@alki/llama-tools';
import { startLlamaServerEngine } from '../serve/llama-server-engine.js';
import { gradientPng } from '../vision/generated-image.js';
import { parseImageUrl } from '../vision/image-input.js';
import type { ValidationCheck } from './report.js';

export interface VisionCheckOptions {
  /** Tokens to generate in answer. */
  maxTokens: number;
  contextSize: number;
  threads: number;
  /** The llama-server binary; by default the native tools build, then PATH. */
  llamaServerBinary?: string;
  signal?: AbortSignal;
}

/** The side of the image sent, in pixels: small enough to encode in a moment on any CPU. */
const IMAGE_SIDE = 32;

/**
 * Proves a vision bundle reads images: llama-server loads the model with its
 * projector (`--mmproj`), gets one small generated PNG in a chat request as
 * an OpenAI image_url part, and must answer. node-llama-cpp has no
 * multimodal API, so this check needs llama-server; without one it fails
 * and says how to get it.
 *
 * @example
 * const check = await checkVision('m.gguf', 'mmproj.gguf', { maxTokens: 4, contextSize: 512, threads: 1 });
 */
export async function checkVision(
  modelPath: string,
  projectorPath: string,
  options: VisionCheckOptions,
): Promise<ValidationCheck> {
  const started = performance.now();
  const result = (
    status: 'pass' | 'fail',
    message: string,
    details?: Record<string, unknown>,
  ): ValidationCheck => ({
    name: 'vision',
    status,
    message,
    durationMs: Math.round(performance.now() - started),
    ...(details ? { details } : {}),
  });
  let binary: string;
  try {
    binary = options.llamaServerBinary ?? requireLlamaTool('llama-server');
  } catch (error) {
    return result(
      'fail',
      `llama-server is needed to check the vision projector (node-llama-cpp reads no images), and none was found: ${(error as Error).message}`,
    );
  }
  const url = `data:image/png;base64,${gradientPng(IMAGE_SIDE).toString('base64')}`;
  let engine;
  try {
    engine = await startLlamaServerEngine({
      binary,
      settings: {
        modelPath,
        projectorPath,
        modelId: 'alki-vision-check',
        host: '127.0.0.1',
        port: 0,
        ctx: options.contextSize,
        threads: options.threads,
        ngl: 0,
        parallel: 1,
      },
      signal: options.signal,
    });
  } catch (error) {
    return result(
      'fail',
      `llama-server could not load the model with its projector: ${(error as Error).message}`,
    );
  }
  try {
    const answer = await engine.generate(
      {
        kind: 'chat',
        messages: [
          {
            role: 'user',
            content: 'What is in this image?',
            parts: [
              { type: 'text', text: 'What is in this image?' },
              { type: 'image', image: parseImageUrl(url, 'image') },
            ],
          },
        ],
        maxTokens: options.maxTokens,
        temperature: 0,
        stop: [],
        stream: false,
        includeUsage: false,
        extra: {},
      },
      () => undefined,
      options.signal ?? new AbortController().signal,
    );
    if (answer.completionTokens === 0)
      return result('fail', 'llama-server took the image but generated nothing in answer.');
    return result(
      'pass',
      `llama-server read a ${IMAGE_SIDE}×${IMAGE_SIDE} PNG through the projector (a ${answer.promptTokens}-token prompt) and answered with ${answer.completionTokens} tokens.`,
      { sample: answer.text, promptTokens: answer.promptTokens },
    );
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return result('fail', `llama-server failed on a request with an image: ${(error as Error).message}`);
  } finally {
    await engine.close();
  }
}

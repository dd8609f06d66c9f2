import os from 'node:os';
import type {
  Llama,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp';
import { RuntimeError } from '../errors.js';
import type { GenerationRequest, GenerationResult } from '../openai/protocol.js';
import type { Engine } from './engine.js';
import { Pool } from './sequence-pool.js';
import { nodeFunctions, openAiToolCalls, toNodeHistory } from './tool-calls.js';

export interface NodeLlamaEngineOptions {
  modelPath: string;
  modelId: string;
  /** Tokens per request (per sequence). */
  contextSize: number;
  /** CPU threads; capped at the core count (more threads make generation far slower). */
  threads?: number;
  /** Requests generated at the same time; more wait in a queue. Default 4. */
  parallel?: number;
  /** An existing node-llama-cpp instance; by default the prebuilt CPU build. */
  llama?: Llama;
  /** Serve embeddings too, from an embedding context made on first use. */
  embeddings?: boolean;
  /**
   * The model's vision projector, which node-llama-cpp cannot load: set, it
   * makes requests with images fail with a 400 that names the engine that can.
   */
  projectorPath?: string;
}

/** Threads for node-llama-cpp: the request, at most the core count (FACTS: 4 threads on 2 cores is ~100x slower). */
export function effectiveThreads(
  requested: number | 'auto' | undefined,
  cores = os.availableParallelism(),
): number {
  if (requested === undefined || requested === 'auto') return cores;
  return Math.max(1, Math.min(cores, requested));
}

// The OpenAI fields node-llama-cpp serves beyond what the front reads: JSON
// output through a grammar, and function calling.
const NODE_FIELDS = new Set(['response_format', 'tools', 'tool_choice', 'parallel_tool_calls']);

function servedByLlamaServer(field: string): RuntimeError {
  return new RuntimeError(
    'REQUEST_INVALID',
    `'${field}' is not served by the built-in node-llama-cpp engine; serve with --engine llama-server, which takes every field llama-server does.`,
    { details: { param: field } },
  );
}

/** The grammar a request's response_format asks for (json_object, or json_schema with its schema); undefined for text. */
async function responseGrammar(llama: Llama, format: unknown): Promise<LlamaGrammar | undefined> {
  if (format === undefined || format === null) return undefined;
  const spec = format as { type?: unknown; json_schema?: { schema?: unknown } };
  if (spec.type === 'text') return undefined;
  if (spec.type === 'json_object') return llama.getGrammarFor('json');
  if (
    spec.type === 'json_schema' &&
    spec.json_schema?.schema &&
    typeof spec.json_schema.schema === 'object'
  ) {
    try {
      return await llama.createGrammarForJsonSchema(spec.json_schema.schema as never);
    } catch (error) {
      throw new RuntimeError(
        'REQUEST_INVALID',
        `response_format.json_schema.schema cannot be served by node-llama-cpp: ${(error as Error).message}`,
        { details: { param: 'response_format' } },
      );
    }
  }
  throw new RuntimeError(
    'REQUEST_INVALID',
    "'response_format' must be {type: 'text'}, {type: 'json_object'} or {type: 'json_schema', json_schema: {schema}}.",
    { details: { param: 'response_format' } },
  );
}

function contextExceeded(promptTokens: number, contextSize: number): RuntimeError {
  return new RuntimeError(
    'CONTEXT_EXCEEDED',
    `The prompt is ${promptTokens} tokens, and the context holds ${contextSize}; shorten it or serve with a larger context.`,
    {
      details: { param: 'messages', promptTokens, contextSize },
    },
  );
}

/**
 * The built-in engine: node-llama-cpp in this process, with `parallel`
 * context sequences generating at once and a FIFO queue for the rest.
 *
 * @example
 * const engine = await createNodeLlamaEngine({ modelPath: 'model.gguf', modelId: 'model', contextSize: 2048, threads: 2 });
 * const server = await startOpenAiServer({ engine, port: 8080 });
 */
export async function createNodeLlamaEngine(options: NodeLlamaEngineOptions): Promise<Engine> {
  // Loaded here, not with the module: @alki/runtime's index reaches this file, and node-llama-cpp's own index
  // costs about 0.3 s and 25 MB to every process that imports the runtime (alki serve with llama-server, the agent).
  const { getLlama, LlamaChat, LlamaCompletion, LlamaLogLevel, resolveChatWrapper } =
    await import('node-llama-cpp');
  const parallel = Math.max(1, options.parallel ?? 4);
  const threads = effectiveThreads(options.threads);
  const llama =
    options.llama ??
    (await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: threads }).catch(
      (error: unknown) => {
        throw new RuntimeError(
          'ENGINE_UNAVAILABLE',
          `node-llama-cpp has no working binary for this machine: ${(error as Error).message}`,
          {
            cause: error,
            hint: 'Reinstall node-llama-cpp (npm ci), or serve with --engine llama-server.',
          },
        );
      },
    ));
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: options.modelPath });
  } catch (error) {
    throw new RuntimeError(
      'ENGINE_UNAVAILABLE',
      `node-llama-cpp could not load ${options.modelPath}: ${(error as Error).message}`,
      { category: 'input', cause: error, hint: 'Run `alki validate` on the model for the precise reason.' },
    );
  }
  const context = await model.createContext({
    contextSize: options.contextSize,
    sequences: parallel,
    threads,
  });
  const sequences: LlamaContextSequence[] = [];
  for (let i = 0; i < parallel; i++) sequences.push(context.getSequence());
  const pool = new Pool(sequences);
  // Resolving the chat wrapper compares the model's Jinja template with every
  // known format, which takes seconds on a small CPU: do it once, not per request.
  const chatWrapper = resolveChatWrapper(model);
  const contextSize = context.contextSize;
  let embeddingContext: Promise<LlamaEmbeddingContext> | undefined;

  async function generate(
    request: GenerationRequest,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    // Refused before the request takes a sequence: fields this engine cannot honour.
    const unserved = Object.keys(request.extra).find((field) => !NODE_FIELDS.has(field));
    if (unserved !== undefined) throw servedByLlamaServer(unserved);
    const history = request.kind === 'chat' ? toNodeHistory(request.messages ?? []) : undefined;
    const grammar = await responseGrammar(llama, request.extra.response_format);
    const tools =
      request.kind === 'chat'
        ? nodeFunctions(request.extra.tools, request.extra.tool_choice, request.extra.parallel_tool_calls)
        : undefined;
    if (tools && grammar)
      throw new RuntimeError(
        'REQUEST_INVALID',
        "'response_format' and 'tools' together are not served by the built-in node-llama-cpp engine (it cannot apply a grammar while the model may call a function); serve with --engine llama-server.",
        { details: { param: 'response_format' } },
      );
    if (request.kind === 'completion' && request.extra.tools !== undefined)
      throw servedByLlamaServer('tools');
    const sequence = await pool.acquire(signal);
    let completionTokens = 0;
    // The sampling and streaming options both node-llama-cpp generators take (and a grammar, but not beside functions).
    const options = (promptTokens: number) => {
      if (promptTokens >= contextSize) throw contextExceeded(promptTokens, contextSize);
      return {
        // Never past the context: the answer stops with finish_reason "length" instead of shifting the prompt out.
        maxTokens: Math.min(request.maxTokens ?? Infinity, contextSize - promptTokens),
        temperature: request.temperature,
        topP: request.topP,
        seed: request.seed,
        customStopTriggers: request.stop.length ? request.stop : undefined,
        onTextChunk: onText,
        onToken: (tokens: readonly unknown[]) => {
          completionTokens += tokens.length;
        },
        signal,
        stopOnAbortSignal: true,
      };
    };
    const result = (text: string, promptTokens: number, stopReason: string): GenerationResult => ({
      text,
      promptTokens,
      completionTokens,
      finishReason: stopReason === 'maxTokens' ? 'length' : 'stop',
    });
    try {
      if (request.kind === 'completion') {
        const prompt = request.prompt ?? '';
        const promptTokens = model.tokenize(prompt).length;
        const completion = new LlamaCompletion({ contextSequence: sequence });
        try {
          const { response, metadata } = await completion.generateCompletionWithMeta(prompt, {
            ...options(promptTokens),
            ...(grammar ? { grammar } : {}),
            disableContextShift: true,
          });
          return result(response, promptTokens, metadata.stopReason);
        } finally {
          completion.dispose({ disposeSequence: false });
        }
      }
      const chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false, chatWrapper });
      try {
        const chatHistory = history ?? [];
        const promptTokens = chat.chatWrapper
          .generateContextState({ chatHistory, availableFunctions: tools?.functions })
          .contextText.tokenize(model.tokenizer).length;
        if (!tools) {
          const { response, metadata } = await chat.generateResponse(chatHistory, {
            ...options(promptTokens),
            ...(grammar ? { grammar } : {}),
          });
          return result(response, promptTokens, metadata.stopReason);
        }
        // node-llama-cpp stops at the end of the model's function calls and returns them unrun.
        const { response, functionCalls, metadata } = await chat.generateResponse(chatHistory, {
          ...options(promptTokens),
          functions: tools.functions,
          ...(tools.maxParallelFunctionCalls
            ? { maxParallelFunctionCalls: tools.maxParallelFunctionCalls }
            : {}),
        });
        if (metadata.stopReason !== 'functionCalls' || !functionCalls?.length)
          return result(response, promptTokens, metadata.stopReason);
        return {
          ...result(response, promptTokens, metadata.stopReason),
          finishReason: 'tool_calls',
          toolCalls: openAiToolCalls(functionCalls),
        };
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    } finally {
      pool.release(sequence);
    }
  }

  return {
    name: 'node-llama-cpp',
    modelId: options.modelId,
    contextSize,
    // node-llama-cpp 3 has no multimodal API: the projector cannot be loaded here.
    ...(options.projectorPath !== undefined
      ? {
          images:
            'The node-llama-cpp engine does not read images; serve with --engine llama-server (alki tools build), which loads the vision projector.',
        }
      : {}),
    generate,
    ...(options.embeddings
      ? {
          async embed(input: string[], signal: AbortSignal) {
            embeddingContext ??= model.createEmbeddingContext({ contextSize: options.contextSize, threads });
            const embedder = await embeddingContext;
            const embeddings: number[][] = [];
            let promptTokens = 0;
            for (const text of input) {
              signal.throwIfAborted();
              const tokens = model.tokenize(text);
              if (tokens.length > options.contextSize)
                throw contextExceeded(tokens.length, options.contextSize);
              promptTokens += tokens.length;
              embeddings.push([...(await embedder.getEmbeddingFor(tokens)).vector]);
            }
            return { embeddings, promptTokens };
          },
        }
      : {}),
    async close() {
      await (await embeddingContext)?.dispose();
      await context.dispose();
      await model.dispose();
    },
  };
}

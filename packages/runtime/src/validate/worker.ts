// The validation child process. llama.cpp aborts the whole process on some
// broken models (GGML_ASSERT, exit 134), so the parent never loads a model
// itself: it runs this file and reads results from IPC messages.
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { checkChatTemplate, checkGeneration, checkScore, checkTokenizer } from './checks.js';
import type { CheckName, ValidationCheck, ModelMetrics } from './report.js';
import type { WorkerMessage, WorkerRequest } from './worker-protocol.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

async function timed<T>(check: CheckName, run: () => Promise<T> | T): Promise<T> {
  await send({ type: 'start', check });
  return run();
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as WorkerRequest;
  const metrics: ModelMetrics = {};
  const report = (result: ValidationCheck) => send({ type: 'result', result });
  const loadStarted = performance.now();
  const model = await timed('load', async () => {
    const llama = await getLlama({
      gpu: false,
      build: 'never',
      logLevel: LlamaLogLevel.error,
      maxThreads: request.threads,
    });
    return llama.loadModel({ modelPath: request.modelPath });
  }).catch(async (error: unknown) => {
    await report({
      name: 'load',
      status: 'fail',
      message: `node-llama-cpp could not load the model: ${(error as Error).message}`,
    });
    return undefined;
  });
  if (!model) {
    await send({ type: 'done', metrics });
    return;
  }
  metrics.loadMs = Math.round(performance.now() - loadStarted);
  await report({
    name: 'load',
    status: 'pass',
    message: `Loaded in ${metrics.loadMs} ms (${model.fileInfo.metadata.general.architecture}, ${model.trainContextSize} context).`,
    durationMs: metrics.loadMs,
  });
  await report(await timed('tokenizer', () => checkTokenizer(model)));
  const tokenizerMeta = model.fileInfo.metadata.tokenizer as { chat_template?: string } | undefined;
  const special = (id: Token | null) => (id === null ? undefined : model.detokenize([id], true));
  await report(
    await timed('chat-template', () =>
      checkChatTemplate(tokenizerMeta?.chat_template, {
        bos: special(model.tokens.bos),
        eos: special(model.tokens.eos),
      }),
    ),
  );
  const generation = await timed('generation', () => checkGeneration(model, request, metrics));
  await report(generation.result);
  if (request.score) await report(await timed('score', () => checkScore(model, request, metrics)));
  metrics.peakRssBytes = process.resourceUsage().maxRSS * 1024;
  await send({ type: 'done', metrics, sample: generation.sample });
  await model.dispose();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);

import { Template } from '@huggingface/jinja';
import { LlamaCompletion, type LlamaModel, type Token } from 'node-llama-cpp';
import { SCORE_TEXT } from './builtin-text.js';
import type { ValidationCheck, ModelMetrics } from './report.js';
import type { WorkerRequest } from './worker-protocol.js';

// The round-trip text mixes words, digits, punctuation and spacing, the
// places where tokenizers most often lose or add characters.
const ROUND_TRIP_TEXT = 'Hello world! 42 apples, 7 pears; the end.';

/** Tokenizes and detokenizes a fixed text and compares the result with it. */
export function checkTokenizer(model: LlamaModel): ValidationCheck {
  const tokens = model.tokenize(ROUND_TRIP_TEXT);
  const back = model.detokenize(tokens);
  if (tokens.length === 0)
    return {
      name: 'tokenizer',
      status: 'fail',
      message: 'The tokenizer produced no tokens for a plain English sentence.',
    };
  // SentencePiece models may add one leading space on decode (llama.cpp's
  // add_space_prefix); that is not a loss.
  if (back !== ROUND_TRIP_TEXT && back !== ` ${ROUND_TRIP_TEXT}`) {
    let at = 0;
    while (at < back.length && back[at] === ROUND_TRIP_TEXT[at]) at++;
    return {
      name: 'tokenizer',
      status: 'fail',
      message: `Detokenizing gave ${JSON.stringify(back)}, which differs from ${JSON.stringify(ROUND_TRIP_TEXT)} at character ${at}.`,
      details: { tokens: tokens.length, decoded: back },
    };
  }
  return {
    name: 'tokenizer',
    status: 'pass',
    message: `${tokens.length} tokens, decoded back exactly.`,
    details: { tokens: tokens.length },
  };
}

/** Renders the model's tokenizer.chat_template (a Jinja template) for a two-turn chat. */
export function checkChatTemplate(
  template: string | undefined,
  specialTokens: { bos?: string; eos?: string },
): ValidationCheck {
  if (!template)
    return {
      name: 'chat-template',
      status: 'skip',
      message: 'The model has no tokenizer.chat_template; chat requests use a generic format.',
    };
  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say hi.' },
  ];
  let rendered: string;
  try {
    rendered = new Template(template).render({
      messages,
      add_generation_prompt: true,
      bos_token: specialTokens.bos ?? '',
      eos_token: specialTokens.eos ?? '',
    });
  } catch (error) {
    return {
      name: 'chat-template',
      status: 'fail',
      message: `The chat template does not render: ${(error as Error).message}`,
    };
  }
  if (!rendered.includes('Say hi.')) {
    return {
      name: 'chat-template',
      status: 'fail',
      message: 'The rendered chat template does not contain the user message.',
      details: { rendered: rendered.slice(0, 500) },
    };
  }
  return {
    name: 'chat-template',
    status: 'pass',
    message: `Renders a system and user turn to ${rendered.length} characters.`,
    details: { rendered: rendered.slice(0, 500) },
  };
}

/** A short greedy generation, timed: prompt speed from the first token, generation speed after it. */
export async function checkGeneration(
  model: LlamaModel,
  request: WorkerRequest,
  metrics: ModelMetrics,
): Promise<{ result: ValidationCheck; sample?: string }> {
  const context = await model.createContext({ contextSize: request.contextSize, threads: request.threads });
  try {
    const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    const promptTokens = model.tokenize(request.prompt).length;
    if (promptTokens >= context.contextSize) {
      return {
        result: {
          name: 'generation',
          status: 'fail',
          message: `The prompt is ${promptTokens} tokens, which does not fit a context of ${context.contextSize}.`,
        },
      };
    }
    let generated = 0;
    let firstAt = 0;
    const started = performance.now();
    const text = await completion.generateCompletion(request.prompt, {
      maxTokens: request.maxTokens,
      temperature: 0,
      onToken: (tokens) => {
        if (generated === 0) firstAt = performance.now();
        generated += tokens.length;
      },
    });
    const ended = performance.now();
    metrics.promptTokens = promptTokens;
    metrics.generatedTokens = generated;
    if (generated === 0)
      return {
        result: {
          name: 'generation',
          status: 'fail',
          message: 'The model generated no tokens: it ended its answer at once.',
        },
        sample: text,
      };
    // The first token's time covers evaluating the prompt and sampling once.
    metrics.promptTokensPerSecond = round(promptTokens / ((firstAt - started) / 1000));
    if (generated > 1)
      metrics.generationTokensPerSecond = round((generated - 1) / ((ended - firstAt) / 1000));
    return {
      result: {
        name: 'generation',
        status: 'pass',
        message: `Generated ${generated} tokens in ${Math.round(ended - started)} ms.`,
        durationMs: Math.round(ended - started),
      },
      sample: text,
    };
  } finally {
    await context.dispose();
  }
}

/**
 * Mean negative log-likelihood per token of SCORE_TEXT: each token's
 * probability given the tokens before it, from the full next-token
 * distribution (temperature 1, no top-k or top-p truncation).
 */
export async function checkScore(
  model: LlamaModel,
  request: WorkerRequest,
  metrics: ModelMetrics,
): Promise<ValidationCheck> {
  const tokens = model.tokenize(SCORE_TEXT, false);
  const bos = model.tokens.bos;
  const input: Token[] = bos === null ? tokens : [bos, ...tokens];
  const limit = Math.min(input.length, request.contextSize);
  const context = await model.createContext({ contextSize: Math.max(limit, 64), threads: request.threads });
  try {
    const sequence = context.getSequence();
    const outputs = await sequence.controlledEvaluate(
      input.slice(0, limit).map((token, i) =>
        i < limit - 1
          ? [
              token,
              {
                generateNext: {
                  probabilities: true,
                  options: { temperature: 1, topK: 0, topP: 1, minP: 0 },
                },
              },
            ]
          : token,
      ),
    );
    let total = 0;
    let counted = 0;
    for (let i = 0; i < limit - 1; i++) {
      const probability = outputs[i]?.next?.probabilities?.get(input[i + 1]) ?? 0;
      // A zero probability would be an infinite loss; floor it so one token
      // cannot hide the rest (1e-10 is a loss of 23 nats).
      total += -Math.log(Math.max(probability, 1e-10));
      counted++;
    }
    const meanNll = total / counted;
    metrics.meanNll = round(meanNll, 4);
    metrics.perplexity = round(Math.exp(meanNll), 2);
    if (!Number.isFinite(meanNll))
      return { name: 'score', status: 'fail', message: 'The per-token loss is not a finite number.' };
    return {
      name: 'score',
      status: 'pass',
      message: `Mean negative log-likelihood ${metrics.meanNll} nats per token over ${counted} tokens (perplexity ${metrics.perplexity}).`,
      details: { tokens: counted },
    };
  } finally {
    await context.dispose();
  }
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

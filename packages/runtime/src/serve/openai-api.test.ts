import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getMetadata, openGguf } from '@alki/gguf-reader';
import { cachedScriptedLlamaGguf, cachedTinyLlamaGguf, nativeTools, SCRIPTED_TOOL_CALL } from '@alki/testkit';
import { Ajv } from 'ajv';
import OpenAI, { BadRequestError } from 'openai';
import { serveModel } from './serve.js';
import { resolveGgufSettings } from './settings.js';
import type { RunningServer } from './openai-server.js';

// The fields of the OpenAI API beyond the ones the front reads itself, on the
// real engines: llama-server gets every field as the client sent it; the
// built-in engine serves response_format through a grammar and refuses the
// rest by name. The tiny test model has random weights, so what it says is
// noise, but a grammar decides its form, and the prompt it is given is
// measurable. Tool calls are tested with the scripted model, whose weights
// make it call get_weather for Paris, then answer in text once the result
// is in the prompt.

// A ChatML template that renders tools and the messages of a tool-call round trip.
const TOOLS_TEMPLATE =
  '{%- if tools %}<|im_start|>system\nTools: <tools>{% for tool in tools %}{{ tool | tojson }}{% endfor %}</tools> Call one as <tool_call>{"name": "...", "arguments": {...}}</tool_call><|im_end|>\n{% endif %}' +
  "{%- for message in messages %}{%- if message.role == 'tool' %}<|im_start|>user\n<tool_response>{{ message.content }}</tool_response><|im_end|>\n" +
  '{% elif message.role == \'assistant\' and message.tool_calls %}<|im_start|>assistant\n{% for call in message.tool_calls %}<tool_call>{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}</tool_call>{% endfor %}<|im_end|>\n' +
  '{% else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endif %}{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';

const COLOR_SCHEMA = {
  type: 'object',
  properties: { color: { enum: ['red', 'blue'] } },
  required: ['color'],
  additionalProperties: false,
};
const validColor = new Ajv().compile(COLOR_SCHEMA);
const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** Serves the tools-template model (or the scripted one) on `engine` for the enclosing describe block. */
function serving(engine: 'llama-server' | 'node-llama-cpp', embeddings = false, scripted = false) {
  const state = {} as { server: RunningServer; client: OpenAI; model: string };
  beforeAll(async () => {
    const model = scripted
      ? await cachedScriptedLlamaGguf()
      : await cachedTinyLlamaGguf({ chatTemplate: TOOLS_TEMPLATE, contextLength: 1024 });
    const settings = await resolveGgufSettings(model.path, {
      port: 0,
      ctx: 1024,
      threads: 1,
      parallel: 1,
      embeddings,
    });
    const llamaServerBinary =
      engine === 'llama-server' ? (await nativeTools()).paths['llama-server'] : undefined;
    state.server = (await serveModel({ settings, engine, llamaServerBinary })).server;
    state.model = settings.modelId;
    state.client = new OpenAI({ baseURL: `${state.server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  }, 120_000);
  afterAll(async () => {
    await state.server?.close();
  });
  return state;
}

/** Two texts' embeddings: one vector each of the model's width, finite, not equal, and their tokens counted. */
async function expectEmbeddings({ client, model }: { client: OpenAI; model: string }, width: number) {
  const answer = await client.embeddings.create({ model, input: ['hello there', 'a different text'] });
  expect(answer.object).toBe('list');
  expect(answer.data.map((d) => d.index)).toEqual([0, 1]);
  for (const { embedding } of answer.data) {
    expect(embedding).toHaveLength(width);
    expect(embedding.every(Number.isFinite)).toBe(true);
  }
  expect(answer.data[0].embedding).not.toEqual(answer.data[1].embedding);
  expect(answer.usage.prompt_tokens).toBeGreaterThan(3);
  // The openai client asks for base64 unless told otherwise; both forms are served.
  const floats = await client.embeddings.create({ model, input: 'hello there', encoding_format: 'float' });
  expect(floats.data[0].embedding).toHaveLength(width);
}

/** Asks for a color as JSON under COLOR_SCHEMA and checks the answer validates. */
async function expectSchemaAnswer({ client, model }: { client: OpenAI; model: string }) {
  const answer = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'Pick a color.' }],
    max_tokens: 100,
    temperature: 0,
    response_format: { type: 'json_schema', json_schema: { name: 'color', schema: COLOR_SCHEMA } },
  });
  const parsed: unknown = JSON.parse(answer.choices[0].message.content ?? '');
  expect(validColor(parsed)).toBe(true);
  expect(answer.choices[0].finish_reason).toBe('stop');
}

const WEATHER_REPORT = '{"temperature": 21, "sky": "sunny"}';

/**
 * A tool-call round trip with the scripted model: it calls get_weather with
 * {city: 'Paris'}; the call and its result go back, and it answers in text.
 * Then the same through the openai client's own tool runner, streamed: the
 * client assembles the call from its deltas, runs the function and sends the
 * result back.
 */
async function expectToolRoundTrip({ client, model }: { client: OpenAI; model: string }) {
  const question = { role: 'user' as const, content: 'What is the weather in Paris?' };
  const first = await client.chat.completions.create({
    model,
    messages: [question],
    tools: [WEATHER_TOOL],
    max_tokens: 40,
  });
  const asked = first.choices[0];
  expect(asked.finish_reason).toBe('tool_calls');
  expect(asked.message.tool_calls).toHaveLength(1);
  const call = asked.message.tool_calls![0];
  if (call.type !== 'function') throw new Error(`expected a function call, got ${call.type}`);
  expect(call.function.name).toBe(SCRIPTED_TOOL_CALL.name);
  expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
  expect(call.id).toMatch(/\S/);
  const second = await client.chat.completions.create({
    model,
    messages: [question, asked.message, { role: 'tool', tool_call_id: call.id, content: WEATHER_REPORT }],
    tools: [WEATHER_TOOL],
    max_tokens: 40,
  });
  expect(second.choices[0].finish_reason).toBe('stop');
  expect(second.choices[0].message.tool_calls ?? []).toEqual([]);
  expect(second.choices[0].message.content).toBe(SCRIPTED_TOOL_CALL.answer);

  const received: unknown[] = [];
  const runner = client.chat.completions.runTools({
    model,
    messages: [question],
    max_tokens: 40,
    stream: true,
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: WEATHER_TOOL.function.description,
          parameters: WEATHER_TOOL.function.parameters,
          parse: JSON.parse,
          function: (args: unknown) => {
            received.push(args);
            return WEATHER_REPORT;
          },
        },
      },
    ],
  });
  expect(await runner.finalContent()).toBe(SCRIPTED_TOOL_CALL.answer);
  expect(received).toEqual([{ city: 'Paris' }]);
  const messages = runner.messages;
  expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
}

describe('the llama-server engine forwards the OpenAI fields the front does not read', () => {
  const served = serving('llama-server');

  it('response_format with a JSON schema: the answer validates against it', async () => {
    await expectSchemaAnswer(served);
  });

  it('logprobs and top_logprobs: one entry per generated token, streamed and not', async () => {
    const request = {
      model: served.model,
      messages: [{ role: 'user' as const, content: 'Hello' }],
      max_tokens: 4,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    };
    const answer = await served.client.chat.completions.create(request);
    const content = answer.choices[0].logprobs?.content ?? [];
    expect(content).toHaveLength(answer.usage!.completion_tokens);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(2);
    }
    const stream = await served.client.chat.completions.create({ ...request, stream: true });
    const streamed: unknown[] = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    expect(streamed).toHaveLength(content.length);
  });

  it('tools reach the chat template, and a tool-call round trip comes back through it', async () => {
    const question = { role: 'user' as const, content: 'What is the weather in Oslo?' };
    const plain = await served.client.chat.completions.create({
      model: served.model,
      messages: [question],
      max_tokens: 1,
    });
    const withTools = await served.client.chat.completions.create({
      model: served.model,
      messages: [question],
      max_tokens: 1,
      tools: [WEATHER_TOOL],
      tool_choice: 'auto',
    });
    // The template renders each tool's JSON into the prompt: llama-server got them.
    expect(withTools.usage!.prompt_tokens).toBeGreaterThan(plain.usage!.prompt_tokens + 40);
    // The client sends the call and its result back; both are rendered for the next answer.
    const call = {
      id: 'call_1',
      type: 'function' as const,
      function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
    };
    const roundTrip = await served.client.chat.completions.create({
      model: served.model,
      messages: [
        question,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 degrees' },
      ],
      max_tokens: 3,
      tools: [WEATHER_TOOL],
    });
    expect(roundTrip.choices[0].message.role).toBe('assistant');
    expect(roundTrip.usage!.prompt_tokens).toBeGreaterThan(withTools.usage!.prompt_tokens + 20);
  });

  it("passes llama-server's own refusal of a field on as a 400 with its reason", async () => {
    const refused = served.client.chat.completions.create({
      model: served.model,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
      response_format: { type: 'no-such-format' } as never,
    });
    await expect(refused).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe.each(['llama-server', 'node-llama-cpp'] as const)(
  'tool calls on %s, with the scripted model',
  (engine) => {
    const served = serving(engine, false, true);

    it('calls get_weather, takes the result back and answers in text; streamed through the tool runner too', async () => {
      await expectToolRoundTrip(served);
    });
  },
);

describe.each(['llama-server', 'node-llama-cpp'] as const)(
  '/v1/embeddings on %s, started with embeddings',
  (engine) => {
    const served = serving(engine, true);

    it('answers one vector per input, as the openai client reads them', async () => {
      const model = await cachedTinyLlamaGguf({ chatTemplate: TOOLS_TEMPLATE, contextLength: 1024 });
      const width = Number(getMetadata(await openGguf(model.path), 'llama.embedding_length'));
      await expectEmbeddings(served, width);
    });

    it('still generates beside the embeddings, and refuses an empty input naming it', async () => {
      const answer = await served.client.chat.completions.create({
        model: served.model,
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 2,
      });
      expect(answer.choices[0].message.role).toBe('assistant');
      const refused = await served.client.embeddings.create({ model: served.model, input: [] }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(BadRequestError);
      expect((refused as BadRequestError).param).toBe('input');
    });
  },
);

describe('the node-llama-cpp engine serves response_format and refuses what it cannot serve', () => {
  const served = serving('node-llama-cpp');

  it('response_format with a JSON schema, through a grammar: the answer validates', async () => {
    await expectSchemaAnswer(served);
  });

  it('a field it cannot serve, a forced tool choice, tools beside a JSON schema: a 400 naming the field and the engine that can', async () => {
    const user = { role: 'user' as const, content: 'Hi' };
    const cases: Array<[Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, 'model'>, string]> = [
      [{ messages: [user], logprobs: true }, 'logprobs'],
      [{ messages: [user], tools: [WEATHER_TOOL], tool_choice: 'required' as const }, 'tool_choice'],
      [
        {
          messages: [user],
          tools: [WEATHER_TOOL],
          response_format: {
            type: 'json_schema' as const,
            json_schema: { name: 'color', schema: COLOR_SCHEMA },
          },
        },
        'response_format',
      ],
    ];
    for (const [request, param] of cases) {
      const refused = await served.client.chat.completions
        .create({ model: served.model, max_tokens: 2, ...request })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(refused).toBeInstanceOf(BadRequestError);
      expect((refused as BadRequestError).param).toBe(param);
      expect((refused as BadRequestError).message).toMatch(
        /not served by the built-in node-llama-cpp engine.*serve with --engine llama-server/,
      );
    }
  });

  it('a tool message that answers no call of the assistant before it: a 400 naming it', async () => {
    const refused = await served.client.chat.completions
      .create({
        model: served.model,
        max_tokens: 2,
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
        ],
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(BadRequestError);
    expect((refused as BadRequestError).param).toBe('messages[1].tool_call_id');
  });
});

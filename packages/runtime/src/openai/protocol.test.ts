import { describe, expect, it } from '@jest/globals';
import { RuntimeError } from '../errors.js';
import { gradientPng } from '../vision/generated-image.js';
import { httpStatusFor, openAiErrorBody, parseGenerationRequest, requestImages } from './protocol.js';

function refusal(run: () => unknown): RuntimeError {
  try {
    run();
  } catch (error) {
    if (error instanceof RuntimeError) return error;
    throw error;
  }
  throw new Error('expected a RuntimeError');
}

describe('parseGenerationRequest', () => {
  it('turns a chat body into the engine request, with developer as system and text parts joined', () => {
    const request = parseGenerationRequest(
      'chat',
      {
        model: 'tiny',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hello ' },
              { type: 'text', text: 'there' },
            ],
          },
        ],
        max_completion_tokens: 7,
        temperature: 0.5,
        stop: 'END',
        stream: true,
        stream_options: { include_usage: true },
        tools: [{ type: 'function', function: { name: 'f' } }],
        frequency_penalty: 0.5,
      },
      ['tiny'],
    );
    expect(request).toEqual({
      kind: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
      maxTokens: 7,
      temperature: 0.5,
      topP: undefined,
      seed: undefined,
      stop: ['END'],
      stream: true,
      includeUsage: true,
      // What the front does not read travels on to the engine as sent.
      extra: { tools: [{ type: 'function', function: { name: 'f' } }], frequency_penalty: 0.5 },
    });
  });

  it('takes the tool messages of a round trip: an assistant message with tool_calls and no content, a tool result', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } };
    const request = parseGenerationRequest(
      'chat',
      {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: 'call_1', content: 'done' },
        ],
      },
      ['tiny'],
    );
    expect(request.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: '', toolCalls: [call] },
      { role: 'tool', content: 'done', toolCallId: 'call_1' },
    ]);
  });

  it('accepts a completion prompt given as a one-element array, and a missing model', () => {
    expect(parseGenerationRequest('completion', { prompt: ['Once'] }, ['tiny'])).toMatchObject({
      kind: 'completion',
      prompt: 'Once',
      stream: false,
      stop: [],
    });
  });

  it('refuses an unknown model with MODEL_NOT_FOUND, which is a 404 model_not_found', () => {
    const error = refusal(() =>
      parseGenerationRequest('chat', { model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }, [
        'tiny',
      ]),
    );
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(httpStatusFor(error)).toBe(404);
    expect(openAiErrorBody(error)).toEqual({
      error: {
        message: error.message,
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
  });

  it.each([
    [{ max_tokens: -1 }, 'max_tokens'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ max_tokens: 2.5 }, 'max_tokens'],
    [{ temperature: 3 }, 'temperature'],
    [{ top_p: 0 }, 'top_p'],
    [{ n: 2 }, 'n'],
    [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ stream: 'yes' }, 'stream'],
  ])('refuses %j with a 400 naming %s', (extra, param) => {
    const error = refusal(() =>
      parseGenerationRequest('chat', { messages: [{ role: 'user', content: 'x' }], ...extra }, ['tiny']),
    );
    expect(error.code).toBe('REQUEST_INVALID');
    expect(httpStatusFor(error)).toBe(400);
    expect(openAiErrorBody(error).error.param).toBe(param);
  });

  it.each([
    [[], 'messages'],
    [[{ role: 'tool', content: 'x' }], 'messages[0].tool_call_id'],
    [[{ role: 'robot', content: 'x' }], 'messages[0].role'],
    [[{ role: 'assistant', content: null, tool_calls: 'f' }], 'messages[0].tool_calls'],
    [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }], 'messages[0].content[0]'],
    [[{ role: 'user', content: ['hello', { type: 'input_audio' }] }], 'messages[0].content[0]'],
    [
      [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'input_audio' }] }],
      'messages[0].content[1]',
    ],
    [[{ role: 'user', content: 42 }], 'messages[0].content'],
  ])('refuses the messages %j, naming %s', (messages, param) => {
    const error = refusal(() => parseGenerationRequest('chat', { messages }, ['tiny']));
    expect(openAiErrorBody(error).error.param).toBe(param);
  });

  it('refuses a body that is not an object', () => {
    expect(refusal(() => parseGenerationRequest('completion', [1, 2], ['tiny'])).code).toBe(
      'REQUEST_INVALID',
    );
  });
});

describe('image_url parts', () => {
  const url = `data:image/png;base64,${gradientPng(8).toString('base64')}`;

  it('keeps text and images in the order sent, and the text joined as the content', () => {
    const request = parseGenerationRequest(
      'chat',
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is ' },
              { type: 'image_url', image_url: { url } },
              { type: 'text', text: 'this?' },
            ],
          },
        ],
      },
      ['tiny'],
    );
    expect(request.messages?.[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(request.messages?.[1].content).toBe('What is this?');
    expect(request.messages?.[1].parts?.map((part) => part.type)).toEqual(['text', 'image', 'text']);
    expect(requestImages(request)).toEqual([
      { url, format: 'png', width: 8, height: 8, bytes: expect.any(Number) },
    ]);
  });

  it('refuses more images in one request than the server encodes', () => {
    const image = { type: 'image_url', image_url: { url } };
    const error = refusal(() =>
      parseGenerationRequest('chat', { messages: [{ role: 'user', content: Array(9).fill(image) }] }, [
        'tiny',
      ]),
    );
    expect(error.message).toBe('The messages carry 9 images; a request may carry at most 8.');
    expect(httpStatusFor(error)).toBe(400);
  });
});

describe('openAiErrorBody', () => {
  it('keeps the message of an unexpected error out of the body, as a 500 server_error', () => {
    const body = openAiErrorBody(new Error('secret internal detail'));
    expect(httpStatusFor(new Error('x'))).toBe(500);
    expect(body.error.type).toBe('server_error');
    expect(body.error.message).not.toContain('secret');
  });
});

import { describe, expect, it } from '@jest/globals';
import { RuntimeError } from '../errors.js';
import type { ChatMessage, ToolCall } from '../openai/protocol.js';
import { mergeToolCall, nodeFunctions, toNodeHistory } from './tool-calls.js';

// llama-server streams a function call as OpenAI does: the id and name in the
// first delta of an index, the arguments in pieces after it (the pieces here
// are written by hand in llama-server's form, tools/server/server-common.cpp;
// the scripted model's real calls are in openai-api.test.ts).
describe('mergeToolCall', () => {
  it('assembles streamed pieces by index into whole calls', () => {
    const calls: ToolCall[] = [];
    for (const delta of [
      { index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 0, function: { arguments: '{"city":' } },
      { index: 1, id: 'call_b', function: { name: 'get_time', arguments: '{}' } },
      { index: 0, function: { arguments: '"Oslo"}' } },
    ])
      mergeToolCall(calls, delta);
    expect(calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
  });
});

const call = (id: string, city: string) => ({
  id,
  type: 'function',
  function: { name: 'get_weather', arguments: JSON.stringify({ city }) },
});
const user: ChatMessage = { role: 'user', content: 'Weather in Oslo and Paris?' };

/** The param of the RuntimeError that `run` throws. */
function refusedParam(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RuntimeError);
    return (error as RuntimeError).details.param;
  }
  throw new Error('expected a refusal');
}

describe('toNodeHistory', () => {
  it('puts each call with its result into the model turn, and continues that turn after the results', () => {
    const history = toNodeHistory([
      user,
      { role: 'assistant', content: 'Looking.', toolCalls: [call('a', 'Oslo'), call('b', 'Paris')] },
      { role: 'tool', toolCallId: 'b', content: 'Rain' },
      { role: 'tool', toolCallId: 'a', content: 'Sun' },
    ]);
    expect(history).toEqual([
      { type: 'user', text: user.content },
      {
        type: 'model',
        response: [
          'Looking.',
          {
            type: 'functionCall',
            name: 'get_weather',
            params: { city: 'Oslo' },
            result: 'Sun',
            startsNewChunk: true,
          },
          { type: 'functionCall', name: 'get_weather', params: { city: 'Paris' }, result: 'Rain' },
        ],
      },
    ]);
    // The assistant's text after the results stays in that turn; a new question opens a new one.
    const next = toNodeHistory([
      user,
      { role: 'assistant', content: '', toolCalls: [call('a', 'Oslo')] },
      { role: 'tool', toolCallId: 'a', content: 'Sun' },
      { role: 'assistant', content: 'Sunny in Oslo.' },
      { role: 'user', content: 'Thanks' },
    ]);
    expect(next.map((item) => item.type)).toEqual(['user', 'model', 'user', 'model']);
    expect(next[1]).toMatchObject({ response: [{ result: 'Sun' }, 'Sunny in Oslo.'] });
    expect(next[3]).toEqual({ type: 'model', response: [] });
  });

  it('refuses results without a call, calls without results and arguments that are not JSON, naming the field', () => {
    expect(refusedParam(() => toNodeHistory([user, { role: 'tool', toolCallId: 'x', content: 'Sun' }]))).toBe(
      'messages[1].tool_call_id',
    );
    expect(
      refusedParam(() =>
        toNodeHistory([user, { role: 'assistant', content: '', toolCalls: [call('a', 'Oslo')] }, user]),
      ),
    ).toBe('messages[2]');
    expect(
      refusedParam(() =>
        toNodeHistory([user, { role: 'assistant', content: '', toolCalls: [call('a', 'Oslo')] }]),
      ),
    ).toBe('messages');
    const broken = { id: 'a', type: 'function', function: { name: 'f', arguments: '{city' } };
    expect(
      refusedParam(() => toNodeHistory([user, { role: 'assistant', content: '', toolCalls: [broken] }])),
    ).toBe('messages[1].tool_calls[0].function.arguments');
  });
});

describe('nodeFunctions', () => {
  const tool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };

  it('maps tools to node-llama-cpp functions; none offers none; parallel_tool_calls false allows one call', () => {
    expect(nodeFunctions([tool], undefined, false)).toEqual({
      functions: { get_weather: { params: { type: 'object' } } },
      maxParallelFunctionCalls: 1,
    });
    expect(nodeFunctions([tool], 'none', undefined)).toBeUndefined();
    expect(nodeFunctions(undefined, 'auto', undefined)).toBeUndefined();
  });

  it('refuses a forced choice and malformed tools, naming the field', () => {
    expect(refusedParam(() => nodeFunctions([tool], 'required', undefined))).toBe('tool_choice');
    expect(
      refusedParam(() =>
        nodeFunctions([tool], { type: 'function', function: { name: 'get_weather' } }, undefined),
      ),
    ).toBe('tool_choice');
    expect(refusedParam(() => nodeFunctions([{ type: 'code' }], undefined, undefined))).toBe('tools[0]');
    expect(refusedParam(() => nodeFunctions([tool, tool], undefined, undefined))).toBe(
      'tools[1].function.name',
    );
    expect(refusedParam(() => nodeFunctions('f', undefined, undefined))).toBe('tools');
  });
});

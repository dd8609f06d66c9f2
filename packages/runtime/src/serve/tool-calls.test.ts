import { describe, expect, it } from '@jest/globals';
import type { ToolCall } from '../openai/protocol.js';
import { mergeToolCall } from './llama-server-engine.js';

// llama-server streams a function call as OpenAI does: the id and name in the
// first delta of an index, the arguments in pieces after it. (The test model's
// random weights never choose a call, so the pieces here are written by hand
// in llama-server's form, tools/server/server-common.cpp.)
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

import { describe, expect, it } from '@jest/globals';
import { getLlama, LlamaCompletion, LlamaLogLevel } from 'node-llama-cpp';
import { cachedScriptedLlamaGguf, SCRIPTED_TOOL_CALL } from './scripted-gguf.js';

// The scripted model's program, read by node-llama-cpp's own tokenizer and
// greedy decoding on raw prompts (the chat templates' rendering is tested
// where the engines serve it, in @alki/runtime's openai-api tests).
describe('cachedScriptedLlamaGguf', () => {
  it('tokenizes the tool tags whole and answers with the call, or with text after a tool result', async () => {
    const model = await cachedScriptedLlamaGguf();
    const llama = await getLlama({
      gpu: false,
      build: 'never',
      logLevel: LlamaLogLevel.error,
      maxThreads: 1,
    });
    const loaded = await llama.loadModel({ modelPath: model.path });
    try {
      expect(loaded.tokenize('<tool_call><tool_response>')).toEqual([
        model.tokens.indexOf('<tool_call>'),
        model.tokens.indexOf('<tool_response>'),
      ]);
      const context = await loaded.createContext({ contextSize: 512, threads: 1, sequences: 2 });
      try {
        const ask = async (prompt: string) => {
          const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
          try {
            return await completion.generateCompletion(prompt, { maxTokens: 12, temperature: 0 });
          } finally {
            completion.dispose();
          }
        };
        const user = '<|im_start|>user\nWhat is the weather in Paris?<|im_end|>\n<|im_start|>assistant\n';
        expect(await ask(user)).toBe(
          '<tool_call>\n{"name": "get_weather", "arguments": {"city":"Paris"}}\n</tool_call>',
        );
        const result = `${user}<tool_call>...</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\nSunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n`;
        expect(await ask(result)).toBe(SCRIPTED_TOOL_CALL.answer);
      } finally {
        await context.dispose();
      }
    } finally {
      await loaded.dispose();
    }
  });
});

// Function calling between the OpenAI API and the engines: llama-server
// streams calls in OpenAI's own delta form (mergeToolCall assembles them);
// node-llama-cpp takes `functions` and a chat history whose model turns hold
// each call with its result, and returns the calls it made.
import { randomBytes } from 'node:crypto';
import type {
  ChatHistoryItem,
  ChatModelFunctionCall,
  ChatModelResponse,
  ChatModelFunctions,
  GbnfJsonSchema,
} from 'node-llama-cpp';
import { RuntimeError } from '../errors.js';
import type { ChatMessage, ToolCall } from '../openai/protocol.js';

/** A streamed piece of a function call: the id and name come first, the arguments in pieces. */
export interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** Adds a streamed piece to the calls it belongs to, by index, as OpenAI's clients assemble them. */
export function mergeToolCall(calls: ToolCall[], delta: ToolCallDelta): void {
  const index = delta.index ?? calls.length;
  const call = (calls[index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
  if (delta.id) call.id = delta.id;
  if (delta.function?.name) call.function.name += delta.function.name;
  if (delta.function?.arguments) call.function.arguments += delta.function.arguments;
}

function invalid(message: string, param: string): RuntimeError {
  return new RuntimeError('REQUEST_INVALID', message, { details: { param } });
}

/** What a request's tools ask of node-llama-cpp's function calling. */
export interface NodeFunctions {
  functions: ChatModelFunctions;
  /** 1 when the client set parallel_tool_calls to false. */
  maxParallelFunctionCalls?: number;
}

/**
 * The node-llama-cpp `functions` for a request's `tools` and `tool_choice`:
 * undefined without tools or with tool_choice `none`. node-llama-cpp lets the
 * model choose whether to call, so `required` or a named function is refused
 * with a 400 naming the engine that can force a call.
 *
 * @example
 * nodeFunctions([{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }], 'auto', undefined);
 */
export function nodeFunctions(
  tools: unknown,
  toolChoice: unknown,
  parallel: unknown,
): NodeFunctions | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw invalid("'tools' must be an array of function tools.", 'tools');
  if (toolChoice !== undefined && toolChoice !== null && toolChoice !== 'auto' && toolChoice !== 'none') {
    throw invalid(
      `'tool_choice' ${JSON.stringify(toolChoice)} is not served by the built-in node-llama-cpp engine, which lets the model choose whether to call (auto) or offers no tools (none); serve with --engine llama-server to force a call.`,
      'tool_choice',
    );
  }
  if (toolChoice === 'none') return undefined;
  const functions: Record<string, ChatModelFunctions[string]> = {};
  tools.forEach((raw: unknown, index) => {
    const tool = raw as {
      type?: unknown;
      function?: { name?: unknown; description?: unknown; parameters?: unknown };
    };
    const fn = tool?.function;
    if (!tool || tool.type !== 'function' || !fn || typeof fn.name !== 'string' || !fn.name)
      throw invalid(
        `tools[${index}] must be {type: 'function', function: {name, description?, parameters?}}.`,
        `tools[${index}]`,
      );
    if (Object.hasOwn(functions, fn.name))
      throw invalid(
        `tools[${index}] repeats the function name ${JSON.stringify(fn.name)}.`,
        `tools[${index}].function.name`,
      );
    if (fn.description !== undefined && typeof fn.description !== 'string')
      throw invalid(
        `tools[${index}].function.description must be a string.`,
        `tools[${index}].function.description`,
      );
    if (fn.parameters !== undefined && (typeof fn.parameters !== 'object' || fn.parameters === null))
      throw invalid(
        `tools[${index}].function.parameters must be a JSON schema object.`,
        `tools[${index}].function.parameters`,
      );
    functions[fn.name] = {
      ...(fn.description !== undefined ? { description: fn.description } : {}),
      ...(fn.parameters !== undefined ? { params: fn.parameters as GbnfJsonSchema } : {}),
    };
  });
  if (tools.length === 0) return undefined;
  return { functions, ...(parallel === false ? { maxParallelFunctionCalls: 1 } : {}) };
}

/** An assistant message's tool_calls entry, checked: OpenAI's {id, type: 'function', function: {name, arguments}}. */
function functionCall(raw: unknown, param: string): { id: string; call: ChatModelFunctionCall } {
  const entry = raw as { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } };
  const fn = entry?.function;
  if (
    !entry ||
    typeof entry.id !== 'string' ||
    (entry.type !== undefined && entry.type !== 'function') ||
    !fn ||
    typeof fn.name !== 'string' ||
    typeof fn.arguments !== 'string'
  )
    throw invalid(`${param} must be {id, type: 'function', function: {name, arguments}}.`, param);
  let params: unknown;
  try {
    params = fn.arguments.trim() === '' ? undefined : JSON.parse(fn.arguments);
  } catch {
    throw invalid(
      `${param}.function.arguments is not JSON: ${JSON.stringify(fn.arguments.slice(0, 80))}.`,
      `${param}.function.arguments`,
    );
  }
  return { id: entry.id, call: { type: 'functionCall', name: fn.name, params, result: undefined } };
}

/**
 * The node-llama-cpp chat history for OpenAI messages: an assistant message's
 * tool_calls become function calls in its model turn, each with the result
 * of the tool message that answers it (by tool_call_id). The history ends in
 * the model turn the answer is generated into: a new empty one, or, after
 * tool results, the turn that made the calls, as node-llama-cpp continues it.
 *
 * @example
 * toNodeHistory([{ role: 'user', content: 'Hi' }]); // [{type: 'user', text: 'Hi'}, {type: 'model', response: []}]
 */
export function toNodeHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  // The calls of the latest assistant message, by id, until their results come.
  const awaiting = new Map<string, ChatModelFunctionCall>();
  let answered = false;
  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    if (message.role === 'tool') {
      const call = awaiting.get(message.toolCallId ?? '');
      if (!call)
        throw invalid(
          `${param} is a tool result for ${JSON.stringify(message.toolCallId)}, which is no call of the assistant message before it (or was answered already).`,
          `${param}.tool_call_id`,
        );
      call.result = message.content;
      awaiting.delete(message.toolCallId ?? '');
      answered = true;
      return;
    }
    if (awaiting.size > 0)
      throw invalid(
        `${param} follows tool calls that have no result yet (${[...awaiting.keys()].join(', ')}); each call needs a tool message before the next message.`,
        param,
      );
    if (message.role !== 'assistant') {
      answered = false;
      history.push({ type: message.role, text: message.content });
      return;
    }
    // After tool results, the assistant's next message continues the turn that made the calls.
    const last = history.at(-1);
    const continued = answered && last?.type === 'model';
    answered = false;
    const response: ChatModelResponse['response'] = continued ? last.response : [];
    if (message.content) response.push(message.content);
    (message.toolCalls ?? []).forEach((raw, at) => {
      const { id, call } = functionCall(raw, `${param}.tool_calls[${at}]`);
      if (at === 0) call.startsNewChunk = true;
      awaiting.set(id, call);
      response.push(call);
    });
    if (!continued) history.push({ type: 'model', response });
  });
  if (awaiting.size > 0)
    throw invalid(
      `The tool calls ${[...awaiting.keys()].join(', ')} have no tool message with their result.`,
      'messages',
    );
  if (!answered) history.push({ type: 'model', response: [] });
  return history;
}

/** The OpenAI tool_calls for the calls node-llama-cpp returned, each with a fresh id. */
export function openAiToolCalls(calls: ReadonlyArray<{ functionName: string; params: unknown }>): ToolCall[] {
  return calls.map((call) => ({
    id: `call_${randomBytes(12).toString('hex')}`,
    type: 'function',
    function: { name: call.functionName, arguments: JSON.stringify(call.params ?? {}) },
  }));
}

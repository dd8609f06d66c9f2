// Computes an importance matrix by running llama.cpp's llama-imatrix over a
// calibration text, with progress and resumable chunks. The text is processed
// in segments of whole passes, one llama-imatrix run each: a run loads the
// previous segment's matrix (--in-file, whose sums it adds to zeros), skips
// the chunks already done (--chunk K) and saves when it ends, so each
// segment file is a consistent checkpoint (the --save-frequency snapshots are
// not: they are taken when the first tensor of a batch crosses a chunk, before
// the others are updated). Passes hold the same chunks as in one long run, so
// a run resumed after an interruption gives the same matrix as an
// uninterrupted one.
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuantizerError } from '../errors.js';
import { convertImatrix, parseImatrix, serializeImatrix, type Imatrix } from './imatrix.js';

/** The calibration text Alki ships (calibration/alki-calibration.txt, written for Alki, Apache-2.0). */
export const BUILT_IN_CALIBRATION_TEXT = fileURLToPath(
  new URL('../../calibration/alki-calibration.txt', import.meta.url),
);
/** The dataset name recorded for the built-in text. */
export const BUILT_IN_CALIBRATION_NAME = 'alki-calibration.txt';

export type ToolSpawn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface ComputeImatrixOptions {
  /** The model GGUF (F32/F16/BF16 is best: the matrix measures the activations the quantizer should keep). */
  model: string;
  /** The file to write; `.dat` writes the legacy format, anything else GGUF. */
  output: string;
  /** The path of llama-imatrix (from @alki/llama-tools). */
  llamaImatrix: string;
  /** The path of llama-tokenize, to count the chunks up front for progress; without it the total shows at the end. */
  llamaTokenize?: string;
  /** A calibration text file; default: the built-in text. Recorded as the dataset name as given. */
  text?: string;
  /** Tokens per chunk (llama-imatrix --ctx-size, default 512). */
  contextSize?: number;
  /** Process at most this many chunks (default: all the text holds). */
  chunks?: number;
  threads?: number;
  /** The output format; default from the output's extension. */
  format?: Imatrix['format'];
  /** Replace an existing output. */
  overwrite?: boolean;
  /** Continue an interrupted run from its checkpoints (default true). */
  resume?: boolean;
  onProgress?: (progress: ImatrixProgress) => void;
  signal?: AbortSignal;
  spawn?: ToolSpawn;
}

export interface ImatrixProgress {
  /** Chunks done, and to do in all (0 until llama-imatrix has tokenized the text). */
  chunk: number;
  chunks: number;
  /** Set once, when the run continues from a checkpoint. */
  resumedFrom?: number;
}

export interface ComputeImatrixResult {
  output: string;
  format: Imatrix['format'];
  entries: number;
  chunks: number;
  contextSize: number;
  /** The dataset name recorded in the file. */
  dataset: string;
  /** sha256 of the calibration text. */
  textSha256: string;
  /** The chunk the run continued from, when it resumed. */
  resumedFrom?: number;
  seconds: number;
}

/** The settings a checkpoint belongs to: a run with other settings starts over. */
interface RunKey {
  model: { size: number; mtimeMs: number };
  textSha256: string;
  contextSize: number;
  chunks: number | null;
  threads: number | null;
}

const STATE_FILE = 'state.json';
const RUNNING = 'running.gguf';
/** llama-imatrix's default batch (--batch-size): it evaluates batch / context chunks per pass. */
const BATCH = 2048;
/** Segments per run when the total is known; otherwise passes per segment. */
const SEGMENTS = 10;
const PASSES_PER_SEGMENT = 8;

/**
 * Runs llama-imatrix over a calibration text and writes the importance
 * matrix, resuming an interrupted run with the same model, text and settings.
 *
 * @example
 * await computeImatrix({
 *   model: 'model-f16.gguf',
 *   output: 'model.imatrix',
 *   llamaImatrix: requireLlamaTool('llama-imatrix'),
 *   onProgress: (p) => console.log(`${p.chunk}/${p.chunks}`),
 * });
 */
export async function computeImatrix(options: ComputeImatrixOptions): Promise<ComputeImatrixResult> {
  const started = Date.now();
  const output = path.resolve(options.output);
  if (!options.overwrite && fs.existsSync(output)) {
    throw new QuantizerError('OUTPUT_EXISTS', `${output} already exists.`, {
      hint: 'Choose another output path, or pass --force to replace it.',
      details: { path: output },
    });
  }
  if (!fs.existsSync(path.dirname(output))) {
    throw new QuantizerError('INVALID_INPUT', `The directory of ${output} does not exist.`, {
      hint: 'Create it first, or write the imatrix elsewhere.',
      details: { path: output },
    });
  }
  const textPath = options.text ?? BUILT_IN_CALIBRATION_TEXT;
  const dataset = options.text ?? BUILT_IN_CALIBRATION_NAME;
  const text = await readInput(textPath, 'calibration text', '--text');
  const modelStat = await statInput(options.model);
  const contextSize = options.contextSize ?? 512;
  const key: RunKey = {
    model: { size: modelStat.size, mtimeMs: modelStat.mtimeMs },
    textSha256: crypto.createHash('sha256').update(text).digest('hex'),
    contextSize,
    chunks: options.chunks ?? null,
    threads: options.threads ?? null,
  };
  const work = `${output}.partial`;
  const state = await prepareWorkDir(work, key, options.resume ?? true);
  const spawn = options.spawn ?? nodeSpawn;
  if (state.totalChunks === undefined && options.llamaTokenize) {
    const tokens = await countTokens(spawn, options.llamaTokenize, options.model, textPath, options.signal);
    if (tokens !== undefined) {
      // llama-imatrix's own check, made here too: its log lines can be lost when it exits early.
      if (tokens < 2 * contextSize) {
        await fs.promises.rm(work, { recursive: true, force: true });
        throw tooShort(contextSize);
      }
      const available = Math.floor(tokens / contextSize);
      state.totalChunks = Math.min(available, options.chunks ?? available);
      await saveState(work, state);
    }
  }
  // A pass evaluates this many chunks at once; segments are whole passes, as in one long run.
  const perPass = Math.max(1, Math.floor(BATCH / contextSize));
  const segment =
    state.totalChunks === undefined
      ? perPass * PASSES_PER_SEGMENT
      : Math.max(perPass, Math.ceil(state.totalChunks / SEGMENTS / perPass) * perPass);

  let segments = await listSegments(work);
  const resumedFrom = segments.at(-1)?.chunk;
  if (resumedFrom !== undefined)
    options.onProgress?.({ chunk: resumedFrom, chunks: state.totalChunks ?? 0, resumedFrom });
  let final: Imatrix | undefined;
  let unlimited = false;
  while (!final) {
    const from = segments.at(-1);
    const done = from?.chunk ?? 0;
    const wanted = options.chunks === undefined ? undefined : options.chunks - done;
    if (from && wanted !== undefined && wanted <= 0) {
      final = from.imatrix;
      break;
    }
    // A segment that would leave fewer than three chunks goes to the end: llama-imatrix cannot start there.
    const left = state.totalChunks === undefined ? undefined : state.totalChunks - done;
    const last = unlimited || (left !== undefined && left - segment < 3);
    const limit = last ? wanted : Math.min(segment, wanted ?? Infinity);
    let outcome: SegmentOutcome;
    try {
      outcome = await runSegment(spawn, options, { work, textPath, contextSize, from, limit, state });
    } catch (error) {
      // Without a finished segment there is nothing to resume from: leave nothing behind.
      if (segments.length === 0) await fs.promises.rm(work, { recursive: true, force: true });
      throw error;
    }
    if (outcome.kind === 'too-late') {
      // The previous segment ended within two chunks of the text's end, where
      // llama-imatrix cannot start: redo it to the end in one run.
      if (!from) throw outcome.error;
      await fs.promises.rm(from.file, { force: true });
      segments = segments.slice(0, -1);
      unlimited = true;
      continue;
    }
    const { imatrix } = outcome;
    // The saved chunk count is the chunks done in all (llama-imatrix counts on from the loaded matrix).
    const chunk = imatrix.chunkCount;
    const file = path.join(work, `segment-${chunk}.gguf`);
    await fs.promises.rename(path.join(work, RUNNING), file);
    // Only the newest segment is needed, and the one before it for the end of the text.
    for (const old of segments.slice(0, -1)) await fs.promises.rm(old.file, { force: true });
    segments = [...segments.slice(-1), { chunk, file, imatrix }];
    // Fewer chunks than asked: the text is used up.
    if (limit === undefined || chunk - done < limit || chunk === options.chunks) final = imatrix;
  }

  const format = options.format ?? (output.endsWith('.dat') ? 'legacy' : 'gguf');
  const result = convertImatrix({ ...final, datasets: [dataset] }, format, contextSize);
  const temp = `${output}.${process.pid}.tmp`;
  try {
    await fs.promises.writeFile(temp, serializeImatrix(result));
    await fs.promises.rename(temp, output);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  await fs.promises.rm(work, { recursive: true, force: true });
  return {
    output,
    format,
    entries: result.entries.size,
    chunks: final.chunkCount,
    contextSize,
    dataset,
    textSha256: key.textSha256,
    ...(resumedFrom !== undefined && { resumedFrom }),
    seconds: (Date.now() - started) / 1000,
  };
}

async function readInput(file: string, what: string, flag: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (cause) {
    throw new QuantizerError('INVALID_INPUT', `Cannot read the ${what} ${file}.`, {
      hint: `Check the ${flag} path.`,
      cause,
      details: { path: file },
    });
  }
}

async function statInput(file: string): Promise<fs.Stats> {
  try {
    return await fs.promises.stat(file);
  } catch (cause) {
    throw new QuantizerError('INVALID_INPUT', `The model ${file} does not exist.`, {
      hint: 'Give the path of a GGUF model.',
      cause,
      details: { path: file },
    });
  }
}

interface RunState extends RunKey {
  /** Chunks the whole run processes, once known. */
  totalChunks?: number;
}

async function saveState(work: string, state: RunState): Promise<void> {
  await fs.promises.writeFile(path.join(work, STATE_FILE), JSON.stringify(state));
}

// The work directory holds the segments and the settings they belong to;
// other settings (or resume off) clear it.
async function prepareWorkDir(work: string, key: RunKey, resume: boolean): Promise<RunState> {
  if (resume) {
    try {
      const saved = JSON.parse(await fs.promises.readFile(path.join(work, STATE_FILE), 'utf8')) as RunState;
      const { totalChunks, ...savedKey } = saved;
      if (JSON.stringify(savedKey) === JSON.stringify(key)) return { ...key, totalChunks };
    } catch {
      // No usable state: start over.
    }
  }
  await fs.promises.rm(work, { recursive: true, force: true });
  await fs.promises.mkdir(work, { recursive: true });
  await saveState(work, key);
  return { ...key };
}

interface Segment {
  /** Chunks done when it was saved. */
  chunk: number;
  file: string;
  imatrix: Imatrix;
}

// The finished segments that parse, oldest first.
async function listSegments(work: string): Promise<Segment[]> {
  const found: Segment[] = [];
  for (const name of await fs.promises.readdir(work)) {
    const match = /^segment-(\d+)\.gguf$/.exec(name);
    if (!match) continue;
    const file = path.join(work, name);
    try {
      found.push({
        chunk: Number(match[1]),
        file,
        imatrix: await parseImatrix(await fs.promises.readFile(file)),
      });
    } catch {
      await fs.promises.rm(file, { force: true });
    }
  }
  return found.sort((a, b) => a.chunk - b.chunk);
}

// The token count llama-tokenize reports for the text (with the model's BOS),
// or undefined when it cannot tell.
async function countTokens(
  spawn: ToolSpawn,
  tool: string,
  model: string,
  text: string,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  const lines: string[] = [];
  const code = await runTool(
    spawn,
    tool,
    ['-m', model, '-f', text, '--ids', '--show-count', '--log-disable'],
    {
      signal,
      onLine: (line) => lines.push(line),
    },
  ).catch(() => undefined);
  const count = lines.map((line) => /Total number of tokens: (\d+)/.exec(line)).find(Boolean);
  return code === 0 && count ? Number(count[1]) : undefined;
}

type SegmentOutcome = { kind: 'done'; imatrix: Imatrix } | { kind: 'too-late'; error: QuantizerError };

// One llama-imatrix run from a segment (or the start) over at most `limit`
// chunks, saved to RUNNING when it ends.
async function runSegment(
  spawn: ToolSpawn,
  options: ComputeImatrixOptions,
  run: {
    work: string;
    textPath: string;
    contextSize: number;
    from?: Segment;
    limit?: number;
    state: RunState;
  },
): Promise<SegmentOutcome> {
  const { work, from, state } = run;
  const args = [
    '-m',
    options.model,
    '-f',
    run.textPath,
    '-o',
    path.join(work, RUNNING),
    '-c',
    String(run.contextSize),
    // The matrix is written once, when the run ends (a consistent checkpoint).
    '--output-frequency',
    String(2 ** 30),
  ];
  if (options.threads !== undefined) args.push('-t', String(options.threads));
  if (from) args.push('--in-file', from.file, '--chunk', String(from.chunk));
  if (run.limit !== undefined) args.push('--chunks', String(run.limit));
  const offset = from?.chunk ?? 0;
  let processed: number | undefined;
  const tail: string[] = [];
  const code = await runTool(spawn, options.llamaImatrix, args, {
    signal: options.signal,
    onLine: (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      const total = /computing over (\d+) chunks/.exec(line);
      if (total) {
        processed = Number(total[1]);
        // Without a limit (or below it) the run reaches the end of the text: the total is now exact.
        if (run.limit === undefined || processed < run.limit) {
          state.totalChunks = offset + processed;
          void saveState(work, state).catch(() => undefined);
        }
        options.onProgress?.({ chunk: offset, chunks: Math.max(state.totalChunks ?? 0, offset + processed) });
      }
      // Perplexity lines: [N]value, one per chunk (the value may be nan or inf).
      for (const match of line.matchAll(/\[(\d+)\][^,\s]*,/g))
        options.onProgress?.({
          chunk: offset + Number(match[1]),
          chunks: Math.max(state.totalChunks ?? 0, offset + (processed ?? 0)),
        });
    },
  });
  if (code === 0) {
    const imatrix = await parseImatrix(await fs.promises.readFile(path.join(work, RUNNING))).catch(
      () => undefined,
    );
    if (imatrix) {
      // The saved matrix says where the segment ended, whatever its output lines showed.
      options.onProgress?.({
        chunk: imatrix.chunkCount,
        chunks: Math.max(state.totalChunks ?? 0, imatrix.chunkCount),
      });
      return { kind: 'done', imatrix };
    }
  }
  const failure = imatrixFailure(code, tail, run.contextSize);
  if (from && tail.some((line) => /not enough tokens left|you need at least \d+ tokens/.test(line)))
    return { kind: 'too-late', error: failure };
  throw failure;
}

// Runs a native tool in its own process group, line by line; resolves with
// its exit code, rejects with the signal's reason when aborted (the group is
// killed first).
function runTool(
  spawn: ToolSpawn,
  tool: string,
  args: string[],
  { signal, onLine }: { signal?: AbortSignal; onLine: (line: string) => void },
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      signal?.throwIfAborted();
      child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (error) {
      reject(error);
      return;
    }
    const lines = (stream: NodeJS.ReadableStream | null) => {
      let rest = '';
      stream?.on('data', (chunk: Buffer) => {
        // Perplexity values end in a comma, several to a line: split there too.
        const parts = (rest + chunk.toString('utf8')).split(/\r?\n|(?<=,)/);
        rest = parts.pop() ?? '';
        for (const part of parts) if (part.trim()) onLine(part.trim());
      });
      stream?.on('end', () => rest.trim() && onLine(rest.trim()));
    };
    lines(child.stdout);
    lines(child.stderr);
    const stop = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    };
    signal?.addEventListener('abort', stop, { once: true });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', stop);
      fn();
    };
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          new QuantizerError('WORKER_FAILED', `Cannot start ${tool}: ${error.message}`, {
            category: error.code === 'ENOENT' ? 'environment' : 'internal',
            hint: 'Build the native tools with `alki tools build`.',
            cause: error,
          }),
        ),
      ),
    );
    child.on('close', (code) => finish(() => (signal?.aborted ? reject(signal.reason) : resolve(code))));
  });
}

function tooShort(contextSize: number): QuantizerError {
  return new QuantizerError(
    'INVALID_INPUT',
    `The calibration text is too short for chunks of ${contextSize} tokens: llama-imatrix needs at least two.`,
    { hint: 'Give a longer --text, or a smaller --context-size.', details: { contextSize } },
  );
}

function imatrixFailure(code: number | null, tail: string[], contextSize: number): QuantizerError {
  if (tail.some((line) => /you need at least \d+ tokens/.test(line))) return tooShort(contextSize);
  return new QuantizerError(
    'WORKER_FAILED',
    `llama-imatrix failed with exit code ${code}.\n${tail.slice(-8).join('\n')}`,
    {
      category: 'input',
      hint: 'Check that the model loads in llama.cpp (alki validate).',
      details: { exitCode: code },
    },
  );
}

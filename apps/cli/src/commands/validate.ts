import {
  firstFailure,
  RuntimeError,
  validate,
  type ValidationCheck,
  type ModelReport,
  type ValidationReport,
} from '@alki/runtime';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';

interface ValidateArgs extends GlobalOptions {
  target: string;
  prompt?: string;
  maxTokens: number;
  contextSize: number;
  threads?: number;
  score: boolean;
  timeout: number;
  filename?: string;
  revision?: string;
  cleanup: boolean;
}

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;

function renderModel(model: ModelReport): string {
  const lines = [
    model.file,
    ...model.checks.map((c: ValidationCheck) => `  ${MARK[c.status]} ${c.name.padEnd(14)} ${c.message}`),
  ];
  const m = model.metrics;
  const figures = [
    m.loadMs !== undefined ? `load ${m.loadMs} ms` : '',
    m.promptTokensPerSecond !== undefined ? `prompt ${m.promptTokensPerSecond} tok/s` : '',
    m.generationTokensPerSecond !== undefined ? `generation ${m.generationTokensPerSecond} tok/s` : '',
    m.peakRssBytes !== undefined ? `peak memory ${(m.peakRssBytes / 1024 / 1024).toFixed(0)} MiB` : '',
    m.meanNll !== undefined ? `NLL ${m.meanNll} nats/token` : '',
  ].filter(Boolean);
  if (figures.length) lines.push(`  ${figures.join(', ')}`);
  if (model.sample !== undefined) lines.push(`  sample: ${JSON.stringify(model.sample)}`);
  return lines.join('\n');
}

function render(report: ValidationReport): string {
  const own = report.checks.map((c) => `${MARK[c.status]} ${c.name.padEnd(14)} ${c.message}`);
  return [...own, ...report.models.map(renderModel), report.ok ? 'valid' : 'INVALID'].join('\n');
}

export const validateCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('target', {
        type: 'string',
        demandOption: true,
        describe: 'A .gguf file, a bundle directory, or org/name on the Hugging Face hub',
      })
      .option('filename', {
        alias: 'f',
        type: 'string',
        describe: 'For org/name: a glob that picks one GGUF in the repo (e.g. "*Q8_0.gguf")',
      })
      .option('revision', { type: 'string', describe: 'For org/name: branch, tag or commit (default main)' })
      .option('cleanup', {
        type: 'boolean',
        default: true,
        describe: 'Remove hub downloads afterwards; --no-cleanup keeps them in the Hugging Face cache',
      })
      .option('prompt', { type: 'string', describe: 'Prompt of the short generation' })
      .option('max-tokens', { type: 'number', default: 16, describe: 'Tokens to generate' })
      .option('context-size', {
        type: 'number',
        default: 512,
        describe: 'Context size for the generation, in tokens',
      })
      .option('threads', {
        type: 'number',
        describe: 'CPU threads (default: the idle cores, by the load average; at most the core count)',
      })
      .option('score', {
        type: 'boolean',
        default: false,
        describe: 'Also measure the mean negative log-likelihood per token of a built-in text',
      })
      .option('timeout', {
        type: 'number',
        default: 600,
        describe: 'Give up on the model checks after this many seconds',
      })
      .example(
        '$0 validate model.gguf --max-tokens 8 --score',
        'Load, tokenize, generate 8 tokens and score a short text',
      )
      .example(
        '$0 validate model.gguf --json',
        'The report as JSON, with load time, tokens/s and peak memory',
      )
      .example(
        '$0 validate ./dist/tiny',
        'Check every file hash of a bundle against its manifest, and validate every model in it',
      )
      .example(
        '$0 validate Qwen/Qwen2.5-0.5B-Instruct-GGUF --filename "*q8_0.gguf" --no-cleanup',
        'Download one GGUF from the hub, validate it and keep the download',
      ),
  handler: withContext<ValidateArgs>(async (argv, { out, signal }) => {
    const progress = out.progress('validate');
    const report = await validate(argv.target, {
      prompt: argv.prompt,
      maxTokens: argv.maxTokens,
      contextSize: argv.contextSize,
      threads: argv.threads,
      score: argv.score,
      timeoutMs: argv.timeout * 1000,
      filename: argv.filename,
      revision: argv.revision,
      keepDownloads: !argv.cleanup,
      signal,
      onBytes: (done, total) => progress.update(done, total),
      onCheck: (check) => out.debug(`running the ${check} check`),
    });
    progress.done();
    if (report.ok) {
      out.result(report, () => render(report));
      return;
    }
    if (!out.json) out.result(report, () => render(report));
    const failure = firstFailure(report)!;
    const where = failure.file ? ` for ${failure.file}` : '';
    throw new RuntimeError(
      'VALIDATION_FAILED',
      `The ${failure.check.name} check failed${where}: ${failure.check.message}`,
      {
        // A file whose header is corrupt or incomplete is an invalid input
        // (exit 3, docs/cli.md); a model that loads but fails to run is a failed check (1).
        category: failure.check.name === 'structure' ? 'input' : 'check',
        details: { report },
      },
    );
  }),
};

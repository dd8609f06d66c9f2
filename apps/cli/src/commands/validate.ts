import { RuntimeError, validateGgufModel, type CheckResult, type ModelReport, type ValidationReport } from '@alki/runtime';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type GlobalOptions } from '../context.js';

interface ValidateArgs extends GlobalOptions {
  target: string;
  prompt?: string;
  maxTokens: number;
  contextSize: number;
  threads?: number;
  score: boolean;
  timeout: number;
}

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;

function renderModel(model: ModelReport): string {
  const lines = [model.file, ...model.checks.map((c: CheckResult) => `  ${MARK[c.status]} ${c.name.padEnd(14)} ${c.message}`)];
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

export const validateCommand: AlkiCommand = {
  command: 'validate <target>',
  describe: 'Prove a GGUF model loads, tokenizes, renders its chat template and generates (in a child process)',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'A .gguf file' })
      .option('prompt', { type: 'string', describe: 'Prompt of the short generation' })
      .option('max-tokens', { type: 'number', default: 16, describe: 'Tokens to generate' })
      .option('context-size', { type: 'number', default: 512, describe: 'Context size for the generation, in tokens' })
      .option('threads', { type: 'number', describe: 'CPU threads (default and maximum: the core count)' })
      .option('score', { type: 'boolean', default: false, describe: 'Also measure the mean negative log-likelihood per token of a built-in text' })
      .option('timeout', { type: 'number', default: 600, describe: 'Give up on the model checks after this many seconds' })
      .example('$0 validate model.gguf --max-tokens 8 --score', 'Load, tokenize, generate 8 tokens and score a short text')
      .example('$0 validate model.gguf --json', 'The report as JSON, with load time, tokens/s and peak memory'),
  handler: withContext<ValidateArgs>(async (argv, { out, signal }) => {
    const progress = out.progress('validate', 6);
    let step = 0;
    const model = await validateGgufModel(argv.target, {
      prompt: argv.prompt,
      maxTokens: argv.maxTokens,
      contextSize: argv.contextSize,
      threads: argv.threads,
      score: argv.score,
      timeoutMs: argv.timeout * 1000,
      signal,
      onCheck: (check) => {
        progress.update(++step);
        out.debug(`running the ${check} check`);
      },
    });
    progress.done();
    const report: ValidationReport = { target: argv.target, kind: 'gguf', ok: model.ok, models: [model], checks: [] };
    if (report.ok) {
      out.result(report, () => render(report));
      return;
    }
    if (!out.json) out.result(report, () => render(report));
    const failed = model.checks.find((c) => c.status === 'fail')!;
    throw new RuntimeError('VALIDATION_FAILED', `The ${failed.name} check failed for ${model.file}: ${failed.message}`, 'check', { details: { report } });
  }),
};

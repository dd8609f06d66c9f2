import { runDoctor, systemProbes, type CheckResult, type DoctorReport } from '@alki/doctor';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { EXIT_CODES } from '../exit-codes.js';
import { commandName, COMMANDS } from './catalog.js';

interface DoctorArgs extends GlobalOptions {
  for?: string[];
  out: string;
}

const MARKS: Record<CheckResult['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

function render(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.title.length));
  const lines = report.checks.map(
    (check) =>
      `${MARKS[check.status]}  ${check.title.padEnd(width)}  ${check.detail}${check.fix ? `; fix: ${check.fix}` : ''}`,
  );
  const count = (status: CheckResult['status']) => report.checks.filter((c) => c.status === status).length;
  lines.push(`${count('ok')} ok, ${count('warn')} warnings, ${count('fail')} failed`);
  return lines.join('\n');
}

export const doctorCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('for', {
        type: 'string',
        array: true,
        // Top-level command names; `image` covers `image test` and `image base`.
        choices: COMMANDS.map(commandName),
        describe: 'Only what these commands need can fail the check (default: every command)',
      })
      .option('out', {
        type: 'string',
        default: './dist',
        describe: 'Where bundles go, for the free-space check',
      })
      .example('$0 doctor', 'Every check; exit 1 when something a command needs is missing')
      .example('$0 doctor --for image --json', 'What `alki image` needs, as JSON'),
  handler: withContext<DoctorArgs>(async (argv, { out }) => {
    const report = await runDoctor(systemProbes(), { commands: argv.for, outputDir: argv.out });
    out.result(report, () => render(report));
    if (!report.ok) process.exitCode = EXIT_CODES.checkFailed;
  }),
};

import { FleetError } from '../errors.js';

/** One thing wrong with a fleet file, where it is, and what to do about it. */
export interface FleetProblem {
  /** 1-based line and column in the file. */
  line: number;
  column: number;
  /** The JSON path of the offending value, `/groups/2/devices/5`. */
  path: string;
  message: string;
  fix: string;
}

/**
 * The error for a fleet file with problems: one line per problem, each
 * with its place (`fleet.yaml:14:9`, as compilers print it, so editors
 * jump there) and its fix.
 */
export function fleetProblemsError(file: string, problems: FleetProblem[]): FleetError {
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const where = (p: FleetProblem) => `${file}:${p.line}:${p.column}`;
  if (sorted.length === 1) {
    const [only] = sorted;
    return new FleetError('INVALID_FLEET', `${where(only)}: ${only.message}`, {
      hint: only.fix,
      details: { file, problems: sorted },
    });
  }
  const lines = sorted.map((p) => `  ${where(p)}: ${p.message} (${lowerFirst(p.fix)})`);
  return new FleetError('INVALID_FLEET', `${file} has ${sorted.length} problems:\n${lines.join('\n')}`, {
    hint: `Fix each line above, then run \`alki fleet validate ${file}\` again.`,
    details: { file, problems: sorted },
  });
}

function lowerFirst(text: string): string {
  const trimmed = text.replace(/\.$/, '');
  return trimmed.charAt(0).toLowerCase() + trimmed.slice(1);
}

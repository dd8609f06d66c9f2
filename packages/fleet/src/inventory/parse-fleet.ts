import type { ErrorObject } from 'ajv';
import { schemaValidator } from '@alki/bundler';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { FleetSpec } from './fleet-spec.js';
import { fleetProblemsError, type FleetProblem } from './problems.js';
import { fleetSchemaV1 } from './schema.js';

// A 500-device fleet written one line per device is about 20 KB; 16 MiB
// leaves room for any real inventory while bounding what one file can make
// the parser hold.
export const MAX_FLEET_FILE_BYTES = 16 * 1024 * 1024;
// yaml's default; aliases that expand exponentially ("billion laughs") stop here.
const MAX_ALIAS_COUNT = 100;

/** Finds where a value of the parsed file is written. */
export type Locate = (path: ReadonlyArray<string | number>, part?: 'key' | 'value') => Position;

export interface Position {
  line: number;
  column: number;
}

/** A fleet file that passed the schema, with a way back to its lines. */
export interface ParsedFleet {
  file: string;
  spec: FleetSpec;
  locate: Locate;
}

function locator(doc: Document, lines: LineCounter): Locate {
  const at = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  return (path, part = 'value') => {
    // The deepest node that exists along the path: a missing key is reported where its parent map is.
    for (let depth = path.length; depth >= 0; depth--) {
      const prefix = path.slice(0, depth);
      if (part === 'key' && depth === path.length && depth > 0) {
        const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
        if (isMap(parent)) {
          const pair = parent.items.find(
            (item) => isScalar(item.key) && String(item.key.value) === String(path[path.length - 1]),
          );
          const range = isScalar(pair?.key) ? pair.key.range : undefined;
          if (range) return at(range[0]);
        }
      }
      const node = prefix.length === 0 ? doc.contents : doc.getIn(prefix, true);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range) return at(range[0]);
    }
    return { line: 1, column: 1 };
  };
}

function pointer(path: ReadonlyArray<string | number>): string {
  return path.length === 0 ? '(top level)' : `/${path.join('/')}`;
}

function segments(instancePath: string): Array<string | number> {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

// How a place in the file is named in messages: `server.ctx of group
// "oslo-pi5"` reads better than `/groups/3/server/ctx`.
function describePlace(spec: unknown, path: ReadonlyArray<string | number>): string {
  const root = spec as Record<string, unknown>;
  if (path.length === 0) return 'the fleet';
  const [section, index] = path;
  const kinds: Record<string, string> = { groups: 'group', rings: 'ring', experiments: 'experiment' };
  if (!(String(section) in kinds) || typeof index !== 'number') return `"${path.join('.')}"`;
  const list = root[section as string];
  const item: unknown = Array.isArray(list) ? list[index] : undefined;
  const name = item && typeof item === 'object' ? (item as { name?: unknown }).name : undefined;
  let owner =
    typeof name === 'string'
      ? `${kinds[section as string]} "${name}"`
      : `${kinds[section as string]} ${index + 1}`;
  let rest = path.slice(2);
  if (section === 'groups' && rest[0] === 'devices' && typeof rest[1] === 'number') {
    owner = `device entry ${rest[1] + 1} of ${owner}`;
    rest = rest.slice(2);
  }
  return rest.length ? `${rest.join('.')} of ${owner}` : owner;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The closest allowed key, when it is close enough to be a typo. */
export function suggestKey(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

// The schema node an ajv error's schemaPath points into, for the allowed
// keys of an object.
function schemaAt(schemaPath: string): unknown {
  let node: unknown = fleetSchemaV1;
  for (const part of schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

function allowedKeys(error: ErrorObject): string[] {
  const parent = schemaAt(error.schemaPath.replace(/\/additionalProperties$/, '')) as
    { properties?: Record<string, unknown> } | undefined;
  return Object.keys(parent?.properties ?? {});
}

// anyOf reports every branch's errors. A branch whose `type` does not fit
// the value (the object branch, for a device written as a string) says
// nothing useful, so its errors are dropped; so are branches that fail on a
// `required` key the value plainly is not trying to have.
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const deadBranches = new Set<string>();
  for (const error of errors) {
    const match = /^(.*\/anyOf\/\d+)\/(type|required)$/.exec(error.schemaPath);
    if (match) deadBranches.add(match[1]);
  }
  const kept = errors.filter(
    (e) => ![...deadBranches].some((branch) => e.schemaPath.startsWith(`${branch}/`)),
  );
  // An anyOf error is only worth showing when no branch gave a specific one.
  return kept.filter(
    (e) =>
      e.keyword !== 'anyOf' ||
      !kept.some(
        (other) => other !== e && other.instancePath.startsWith(e.instancePath) && other.keyword !== 'anyOf',
      ),
  );
}

function schemaProblem(error: ErrorObject, spec: unknown, locate: Locate): FleetProblem {
  const path = segments(error.instancePath);
  const place = describePlace(spec, path);
  const problem = (
    at: ReadonlyArray<string | number>,
    part: 'key' | 'value',
    message: string,
    fix: string,
  ) => ({
    ...locate(at, part),
    path: pointer(at),
    message,
    fix,
  });
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String((error.params as { additionalProperty: string }).additionalProperty);
      const allowed = allowedKeys(error);
      const guess = suggestKey(key, allowed);
      return problem(
        [...path, key],
        'key',
        `unknown key "${key}" in ${place}`,
        `${guess ? `Did you mean "${guess}"? ` : 'Remove it. '}Allowed here: ${allowed.join(', ')}.`,
      );
    }
    case 'required': {
      const key = String((error.params as { missingProperty: string }).missingProperty);
      return problem(
        path,
        'value',
        `${place} has no "${key}"`,
        `Add "${key}" (docs/fleet.md shows an example).`,
      );
    }
    case 'const':
    case 'enum': {
      const allowed = (error.params as { allowedValue?: unknown; allowedValues?: unknown[] }).allowedValue;
      const values = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [allowed];
      return problem(
        path,
        'value',
        `${place} must be ${values.map((v) => JSON.stringify(v)).join(' or ')}`,
        `Write ${values.map((v) => JSON.stringify(v)).join(' or ')}.`,
      );
    }
    case 'pattern':
      return problem(
        path,
        'value',
        `${place} is not valid: ${JSON.stringify(valueAt(spec, path))}`,
        patternFix(error),
      );
    case 'propertyNames': {
      const name = String((error.params as { propertyName: string }).propertyName);
      return problem(
        [...path, name],
        'key',
        `label key "${name}" in ${place} is not a valid Kubernetes label key`,
        'Use up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, optionally after a "domain/" prefix.',
      );
    }
    case 'type':
      return problem(
        path,
        'value',
        `${place} must be ${(error.params as { type: string }).type === 'integer' ? 'a whole number' : `a ${String((error.params as { type: string }).type)}`}`,
        'Change the value to the right type (docs/fleet.md shows each field).',
      );
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minItems':
    case 'minLength':
      return problem(
        path,
        'value',
        `${place} ${error.message ?? 'is out of range'}`,
        'Change the value to one inside the allowed range (docs/fleet.md lists each field).',
      );
    case 'anyOf':
      return problem(
        path,
        'value',
        `${place} is neither a device name nor a {name, labels} or {range, labels} entry`,
        'Write a device as `name`, `{ name: x, labels: {...} }` or `{ range: "prefix-{01..40}" }`.',
      );
    default:
      return problem(
        path,
        'value',
        `${place} ${error.message ?? 'is not valid'}`,
        'See docs/fleet.md for the field.',
      );
  }
}

function valueAt(spec: unknown, path: ReadonlyArray<string | number>): unknown {
  let node = spec;
  for (const part of path) node = (node as Record<string | number, unknown> | undefined)?.[part];
  return node;
}

function patternFix(error: ErrorObject): string {
  const last = error.instancePath.split('/').pop() ?? '';
  if (error.schemaPath.includes('/range/'))
    return 'Write a range as prefix-{01..40}: digits, two dots, digits, in braces.';
  if (last === 'endpoint' || last === 'url') return 'Write a URL starting with http:// or https://.';
  if (/interval|window|pause/.test(error.instancePath)) return 'Write a duration such as 30s, 5m or 1h.';
  if (last === 'unit') return 'Name a systemd service unit, ending in .service.';
  if (error.schemaPath.includes('labels') || error.schemaPath.includes('elector'))
    return 'Label values are up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit.';
  return 'Use lower-case letters, digits and "-", starting and ending with a letter or digit (a DNS label, at most 63 characters).';
}

/**
 * Parses a fleet file's text and checks it against the schema. Every
 * problem names its line and column and says how to fix it; all of them
 * are reported at once.
 *
 * @example
 * const { spec, locate } = parseFleet(await readFile('fleet.yaml', 'utf8'), 'fleet.yaml');
 * console.log(spec.groups.length, locate(['groups', 0, 'name']).line);
 */
export function parseFleet(text: string, file = 'fleet.yaml'): ParsedFleet {
  const lines = new LineCounter();
  if (Buffer.byteLength(text) > MAX_FLEET_FILE_BYTES) {
    throw fleetProblemsError(file, [
      {
        line: 1,
        column: 1,
        path: '(top level)',
        message: `the file is larger than ${MAX_FLEET_FILE_BYTES / 1024 / 1024} MiB`,
        fix: 'Describe devices with groups, ranges and selectors instead of one stanza each.',
      },
    ]);
  }
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const locate = locator(doc, lines);
  if (doc.errors.length > 0) {
    throw fleetProblemsError(
      file,
      doc.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        const duplicate = error.code === 'DUPLICATE_KEY';
        return {
          line,
          column: col,
          path: '(yaml)',
          message: duplicate
            ? 'a key appears twice in the same mapping'
            : `YAML syntax: ${error.message.split('\n')[0]}`,
          fix: duplicate
            ? 'Keep one of the two keys.'
            : 'Fix the YAML at this place (indentation, quotes, colons).',
        };
      }),
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  const validate = schemaValidator<FleetSpec>(fleetSchemaV1);
  if (!validate(value)) {
    const problems = withoutTypoEchoes(relevantErrors(validate.errors ?? [])).map((e) =>
      schemaProblem(e, value, locate),
    );
    throw fleetProblemsError(file, dedupe(problems));
  }
  return { file, spec: value, locate };
}

// `hardwre:` is reported once, as an unknown key that means "hardware", not
// also as a missing "hardware".
function withoutTypoEchoes(errors: ErrorObject[]): ErrorObject[] {
  const typos = new Set(
    errors
      .filter((e) => e.keyword === 'additionalProperties')
      .map((e) => {
        const key = String((e.params as { additionalProperty: string }).additionalProperty);
        return `${e.instancePath}|${suggestKey(key, allowedKeys(e)) ?? ''}`;
      }),
  );
  return errors.filter(
    (e) =>
      e.keyword !== 'required' ||
      !typos.has(`${e.instancePath}|${String((e.params as { missingProperty: string }).missingProperty)}`),
  );
}

function dedupe(problems: FleetProblem[]): FleetProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.column}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

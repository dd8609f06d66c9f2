import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { BundlerError } from '../errors.js';
import {
  composeString,
  composeStringList,
  dockerExecForm,
  dockerQuoted,
  imageReference,
  integer,
  markdownCode,
  markdownText,
  safeAbsolutePath,
  shellArgument,
  systemdArgument,
  systemdText,
  yamlString,
  yamlStringList,
} from './escape.js';

// Each helper escapes for one target format and checks the kind of value it
// gets, since Handlebars' strict mode does not cover helper arguments. A
// template may print a value only through one of them: compileTemplate
// rejects `{{value}}` and `{{{value}}}`, so a forgotten escape is an error at
// load, not an injection.
type Kind = 'string' | 'strings' | 'integer';
const HELPERS: Record<string, { kind: Kind; escape: (value: never) => string }> = {
  systemdArgs: { kind: 'strings', escape: (values: string[]) => values.map(systemdArgument).join(' ') },
  systemdText: { kind: 'string', escape: systemdText },
  path: { kind: 'string', escape: safeAbsolutePath },
  yaml: { kind: 'string', escape: yamlString },
  yamlList: { kind: 'strings', escape: yamlStringList },
  compose: { kind: 'string', escape: composeString },
  composeList: { kind: 'strings', escape: composeStringList },
  dockerExec: { kind: 'strings', escape: dockerExecForm },
  dockerQuoted: { kind: 'string', escape: dockerQuoted },
  imageRef: { kind: 'string', escape: imageReference },
  markdown: { kind: 'string', escape: markdownText },
  markdownCode: { kind: 'string', escape: markdownCode },
  shellArgs: { kind: 'strings', escape: (values: string[]) => values.map(shellArgument).join(' ') },
  int: { kind: 'integer', escape: integer },
};

function isKind(value: unknown, kind: Kind): boolean {
  if (kind === 'string') return typeof value === 'string';
  if (kind === 'integer') return typeof value === 'number';
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

const environment = Handlebars.create();
for (const [name, helper] of Object.entries(HELPERS)) {
  environment.registerHelper(name, (value: unknown) => {
    if (!isKind(value, helper.kind)) {
      throw new BundlerError(
        'INVALID_INPUT',
        `A deploy template's ${name} helper got ${JSON.stringify(value) ?? 'undefined'}, not a ${helper.kind}.`,
        { category: 'internal' },
      );
    }
    return new Handlebars.SafeString(helper.escape(value as never));
  });
}

type Node = { type: string; [key: string]: unknown };

function checkNode(node: Node, template: string): void {
  if (node.type === 'MustacheStatement') {
    const mustache = node as unknown as { path: { original?: unknown }; params: unknown[] };
    const helper = String(mustache.path.original);
    if (!(helper in HELPERS) || mustache.params.length === 0) {
      throw new Error(
        `${template}: {{${helper}}} prints a value without an escaping helper (${Object.keys(HELPERS).join(', ')}).`,
      );
    }
  }
  for (const value of Object.values(node)) {
    if (Array.isArray(value))
      for (const child of value)
        if (child && typeof child === 'object' && 'type' in child) checkNode(child as Node, template);
    if (value && typeof value === 'object' && !Array.isArray(value) && 'type' in value)
      checkNode(value as Node, template);
  }
}

/**
 * Compiles a template after checking that every `{{...}}` goes through an
 * escaping helper. `strict` makes a missing field an error instead of "".
 */
export function compileTemplate<T>(source: string, name: string): (data: T) => string {
  checkNode(Handlebars.parse(source) as unknown as Node, name);
  return environment.compile<T>(source, { strict: true, noEscape: true });
}

/** A file of the package's templates/ folder, as it is (no Handlebars). */
export function loadStaticTemplate(file: string): string {
  return readFileSync(new URL(`../../templates/${file}`, import.meta.url), 'utf8');
}

/** Loads a template shipped in the package's templates/ folder. */
export function loadTemplate<T>(file: string): (data: T) => string {
  // src/deploy and dist/deploy are both two levels below the package root.
  return compileTemplate<T>(loadStaticTemplate(file), file);
}

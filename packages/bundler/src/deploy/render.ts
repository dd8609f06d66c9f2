import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { dockerExecForm, dockerQuoted, imageReference, integer, markdownCode, markdownText, safeAbsolutePath, shellArgument, systemdArgument, systemdText, yamlString, yamlStringList } from './escape.js';

// Each helper escapes for one target format. A template may print a value
// only through one of them: compileTemplate rejects `{{value}}` and
// `{{{value}}}`, so a forgotten escape is an error at load, not an injection.
const HELPERS: Record<string, (...args: never[]) => string> = {
  systemdArgs: (values: string[]) => values.map(systemdArgument).join(' '),
  systemdText: (value: string) => systemdText(value),
  path: (value: string) => safeAbsolutePath(value),
  yaml: (value: string) => yamlString(value),
  yamlList: (values: string[]) => yamlStringList(values),
  dockerExec: (values: string[]) => dockerExecForm(values),
  dockerQuoted: (value: string) => dockerQuoted(value),
  imageRef: (value: string) => imageReference(value),
  markdown: (value: string) => markdownText(value),
  markdownCode: (value: string) => markdownCode(value),
  shellArgs: (values: string[]) => values.map(shellArgument).join(' '),
  int: (value: number) => integer(value),
};

const environment = Handlebars.create();
for (const [name, helper] of Object.entries(HELPERS)) {
  environment.registerHelper(name, (...args: unknown[]) => new Handlebars.SafeString(helper(...(args.slice(0, -1) as never[]))));
}

type Node = { type: string; [key: string]: unknown };

function checkNode(node: Node, template: string): void {
  if (node.type === 'MustacheStatement') {
    const mustache = node as unknown as { path: { original?: unknown }; params: unknown[] };
    const helper = String(mustache.path.original);
    if (!(helper in HELPERS) || mustache.params.length === 0) {
      throw new Error(`${template}: {{${helper}}} prints a value without an escaping helper (${Object.keys(HELPERS).join(', ')}).`);
    }
  }
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) for (const child of value) if (child && typeof child === 'object' && 'type' in child) checkNode(child as Node, template);
    if (value && typeof value === 'object' && !Array.isArray(value) && 'type' in value) checkNode(value as Node, template);
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

/** Loads a template shipped in the package's templates/ folder. */
export function loadTemplate<T>(file: string): (data: T) => string {
  // src/deploy and dist/deploy are both two levels below the package root.
  const source = readFileSync(new URL(`../../templates/${file}`, import.meta.url), 'utf8');
  return compileTemplate<T>(source, file);
}

// @ts-check
// No file may reach itself through its relative imports, type-only imports and re-exports included:
// two files in a cycle cannot be read, tested or moved apart, whether the cycle carries values or types.
// eslint-plugin-import-x's no-cycle skips `import type`, which is why Alki has its own rule. Imports of
// other packages are left out: `tsc -b` already refuses cycles between project references.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** @typedef {import('eslint').Rule.RuleModule} RuleModule */
/** @typedef {import('estree').Node} Node */

/** @type {Map<string, { mtimeMs: number, imports: string[] }>} */
const importsCache = new Map();

/**
 * The .ts file a relative specifier names, as NodeNext resolution finds it (`./x.js` is `./x.ts`), or
 * undefined for a package, a builtin or a file that is not TypeScript source.
 *
 * @param {string} fromFile
 * @param {string} specifier
 * @returns {string | undefined}
 */
export function resolveRelative(fromFile, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const target = path.resolve(path.dirname(fromFile), specifier);
  const stem = target.replace(/\.(m|c)?js$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.mts`, `${stem}.cts`, `${stem}.tsx`, target]) {
    if (/\.(m|c)?tsx?$/.test(candidate) && fs.statSync(candidate, { throwIfNoEntry: false })?.isFile())
      return candidate;
  }
  return undefined;
}

/**
 * The source files a file imports or re-exports by relative path, from its text on disk (cached while
 * its mtime holds). `ts.preProcessFile` sees `import type`, `export ... from` and `import()` alike.
 *
 * @param {string} file
 * @returns {string[]}
 */
function importsOf(file) {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return [];
  const cached = importsCache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs) return cached.imports;
  const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  const imports = [
    ...new Set(
      importedFiles.map((entry) => resolveRelative(file, entry.fileName)).filter((f) => f !== undefined),
    ),
  ];
  importsCache.set(file, { mtimeMs: stat.mtimeMs, imports });
  return imports;
}

/**
 * The shortest chain of imports from `start` back to `file`, or undefined when there is none.
 *
 * @param {string} start
 * @param {string} file
 * @returns {string[] | undefined}
 */
function pathBack(start, file) {
  /** @type {Map<string, string | undefined>} */
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (next === file) {
      /** @type {string[]} */
      const chain = [];
      for (let at = /** @type {string | undefined} */ (next); at !== undefined; at = previous.get(at))
        chain.unshift(at);
      return chain;
    }
    for (const imported of importsOf(next)) {
      if (previous.has(imported)) continue;
      previous.set(imported, next);
      queue.push(imported);
    }
  }
  return undefined;
}

/** @type {RuleModule} */
export const noImportCycles = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow import cycles between source files, type-only imports included.' },
    schema: [],
    messages: {
      cycle:
        'Import cycle: {{chain}}. Move what both sides need into a module that imports neither (types included).',
    },
  },
  create(context) {
    const file = context.filename;
    /** @type {Set<string>} */
    const reported = new Set();
    /**
     * @param {Node} node
     * @param {unknown} specifier
     */
    const check = (node, specifier) => {
      if (typeof specifier !== 'string') return;
      const target = resolveRelative(file, specifier);
      if (target === undefined || reported.has(target)) return;
      const chain = target === file ? [file] : pathBack(target, file);
      if (!chain) return;
      reported.add(target);
      const shown = [file, ...chain].map((f) => path.relative(path.dirname(file), f) || path.basename(f));
      context.report({ node, messageId: 'cycle', data: { chain: shown.join(' -> ') } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
      // `typeof import('./x.js')` in a type position: a type-only edge all the same.
      /** @param {any} node */
      TSImportType: (node) => {
        const argument = node.argument?.literal ?? node.argument;
        check(node, argument?.value);
      },
    };
  },
};

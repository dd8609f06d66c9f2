import { stringify } from 'yaml';

/**
 * YAML text for plan files: the objects in order, `---` between documents,
 * no line folding (long PromQL stays on one line), and the same bytes for
 * the same objects on every run. A header comment says where the file
 * comes from.
 */
export function yamlDocuments(header: string, documents: readonly unknown[]): string {
  const body = documents
    .map((doc) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }))
    .join('---\n');
  return `${header
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n')}\n${body}`;
}

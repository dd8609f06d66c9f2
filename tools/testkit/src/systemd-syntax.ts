/**
 * Splits a systemd command line (an ExecStart= value, or a quadlet Exec=)
 * into its words, as systemd.service(5) "Command lines" and systemd.unit(5)
 * "Specifiers" describe it: double quotes group a word, C escapes inside
 * them decode, and `%%` and `$$` stand for one `%` and one `$`. It throws on
 * an unescaped `%` or `$`, which systemd would expand, so a test that
 * decodes a generated line also proves nothing in it expands.
 */
export function splitSystemdCommandLine(value: string): string[] {
  const words: string[] = [];
  let i = 0;
  const expandable = (text: string, at: number) => {
    const next = text[at + 1];
    if (next !== text[at]) throw new Error(`unescaped ${text[at]}${next ?? ''} at ${at}`);
  };
  while (i < value.length) {
    while (value[i] === ' ') i++;
    if (i >= value.length) break;
    let word = '';
    if (value[i] === '"') {
      i++;
      while (value[i] !== '"') {
        if (i >= value.length) throw new Error('unbalanced quote');
        const char = value[i];
        if (char === '\\') {
          const code = value[i + 1];
          const simple: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', r: '\r', t: '\t' };
          if (code in simple) {
            word += simple[code];
            i += 2;
          } else if (code === 'x') {
            word += String.fromCharCode(parseInt(value.slice(i + 2, i + 4), 16));
            i += 4;
          } else throw new Error(`unknown escape \\${code}`);
        } else if (char === '%' || char === '$') {
          expandable(value, i);
          word += char;
          i += 2;
        } else {
          word += char;
          i++;
        }
      }
      i++;
    } else {
      while (i < value.length && value[i] !== ' ') {
        if (value[i] === '%' || value[i] === '$') {
          expandable(value, i);
          word += value[i];
          i += 2;
        } else word += value[i++];
      }
    }
    words.push(word);
  }
  return words;
}

/** A unit file's sections in order, each with its `Key=value` lines in order. */
export type UnitSections = Array<{ name: string; entries: Array<[string, string]> }>;

/**
 * Reads a unit file (systemd.syntax(7)): `[Section]` headers, `Key=value`
 * lines, `#` and `;` comments. Continuation lines (a trailing backslash) are
 * refused: the generated files never need them, and one would hide a line.
 */
export function parseUnitFile(text: string): UnitSections {
  const sections: UnitSections = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || /^[#;]/.test(line)) return;
    if (line.endsWith('\\')) throw new Error(`line ${index + 1} continues onto the next: ${line}`);
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      sections.push({ name: header[1], entries: [] });
      return;
    }
    const entry = /^([A-Za-z0-9-]+)=(.*)$/.exec(line);
    if (!entry) throw new Error(`line ${index + 1} is neither a section, a setting nor a comment: ${line}`);
    const section = sections.at(-1);
    if (!section) throw new Error(`line ${index + 1} comes before any section: ${line}`);
    section.entries.push([entry[1], entry[2]]);
  });
  return sections;
}

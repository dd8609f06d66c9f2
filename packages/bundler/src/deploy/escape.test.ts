import { describe, expect, it } from '@jest/globals';
import {
  composeString,
  composeStringList,
  dockerExecForm,
  dockerQuoted,
  imageReference,
  markdownCode,
  safeAbsolutePath,
  shellArgument,
  systemdArgument,
  systemdText,
  yamlString,
} from './escape.js';

describe('escapers', () => {
  it('quote systemd arguments with C escapes and doubled % and $', () => {
    expect(systemdArgument('--port')).toBe('--port');
    expect(systemdArgument('a "b" \\ $X %n\nz')).toBe('"a \\"b\\" \\\\ $$X %%n\\nz"');
    expect(systemdArgument('\u0001')).toBe('"\\x01"');
  });

  it('keep systemd free text on one line, with no specifier and no trailing continuation', () => {
    expect(systemdText('a\nb %n c\\')).toBe('a b %%n c');
  });

  it('quote YAML, Dockerfile words, shell words and Markdown code', () => {
    expect(yamlString('a: b # c\n- d')).toBe('"a: b # c\\n- d"');
    expect(dockerQuoted('a "b" $HOME \\ \n')).toBe('"a \\"b\\" \\$HOME \\\\  "');
    expect(dockerExecForm(['a', 'b"c'])).toBe('["a", "b\\"c"]');
    expect(shellArgument("it's")).toBe("'it'\\''s'");
    expect(shellArgument('a\nb')).toBe("$'a\\x0ab'");
    expect(markdownCode('a ` b')).toBe('``a ` b``');
  });

  it('double every $ in compose strings, which compose would interpolate, inside YAML quoting', () => {
    expect(composeString('a $HOME ${X} $$ "q"\n')).toBe('"a $$HOME $${X} $$$$ \\"q\\"\\n"');
    expect(composeStringList(['--alias', '$x'])).toBe('["--alias", "$$x"]');
  });

  it('refuse paths and image references they cannot make safe', () => {
    expect(safeAbsolutePath('/opt/alki/x')).toBe('/opt/alki/x');
    expect(() => safeAbsolutePath('/opt/alki/../etc')).toThrow(/Refusing the path/);
    expect(() => safeAbsolutePath('/opt/a b')).toThrow(/Refusing the path/);
    expect(imageReference('ghcr.io/ggml-org/llama.cpp:server')).toBe('ghcr.io/ggml-org/llama.cpp:server');
    expect(() => imageReference('x\nRUN rm -rf /')).toThrow(/Refusing the image reference/);
  });
});

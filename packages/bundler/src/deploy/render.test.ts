import { describe, expect, it } from '@jest/globals';
import { compileTemplate } from './render.js';

describe('compileTemplate', () => {
  it('renders values only through escaping helpers', () => {
    const render = compileTemplate<{ name: string }>('name: {{yaml name}}\n', 'inline');
    expect(render({ name: 'a"b\nc' })).toBe('name: "a\\"b\\nc"\n');
  });

  it('refuses a template that prints a raw value', () => {
    expect(() => compileTemplate('name: {{name}}', 'raw.hbs')).toThrow(
      /raw\.hbs: \{\{name\}\} prints a value without an escaping helper/,
    );
    expect(() => compileTemplate('name: {{{name}}}', 'triple.hbs')).toThrow(/triple\.hbs/);
    expect(() => compileTemplate('{{#each items}}{{this}}{{/each}}', 'each.hbs')).toThrow(/each\.hbs/);
  });

  it('fails on a missing field instead of printing nothing', () => {
    const render = compileTemplate<{ name?: string }>('name: {{yaml name}}', 'strict');
    expect(() => render({})).toThrow(/yaml helper got undefined, not a string/);
  });

  it('prints data that looks like a template as data', () => {
    const render = compileTemplate<{ name: string }>('{{markdown name}}', 'md');
    expect(render({ name: '{{yaml name}}' })).toBe('\\{\\{yaml name\\}\\}');
  });
});

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { manifestSchemaV1, manifestSchemaV2, runtimeSchemaV1, runtimeSchemaV2 } from './schema.js';

// The package ships the schemas as files for consumers in other languages.
// If this fails after a schema change, rewrite the files from the objects:
// JSON.stringify(schema, null, 2) plus a newline.
describe('the published schema files', () => {
  // The files are formatted by prettier (the repository's format check), so
  // they are compared as JSON: after a schema change, write the object out
  // with JSON.stringify and run prettier on the file.
  it('hold the exported manifest and runtime schemas', () => {
    const published = (name: string): unknown =>
      JSON.parse(readFileSync(new URL(`../../schema/${name}`, import.meta.url), 'utf8'));
    expect(published('manifest.v1.json')).toEqual(manifestSchemaV1);
    expect(published('runtime.v1.json')).toEqual(runtimeSchemaV1);
    expect(published('manifest.v2.json')).toEqual(manifestSchemaV2);
    expect(published('runtime.v2.json')).toEqual(runtimeSchemaV2);
  });
});

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { manifestSchemaV1, runtimeSchemaV1 } from './schema.js';

// The package ships the schemas as files for consumers in other languages.
// If this fails after a schema change, rewrite the files from the objects:
// JSON.stringify(schema, null, 2) plus a newline.
describe('the published schema files', () => {
  it('are the exported manifest and runtime schemas, byte for byte', () => {
    expect(readFileSync(new URL('../../schema/manifest.v1.json', import.meta.url), 'utf8')).toBe(
      `${JSON.stringify(manifestSchemaV1, null, 2)}\n`,
    );
    expect(readFileSync(new URL('../../schema/runtime.v1.json', import.meta.url), 'utf8')).toBe(
      `${JSON.stringify(runtimeSchemaV1, null, 2)}\n`,
    );
  });
});

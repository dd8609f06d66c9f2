import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { profileSchemaV1 } from './schema.js';

// The package ships the schema as a file for fleet tools in other languages.
// If this fails after a schema change, rewrite the file from the object
// (JSON.stringify(profileSchemaV1, null, 2), then prettier).
describe('the published profile schema file', () => {
  it('is the exported schema', () => {
    const file: unknown = JSON.parse(
      readFileSync(new URL('../../schema/profile.v1.json', import.meta.url), 'utf8'),
    );
    expect(file).toEqual(JSON.parse(JSON.stringify(profileSchemaV1)));
  });
});

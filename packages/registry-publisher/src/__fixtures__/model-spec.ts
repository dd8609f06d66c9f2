// The CNCF model-spec config schema (JSON Schema 2020-12), vendored unchanged
// from modelpack/model-spec; vendor/modelpack/README.md says from where and
// under which license. Only imported by tests.
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const schemaPath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../vendor/modelpack/config-schema.json',
);

/** A validator of ModelPack configs against the spec's schema, strict, with formats (date-time) checked. */
export function modelSpecValidator() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // ajv-formats is CommonJS: its plugin is the module's `default` export.
  ajvFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
}

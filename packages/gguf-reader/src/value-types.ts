import { GgufValueType, type GgufValue } from './types.js';

/** Byte size of each fixed-size metadata value type (strings and arrays are variable). */
export const SCALAR_SIZES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** The fewest bytes one value of a type can take: an empty string is 8, an empty array 12. */
export function minValueBytes(type: GgufValueType): number {
  if (type === GgufValueType.STRING) return 8;
  if (type === GgufValueType.ARRAY) return 12;
  return SCALAR_SIZES[type] ?? 1;
}

// The highest type number the spec defines, as a plain number to compare raw file values against.
const LAST_VALUE_TYPE: number = GgufValueType.FLOAT64;

export function isValueType(type: number): type is GgufValueType {
  return Number.isInteger(type) && type >= 0 && type <= LAST_VALUE_TYPE;
}

/** A value as a message shows it: a scalar as written, an array by its length (never "[object Object]"). */
export function valueText(value: GgufValue | undefined): string {
  if (value === undefined) return '(none)';
  return typeof value === 'object' ? `an array of ${value.items.length} items` : String(value);
}

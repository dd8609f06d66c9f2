// C's roundf as ggml uses it. JS's Math.round rounds halves up, which
// differs on exact negative halves.

/** C's roundf: halves go away from zero. */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

import { describe, expect, it } from '@jest/globals';
import { decodeBaseFile, encodeBaseHeader, encodeBasePosition } from './base-file.js';
import { baseDistribution } from './kl-divergence.js';

describe('the reference distribution file', () => {
  it('reads back the windows and every position as written', () => {
    const positions = [
      baseDistribution(
        new Map([
          [3, 0.7],
          [4, 0.3],
        ]),
        4,
      ),
      baseDistribution(new Map([[9, 1]]), 9),
    ];
    const bytes = Buffer.concat([
      encodeBaseHeader(4, [[1, 2, 3, 4]], 2),
      ...positions.map(encodeBasePosition),
    ]);
    const file = decodeBaseFile(bytes);
    expect(file.nCtx).toBe(4);
    expect(file.chunks).toEqual([[1, 2, 3, 4]]);
    expect(
      file.positions.map((p) => [
        [...p.tokens],
        [...p.logProbs].map((v) => +v.toFixed(5)),
        p.top,
        +p.nll.toFixed(5),
      ]),
    ).toEqual([
      [[3, 4], [+Math.log(0.7).toFixed(5), +Math.log(0.3).toFixed(5)], 3, +(-Math.log(0.3)).toFixed(5)],
      [[9], [0], 9, 0],
    ]);
  });

  it('refuses a truncated file with a hint', () => {
    const bytes = Buffer.concat([
      encodeBaseHeader(4, [[1, 2, 3, 4]], 2),
      encodeBasePosition(baseDistribution(new Map([[9, 1]]), 9)),
    ]);
    expect(() => decodeBaseFile(bytes, 'ref.kld')).toThrow(
      /ref\.kld is not a complete reference distribution file/,
    );
  });
});

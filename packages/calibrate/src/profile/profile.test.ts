import { describe, expect, it } from '@jest/globals';
import { parseProfile } from './profile.js';

describe('parseProfile', () => {
  it('lists what is wrong: each missing property, then how many more, and names an unknown property', () => {
    let error: unknown;
    try {
      parseProfile({ surprise: true }, 'host.json');
    } catch (caught) {
      error = caught;
    }
    const { message, details } = error as { message: string; details: { problems: string[] } };
    // Ten required properties and one unknown: eleven problems, five listed.
    expect(details.problems).toHaveLength(11);
    expect(details.problems).toContain("(top level) must have required property 'schemaVersion'");
    expect(details.problems).toContain('(top level) must NOT have additional properties (surprise)');
    expect(message).toBe(
      `host.json is not a version 1 calibration profile: ${details.problems.slice(0, 5).join('; ')}; and 6 more.`,
    );
  });

  it('points into the document', () => {
    expect(() => parseProfile({ schemaVersion: 2 }, 'host.json')).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({
          problems: expect.arrayContaining(['/schemaVersion must be equal to constant']),
        }),
      }),
    );
  });
});

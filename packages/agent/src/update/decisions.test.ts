import { describe, expect, it } from '@jest/globals';
import { initialState, type AgentState } from '../state/agent-state.js';
import { planCheck, planRecovery, slotsToRemove } from './decisions.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

function state(extra: Partial<AgentState> = {}): AgentState {
  return { ...initialState('registry.local/models/demo:stable'), ...extra };
}
const record = (digest: string) => ({ digest, name: 'demo', version: '1' });
const started = '2026-01-01T00:00:00.000Z';

describe('planCheck', () => {
  it('has nothing to do when the channel names the served digest', () => {
    expect(planCheck(state({ current: record(A) }), A)).toEqual({ action: 'up-to-date' });
  });

  it('updates from the served digest to a new one', () => {
    expect(planCheck(state({ current: record(A) }), B)).toEqual({ action: 'update', digest: B, from: A });
  });

  it('installs on a device that serves nothing yet', () => {
    expect(planCheck(state(), A)).toEqual({ action: 'update', digest: A });
  });

  it('skips a digest on the deny list', () => {
    const entry = { digest: B, reason: 'unhealthy', at: started };
    expect(planCheck(state({ current: record(A), denied: [entry] }), B)).toEqual({ action: 'denied', entry });
  });
});

describe('planRecovery after a kill', () => {
  it('confirms a new slot the link already names when the agent died during the restart', () => {
    const update = { digest: B, from: A, phase: 'restart' as const, started };
    expect(planRecovery(state({ healthy: [A], update }), B, [A, B])).toEqual({
      action: 'confirm',
      digest: B,
      from: A,
    });
  });

  it('keeps serving the old slot when the agent died during the switch, before the link moved', () => {
    const update = { digest: B, from: A, phase: 'switch' as const, started };
    expect(planRecovery(state({ healthy: [A], update }), A, [A, B])).toEqual({ action: 'serve', digest: A });
  });

  it('keeps serving the old slot when the agent died while downloading', () => {
    const update = { digest: B, from: A, phase: 'download' as const, started };
    expect(planRecovery(state({ healthy: [A], update }), A, [A])).toEqual({ action: 'serve', digest: A });
  });

  it('finishes a rollback that was under way', () => {
    const update = { digest: B, from: A, phase: 'rollback' as const, started };
    expect(planRecovery(state({ healthy: [A], update }), B, [A, B])).toEqual({
      action: 'roll-back',
      digest: B,
      from: A,
    });
  });

  it('checks a linked slot that never passed here, with the newest healthy one to fall back to', () => {
    expect(planRecovery(state({ healthy: [A, C] }), B, [A, B, C])).toEqual({
      action: 'confirm',
      digest: B,
      from: C,
    });
  });

  it('relinks the newest healthy slot when the link is gone', () => {
    expect(planRecovery(state({ healthy: [A, B] }), undefined, [A, B])).toEqual({
      action: 'relink',
      digest: B,
    });
  });

  it('has nothing to do on a fresh directory', () => {
    expect(planRecovery(state(), undefined, [])).toEqual({ action: 'none' });
  });
});

describe('slotsToRemove', () => {
  it('keeps the protected slots and the most recently used others up to the limit', () => {
    const slots = [
      { digest: A, usedMs: 1 },
      { digest: B, usedMs: 3 },
      { digest: C, usedMs: 2 },
    ];
    expect(slotsToRemove(slots, [A], 2)).toEqual([C]);
    expect(slotsToRemove(slots, [A, C], 2)).toEqual([B]);
    expect(slotsToRemove(slots, [], 3)).toEqual([]);
  });

  it('never removes a protected slot, even past the limit', () => {
    expect(
      slotsToRemove(
        [
          { digest: A, usedMs: 1 },
          { digest: B, usedMs: 2 },
        ],
        [A, B],
        1,
      ),
    ).toEqual([]);
  });
});

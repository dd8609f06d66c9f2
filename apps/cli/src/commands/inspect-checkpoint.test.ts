import { describe, expect, it } from '@jest/globals';
import { generateCheckpoint } from '@alki/testkit';
import { runCli } from '../test-support.js';

describe('alki inspect <checkpoint folder>', () => {
  it('prints the detected family and tokenizer, and the planned tensors with --tensors', async () => {
    const dir = await generateCheckpoint({ family: 'gemma3-vlm' });
    const summary = await runCli(['inspect', dir]);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toContain('architecture: Gemma3ForConditionalGeneration -> gemma3');
    expect(summary.stdout).toContain('tokenizer:    llama, chat template kept');
    expect(summary.stdout).toContain('attention.sliding_window=4');
    expect(summary.stdout).not.toContain('blk.0.attn_q.weight');

    const tensors = await runCli(['inspect', dir, '--tensors']);
    expect(tensors.stdout).toMatch(
      /blk\.0\.attn_q_norm\.weight +F32 +\[16\] +<- language_model\.model\.layers\.0\.self_attn\.q_norm\.weight/,
    );
    // The vision tower goes to the projector, never into the text GGUF.
    expect(tensors.stdout).not.toContain('vision_tower');
  });

  it('reports the plan as JSON', async () => {
    const dir = await generateCheckpoint({ family: 'olmo2' });
    const result = await runCli(['inspect', dir, '--json', '--metadata']);
    const report = JSON.parse(result.stdout) as {
      source: { kind: string };
      plan: { ggufArchitecture: string; tokenizer: { pre: string }; metadata: Record<string, unknown> };
    };
    expect(report.source.kind).toBe('checkpoint');
    expect(report.plan.ggufArchitecture).toBe('olmo2');
    expect(report.plan.tokenizer.pre).toBe('dbrx');
    expect(report.plan.metadata['olmo2.block_count']).toBe(2);
  });
});

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { requireCommand } from '@alki/testkit';

// The Prometheus files shipped in docs/monitoring, checked by Debian's
// promtool: the scrape configuration (with the rule file it names), the alert
// rules, and the rules' unit tests (a rollback and a device down fire).

const monitoring = fileURLToPath(new URL('../../../../docs/monitoring/', import.meta.url));

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(requireCommand('promtool', 'the monitoring files test'), args, {
    cwd: monitoring,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('docs/monitoring', () => {
  it('has a scrape configuration promtool accepts', () => {
    const result = promtool('check', 'config', 'prometheus.yml');
    expect(result.output).toContain('SUCCESS: prometheus.yml is valid');
    expect(result.status).toBe(0);
  });

  it('has four alert rules promtool accepts, whose unit tests pass', () => {
    const rules = promtool('check', 'rules', 'alki-rules.yml');
    expect(rules.output).toContain('SUCCESS: 4 rules found');
    expect(rules.status).toBe(0);
    const tests = promtool('test', 'rules', 'alki-rules.test.yml');
    expect(tests.output).toContain('SUCCESS');
    expect(tests.status).toBe(0);
  });
});

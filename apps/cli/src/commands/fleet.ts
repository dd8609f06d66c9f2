import fs from 'node:fs';
import path from 'node:path';
import {
  calibrateProfiles,
  DEFAULT_ALPHA,
  DEFAULT_STATUS_CONCURRENCY,
  DEFAULT_STATUS_RETRIES,
  FleetError,
  fleetStatus,
  loadFleet,
  parseDuration,
  planFleet,
  renderExperimentHtml,
  reportExperiment,
  resolveProfiles,
  STRATEGIES,
  writePlan,
  type ExperimentReport,
  type FleetStatus,
  type Inventory,
  type Strategy,
} from '@alki/fleet';
import { writeFileAtomic } from '@alki/oci';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type AlkiCommandBody, type GlobalOptions } from '../context.js';

interface ValidateArgs extends GlobalOptions {
  fleet: string;
}

interface PlanArgs extends GlobalOptions {
  fleet: string;
  bundle: string;
  bundleB?: string;
  strategy: Strategy;
  experiment?: string;
  out: string;
  force: boolean;
}

interface StatusArgs extends GlobalOptions {
  fleet: string;
  plan?: string;
  concurrency: number;
  timeout: string;
  retries: number;
  interval: string;
}

interface ReportArgs extends GlobalOptions {
  prometheus: string;
  experiment: string;
  window: string;
  step: string;
  end?: string;
  alpha: number;
  html?: string;
  force: boolean;
}

function summary(inventory: Inventory) {
  return {
    fleet: inventory.name,
    file: inventory.file,
    devices: inventory.devices.length,
    groups: inventory.groups.map((g) => ({
      name: g.name,
      devices: g.devices.length,
      reach:
        g.reach.kind === 'k3s'
          ? g.reach.perDevice
            ? 'k3s per device'
            : `k3s cluster ${g.reach.cluster}`
          : 'systemd',
      hardware:
        'profile' in g.hardware ? `profile ${g.hardware.profile}` : `device class ${g.hardware.deviceClass}`,
    })),
    rings: inventory.rings.map((r) => ({ name: r.name, devices: r.devices.length })),
    experiments: inventory.experiments.map((e) => ({
      name: e.name,
      a: e.cohorts.a.length,
      b: e.cohorts.b.length,
    })),
  };
}

function describeSummary(s: ReturnType<typeof summary>): string {
  return [
    `${s.file}: fleet ${s.fleet}, ${s.devices} devices in ${s.groups.length} groups`,
    ...s.groups.map(
      (g) => `  ${g.name.padEnd(24)} ${String(g.devices).padStart(4)} devices  ${g.reach}, ${g.hardware}`,
    ),
    ...(s.rings.length ? [`rings: ${s.rings.map((r) => `${r.name} (${r.devices})`).join(' → ')}`] : []),
    ...s.experiments.map((e) => `experiment ${e.name}: ${e.a} devices in A, ${e.b} in B`),
  ].join('\n');
}

const validate: AlkiCommand = {
  command: 'validate <fleet>',
  describe:
    'Check a fleet file: schema, duplicates, selectors, rings, cohorts, profiles (exit 3 with the line and fix)',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('fleet', { type: 'string', demandOption: true, describe: 'The fleet file (YAML)' })
      .example(
        '$0 fleet validate fleet.yaml',
        'Devices per group, rings and cohorts, or each problem with its line',
      ),
  handler: withContext<ValidateArgs>(async (argv, { out }) => {
    const inventory = await loadFleet(argv.fleet);
    await resolveProfiles(inventory, calibrateProfiles);
    const s = summary(inventory);
    out.result(s, () => describeSummary(s));
  }),
};

const plan: AlkiCommand = {
  command: 'plan <fleet>',
  describe:
    'Write the GitOps tree that rolls a bundle out to the fleet: kustomize overlays, Argo CD, Argo Rollouts, Prometheus',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('fleet', { type: 'string', demandOption: true, describe: 'The fleet file (YAML)' })
      .option('bundle', {
        type: 'string',
        demandOption: true,
        describe: 'The bundle to deploy (cohort A in an A/B test), pinned: registry/repo@sha256:<digest>',
      })
      .option('strategy', {
        choices: STRATEGIES,
        default: 'rolling',
        describe:
          'rolling: replace devices ring by ring; canary: Argo Rollouts with analysis; ab: two cohorts',
      })
      .option('bundle-b', { type: 'string', describe: "Cohort B's bundle, pinned (with --strategy ab)" })
      .option('experiment', {
        type: 'string',
        describe: 'The experiment of the fleet file that defines the cohorts (ab)',
      })
      .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Where to write the tree' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace a previous plan in --out' })
      .example(
        '$0 fleet plan fleet.yaml --bundle reg.example/models/qwen3@sha256:... -o gitops',
        'A rolling update, ring by ring',
      )
      .example(
        '$0 fleet plan fleet.yaml --strategy ab --bundle REF_A@sha256:... --bundle-b REF_B@sha256:... -o gitops --force',
        'An A/B test between two bundles',
      ),
  handler: withContext<PlanArgs>(async (argv, { out, signal }) => {
    const inventory = await loadFleet(argv.fleet);
    const profiles = await resolveProfiles(inventory, calibrateProfiles);
    const result = planFleet(inventory, profiles, {
      strategy: argv.strategy,
      bundle: argv.bundle,
      ...(argv.bundleB !== undefined ? { bundleB: argv.bundleB } : {}),
      ...(argv.experiment !== undefined ? { experiment: argv.experiment } : {}),
    });
    await writePlan(result.files, argv.out, { force: argv.force, signal });
    const overlays = [...new Set(result.placements.map((p) => p.overlay))].sort();
    const data = {
      fleet: inventory.name,
      strategy: argv.strategy,
      out: path.resolve(argv.out),
      files: result.files.length,
      devices: result.placements.length,
      overlays: overlays.map((overlay) => ({
        path: overlay,
        devices: result.placements.filter((p) => p.overlay === overlay).length,
      })),
    };
    out.result(data, () =>
      [
        `Wrote the ${argv.strategy} plan for ${data.devices} devices to ${argv.out} (${data.files} files)`,
        ...data.overlays.map(
          (o) => `  ${o.path.padEnd(48)} ${o.devices} device${o.devices === 1 ? '' : 's'}`,
        ),
        'Commit it to the repository Argo CD reads; `kubectl kustomize <folder>` shows what a folder deploys.',
      ].join('\n'),
    );
  }),
};

function describeReport(report: ExperimentReport): string {
  const { a, b } = report.cohorts;
  const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v * 1000)} ms` : 'n/a');
  const row = (name: string, va: string, vb: string) => `  ${name.padEnd(30)} ${va.padEnd(22)} ${vb}`;
  const rate = (r: number | null) => (r === null ? 'n/a' : `${(r * 100).toFixed(2)}%`);
  const tps = (m: number | null) => (m === null ? 'n/a' : m.toFixed(1));
  return [
    `experiment ${report.experiment}, ${report.window.start} to ${report.window.end}`,
    row('', 'A', 'B'),
    row('devices', String(a.devices.length), String(b.devices.length)),
    row('requests', String(a.requests), String(b.requests)),
    row('error rate', rate(a.errorRate), rate(b.errorRate)),
    row(
      'latency p50 / p99',
      `${ms(a.latency.p50)} / ${ms(a.latency.p99)}`,
      `${ms(b.latency.p50)} / ${ms(b.latency.p99)}`,
    ),
    row(
      'first token p50 / p99',
      `${ms(a.firstToken.p50)} / ${ms(a.firstToken.p99)}`,
      `${ms(b.firstToken.p50)} / ${ms(b.firstToken.p99)}`,
    ),
    row('generation tokens/s', tps(a.tokensPerSecond.mean), tps(b.tokensPerSecond.mean)),
    '',
    ...report.comparisons.map((c) => `${c.significant ? '*' : '-'} ${c.sentence}`),
    '',
    report.verdict,
  ].join('\n');
}

function parseEnd(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new FleetError(
      'INVALID_OPTIONS',
      `--end ${JSON.stringify(text)} is neither a time nor Unix seconds.`,
      {
        hint: 'Write it as 2026-01-31T12:00:00Z or as Unix seconds.',
      },
    );
  }
  return ms / 1000;
}

const report: AlkiCommand = {
  command: 'report',
  describe: 'Compare the cohorts of an A/B experiment from Prometheus, with a significance test per metric',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('prometheus', { type: 'string', demandOption: true, describe: 'The Prometheus server URL' })
      .option('experiment', { type: 'string', demandOption: true, describe: 'The experiment name' })
      .option('window', { type: 'string', default: '1h', describe: 'How far back to look (30m, 1h, 1d)' })
      .option('step', { type: 'string', default: '1m', describe: 'Interval of the tokens/s samples' })
      .option('end', {
        type: 'string',
        describe: 'End of the window (ISO time or Unix seconds); now by default',
      })
      .option('alpha', { type: 'number', default: DEFAULT_ALPHA, describe: 'Significance level' })
      .option('html', {
        type: 'string',
        describe: 'Also write a self-contained HTML report with charts here',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing --html file' })
      .example(
        '$0 fleet report --prometheus http://prometheus:9090 --experiment q8-vs-q4',
        'The verdict, metric by metric',
      )
      .example(
        '$0 fleet report --prometheus http://prometheus:9090 --experiment q8-vs-q4 --window 1d --html ab.html',
        'A day of data, with charts',
      ),
  handler: withContext<ReportArgs>(async (argv, { out, signal }) => {
    if (argv.html !== undefined && !argv.force && fs.existsSync(argv.html)) {
      throw new FleetError('OUTPUT_EXISTS', `${argv.html} already exists.`, {
        hint: 'Choose another --html path, or pass --force to replace it.',
      });
    }
    out.info(`Querying ${argv.prometheus} for experiment ${argv.experiment}`);
    const result = await reportExperiment({
      prometheus: argv.prometheus,
      experiment: argv.experiment,
      windowSeconds: parseDuration(argv.window, '--window'),
      stepSeconds: parseDuration(argv.step, '--step'),
      end: parseEnd(argv.end),
      alpha: argv.alpha,
      signal,
    });
    if (argv.html !== undefined) {
      await writeFileAtomic(argv.html, renderExperimentHtml(result));
      out.info(`Wrote ${argv.html}`);
    }
    out.result(result, () => describeReport(result));
  }),
};

function readPlannedDigests(file: string): Map<string, string> {
  let plan: { devices?: Array<{ device?: string; bundle?: string }> };
  try {
    plan = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof plan;
  } catch (cause) {
    throw new FleetError(
      'INVALID_OPTIONS',
      `--plan ${file} cannot be read as a plan: ${(cause as Error).message}.`,
      {
        cause,
        hint: 'Pass the plan.json that `alki fleet plan` wrote.',
      },
    );
  }
  const planned = new Map<string, string>();
  for (const { device, bundle } of plan.devices ?? []) {
    const digest = bundle?.slice(bundle.indexOf('@') + 1);
    if (device && digest?.startsWith('sha256:')) planned.set(device, digest);
  }
  return planned;
}

function describeStatus(status: FleetStatus): string {
  const short = (digest?: string) => (digest ? digest.slice(0, 19) : 'unknown');
  const number = (value: number | null | undefined, digits = 1) =>
    value === null || value === undefined ? '-' : value.toFixed(digits);
  const lines = status.devices.map((d) =>
    [
      d.device.padEnd(24),
      d.state.padEnd(11),
      short(d.digest).padEnd(20),
      `${number(d.rates?.requestsPerSecond, 2)} req/s`.padEnd(12),
      `${d.rates?.errorRatio === null || d.rates?.errorRatio === undefined ? '-' : `${(d.rates.errorRatio * 100).toFixed(1)}%`} errors`.padEnd(
        14,
      ),
      `${number(d.rates?.generationTokensPerSecond)} tok/s`,
      d.problem ? `  (${d.problem})` : '',
      d.plannedDigest && d.digest && d.plannedDigest !== d.digest ? `  plan: ${short(d.plannedDigest)}` : '',
    ].join(' '),
  );
  const counts = Object.entries(status.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
  const digests = Object.entries(status.digests)
    .map(([digest, n]) => `${n} on ${short(digest === 'unknown' ? undefined : digest)}`)
    .join(', ');
  return [
    `${'device'.padEnd(24)} ${'state'.padEnd(11)} ${'bundle digest'.padEnd(20)} rates`,
    ...lines,
    '',
    `fleet ${status.fleet}: ${counts}${digests ? `; ${digests}` : ''}`,
    ...(status.offPlan.length ? [`not on the plan's bundle: ${status.offPlan.join(', ')}`] : []),
  ].join('\n');
}

const status: AlkiCommand = {
  command: 'status <fleet>',
  describe:
    "Scrape every device's /health and /metrics: health, the bundle digest it runs, request and token rates",
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('fleet', { type: 'string', demandOption: true, describe: 'The fleet file (YAML)' })
      .option('plan', {
        type: 'string',
        describe: "A plan's plan.json: flag devices that do not run its bundle",
      })
      .option('concurrency', {
        type: 'number',
        default: DEFAULT_STATUS_CONCURRENCY,
        describe: 'Devices scraped at once',
      })
      .option('timeout', { type: 'string', default: '5s', describe: 'Per request' })
      .option('retries', {
        type: 'number',
        default: DEFAULT_STATUS_RETRIES,
        describe: 'Retries of a request that got no answer',
      })
      .option('interval', {
        type: 'string',
        default: '5s',
        describe: 'Between the two scrapes that give rates (0s: one scrape)',
      })
      .example(
        '$0 fleet status fleet.yaml --plan gitops/plan.json',
        'Which devices answer, and which bundle each runs',
      ),
  handler: withContext<StatusArgs>(async (argv, { out, signal }) => {
    const inventory = await loadFleet(argv.fleet);
    const planned = argv.plan !== undefined ? readPlannedDigests(argv.plan) : undefined;
    if (!(argv.concurrency >= 1) || !(argv.retries >= 0)) {
      throw new FleetError('INVALID_OPTIONS', '--concurrency must be at least 1 and --retries at least 0.', {
        hint: 'For example --concurrency 16 --retries 2.',
      });
    }
    const bar = out.progress('Scraping devices', undefined, 'count');
    const result = await fleetStatus(inventory, {
      concurrency: argv.concurrency,
      retries: argv.retries,
      timeoutMs: parseDuration(argv.timeout, '--timeout') * 1000,
      intervalMs: parseDuration(argv.interval, '--interval') * 1000,
      ...(planned ? { planned } : {}),
      onProgress: (done, total) => bar.update(done, total),
      signal,
    });
    bar.done();
    out.result(result, () => describeStatus(result));
  }),
};

export const fleetCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .command([validate, plan, report, status])
      .demandCommand(1)
      .example(
        '$0 fleet plan fleet.yaml --bundle REF@sha256:... --strategy canary -o gitops',
        'A canary rollout',
      ),
  handler: () => undefined,
};

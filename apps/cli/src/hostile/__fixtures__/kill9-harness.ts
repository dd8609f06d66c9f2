import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';

// The kill -9 harness (issue #21): the built CLI (bin/alki.js) as a real
// process, killed with SIGKILL at uniformly random moments of a run whose
// length was measured first, so no cleanup code of Alki runs. After each kill
// the destination must be absent or whole (case A: none before; case B: an
// old one before, byte-identical or replaced by a whole new one), and every
// leftover must carry a killed process's id, so that the next start can
// recognise and remove it; a last, uninterrupted run must leave nothing.

export const ALKI = fileURLToPath(new URL('../../../bin/alki.js', import.meta.url));

/** Kills per command; ALKI_KILL_RUNS changes it (as for the agent's kill test). */
export const KILL_RUNS = Number(process.env.ALKI_KILL_RUNS ?? 30);

export interface AlkiRun {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Every line the CLI wrote (stdout and stderr), in order. */
  lines: string[];
  ms: number;
}

// The CLI as a user runs it: not with Jest's NODE_OPTIONS, nor nx's FORCE_COLOR (beside NO_COLOR Node warns).
function alkiEnv(tmp: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, NO_COLOR: '1', NODE_OPTIONS: '', ...extra };
  delete env.FORCE_COLOR;
  return env;
}

/**
 * Runs `alki ARGS` (TMPDIR `tmp`, `env` added) under strace, which SIGKILLs
 * it as it enters its `when`-th rename(2), and expects it to end so. strace
 * counts each thread's calls apart; `followThreads` traces every thread and
 * child process, not only the main thread.
 */
export function killAtRename(
  args: string[],
  tmp: string,
  {
    when,
    followThreads = false,
    env = {},
  }: { when: number; followThreads?: boolean; env?: NodeJS.ProcessEnv },
): void {
  const straced = spawnSync(
    'strace',
    [
      ...(followThreads ? ['-f'] : []),
      '-qq',
      '-o',
      '/dev/null',
      '-e',
      'trace=rename',
      '-e',
      `inject=rename:signal=KILL:when=${when}`,
      process.execPath,
      ALKI,
      ...args,
    ],
    { env: alkiEnv(tmp, env) },
  );
  // strace ends itself with the signal that ended the CLI.
  expect({ signal: straced.signal, stderr: straced.signal ? '' : String(straced.stderr) }).toEqual({
    signal: 'SIGKILL',
    stderr: '',
  });
}

/**
 * Runs `alki ARGS` with TMPDIR set to `tmp`, and SIGKILLs it `killAfterMs`
 * after the spawn when it is still running then.
 */
export function runAlki(args: string[], tmp: string, killAfterMs?: number): Promise<AlkiRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [ALKI, ...args], {
    env: alkiEnv(tmp),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        pid: child.pid ?? 0,
        code,
        signal,
        lines: text.split('\n').filter((line) => line.trim() !== ''),
        ms: performance.now() - started,
      });
    });
  });
}

/**
 * A digest of a file or a directory tree (relative paths, kinds and bytes),
 * or `absent`. Two bundles with the same digest are byte-identical.
 */
export function treeDigest(target: string): string {
  const hash = crypto.createHash('sha256');
  const visit = (file: string, relative: string): void => {
    const info = fs.lstatSync(file);
    if (info.isDirectory()) {
      hash.update(`d ${relative}\n`);
      for (const name of fs.readdirSync(file).sort()) visit(path.join(file, name), `${relative}/${name}`);
    } else if (info.isFile()) {
      hash.update(`f ${relative} ${info.size}\n`).update(fs.readFileSync(file));
    } else hash.update(`? ${relative}\n`);
  };
  if (!fs.existsSync(target)) return 'absent';
  visit(target, '.');
  return hash.digest('hex');
}

/** Every path below `dir` (files and directories, relative), except `keep` at the top. */
export function entriesBelow(dir: string, keep: string[] = []): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((relative) => !keep.some((name) => relative === name || relative.startsWith(`${name}/`)))
    .sort();
}

/** The process ids a name carries: digit runs. */
function idsIn(name: string): number[] {
  return (name.match(/\d+/g) ?? []).map(Number);
}

/** Whether the old destination lies whole (digest `oldDigest`) in `outDir` under a name carrying `pid`. */
function retiredWhole(outDir: string, top: string, pid: number, oldDigest: string): boolean {
  return fs
    .readdirSync(outDir)
    .filter((name) => name !== top && idsIn(name).includes(pid))
    .some((name) => treeDigest(path.join(outDir, name)) === oldDigest);
}

export type KillCase = 'A' | 'B';

/** What a command's kill test needs: its arguments, the state before, and how to name the phase a kill hit. */
export interface KillScenario {
  /** A directory of the test's own: the output directory `out` and TMPDIR `tmp` are made in it. */
  work: string;
  /** The destination's name (a file or a bundle directory) in `out`, where nothing else may stay. */
  name: string;
  /** The arguments of the run killed; `replace` is case B (an old destination exists, so --force). */
  args: (destination: string, replace: boolean) => string[];
  /** Arguments that write a whole, different destination beforehand, for case B. */
  oldArgs: (destination: string) => string[];
  /**
   * The phase a kill hit, from what the killed process left in `out` and `tmp`
   * (paths below them) and whether the destination became the new one.
   */
  phaseOf: (leftovers: { out: string[]; tmp: string[] }, outcome: Outcome) => string;
}

export type Outcome = 'absent' | 'old' | 'new' | 'retired';

export interface KillReport {
  measuredMs: number;
  kills: number;
  /** Runs that ended on their own before their kill moment. */
  finishedFirst: number;
  phases: Record<string, number>;
  outcomes: Record<`${KillCase} ${Outcome}`, number>;
}

/** Exit 0; on failure the CLI's own lines say why. */
function expectSuccess(run: AlkiRun): void {
  expect({ code: run.code, signal: run.signal, lines: run.code === 0 ? [] : run.lines }).toEqual({
    code: 0,
    signal: null,
    lines: [],
  });
}

function tally<K extends string>(counts: Partial<Record<K, number>>, key: K): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * The whole kill -9 test of one command: a measured uninterrupted run (its
 * result is "the new destination"), the old destination for case B, then
 * KILL_RUNS kills alternating case A and B at uniformly random offsets of
 * the measured duration, then one more uninterrupted run that must sweep
 * everything the kills left.
 */
export async function killAtRandomMoments(scenario: KillScenario): Promise<KillReport> {
  const outDir = path.join(scenario.work, 'out');
  const tmp = path.join(scenario.work, 'tmp');
  fs.mkdirSync(outDir);
  fs.mkdirSync(tmp);
  const destination = path.join(outDir, scenario.name);
  const top = scenario.name;
  // Case B's old destination, kept aside as the copy each case B starts from.
  expectSuccess(await runAlki(scenario.oldArgs(destination), tmp));
  const old = path.join(scenario.work, `old-${scenario.name}`);
  fs.renameSync(destination, old);
  const oldDigest = treeDigest(old);

  // The measured run: a case A run to its end. Its result is what every later run writes.
  const measured = await runAlki(scenario.args(destination, false), tmp);
  expectSuccess(measured);
  const newDigest = treeDigest(destination);
  expect(newDigest).not.toBe(oldDigest);
  expect(entriesBelow(outDir, [top])).toEqual([]);
  expect(entriesBelow(tmp)).toEqual([]);

  const report: KillReport = {
    measuredMs: measured.ms,
    kills: 0,
    finishedFirst: 0,
    phases: {},
    outcomes: {} as KillReport['outcomes'],
  };
  const killed = new Set<number>();
  // Kill moments are drawn over the shortest whole run seen so far: a first
  // run measured on a loaded machine would otherwise put most moments after
  // the later, quicker runs have ended.
  let span = measured.ms;
  for (let attempt = 0; report.kills < KILL_RUNS && attempt < 3 * KILL_RUNS; attempt++) {
    const killCase: KillCase = attempt % 2 === 0 ? 'A' : 'B';
    fs.rmSync(destination, { recursive: true, force: true });
    if (killCase === 'B') fs.cpSync(old, destination, { recursive: true });
    const run = await runAlki(scenario.args(destination, killCase === 'B'), tmp, Math.random() * span);
    const digest = treeDigest(destination);
    let outcome: Outcome = digest === newDigest ? 'new' : digest === oldDigest ? 'old' : 'absent';
    // A replacing run killed between its two back-to-back renames: the old
    // destination lies whole under a name with the killed process's id, which
    // the next start renames back (the bundler's removeStaleSiblings test).
    if (killCase === 'B' && digest === 'absent' && retiredWhole(outDir, top, run.pid, oldDigest))
      outcome = 'retired';
    // Absent only where nothing was there before; anything else present is a half-written destination.
    expect({ case: killCase, digest: outcome === 'absent' ? digest : outcome }).toEqual({
      case: killCase,
      digest:
        killCase === 'A'
          ? expect.stringMatching(/^(absent|new)$/)
          : expect.stringMatching(/^(old|new|retired)$/),
    });
    if (run.signal !== 'SIGKILL') {
      // It ended before its moment came: a whole run, which leaves nothing behind.
      expectSuccess(run);
      report.finishedFirst++;
      span = Math.min(span, run.ms);
      continue;
    }
    killed.add(run.pid);
    report.kills++;
    if (outcome === 'retired') {
      // The next start, even one that refuses to replace (exit 2), puts the old destination back.
      const next = await runAlki(scenario.args(destination, false), tmp);
      expect({ code: next.code, destination: treeDigest(destination) === oldDigest }).toEqual({
        code: 2,
        destination: true,
      });
    }
    const leftovers = { out: entriesBelow(outDir, [top]), tmp: entriesBelow(tmp) };
    // Each leftover names a killed process, so a later start can tell it from a live one's.
    const unowned = [...leftovers.out, ...leftovers.tmp]
      .filter((entry) => !entry.includes('/'))
      .filter((name) => !idsIn(name).some((id) => killed.has(id)));
    expect(unowned).toEqual([]);
    const ownedBy = (entries: string[]) =>
      entries.filter((entry) => idsIn(entry.split('/')[0]).includes(run.pid));
    tally(
      report.phases,
      scenario.phaseOf({ out: ownedBy(leftovers.out), tmp: ownedBy(leftovers.tmp) }, outcome),
    );
    tally(report.outcomes, `${killCase} ${outcome}`);
  }

  // The next start removes what the kills left, and writes the new destination whole.
  expectSuccess(await runAlki(scenario.args(destination, true), tmp));
  expect(treeDigest(destination)).toBe(newDigest);
  expect(entriesBelow(outDir, [top])).toEqual([]);
  expect(entriesBelow(tmp)).toEqual([]);
  return report;
}

/** One line for the test log: how the kills fell. */
export function describeReport(command: string, report: KillReport): string {
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, count]) => `${key} ${count}`)
      .join(', ');
  return `${command}: ${report.kills} kills over a measured ${Math.round(report.measuredMs)} ms run (${report.finishedFirst} runs ended before their moment); phases: ${list(report.phases)}; outcomes: ${list(report.outcomes)}`;
}

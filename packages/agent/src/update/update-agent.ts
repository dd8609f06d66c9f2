import { readBundle } from '@alki/bundler';
import { isAlkiError } from '@alki/errors';
import type { RegistryClient } from '@alki/oci';
import { stagingPathOf } from '@alki/registry-publisher';
import fs from 'node:fs';
import path from 'node:path';
import { resolveChannel, type Channel } from '../channel/channel.js';
import { freeSpace as statfsFreeSpace, type FreeSpaceProbe } from '../download/disk-space.js';
import { downloadSlot, type TrustCheck } from '../download/download-slot.js';
import { AgentError } from '../errors.js';
import { checkHealth, type HealthCheckResult } from '../health/health-check.js';
import type { ServedSlot, ServiceManager } from '../service/service-manager.js';
import { agentPaths, digestOfSlot, shortDigest, slotDir, type AgentPaths } from '../slots/agent-paths.js';
import { readCurrentLink, switchCurrentLink } from '../slots/current-link.js';
import {
  initialState,
  readState,
  writeState,
  type AgentState,
  type CheckOutcome,
  type SlotRecord,
  type UpdatePhase,
} from '../state/agent-state.js';
import { acquireLock, type Lock } from './lock.js';
import { planCheck, planRecovery, slotsToRemove } from './decisions.js';

/** The kinds of decision the agent logs, one line each. */
export type AgentDecision =
  | 'start'
  | 'recover'
  | 'check'
  | 'up-to-date'
  | 'skip-denied'
  | 'forget-denied'
  | 'download'
  | 'refuse'
  | 'switch'
  | 'restart'
  | 'healthy'
  | 'unhealthy'
  | 'rollback'
  | 'deny'
  | 'gc'
  | 'server-exit'
  | 'error'
  | 'stop';

/** One decision, as the agent logs it. */
export interface AgentEvent {
  /** ISO 8601. */
  at: string;
  decision: AgentDecision;
  /** One sentence. */
  message: string;
  digest?: string;
}

export interface AgentOptions {
  channel: Channel;
  client: RegistryClient;
  /** The agent directory: slots, the `current` link, the state file. */
  dir: string;
  service: ServiceManager;
  /** Slots kept on disk, the one served included; at least 2 (the served one and one to roll back to). Default 2. */
  keep?: number;
  /** The health check (the server loading, /health, one completion) must pass within this. Default 120 s. */
  healthTimeoutMs?: number;
  /** A trust policy every new bundle must pass (@alki/signer). */
  trust?: TrustCheck;
  /** Bytes that must stay free on the disk after a download. Default 64 MiB. */
  reserveBytes?: number;
  freeSpace?: FreeSpaceProbe;
  log?: (event: AgentEvent) => void;
  /** Called with the state after every change (for /metrics). */
  onState?: (state: AgentState) => void;
  /** Bytes of the current download so far, and its total. */
  onProgress?: (done: number, total: number) => void;
  clock?: () => Date;
  /** For health checks. */
  fetch?: typeof fetch;
  /** The API key health checks present, read before each check (keys may rotate); none when absent. */
  healthApiKey?: () => Promise<string | undefined>;
}

const MIB = 2 ** 20;

/**
 * Keeps a device serving the bundle a channel names, safely: it downloads a
 * new bundle into a slot beside the served one, moves the `current` link to
 * it atomically, restarts the server through a ServiceManager, checks
 * /health and one completion, and rolls back to the previous slot when that
 * fails, denying the failed digest until the channel names another. Every
 * step is recorded in the state file before it is taken, so an agent killed
 * at any moment finishes or undoes it when it starts again (`start`).
 * Operations run one at a time.
 *
 * @example
 * const agent = new UpdateAgent({ channel: parseChannel('127.0.0.1:5000/models/tiny:stable'), client, dir: '/var/lib/alki/tiny', service });
 * await agent.start();
 * await agent.check();
 */
export class UpdateAgent {
  readonly paths: AgentPaths;
  private state: AgentState;
  private lock: Lock | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly keep: number;
  private readonly now: () => Date;
  /** Set while the server is known to be down or failing, so the next check tries again. */
  private serverDown = false;
  private failure: unknown;
  /** Why the server started last exited on its own, if it did: a health check of it fails at once. */
  private exited: string | undefined;

  constructor(private readonly options: AgentOptions) {
    this.paths = agentPaths(options.dir);
    this.keep = options.keep ?? 2;
    if (!Number.isInteger(this.keep) || this.keep < 2)
      throw new AgentError(
        'INVALID_INPUT',
        `The agent keeps at least 2 slots (the served one and one to roll back to), not ${this.keep}.`,
        {
          details: { keep: this.keep },
        },
      );
    this.now = options.clock ?? (() => new Date());
    this.state = initialState(options.channel.text);
    options.service.onUnexpectedExit((reason) => {
      this.serverDown = true;
      this.exited = reason;
      this.event('server-exit', `${reason}; restarting it.`);
      void this.exclusive(() => this.serveCurrent()).catch(() => undefined);
    });
  }

  /** The error behind the last failed check or rollback, for a one-shot run's exit status. */
  get lastFailure(): unknown {
    return this.failure;
  }

  /** The state as last written. */
  get snapshot(): AgentState {
    return structuredClone(this.state);
  }

  /**
   * Takes the agent directory (refusing one another agent holds), reads the
   * state, and finishes whatever a killed agent left: an update to confirm,
   * a rollback to complete, a server to adopt or start.
   */
  async start(signal?: AbortSignal): Promise<void> {
    await fs.promises.mkdir(this.paths.slots, { recursive: true });
    this.lock = await acquireLock(this.paths.lock);
    await this.removeStrayTemps();
    const saved = await readState(this.paths);
    this.state =
      saved && saved.channel === this.options.channel.text
        ? saved
        : {
            ...initialState(this.options.channel.text),
            ...(saved ? { healthy: saved.healthy, denied: [] } : {}),
          };
    this.event(
      'start',
      `Following ${this.options.channel.text} in ${this.paths.root}; the server is a ${this.options.service.description}.`,
    );
    await this.exclusive(() => this.recover(signal));
  }

  /** One look at the channel, and the update it calls for. Never throws: failures are in the outcome and lastError. */
  check(signal?: AbortSignal): Promise<CheckOutcome> {
    return this.exclusive(() => this.checkNow(signal));
  }

  /** Stops what the service manager supervises and releases the directory. */
  async stop(): Promise<void> {
    await this.exclusive(async () => {
      this.event('stop', 'Stopping.');
      await this.options.service.close();
      await this.lock?.release();
      this.lock = undefined;
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private event(decision: AgentDecision, message: string, digest?: string): void {
    this.options.log?.({ at: this.now().toISOString(), decision, message, ...(digest ? { digest } : {}) });
  }

  private async save(): Promise<void> {
    await writeState(this.paths, this.state);
    this.options.onState?.(this.snapshot);
  }

  private async setPhase(digest: string, from: string | undefined, phase: UpdatePhase): Promise<void> {
    this.state.update = {
      digest,
      ...(from ? { from } : {}),
      phase,
      started: this.state.update?.digest === digest ? this.state.update.started : this.now().toISOString(),
    };
    await this.save();
  }

  private async fail(error: unknown, digest?: string): Promise<void> {
    this.failure = error;
    const code = isAlkiError(error) ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    this.state.lastError = { at: this.now().toISOString(), code, message };
    this.event('error', message, digest);
    await this.save();
  }

  private async completeSlots(): Promise<string[]> {
    const names = await fs.promises.readdir(this.paths.slots).catch(() => [] as string[]);
    return names.map(digestOfSlot).filter((digest): digest is string => digest !== undefined);
  }

  private async record(digest: string): Promise<SlotRecord> {
    const bundle = await readBundle(slotDir(this.paths, digest));
    return { digest, name: bundle.manifest.name, version: bundle.manifest.version };
  }

  private slot(digest: string): ServedSlot {
    return { digest, dir: slotDir(this.paths, digest) };
  }

  // Temp files a killed agent left beside `current` (a switch) and the state
  // file (a state write). Only the lock holder writes them, so all are stray.
  private async removeStrayTemps(): Promise<void> {
    const bases = [this.paths.current, this.paths.state].map((file) => `.${path.basename(file)}.`);
    for (const name of await fs.promises.readdir(this.paths.root))
      if (bases.some((base) => name.startsWith(base)) && name.endsWith('.partial'))
        await fs.promises.rm(path.join(this.paths.root, name), { force: true });
  }

  private async recover(signal?: AbortSignal): Promise<void> {
    const linked = await readCurrentLink(this.paths);
    const slots = await this.completeSlots();
    this.state.current = linked && slots.includes(linked) ? await this.record(linked) : undefined;
    const plan = planRecovery(this.state, linked, slots);
    if (this.state.update?.phase === 'download') {
      this.event(
        'recover',
        `A download of ${shortDigest(this.state.update.digest)} was interrupted; the next check resumes it.`,
        this.state.update.digest,
      );
      delete this.state.update;
    }
    switch (plan.action) {
      case 'confirm':
        this.event(
          'recover',
          `${shortDigest(plan.digest)} is linked but was never confirmed healthy; checking it now.`,
          plan.digest,
        );
        await this.confirmOrRollBack(plan.digest, plan.from, signal);
        break;
      case 'roll-back':
        this.event(
          'recover',
          `A rollback from ${shortDigest(plan.digest)} was interrupted; finishing it.`,
          plan.digest,
        );
        await this.rollBack(
          plan.digest,
          plan.from,
          'it failed its health check before the agent restarted',
          undefined,
          signal,
        );
        break;
      case 'relink':
        this.event(
          'recover',
          `No current link; linking ${shortDigest(plan.digest)}, the newest bundle that was healthy here.`,
          plan.digest,
        );
        await switchCurrentLink(this.paths, plan.digest);
        this.state.current = await this.record(plan.digest);
        await this.serveCurrent(signal);
        break;
      case 'serve':
        delete this.state.update;
        await this.serveCurrent(signal);
        break;
      case 'none':
        delete this.state.update;
        this.event('recover', "Nothing installed yet; the first check installs the channel's bundle.");
        await this.save();
        break;
    }
    await this.collectGarbage([this.state.current?.digest, this.state.previous?.digest]);
  }

  // Serves what the link names, adopting a running server; health-checks a server it had to start.
  private async serveCurrent(signal?: AbortSignal): Promise<void> {
    const current = this.state.current;
    if (!current) return;
    this.exited = undefined;
    const outcome = await this.options.service.ensure(this.slot(current.digest), signal);
    if (outcome === 'running') {
      this.serverDown = false;
      this.event(
        'recover',
        `The server for ${shortDigest(current.digest)} (${current.version}) is running; keeping it.`,
        current.digest,
      );
      await this.save();
      return;
    }
    this.event(
      'restart',
      `Started the server for ${shortDigest(current.digest)} (${current.version}).`,
      current.digest,
    );
    try {
      await checkHealth({
        url: await this.options.service.url(this.slot(current.digest)),
        deadlineMs: this.healthTimeout(),
        fetch: this.options.fetch,
        signal,
        gone: () => this.exited,
        apiKey: await this.options.healthApiKey?.(),
      });
      this.serverDown = false;
      this.event(
        'healthy',
        `${shortDigest(current.digest)} (${current.version}) is serving.`,
        current.digest,
      );
      await this.save();
    } catch (error) {
      signal?.throwIfAborted();
      this.serverDown = true;
      await this.fail(error, current.digest);
    }
  }

  private healthTimeout(): number {
    return this.options.healthTimeoutMs ?? 120_000;
  }

  private async checkNow(signal?: AbortSignal): Promise<CheckOutcome> {
    const at = this.now().toISOString();
    let digest: string;
    try {
      if (this.serverDown) await this.serveCurrent(signal);
      digest = await resolveChannel(this.options.channel, this.options.client, signal);
    } catch (error) {
      signal?.throwIfAborted();
      this.state.lastCheck = { at, outcome: 'failed' };
      await this.fail(error);
      return 'failed';
    }
    const forgotten = this.state.denied.filter((entry) => entry.digest !== digest);
    for (const entry of forgotten)
      this.event(
        'forget-denied',
        `The channel names ${shortDigest(digest)} now; ${shortDigest(entry.digest)} is no longer denied.`,
        entry.digest,
      );
    this.state.denied = this.state.denied.filter((entry) => entry.digest === digest);
    const plan = planCheck(this.state, digest);
    let outcome: CheckOutcome;
    if (plan.action === 'up-to-date') {
      this.event(
        'up-to-date',
        `${this.options.channel.text} names ${shortDigest(digest)}, which is served.`,
        digest,
      );
      outcome = 'up-to-date';
    } else if (plan.action === 'denied') {
      this.event(
        'skip-denied',
        `${this.options.channel.text} names ${shortDigest(digest)}, which failed here at ${plan.entry.at} (${plan.entry.reason}); not trying it again until the channel moves.`,
        digest,
      );
      outcome = 'denied';
    } else {
      this.event(
        'check',
        `${this.options.channel.text} names ${shortDigest(digest)}; updating from ${plan.from ? shortDigest(plan.from) : 'nothing'}.`,
        digest,
      );
      outcome = await this.update(plan.digest, plan.from, signal);
    }
    this.state.lastCheck = { at, digest, outcome };
    await this.save();
    return outcome;
  }

  private async update(
    digest: string,
    from: string | undefined,
    signal?: AbortSignal,
  ): Promise<CheckOutcome> {
    await this.setPhase(digest, from, 'download');
    // Room for the new slot: keep the served one, and as many others as `keep` leaves.
    await this.collectGarbage([from, digest], this.keep - 1);
    let record: SlotRecord;
    try {
      const free = await (this.options.freeSpace ?? statfsFreeSpace)(this.paths.slots);
      this.event(
        'download',
        `Downloading ${shortDigest(digest)} into a new slot (${Math.floor(free / MIB)} MiB free).`,
        digest,
      );
      record = await downloadSlot({
        client: this.options.client,
        channel: this.options.channel,
        paths: this.paths,
        digest,
        trust: this.options.trust,
        freeSpace: this.options.freeSpace ?? statfsFreeSpace,
        reserveBytes: this.options.reserveBytes ?? 64 * MIB,
        signal,
        onProgress: this.options.onProgress,
      });
    } catch (error) {
      signal?.throwIfAborted();
      delete this.state.update;
      const kind = isAlkiError(error) ? error.category : 'internal';
      if (isAlkiError(error) && error.code === 'NO_SPACE')
        this.event(
          'refuse',
          `${error.message} Still serving ${this.state.current ? shortDigest(this.state.current.digest) : 'nothing'}.`,
          digest,
        );
      // A bundle that is untrusted, corrupt or not a bundle will not get better: deny it.
      else if (kind === 'check' || kind === 'input')
        this.deny(digest, error instanceof Error ? error.message : String(error));
      await this.fail(error, digest);
      return 'failed';
    }
    await this.setPhase(digest, from, 'switch');
    await switchCurrentLink(this.paths, digest);
    await this.touch(digest);
    this.event(
      'switch',
      `The current link names ${shortDigest(digest)} (${record.name} ${record.version}).`,
      digest,
    );
    await this.setPhase(digest, from, 'restart');
    const previous = this.state.current;
    this.state.current = record;
    await this.save();
    return this.confirmOrRollBack(digest, from, signal, previous);
  }

  // Restarts on `digest` (which the link names) and health-checks it: on
  // success it is confirmed, else the link goes back to `from`.
  private async confirmOrRollBack(
    digest: string,
    from: string | undefined,
    signal?: AbortSignal,
    previous?: SlotRecord,
  ): Promise<CheckOutcome> {
    await this.setPhase(digest, from, 'restart');
    const record = this.state.current ?? (await this.record(digest));
    const started = performance.now();
    try {
      const { health, windowMs } = await this.restartAndCheck(digest, started, signal, () =>
        this.event(
          'restart',
          `Restarted the server on ${shortDigest(digest)} (${record.version}); checking its health.`,
          digest,
        ),
      );
      this.serverDown = false;
      const before = previous ?? (from ? await this.record(from).catch(() => undefined) : undefined);
      this.state.current = record;
      if (before && before.digest !== digest) this.state.previous = before;
      this.state.healthy = [...this.state.healthy.filter((d) => d !== digest), digest].slice(-16);
      this.state.lastSwitch = {
        at: this.now().toISOString(),
        ...(from ? { from } : {}),
        to: digest,
        outcome: 'updated',
        restartWindowMs: windowMs,
      };
      delete this.state.update;
      delete this.state.lastError;
      this.event(
        'healthy',
        `${shortDigest(digest)} (${record.version}) passed its health check (${health.completionTokens} tokens); the server was down ${windowMs} ms.`,
        digest,
      );
      await this.save();
      await this.collectGarbage([digest, from]);
      return 'updated';
    } catch (error) {
      signal?.throwIfAborted();
      const reason = error instanceof Error ? error.message : String(error);
      this.failure = error;
      this.event('unhealthy', reason, digest);
      await this.rollBack(digest, from, reason, started, signal);
      return 'rolled-back';
    }
  }

  // Restarts the server on `digest`'s slot and waits for its health check;
  // the down window counts from `started` up to the moment it answered healthy.
  private async restartAndCheck(
    digest: string,
    started: number,
    signal?: AbortSignal,
    restarted?: () => void,
  ): Promise<{ health: HealthCheckResult; windowMs: number }> {
    this.exited = undefined;
    await this.options.service.restart(this.slot(digest), signal);
    restarted?.();
    const health = await checkHealth({
      url: await this.options.service.url(this.slot(digest)),
      deadlineMs: this.healthTimeout(),
      fetch: this.options.fetch,
      signal,
      gone: () => this.exited,
      apiKey: await this.options.healthApiKey?.(),
    });
    const windowMs = Math.round(performance.now() - started - (health.totalMs - health.healthyAfterMs));
    return { health, windowMs };
  }

  private deny(digest: string, reason: string): void {
    this.state.denied = [
      ...this.state.denied.filter((entry) => entry.digest !== digest),
      { digest, reason, at: this.now().toISOString() },
    ];
    this.event(
      'deny',
      `${shortDigest(digest)} is denied until the channel names another bundle: ${reason}`,
      digest,
    );
  }

  private async rollBack(
    digest: string,
    from: string | undefined,
    reason: string,
    started = performance.now(),
    signal?: AbortSignal,
  ): Promise<void> {
    await this.setPhase(digest, from, 'rollback');
    this.deny(digest, reason);
    this.state.lastError = { at: this.now().toISOString(), code: 'HEALTH_CHECK_FAILED', message: reason };
    if (!from) {
      this.event(
        'rollback',
        `There is no earlier bundle to go back to; ${shortDigest(digest)} stays linked.`,
        digest,
      );
      delete this.state.update;
      this.serverDown = true;
      await this.save();
      return;
    }
    await switchCurrentLink(this.paths, from);
    await this.touch(from);
    const back = await this.record(from);
    this.state.current = back;
    this.event(
      'rollback',
      `The current link names ${shortDigest(from)} (${back.version}) again; restarting the server on it.`,
      from,
    );
    await this.save();
    try {
      const { windowMs } = await this.restartAndCheck(from, started, signal);
      this.serverDown = false;
      this.state.lastSwitch = {
        at: this.now().toISOString(),
        from: digest,
        to: from,
        outcome: 'rolled-back',
        restartWindowMs: windowMs,
      };
      this.event(
        'healthy',
        `${shortDigest(from)} (${back.version}) is serving again; the server was down ${windowMs} ms in all.`,
        from,
      );
    } catch (error) {
      signal?.throwIfAborted();
      this.serverDown = true;
      this.event(
        'error',
        `The bundle rolled back to fails too: ${error instanceof Error ? error.message : String(error)}`,
        from,
      );
    }
    delete this.state.update;
    await this.save();
  }

  // Marks a slot as just used, for the garbage collector's order.
  private async touch(digest: string): Promise<void> {
    const now = this.now();
    await fs.promises.utimes(slotDir(this.paths, digest), now, now).catch(() => undefined);
  }

  // Deletes slots beyond `keep` (never the protected ones) and staging
  // directories of downloads that are no longer wanted.
  private async collectGarbage(protect: Array<string | undefined>, keep = this.keep): Promise<void> {
    const wanted = protect.filter((digest): digest is string => digest !== undefined);
    const names = await fs.promises.readdir(this.paths.slots).catch(() => [] as string[]);
    const slots: Array<{ digest: string; usedMs: number }> = [];
    for (const name of names) {
      const digest = digestOfSlot(name);
      if (digest) {
        const stat = await fs.promises.stat(path.join(this.paths.slots, name)).catch(() => undefined);
        if (stat) slots.push({ digest, usedMs: stat.mtimeMs });
      }
    }
    const removed = slotsToRemove(slots, wanted, keep);
    for (const digest of removed)
      await fs.promises.rm(slotDir(this.paths, digest), { recursive: true, force: true });
    const staging = new Set(
      wanted.map((digest) => path.basename(stagingPathOf(slotDir(this.paths, digest)))),
    );
    const strays = names.filter((name) => name.endsWith('.alki-partial') && !staging.has(name));
    for (const name of strays)
      await fs.promises.rm(path.join(this.paths.slots, name), { recursive: true, force: true });
    if (removed.length + strays.length > 0)
      this.event(
        'gc',
        `Removed ${removed.length} slot(s)${removed.length ? ` (${removed.map(shortDigest).join(', ')})` : ''} and ${strays.length} unfinished download(s); keeping at most ${this.keep} slots.`,
      );
  }
}

import { formatDuration } from '../config-readers.ts';
import { errorFields, type Logger } from '../http/log.ts';
import type { SharedRefresh } from '../shared/shared-refresh.ts';
import { isUpstreamError, UpstreamError } from '../upstream/errors.ts';
import {
  type FagomraadeDto,
  HELSEREFUSJON_UPSTREAM,
  type HelserefusjonClient,
  type SkippedRows,
} from '../upstream/helserefusjon.ts';
import { checkDataset, DatasetRejectedError } from './check.ts';
import {
  type DatasetState,
  failureSummary,
  fetchHelserefusjonData,
  type HelserefusjonData,
  type UpstreamDataset,
} from './live-fetch.ts';
import { type HelserefusjonMode, type HelserefusjonResources, toHelserefusjonResources } from './live-resources.ts';
import { fromSnapshotDocument, readSnapshot, toSnapshotDocument, writeSnapshot } from './snapshot.ts';

/**
 * Live mode of the Helserefusjon code systems (HELSEREFUSJON_BASE_URL set): every dataset is
 * fetched through the upstream client, mapped by the same mappings as the embedded data, checked
 * (check.ts) and only then handed over to be served. A refresh runs on an interval; a failed or
 * rejected one changes nothing but the status. After every good fetch the upstream rows are saved
 * (snapshot.ts), so a restart while the upstream is down serves them again.
 *
 * Each dataset on its own (fetchHelserefusjonData): one that fails keeps its last good copy while
 * the others go live, so one dataset the API lacks or cannot serve today does not hold back the
 * rest. The datasets refer to each other (NLK and APAT name refusjonskategorier, takstkoder name
 * fagområder), so a kept copy mixes retrievals: the status says so, per dataset. The checks and the
 * swap stay whole: a retrieval that fails a check is refused as a whole.
 */

// ---------------------------------------------------------------------------------------------
// Refresh

/** What /readyz shows of the last refresh. `error.message` is client-safe (never the upstream URL). */
export interface RefreshResult {
  ok: boolean;
  trigger: 'start-up' | 'schedule' | 'manual';
  /** when the attempt ended */
  at: string;
  durationMs: number;
  error?: { code: string; message: string };
}

export interface LiveStatus {
  refreshInterval: string;
  lastRefresh?: RefreshResult;
  lastSuccessAt?: string;
  consecutiveFailures: number;
  nextRefreshAt?: string;
  snapshot: { writtenAt?: string; loadedAt?: string; error?: string };
  /** rows of the data served that could not be read and were left out, per upstream list */
  skippedRows?: SkippedRows[];
  /** datasets of the data served that were not fetched by the last retrieval (kept or missing), and those that were */
  datasets?: Partial<Record<UpstreamDataset, DatasetState>>;
}

export interface LiveHelserefusjonOptions {
  client: HelserefusjonClient;
  /**
   * Starts serving a checked dataset (the atomic swap). Throwing refuses it: nothing changes and
   * the refresh counts as failed.
   */
  apply: (resources: HelserefusjonResources) => void;
  /** time between refreshes */
  refreshMs: number;
  /** overall limit of the start-up fetch (default: only the client's own limits) */
  startupTimeoutMs?: number;
  /** a manual refresh within this time after the last one is answered with that one (default 30 s) */
  cooldownMs?: number;
  /** the wait after a failed refresh (default: the interval, at most 5 minutes) */
  retryMs?: number;
  /** where the last good retrieval is saved; undefined: no snapshot */
  snapshotDir?: string;
  documentedFagomraader?: readonly FagomraadeDto[];
  /** the collapse rule's ratio (check.ts; default 0.5) */
  minRatio?: number;
  logger?: Logger;
  now?: () => Date;
  /**
   * With several replicas on Redis: one of them fetches (a lease), the others take its retrieval
   * from Redis, stored as the snapshot document (shared/shared-refresh.ts)
   */
  shared?: SharedRefresh;
}

const DEFAULT_COOLDOWN_MS = 30_000;
const MAX_RETRY_MS = 5 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Loads the live data at start-up and keeps them fresh. Refreshes are single-flight: concurrent
 * callers share the one in flight, and a manual refresh right after another is answered from the
 * cool-down instead of hammering the upstream (jose `src/jwks/remote.ts`). Timers are unref'd, so
 * they never keep the process alive.
 */
export class LiveHelserefusjon {
  private readonly opts: LiveHelserefusjonOptions;
  private readonly now: () => Date;
  private readonly stopper = new AbortController();
  private inFlight?: Promise<RefreshResult>;
  private last?: RefreshResult;
  private lastSuccessAt?: string;
  private failures = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private nextAt?: Date;
  /** the last dataset that came from the upstream (live or snapshot): the collapse rule's reference */
  private served?: HelserefusjonResources;
  /** the retrieval served (live or snapshot): a dataset that fails next time is kept from it */
  private lastData?: HelserefusjonData;
  private readonly snapshot: LiveStatus['snapshot'] = {};

  constructor(options: LiveHelserefusjonOptions) {
    this.opts = options;
    this.now = options.now ?? (() => new Date());
  }

  /** The mode of the data served after start(); undefined while only the embedded data can be. */
  get mode(): HelserefusjonMode | undefined {
    return this.served?.provenance.mode;
  }

  /**
   * Start-up: the live API; if it fails, the snapshot of the last good retrieval. Resolves with
   * the mode that is now served, or undefined when neither worked (the caller serves the embedded
   * data). Schedules the next refresh either way.
   */
  async start(): Promise<HelserefusjonMode | undefined> {
    const result = await this.begin('start-up');
    if (!result.ok && this.opts.snapshotDir !== undefined) await this.loadSnapshot(this.opts.snapshotDir);
    return this.mode;
  }

  /** A refresh now (single-flight; within the cool-down the last result is returned). */
  refresh(): Promise<RefreshResult> {
    if (this.inFlight) return this.inFlight;
    const cooldown = this.opts.cooldownMs ?? DEFAULT_COOLDOWN_MS;
    if (this.last && this.now().getTime() - Date.parse(this.last.at) < cooldown) return Promise.resolve(this.last);
    return this.begin('manual');
  }

  /** Stops the timer and cancels a refresh in flight. */
  stop(): void {
    this.stopper.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = undefined;
  }

  status(): LiveStatus {
    return {
      refreshInterval: formatDuration(this.opts.refreshMs),
      ...(this.last ? { lastRefresh: this.last } : {}),
      ...(this.lastSuccessAt ? { lastSuccessAt: this.lastSuccessAt } : {}),
      consecutiveFailures: this.failures,
      ...(this.nextAt ? { nextRefreshAt: this.nextAt.toISOString() } : {}),
      snapshot: { ...this.snapshot },
      ...(this.served?.skippedRows?.length ? { skippedRows: this.served.skippedRows } : {}),
      ...(this.lastData?.datasets ? { datasets: this.lastData.datasets } : {}),
    };
  }

  private begin(trigger: RefreshResult['trigger']): Promise<RefreshResult> {
    if (this.inFlight) return this.inFlight;
    const run = this.run(trigger).finally(() => {
      this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  private async run(trigger: RefreshResult['trigger']): Promise<RefreshResult> {
    const started = performance.now();
    const deadline =
      trigger === 'start-up' && this.opts.startupTimeoutMs !== undefined
        ? AbortSignal.timeout(this.opts.startupTimeoutMs)
        : undefined;
    const signal = deadline ? AbortSignal.any([this.stopper.signal, deadline]) : this.stopper.signal;
    let result: RefreshResult;
    let retryAfterMs: number | undefined;
    let nextMs = this.opts.refreshMs;
    try {
      const { data, from } = await this.retrieve(signal);
      if (from === 'shared') {
        // another replica's retrieval: the next refresh is due when it is as old as the interval
        const age = this.now().getTime() - Date.parse(data.fetchedAt);
        nextMs = Math.max(1000, this.opts.refreshMs - age);
      }
      // the same retrieval again (taken from Redis): nothing to rebuild
      const resources =
        from === 'shared' && this.served && this.lastData?.fetchedAt === data.fetchedAt
          ? this.served
          : this.accept(data, 'live');
      for (const [name, d] of Object.entries(data.datasets ?? {})) {
        if (d.state === 'fetched') continue;
        // one line per dataset not fetched this time, without the upstream URL
        this.opts.logger?.warn(
          d.state === 'kept'
            ? 'helserefusjon dataset not fetched; its last good copy is served'
            : 'helserefusjon dataset not fetched; none is served',
          {
            dataset: name,
            code: d.error?.code,
            reason: d.error?.message,
            ...(d.fetchedAt ? { fetchedAt: d.fetchedAt } : {}),
          },
        );
      }
      result = { ok: true, trigger, at: this.now().toISOString(), durationMs: ms(started) };
      // the status follows the data served at once, not after the snapshot is written
      this.last = result;
      this.failures = 0;
      this.lastSuccessAt = result.at;
      this.opts.logger?.info('helserefusjon data loaded', {
        mode: 'live',
        trigger,
        ...(this.opts.shared ? { from } : {}),
        fetchedAt: data.fetchedAt,
        codeSystems: resources.codeSystems.length,
        valueSets: resources.valueSets.length,
        conceptMaps: resources.conceptMaps.length,
        warnings: resources.warnings.length,
        ms: result.durationMs,
      });
      if (this.opts.snapshotDir !== undefined) await this.saveSnapshot(this.opts.snapshotDir, data);
    } catch (err) {
      const failure = describeFailure(err, deadline?.aborted === true);
      const { error } = failure;
      retryAfterMs = failure.retryAfterMs;
      result = { ok: false, trigger, at: this.now().toISOString(), durationMs: ms(started), error };
      this.failures++;
      if (this.stopper.signal.aborted) {
        // stopped (shutdown): not a failure worth a log line, and nothing to schedule
        this.last = result;
        return result;
      }
      // one line, without the upstream URL (UpstreamError messages never carry it)
      const fields = {
        trigger,
        code: error.code,
        reason: error.message,
        serving: this.served?.provenance.mode ?? 'embedded',
        ...(this.served?.provenance.fetchedAt ? { fetchedAt: this.served.provenance.fetchedAt } : {}),
      };
      if (error.code === 'INTERNAL_ERROR')
        this.opts.logger?.error('helserefusjon refresh failed', { ...fields, ...errorFields(err) });
      else this.opts.logger?.warn('helserefusjon refresh failed; the data served are unchanged', fields);
    }
    this.last = result;
    if (!this.stopper.signal.aborted) this.schedule(result.ok ? nextMs : this.retryDelay(retryAfterMs));
    return result;
  }

  /** A retrieval: from the upstream, or with several replicas, from whichever holds the lease. */
  private async retrieve(signal: AbortSignal): Promise<{ data: HelserefusjonData; from: string }> {
    const fetch = () => fetchHelserefusjonData(this.opts.client, { signal, now: this.now }, this.lastData);
    if (!this.opts.shared) return { data: await fetch(), from: 'upstream' };
    try {
      const got = await this.opts.shared.run({
        name: 'helserefusjon',
        maxAgeMs: this.opts.refreshMs,
        fetch,
        encode: (d) => JSON.stringify(toSnapshotDocument(d)),
        decode: (text) => fromSnapshotDocument(JSON.parse(text)),
        fetchedAt: (d) => Date.parse(d.fetchedAt),
        signal,
      });
      return { data: got.value, from: got.from };
    } catch (err) {
      if (signal.aborted && !isUpstreamError(err)) {
        throw new UpstreamError('UPSTREAM_ABORTED', { upstream: HELSEREFUSJON_UPSTREAM, cause: err });
      }
      throw err;
    }
  }

  /** Builds, checks and applies one retrieval; throws DatasetRejectedError when a rule fails. */
  private accept(data: HelserefusjonData, mode: 'live' | 'snapshot'): HelserefusjonResources {
    const next = toHelserefusjonResources(data, {
      mode,
      documentedFagomraader: this.opts.documentedFagomraader,
    });
    const problems = checkDataset(next, this.served, { minRatio: this.opts.minRatio });
    if (problems.length > 0) throw new DatasetRejectedError(problems);
    this.opts.apply(next);
    this.served = next;
    this.lastData = data;
    for (const w of next.warnings) this.opts.logger?.debug('helserefusjon data', { note: w });
    for (const r of next.skippedRows ?? []) {
      this.opts.logger?.warn('helserefusjon rows left out', {
        list: r.what,
        skipped: r.skipped,
        total: r.total,
        first: r.first,
      });
    }
    return next;
  }

  private async saveSnapshot(dir: string, data: HelserefusjonData): Promise<void> {
    try {
      await writeSnapshot(dir, data);
      this.snapshot.writtenAt = this.now().toISOString();
      delete this.snapshot.error;
    } catch (e) {
      // the data are served anyway; only a restart during an outage would miss them
      this.snapshot.error = (e as NodeJS.ErrnoException).code ?? 'SNAPSHOT_WRITE_FAILED';
      this.opts.logger?.warn('helserefusjon snapshot not written', { code: this.snapshot.error });
    }
  }

  private async loadSnapshot(dir: string): Promise<void> {
    try {
      const data = await readSnapshot(dir);
      if (!data) {
        this.opts.logger?.warn('helserefusjon: no snapshot to fall back on');
        return;
      }
      // a refresh that succeeded meanwhile (a very short retry time) has newer data
      if (this.served) return;
      this.accept(data, 'snapshot');
      this.snapshot.loadedAt = this.now().toISOString();
      this.opts.logger?.warn('helserefusjon: serving the snapshot of the last good retrieval', {
        fetchedAt: data.fetchedAt,
      });
    } catch (e) {
      this.snapshot.error = e instanceof DatasetRejectedError ? e.code : 'SNAPSHOT_UNUSABLE';
      this.opts.logger?.warn('helserefusjon snapshot not usable', {
        code: this.snapshot.error,
        reason: (e as Error).message,
      });
    }
  }

  /**
   * After a failure: sooner than the interval, but not before the upstream's Retry-After (up to
   * the interval: a far-off Retry-After must not stop the refreshes).
   */
  private retryDelay(retryAfterMs: number | undefined): number {
    const base = this.opts.retryMs ?? Math.min(this.opts.refreshMs, MAX_RETRY_MS);
    return Math.min(Math.max(base, retryAfterMs ?? 0), Math.max(base, this.opts.refreshMs));
  }

  private schedule(delay: number): void {
    if (this.timer) clearTimeout(this.timer);
    // setTimeout fires at once for a delay above 2^31 - 1 ms (about 24.8 days)
    const delayMs = Math.min(delay, MAX_TIMER_MS);
    this.nextAt = new Date(this.now().getTime() + delayMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.begin('schedule');
    }, delayMs);
    this.timer.unref();
  }
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}

interface Failure {
  error: NonNullable<RefreshResult['error']>;
  retryAfterMs?: number;
}

/** A failure as a stable code and a client-safe message (UpstreamError messages never hold the URL). */
function describeFailure(e: unknown, startupDeadline: boolean): Failure {
  if (isUpstreamError(e)) {
    if (startupDeadline && e.code === 'UPSTREAM_ABORTED') {
      const timeout = new UpstreamError('UPSTREAM_TIMEOUT', {
        upstream: HELSEREFUSJON_UPSTREAM,
        reason: 'no complete answer within the start-up time limit',
      });
      return { error: { code: timeout.code, message: timeout.message } };
    }
    return { error: failureSummary(e), retryAfterMs: e.retryAfterMs };
  }
  if (e instanceof DatasetRejectedError) return { error: { code: e.code, message: e.message } };
  return { error: failureSummary(e) };
}

import { type Logger, withoutUrls } from '../http/log.ts';
import { isUpstreamError } from '../upstream/errors.ts';

/**
 * A dataset downloaded whole and kept in memory, refreshed in the background (STYLE.md example 6,
 * after jose `src/jwks/remote.ts`):
 * - single flight: one load at a time, shared by every caller that waits for it;
 * - freshness window: data older than `refreshIntervalMs` is refreshed on the next tick or access,
 *   while the old data goes on being served (no caller waits for a refresh once data exists);
 * - stale on failure: a failed refresh keeps the old data and records the error;
 * - cool-down: after a failure no new attempt starts before `retryAfterFailureMs`, so neither
 *   requests nor ticks can hammer a failing upstream;
 * - requests never cause an upstream call of their own: before the first successful load they wait
 *   for the shared load, or get the last error while the cool-down lasts.
 * The clock and the timers are injected, so tests move time without sleeping.
 */

export interface RefreshTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const SYSTEM_TIMERS: RefreshTimers = {
  setInterval: (fn, ms) => {
    const h = setInterval(fn, ms);
    h.unref();
    return h;
  },
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
};

export interface RefreshingDatasetOptions<T> {
  /** short name for logs, e.g. `fnsp` */
  name: string;
  /** loads the whole dataset; `signal` fires when the dataset is stopped */
  load: (signal: AbortSignal) => Promise<T>;
  refreshIntervalMs: number;
  retryAfterFailureMs: number;
  /** default Date.now */
  now?: () => number;
  logger?: Logger;
  /** log fields describing a loaded dataset (counts) */
  describe?: (data: T) => Record<string, unknown>;
  /**
   * when the data were fetched from the upstream, if not just now (another replica's download taken
   * from Redis): the freshness window counts from then
   */
  fetchedAt?: (data: T) => number | undefined;
}

export interface Loaded<T> {
  data: T;
  /** epoch ms of the load that produced it */
  loadedAt: number;
}

export interface RefreshStatus {
  /** `ready`: fresh data; `stale`: data older than the window or whose last refresh failed; `loading`: none yet; `failed`: none, last load failed */
  state: 'loading' | 'ready' | 'stale' | 'failed';
  loadedAt?: string;
  lastAttemptAt?: string;
  lastError?: { at: string; code: string; message: string };
  refreshing: boolean;
  loads: number;
  failures: number;
}

export class RefreshingDataset<T> {
  readonly name: string;
  private readonly options: RefreshingDatasetOptions<T>;
  private readonly now: () => number;
  private current?: Loaded<T>;
  private inflight?: Promise<Loaded<T>>;
  private lastFailure?: { error: unknown; at: number };
  private lastAttemptAt?: number;
  private loads = 0;
  private failures = 0;
  private readonly stopper = new AbortController();
  private timer?: { timers: RefreshTimers; handle: unknown };

  constructor(options: RefreshingDatasetOptions<T>) {
    this.name = options.name;
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** The data now, without waiting or loading; undefined before the first successful load. */
  peek(): Loaded<T> | undefined {
    return this.current;
  }

  /** The error of the last load, if it failed after the data now served was loaded (or there is none). */
  lastError(): unknown {
    if (!this.lastFailure) return undefined;
    if (this.current && this.current.loadedAt > this.lastFailure.at) return undefined;
    return this.lastFailure.error;
  }

  /**
   * The data for a request. Once loaded, returns at once (starting a background refresh when the
   * data is older than the window). Before that, waits for the shared first load; while a failed
   * load's cool-down lasts, throws that load's error without calling the upstream.
   */
  async get(): Promise<Loaded<T>> {
    if (this.current) {
      this.refreshIfDue();
      return this.current;
    }
    if (this.inflight) return this.inflight;
    if (this.coolingDown()) throw this.lastFailure?.error;
    return this.refresh();
  }

  /** Loads now (or joins the load in flight). Rejects with the load's error; old data is kept. */
  refresh(): Promise<Loaded<T>> {
    if (this.inflight) return this.inflight;
    const started = this.now();
    this.lastAttemptAt = started;
    // `.finally` runs as a microtask, so `inflight` is always set before it is cleared
    const attempt: Promise<Loaded<T>> = this.loadOnce(started).finally(() => {
      if (this.inflight === attempt) this.inflight = undefined;
    });
    this.inflight = attempt;
    return attempt;
  }

  private async loadOnce(started: number): Promise<Loaded<T>> {
    try {
      const data = await this.options.load(this.stopper.signal);
      const loaded = { data, loadedAt: this.options.fetchedAt?.(data) ?? this.now() };
      this.current = loaded;
      this.loads++;
      this.options.logger?.info('directory data loaded', {
        source: this.name,
        ms: this.now() - started,
        ...this.options.describe?.(data),
      });
      return loaded;
    } catch (error) {
      this.lastFailure = { error, at: this.now() };
      this.failures++;
      this.options.logger?.warn('directory data load failed', {
        source: this.name,
        servingStale: this.current !== undefined,
        ...(isUpstreamError(error)
          ? error.toLogObject()
          : { error: withoutUrls(error instanceof Error ? `${error.name}: ${error.message}` : String(error)) }),
      });
      throw error;
    }
  }

  /** Starts a background refresh when one is due (data older than the window, no cool-down); never throws. */
  refreshIfDue(): void {
    if (this.inflight || this.stopper.signal.aborted || this.coolingDown()) return;
    if (this.current && this.now() - this.current.loadedAt < this.options.refreshIntervalMs) return;
    this.refresh().catch(() => undefined);
  }

  /** Resolves when no load is in flight (for tests and graceful shutdown). */
  async settled(): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => undefined);
  }

  /**
   * Loads now (in the background) and then checks every `tickMs` whether a refresh is due. The
   * timers are injectable; the default ones do not keep the process alive.
   */
  start(timers: RefreshTimers = SYSTEM_TIMERS, tickMs = Math.min(60_000, this.options.refreshIntervalMs)): void {
    if (this.timer) return;
    this.refreshIfDue();
    this.timer = { timers, handle: timers.setInterval(() => this.refreshIfDue(), Math.max(1, tickMs)) };
  }

  /** Stops the ticks and cancels a load in flight. */
  stop(): void {
    if (this.timer) this.timer.timers.clearInterval(this.timer.handle);
    this.timer = undefined;
    this.stopper.abort();
  }

  status(): RefreshStatus {
    const iso = (ms: number) => new Date(ms).toISOString();
    const failed = this.lastError();
    let state: RefreshStatus['state'];
    if (this.current) {
      const old = this.now() - this.current.loadedAt >= this.options.refreshIntervalMs;
      state = old || failed !== undefined ? 'stale' : 'ready';
    } else {
      state = this.lastFailure && !this.inflight ? 'failed' : 'loading';
    }
    return {
      state,
      ...(this.current ? { loadedAt: iso(this.current.loadedAt) } : {}),
      ...(this.lastAttemptAt !== undefined ? { lastAttemptAt: iso(this.lastAttemptAt) } : {}),
      ...(this.lastFailure
        ? {
            lastError: {
              at: iso(this.lastFailure.at),
              code: isUpstreamError(this.lastFailure.error) ? this.lastFailure.error.code : 'LOAD_FAILED',
              message: safeMessage(this.lastFailure.error),
            },
          }
        : {}),
      refreshing: this.inflight !== undefined,
      loads: this.loads,
      failures: this.failures,
    };
  }

  private coolingDown(): boolean {
    if (!this.lastFailure) return false;
    if (this.current && this.current.loadedAt > this.lastFailure.at) return false;
    return this.now() - this.lastFailure.at < this.options.retryAfterFailureMs;
  }
}

/** A message safe for clients and /readyz: an UpstreamError's (no URL, no credential), else a fixed text. */
export function safeMessage(error: unknown): string {
  return isUpstreamError(error) ? error.message : 'internal error while loading the data (see the server log)';
}

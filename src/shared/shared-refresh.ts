import type { Logger } from '../http/log.ts';
import { LuaScript, type SharedState, SharedStateUnavailable } from './redis.ts';

/**
 * One refresher at a time across the replicas, for data downloaded whole (Helserefusjon's code
 * lists, FNSP, the bandagist list): the replica that holds the lease `lease:<name>` calls the
 * upstream and stores the result in `data:<name>`; the others take that result instead of calling
 * the upstream themselves.
 *
 * - The result is stored with the time it was fetched. A replica whose data are due asks Redis
 *   first: a result younger than the refresh interval is taken as it is (its fetch time kept, so
 *   the next refresh falls due at the same time on every replica).
 * - Otherwise it takes the lease (SET NX PX, renewed every third of its life while the fetch runs,
 *   so a long download keeps it and a dead holder loses it within one lease time), fetches, stores,
 *   releases. A replica that finds the lease taken polls for the new result (every second), takes
 *   any result newer than the one it found at first, and takes the lease itself when it disappears
 *   without one (the holder failed or died).
 * - Redis down, or a wait that runs past `waitMs`: the replica fetches alone, as without Redis. A
 *   refresh must never depend on Redis; at worst each replica calls the upstream as it used to.
 *
 * The stored value is the upstream's data in a form the normal parsers read back (the Helserefusjon
 * snapshot document, FNSP's parsed dataset): Redis is outside the process, so it is read as
 * untrusted input, and the mapping to FHIR runs on each replica.
 */

const RENEW = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** How long a stored result is kept at most (it is replaced at each refresh long before). */
const KEEP_RESULT_MS = 30 * 24 * 60 * 60 * 1000;

export interface SharedRefreshSpec<T> {
  /** key part and log name, e.g. `helserefusjon`, `fnsp` */
  name: string;
  /** a stored result younger than this is taken instead of fetching (the refresh interval) */
  maxAgeMs: number;
  /** fetches from the upstream (only the lease holder, or a replica alone) */
  fetch: () => Promise<T>;
  encode: (value: T) => string;
  /** reads a stored result back; throws when it cannot be used (it is then fetched again) */
  decode: (text: string) => T;
  /** the fetch time of a value (epoch ms) */
  fetchedAt: (value: T) => number;
  signal?: AbortSignal;
}

export interface SharedRefreshResult<T> {
  value: T;
  /** `upstream`: fetched here; `shared`: another replica's result; `alone`: fetched here without Redis */
  from: 'upstream' | 'shared' | 'alone';
}

export interface SharedRefreshOptions {
  shared: SharedState;
  /** life of a lease (renewed while the fetch runs; default 30 s) */
  leaseMs?: number;
  /** longest wait for another replica's result before fetching alone (default 5 minutes) */
  waitMs?: number;
  /** pause between polls while another replica fetches (default 1 s) */
  pollMs?: number;
  logger?: Logger;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class SharedRefresh {
  private readonly o: SharedRefreshOptions;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** results taken from Redis / fetched under the lease / fetched alone (tests, /readyz) */
  readonly counts = { shared: 0, upstream: 0, alone: 0 };

  constructor(options: SharedRefreshOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
  }

  async run<T>(spec: SharedRefreshSpec<T>): Promise<SharedRefreshResult<T>> {
    try {
      return await this.coordinated(spec);
    } catch (err) {
      if (!(err instanceof SharedStateUnavailable)) throw err;
      this.o.logger?.info('shared refresh: fetching alone', { source: spec.name, reason: err.message });
      const value = await spec.fetch();
      this.counts.alone++;
      return { value, from: 'alone' };
    }
  }

  private async coordinated<T>(spec: SharedRefreshSpec<T>): Promise<SharedRefreshResult<T>> {
    const { shared } = this.o;
    const dataKey = shared.key('data', spec.name);
    const leaseKey = shared.key('lease', spec.name);
    const leaseMs = this.o.leaseMs ?? 30_000;
    const deadline = this.now() + (this.o.waitMs ?? 5 * 60_000);
    // a result newer than the one found at first was fetched while this replica waited: take it
    let first: number | undefined;
    for (;;) {
      const stored = await this.stored(spec, dataKey);
      const at = stored ? spec.fetchedAt(stored) : undefined;
      first ??= at ?? Number.NEGATIVE_INFINITY;
      if (stored && at !== undefined && (this.now() - at < spec.maxAgeMs || at > first)) {
        this.counts.shared++;
        return { value: stored, from: 'shared' };
      }
      const me = shared.replicaId;
      const taken = await shared.run((r) => r.set(leaseKey, me, 'PX', leaseMs, 'NX'));
      if (taken === 'OK') {
        // the holder before may have stored its result and let the lease go since the look above
        const now = await this.stored(spec, dataKey);
        const nowAt = now ? spec.fetchedAt(now) : undefined;
        if (now && nowAt !== undefined && nowAt !== at && (this.now() - nowAt < spec.maxAgeMs || nowAt > first)) {
          await shared.run((r) => RELEASE.run(r, [leaseKey], [me])).catch(() => undefined);
          this.counts.shared++;
          return { value: now, from: 'shared' };
        }
        return { value: await this.fetchHolding(spec, dataKey, leaseKey, leaseMs), from: 'upstream' };
      }
      if (this.now() > deadline) throw new SharedStateUnavailable('waited too long for another replica’s refresh');
      await this.sleep(this.o.pollMs ?? 1000, spec.signal);
      if (spec.signal?.aborted) throw spec.signal.reason;
    }
  }

  private async stored<T>(spec: SharedRefreshSpec<T>, dataKey: string): Promise<T | undefined> {
    const text = await this.o.shared.run((r) => r.get(dataKey));
    if (text === null) return undefined;
    try {
      return spec.decode(text);
    } catch (err) {
      this.o.logger?.warn('shared refresh: the stored result cannot be used; fetching again', {
        source: spec.name,
        reason: err instanceof Error ? err.message.slice(0, 200) : 'unreadable',
      });
      return undefined;
    }
  }

  private async fetchHolding<T>(spec: SharedRefreshSpec<T>, dataKey: string, leaseKey: string, leaseMs: number) {
    const { shared } = this.o;
    const me = shared.replicaId;
    const renew = setInterval(
      () => void shared.run((r) => RENEW.run(r, [leaseKey], [me, leaseMs])).catch(() => undefined),
      Math.max(100, Math.floor(leaseMs / 3)),
    );
    renew.unref();
    try {
      const value = await spec.fetch();
      this.counts.upstream++;
      // stored before the lease goes: a waiter finds the result, never an empty lease and no result
      await shared
        .run((r) => r.set(dataKey, spec.encode(value), 'PX', KEEP_RESULT_MS))
        .catch((err: unknown) =>
          this.o.logger?.warn('shared refresh: result not stored in redis', {
            source: spec.name,
            reason: err instanceof Error ? err.message : 'error',
          }),
        );
      return value;
    } finally {
      clearInterval(renew);
      await shared.run((r) => RELEASE.run(r, [leaseKey], [me])).catch(() => undefined);
    }
  }
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

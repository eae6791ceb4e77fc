import { UpstreamError, type UpstreamErrorCode } from '../upstream/errors.ts';
import { HPR_UPSTREAM, type HprPersonDto, parseHprPerson } from '../upstream/hpr.ts';
import { LuaScript, type SharedState, SharedStateUnavailable } from './redis.ts';

/**
 * The HPR person cache the replicas share in Redis, with single flight across replicas: a person
 * is fetched from HPR once per TTL however many replicas ask for it.
 *
 * - `hpr:person:<n>`: `{dto, fetchedAt}` (dto null: HPR does not know the number). It lives for the
 *   TTL plus the stale allowance (HPR_CACHE_TTL + HPR_CACHE_MAX_STALE; HPR_NOT_FOUND_TTL for an
 *   unknown number), so the same freshness and stale rules as the local cache apply to it; the
 *   caller decides what is fresh.
 * - `hpr:lock:<n>`: the right to fetch `<n>` from HPR, taken with SET NX PX by one replica. The
 *   others poll the person key (every 25-100 ms) until the holder has written it. The lock lives
 *   a little longer than an HPR call with its retry may take, so a holder that dies holds nobody up
 *   for long: when the lock expires without a result, the next waiter takes it and fetches.
 * - When the holder's HPR call fails, it leaves `failed:<code>:<retryAfterMs>` in the lock for a
 *   second, so the waiters fail the same way instead of each calling HPR in turn (an HPR outage
 *   costs one call per second, not one per replica and request).
 *
 * An entry read from Redis is parsed again (parseHprPerson): Redis is outside the process.
 * Every method throws SharedStateUnavailable when Redis cannot be asked; the caller then works alone.
 */

export interface PersonEntry {
  dto: HprPersonDto | null;
  /** epoch ms when HPR answered */
  fetchedAt: number;
}

export interface PersonStoreOptions {
  shared: SharedState;
  /** how long the lock is held at most (an HPR call, its retry and the token request) */
  lockMs: number;
  /** how long a found / an unknown person is kept in Redis */
  keepMs: (entry: PersonEntry) => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Deletes the lock only while it is still ours (it may have expired and been taken by another replica). */
const UNLOCK = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
/** Replaces our lock by a failure note, only while it is still ours. */
const FAIL = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 0
`);

const FAILURE_NOTE_MS = 1000;

export interface LoadOutcome {
  entry: PersonEntry;
  /** `hpr`: this replica called HPR; `shared`: another replica's result (or Redis's cache) */
  from: 'hpr' | 'shared';
}

export class SharedPersonStore {
  private readonly o: PersonStoreOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(options: PersonStoreOptions) {
    this.o = options;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  private personKey(n: string): string {
    return this.o.shared.key('hpr', 'person', n);
  }

  private lockKey(n: string): string {
    return this.o.shared.key('hpr', 'lock', n);
  }

  async get(n: string): Promise<PersonEntry | undefined> {
    const text = await this.o.shared.run((r) => r.get(this.personKey(n)));
    return text === null ? undefined : decode(text);
  }

  async set(n: string, entry: PersonEntry): Promise<void> {
    const keep = Math.max(1, Math.round(this.o.keepMs(entry) - (this.now() - entry.fetchedAt)));
    await this.o.shared.run((r) => r.set(this.personKey(n), JSON.stringify(entry), 'PX', keep));
  }

  /**
   * A fresh entry from Redis, or the result of `fetch` run by exactly one replica at a time.
   * `seen` is told of every entry read from Redis (fresh or not), so the caller can keep it as a
   * stale fallback. Throws SharedStateUnavailable when Redis fails on the way (the caller then
   * fetches alone), or the fetch's error (also the one the lock holder noted for the waiters).
   */
  async load(
    n: string,
    fresh: (e: PersonEntry) => boolean,
    fetch: () => Promise<PersonEntry>,
    seen?: (e: PersonEntry) => void,
  ): Promise<LoadOutcome> {
    const shared = this.o.shared;
    const deadline = this.now() + 2 * this.o.lockMs;
    let pause = 25;
    for (;;) {
      const cached = await this.get(n);
      if (cached) {
        seen?.(cached);
        if (fresh(cached)) return { entry: cached, from: 'shared' };
      }
      const lockKey = this.lockKey(n);
      const token = shared.replicaId;
      const taken = await shared.run((r) => r.set(lockKey, token, 'PX', this.o.lockMs, 'NX'));
      if (taken === 'OK') {
        // the holder before may have written its result and let the lock go since the look above
        const written = await this.get(n);
        if (written && fresh(written) && written.fetchedAt !== cached?.fetchedAt) {
          await shared.run((r) => UNLOCK.run(r, [lockKey], [token])).catch(() => undefined);
          seen?.(written);
          return { entry: written, from: 'shared' };
        }
        return { entry: await this.fetchHolding(n, lockKey, token, fetch), from: 'hpr' };
      }
      const holder = await shared.run((r) => r.get(lockKey));
      if (holder?.startsWith('failed:')) throw failureOf(holder);
      // a holder that never finishes (hung, not dead) must not hold this request for ever
      if (this.now() > deadline) throw new SharedStateUnavailable('gave up waiting for another replica');
      await this.sleep(pause);
      pause = Math.min(100, pause * 2);
    }
  }

  private async fetchHolding(
    n: string,
    lockKey: string,
    token: string,
    fetch: () => Promise<PersonEntry>,
  ): Promise<PersonEntry> {
    const shared = this.o.shared;
    let entry: PersonEntry;
    try {
      entry = await fetch();
    } catch (err) {
      const note = err instanceof UpstreamError ? `failed:${err.code}:${err.retryAfterMs ?? ''}` : 'failed:ERROR:';
      await shared.run((r) => FAIL.run(r, [lockKey], [token, note, FAILURE_NOTE_MS])).catch(() => undefined);
      throw err;
    }
    // the result first, then the lock: a waiter never sees neither
    await this.set(n, entry).catch(() => undefined);
    await shared.run((r) => UNLOCK.run(r, [lockKey], [token])).catch(() => undefined);
    return entry;
  }
}

function decode(text: string): PersonEntry | undefined {
  try {
    const json = JSON.parse(text) as { dto?: unknown; fetchedAt?: unknown };
    if (typeof json.fetchedAt !== 'number' || !Number.isFinite(json.fetchedAt)) return undefined;
    return { dto: json.dto === null ? null : parseHprPerson(json.dto), fetchedAt: json.fetchedAt };
  } catch {
    // an entry this version cannot read is as good as none: it is fetched again
    return undefined;
  }
}

const NOTED_CODES = new Set<UpstreamErrorCode>([
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_UNAUTHORIZED',
  'UPSTREAM_BAD_RESPONSE',
]);

/** The error another replica's HPR call ended in, as noted in the lock. */
function failureOf(note: string): UpstreamError {
  const [, code, wait] = note.split(':');
  const known = NOTED_CODES.has(code as UpstreamErrorCode) ? (code as UpstreamErrorCode) : 'UPSTREAM_UNAVAILABLE';
  const retryAfterMs = wait ? Number(wait) : undefined;
  return new UpstreamError(known, {
    upstream: HPR_UPSTREAM,
    reason: 'another replica’s call to HPR just failed',
    ...(retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? { retryAfterMs } : {}),
  });
}

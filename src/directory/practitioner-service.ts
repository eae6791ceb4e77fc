import type { Practitioner } from '@medplum/fhirtypes';
import { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { HPR_SOURCE_TAG, SYNTHETIC_HPR_TAG, toPractitioner } from '../../mappings/hpr-practitioner.ts';
import { directoryOrigin } from '../../mappings/observed-codesystem.ts';
import { FACADE_CANONICAL_BASE, NLOD_2_0_LICENCE } from '../../mappings/systems.ts';
import type { Logger } from '../http/log.ts';
import { makeIssue, notFound, OperationOutcomeError } from '../http/outcome.ts';
import { SharedTokenBucket } from '../shared/hpr-budget.ts';
import { SharedPersonStore } from '../shared/person-store.ts';
import { type SharedState, SharedStateUnavailable } from '../shared/redis.ts';
import { UpstreamError } from '../upstream/errors.ts';
import { createHprClient, HPR_PROD_BASE_URL, type HprClient, type HprPersonDto } from '../upstream/hpr.ts';
import type { UpstreamCallObserver } from '../upstream/http.ts';
import { createMaskinportenClient, type MaskinportenClient } from '../upstream/maskinporten.ts';
import { type RateLimiter, TokenBucket } from '../upstream/rate-limit.ts';
import { osloDate } from '../upstream/values.ts';
import type { HprConfig } from './hpr-config.ts';
import type { ObservedCodes } from './observed-codes.ts';

/**
 * The Practitioner directory: HPR persons as no-basis-Practitioner, answered from a cache and fetched
 * from HPR only within HPR's rate limit (query → cache → upstream client → mapping).
 *
 * - Persons are cached (lru-cache, bounded) for HPR_CACHE_TTL (24 h); an unknown HPR number for
 *   HPR_NOT_FOUND_TTL (10 min). Searches are cached the same way, and fill the person cache.
 * - Identical concurrent look-ups share one HPR call.
 * - Every HPR call takes a token from a bucket that mirrors HPR's (200, refilled 10 per minute).
 *   When it is empty HPR is not called: the caller gets 429 with Retry-After.
 * - When HPR cannot be asked (bucket empty, HPR down, Maskinporten failing) a cached person is
 *   served even after its TTL (up to HPR_CACHE_MAX_STALE more), marked stale. After an outage
 *   is seen, stale persons are served without asking HPR for `outageCooldownMs`.
 * - With `shared` (REDIS_URL), the bucket and the person cache are the replicas' common ones in
 *   Redis (shared/hpr-budget.ts, shared/person-store.ts): one HPR call per person and TTL across
 *   the replicas, one budget per Maskinporten client. The local cache stays in front of Redis, and
 *   carries the service alone when Redis is lost (with the replica's share of the budget).
 * - The Maskinporten access token is per replica, not shared: it costs one token request per
 *   replica and token lifetime (two minutes at most), which neither Maskinporten nor HPR counts
 *   against the HPR budget; shared, a bearer token would sit in Redis (a second place to guard a
 *   credential) and every HPR call would wait on one more Redis read.
 * Errors are OperationOutcomeErrors, rendered by the app's error handler.
 */

export interface PractitionerServiceDeps {
  /** the undici dispatcher for Maskinporten and HPR (never the global one) */
  dispatcher: Dispatcher;
  /** the clock in ms (default Date.now): cache TTLs, the bucket, token expiry */
  now?: () => number;
  logger?: Logger;
  /** for tests: the wait between HPR retries */
  sleep?: (ms: number) => Promise<void>;
  /** after HPR is seen down, serve stale persons without asking it for this long (default 30 s) */
  outageCooldownMs?: number;
  /** notes the Volven codes of every Practitioner made (the code systems built from HPR's codes) */
  observed?: ObservedCodes;
  /** told of every call to Maskinporten and HPR (metrics) */
  onUpstreamCall?: UpstreamCallObserver;
  /** the state shared with the other replicas (Redis); absent: this replica is alone */
  shared?: SharedState;
  /** the replicas expected (REPLICAS): the share of HPR's bucket used while Redis is down */
  replicas?: number;
}

export type PractitionerStatus =
  | { configured: true; extended: boolean; synthetic: boolean }
  | { configured: false; missing: string[] };

export interface PractitionerRead {
  practitioner: Practitioner;
  /** when the data was fetched from HPR (ms, the service's clock) */
  fetchedAt: number;
  /** how old the data is, in whole seconds (the HTTP `Age`) */
  ageSeconds: number;
  /** served after its TTL because HPR could not be asked */
  stale: boolean;
}

export interface PractitionerServiceStats {
  cachedPersons: number;
  cachedSearches: number;
  inflight: number;
  /** tokens left in our copy of HPR's bucket */
  bucketAvailable: number;
  hprCalls: number;
  tokenRequests: number;
  staleServed: number;
  /** with shared state: persons taken from Redis (another replica's HPR call), and HPR calls made for it */
  sharedHits?: number;
  /** with shared state: bucket takes decided by Redis, and alone (Redis down) */
  sharedTakes?: number;
  localTakes?: number;
}

export interface PractitionerService {
  readonly status: PractitionerStatus;
  /** The Practitioner with this HPR number; 404 when HPR does not know it. */
  read(hprNummer: string): Promise<PractitionerRead>;
  /** Practitioners by family name (starts with, ignoring case and accents) and birth date (`yyyy-MM-dd`). */
  search(family: string, birthDate: string): Promise<Practitioner[]>;
  stats(): PractitionerServiceStats;
}

/** HPR numbers as this service accepts them: digits without a leading zero. */
export const HPR_NUMBER = /^[1-9]\d{0,9}$/;

export function createPractitionerService(config: HprConfig, deps: PractitionerServiceDeps): PractitionerService {
  if (config.status === 'unconfigured') return unconfiguredService(config.missing);
  const settings = config.hpr;
  const now = deps.now ?? Date.now;
  const log = deps.logger;
  const outageCooldownMs = deps.outageCooldownMs ?? 30_000;

  const tokens: MaskinportenClient = createMaskinportenClient({
    ...config.maskinporten,
    dispatcher: deps.dispatcher,
    now,
    ...(deps.onUpstreamCall ? { onCall: deps.onUpstreamCall } : {}),
  });
  const shared = deps.shared;
  const bucket: RateLimiter = shared
    ? new SharedTokenBucket({
        shared,
        clientId: config.maskinporten.clientId,
        ...settings.rateLimit,
        replicas: deps.replicas ?? 1,
        logger: log,
      })
    : new TokenBucket({ ...settings.rateLimit, now });
  const client: HprClient = createHprClient({
    dispatcher: deps.dispatcher,
    tokens,
    bucket,
    baseUrl: settings.baseUrl,
    extended: settings.extended,
    timeoutMs: settings.timeoutMs,
    sleep: deps.sleep,
    now,
    ...(deps.onUpstreamCall ? { onCall: deps.onUpstreamCall } : {}),
  });
  // meta.source names HPR's public address, never the configured one (a test fake, a proxy): no
  // upstream URL of this deployment appears in a response. Synthetic persons name no real source.
  const resourcePath = settings.synthetic
    ? `${FACADE_CANONICAL_BASE}/synthetic/hpr`
    : `${HPR_PROD_BASE_URL}/v1/${settings.extended ? 'personerutvidet' : 'personer'}`;

  type PersonEntry = { dto: HprPersonDto | null; fetchedAt: number };
  type SearchEntry = { dtos: HprPersonDto[]; fetchedAt: number };
  const persons = new LRUCache<string, PersonEntry>({ max: settings.cacheMaxEntries });
  const searches = new LRUCache<string, SearchEntry>({ max: Math.max(1, Math.ceil(settings.cacheMaxEntries / 5)) });
  const inflightPersons = new Map<string, Promise<PersonEntry>>();
  const inflightSearches = new Map<string, Promise<SearchEntry>>();
  let upstreamDownUntil = 0;
  let staleServed = 0;
  let sharedHits = 0;

  const isFresh = (e: { fetchedAt: number; dto?: unknown }, t: number, found: boolean) =>
    t - e.fetchedAt < (found ? settings.cacheTtlMs : settings.notFoundTtlMs);
  const isServableStale = (e: { fetchedAt: number }, t: number) =>
    t - e.fetchedAt <= settings.cacheTtlMs + settings.maxStaleMs;
  const sharedPersons = shared
    ? new SharedPersonStore({
        shared,
        // an HPR call with its one retry, and a token request, with room to spare
        lockMs: 2 * settings.timeoutMs + 2000,
        keepMs: (e) => (e.dto ? settings.cacheTtlMs + settings.maxStaleMs : settings.notFoundTtlMs),
        now,
      })
    : undefined;

  const origin = directoryOrigin(
    settings.synthetic ? 'synthetic-hpr' : 'hpr',
    settings.synthetic ? 'syntetiske HPR-data' : 'Helsepersonellregisteret (HPR)',
    settings.synthetic
      ? { source: resourcePath, tag: [SYNTHETIC_HPR_TAG] }
      : { source: resourcePath, tag: [HPR_SOURCE_TAG], licence: NLOD_2_0_LICENCE },
    settings.synthetic,
  );

  function toFhir(dto: HprPersonDto): Practitioner {
    const practitioner = toPractitioner(dto, {
      today: osloDate(now()),
      source: `${resourcePath}/${dto.hprNummer}`,
      synthetic: settings.synthetic,
    });
    deps.observed?.record([practitioner], origin);
    return practitioner;
  }

  function age(fetchedAt: number) {
    return { fetchedAt, ageSeconds: Math.max(0, Math.floor((now() - fetchedAt) / 1000)) };
  }

  function remember(dto: HprPersonDto, fetchedAt: number): void {
    const entry = { dto, fetchedAt };
    persons.set(dto.hprNummer, entry);
    // the other replicas may use it too; best effort
    sharedPersons?.set(dto.hprNummer, entry).catch(() => undefined);
  }

  /** Keeps an entry seen in Redis locally, unless the local one is newer. */
  function keepLocally(n: string, entry: PersonEntry): void {
    const mine = persons.get(n);
    if (!mine || mine.fetchedAt < entry.fetchedAt) persons.set(n, entry);
  }

  async function fromHpr(n: string): Promise<PersonEntry> {
    return { dto: await client.getPerson(n), fetchedAt: now() };
  }

  /** HPR's answer for `n`: through Redis (once across the replicas) when it can be asked, else alone. */
  async function loadPerson(n: string): Promise<PersonEntry> {
    if (!sharedPersons) return fromHpr(n);
    let calledHpr = false;
    try {
      const got = await sharedPersons.load(
        n,
        (e) => isFresh(e, now(), e.dto !== null),
        () => {
          calledHpr = true;
          return fromHpr(n);
        },
        (e) => keepLocally(n, e),
      );
      if (got.from === 'shared') sharedHits++;
      return got.entry;
    } catch (err) {
      // Redis failed on the way: alone, unless HPR was already asked for this request
      if (err instanceof SharedStateUnavailable && !calledHpr) return fromHpr(n);
      throw err;
    }
  }

  function noteFailure(err: unknown, what: string): void {
    if (err instanceof UpstreamError) {
      if (err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT') {
        upstreamDownUntil = now() + outageCooldownMs;
      }
      // a used-up budget is expected under load: not worth a warning per request
      const level = err.code === 'UPSTREAM_RATE_LIMITED' && err.status === undefined ? 'debug' : 'warn';
      log?.[level](`hpr ${what} failed`, err.toLogObject());
    }
  }

  function fetchPerson(n: string): Promise<PersonEntry> {
    let pending = inflightPersons.get(n);
    if (!pending) {
      pending = loadPerson(n)
        .then((entry) => {
          persons.set(n, entry);
          return entry;
        })
        // logged once here, not once per caller sharing the call
        .catch((err: unknown) => {
          noteFailure(err, 'person look-up');
          throw err;
        })
        .finally(() => inflightPersons.delete(n));
      inflightPersons.set(n, pending);
    }
    return pending;
  }

  function fetchSearch(key: string, family: string, birthDate: string): Promise<SearchEntry> {
    let pending = inflightSearches.get(key);
    if (!pending) {
      pending = client
        .searchPersons(family, birthDate)
        .then((dtos) => {
          const entry = { dtos, fetchedAt: now() };
          searches.set(key, entry);
          for (const dto of dtos) remember(dto, entry.fetchedAt);
          return entry;
        })
        .catch((err: unknown) => {
          noteFailure(err, 'search');
          throw err;
        })
        .finally(() => inflightSearches.delete(key));
      inflightSearches.set(key, pending);
    }
    return pending;
  }

  function stale(entry: PersonEntry & { dto: HprPersonDto }): PractitionerRead {
    staleServed++;
    return { practitioner: toFhir(entry.dto), ...age(entry.fetchedAt), stale: true };
  }

  return {
    status: { configured: true, extended: settings.extended, synthetic: settings.synthetic },

    async read(hprNummer) {
      if (!HPR_NUMBER.test(hprNummer)) throw unknownPractitioner(hprNummer, true);
      const t = now();
      const cached = persons.get(hprNummer);
      if (cached && isFresh(cached, t, cached.dto !== null)) {
        if (!cached.dto) throw unknownPractitioner(hprNummer, false);
        return { practitioner: toFhir(cached.dto), ...age(cached.fetchedAt), stale: false };
      }
      const fallback = cached?.dto && isServableStale(cached, t) ? { ...cached, dto: cached.dto } : undefined;
      // HPR was just seen down: do not make this caller wait for it when we have an answer
      if (fallback && t < upstreamDownUntil) return stale(fallback);
      let entry: PersonEntry;
      try {
        entry = await fetchPerson(hprNummer);
      } catch (err) {
        // an older copy may have come from Redis on the way
        const seen = persons.get(hprNummer);
        const older = fallback ?? (seen?.dto && isServableStale(seen, now()) ? { ...seen, dto: seen.dto } : undefined);
        if (older) return stale(older);
        throw upstreamFailure(err);
      }
      if (!entry.dto) throw unknownPractitioner(hprNummer, false);
      return { practitioner: toFhir(entry.dto), ...age(entry.fetchedAt), stale: false };
    },

    async search(family, birthDate) {
      const key = `${fold(family)}|${birthDate}`;
      const t = now();
      const cached = searches.get(key);
      let entry: SearchEntry;
      if (cached && isFresh(cached, t, cached.dtos.length > 0)) {
        entry = cached;
      } else {
        const fallback = cached && cached.dtos.length > 0 && isServableStale(cached, t) ? cached : undefined;
        if (fallback && t < upstreamDownUntil) {
          staleServed++;
          entry = fallback;
        } else {
          try {
            entry = await fetchSearch(key, family, birthDate);
          } catch (err) {
            if (!fallback) throw upstreamFailure(err);
            staleServed++;
            entry = fallback;
          }
        }
      }
      // HPR's matching rules are not documented (nor are its parameter names): filter here, so the
      // answer means what FHIR's family and birthdate mean whatever HPR did with the query
      return entry.dtos
        .filter((d) => familyMatches(d.person?.etternavn, family) && d.person?.fødselsdato?.slice(0, 10) === birthDate)
        .sort((a, b) => Number(a.hprNummer) - Number(b.hprNummer))
        .map(toFhir);
    },

    stats() {
      return {
        cachedPersons: persons.size,
        cachedSearches: searches.size,
        inflight: inflightPersons.size + inflightSearches.size,
        bucketAvailable: bucket.available(),
        hprCalls: client.calls,
        tokenRequests: tokens.tokenRequests,
        staleServed,
        ...(bucket instanceof SharedTokenBucket
          ? { sharedHits, sharedTakes: bucket.sharedTakes, localTakes: bucket.localTakes }
          : {}),
      };
    },
  };
}

// --- Errors ------------------------------------------------------------------------------------

function unknownPractitioner(id: string, malformed: boolean): OperationOutcomeError {
  const shown = id.length > 64 ? `${id.slice(0, 64)}...` : id;
  return notFound(
    malformed
      ? `Practitioner/${shown} is not known: Practitioner ids on this server are HPR numbers (digits)`
      : `Practitioner/${shown} is not known: HPR has no person with HPR number ${shown}`,
  );
}

function retryAfterHeader(ms: number | undefined): Record<string, string> {
  return ms === undefined ? {} : { 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) };
}

/**
 * An upstream failure as the answer to the client: 429 with Retry-After when HPR's rate limit (ours
 * or HPR's) stops the look-up; otherwise the status the error names (502/503/504). The text names
 * the upstream and the error codes, never a URL, key, grant or token.
 */
export function upstreamFailure(err: unknown): OperationOutcomeError {
  if (!(err instanceof UpstreamError)) throw err;
  if (err.code === 'UPSTREAM_RATE_LIMITED') {
    const wait = err.retryAfterMs;
    const secs = wait === undefined ? undefined : Math.max(1, Math.ceil(wait / 1000));
    const text =
      err.upstream === 'hpr' && err.status === undefined
        ? `HPR allows this server a limited number of look-ups (a bucket refilled every minute) and they are used up; HPR was not asked.${secs ? ` Try again in ${secs} s.` : ''}`
        : `${err.message}.${secs ? ` Try again in ${secs} s.` : ''}`;
    return new OperationOutcomeError(429, [makeIssue({ code: 'throttled', text })], retryAfterHeader(wait ?? 60_000));
  }
  const status = err.httpStatus === 404 ? 502 : err.httpStatus;
  const prefix = err.upstream === 'maskinporten' ? 'Could not get a Maskinporten token for HPR: ' : '';
  return new OperationOutcomeError(
    status,
    [makeIssue({ code: status === 502 ? 'exception' : 'transient', text: `${prefix}${err.message}` })],
    status === 503 ? retryAfterHeader(err.retryAfterMs ?? 30_000) : {},
  );
}

function unconfiguredService(missing: string[]): PractitionerService {
  const fail = (): never => {
    throw new OperationOutcomeError(503, [
      makeIssue({
        code: 'not-supported',
        text: `Practitioner look-ups in HPR are not configured on this server. Missing settings: ${missing.join(', ')}`,
      }),
    ]);
  };
  return {
    status: { configured: false, missing: [...missing] },
    read: async () => fail(),
    search: async () => fail(),
    stats: () => ({
      cachedPersons: 0,
      cachedSearches: 0,
      inflight: 0,
      bucketAvailable: 0,
      hprCalls: 0,
      tokenRequests: 0,
      staleServed: 0,
    }),
  };
}

// --- Helpers ----------------------------------------------------------------------------------

/** Case- and accent-insensitive form (FHIR string search, search.html#string). */
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

/** FHIR `family`: the family name, or one of its parts, starts with the value. */
export function familyMatches(etternavn: string | null | undefined, family: string): boolean {
  if (!etternavn) return false;
  const want = fold(family);
  const name = fold(etternavn);
  return name.startsWith(want) || name.split(/[\s-]+/).some((part) => part.startsWith(want));
}

import type { Dispatcher } from 'undici';
import { UpstreamError } from './errors.ts';
import { getJson, type UpstreamCallObserver } from './http.ts';
import type { MaskinportenClient } from './maskinporten.ts';
import type { RateLimiter } from './rate-limit.ts';
import { FieldReader, readDate, ValueError } from './values.ts';

/**
 * Client of Helsepersonellregisteret Offentlig API (Norsk helsenett; seed 002): one person by HPR
 * number, and the search by etternavn and fødselsdato. Typed DTOs in, no FHIR.
 *
 * - Access is by Maskinporten token (scope `nhn:hpr/basic`; `nhn:hpr/extended` for the
 *   `personerutvidet` endpoints, which are used only when that scope is configured).
 * - HPR limits each client to a token bucket of 200 calls refilled at 10 per minute. Every call
 *   (retries and the retry after a 401 included) first takes a token from our own bucket, which
 *   mirrors HPR's (rate-limit.ts): when it is empty HPR is not called and the caller gets
 *   UPSTREAM_RATE_LIMITED with `retryAfterMs`. An HPR 429 empties our bucket until its Retry-After.
 *
 * Response shapes (research/upstream-apis.md §2.2): no real HPR response is public; the DTOs follow
 * two NAV clients, which ignore unknown properties. So the parser is tolerant: absent and null are
 * alike, lists may be absent or empty, `kodeverk.id` may be a number or a string, the keys
 * `fødselsdato` / `dødsdato` / `vilkår` are also read in ASCII spellings, and dates may carry a time.
 * A fødselsnummer (`nin`, extended scope) is never read: no DTO has a field for it.
 */

export const HPR_UPSTREAM = 'hpr';
export const HPR_PROD_BASE_URL = 'https://api.offentlig.hpr.nhn.no';
export const HPR_BASIC_SCOPE = 'nhn:hpr/basic';
export const HPR_EXTENDED_SCOPE = 'nhn:hpr/extended';

/**
 * The query parameter names of `GET /v1/personer` (search by etternavn and fødselsdato).
 * ASSUMPTION: the names are not public (the Swagger exists only in HPR's test environment and no
 * public client calls the search). These are the Norwegian field names of the person model in
 * ASCII; check them against https://api.offentlig.test.hpr.nhn.no/swagger/index.html and change
 * them here only (the fake HPR in the tests reads them from here too). The service filters the
 * results by surname and birth date itself, so a wrong name cannot return the wrong persons.
 */
export const HPR_SEARCH_QUERY = {
  etternavn: 'etternavn',
  fødselsdato: 'fodselsdato',
} as const;

// ---------------------------------------------------------------------------------------------
// DTOs: HPR's field names; absent and null both become null, absent lists become [].
// Dates are normalised by values.ts readDate (`yyyy-MM-dd`, or a date-time when HPR sends one).

/** A coded value: `verdi` in the code list `kodeverk` (its `id` is the Volven OID number, e.g. 9060). */
export interface HprKodeDto {
  verdi: string | null;
  navn: string | null;
  kodeverk: { id: string | null; navn: string | null } | null;
}

export interface HprPeriodeDto {
  fra: string | null;
  til: string | null;
}

export interface HprAdministrativReaksjonDto {
  type: HprKodeDto | null;
  periode: HprPeriodeDto | null;
}

/** A spesialistgodkjenning, tilleggskompetanse or rekvisisjonsrett: a typed right with a period. */
export interface HprRettighetDto {
  type: HprKodeDto | null;
  periode: HprPeriodeDto | null;
  avsluttetStatus: HprKodeDto | null;
  administrativeReaksjoner: HprAdministrativReaksjonDto[];
}

export interface HprVilkarDto {
  type: HprKodeDto | null;
}

export interface HprGodkjenningDto {
  helsepersonellkategori: HprKodeDto | null;
  autorisasjon: HprKodeDto | null;
  periode: HprPeriodeDto | null;
  godkjentTurnusDato: string | null;
  rekvisisjonsretter: HprRettighetDto[];
  spesialistgodkjenninger: HprRettighetDto[];
  tilleggskompetanser: HprRettighetDto[];
  vilkår: HprVilkarDto[];
  avsluttetStatus: HprKodeDto | null;
  administrativeReaksjoner: HprAdministrativReaksjonDto[];
}

/** The person part. No `nin`/`manglerNin`: a fødselsnummer is never read, so it can never be emitted. */
export interface HprPersonNavnDto {
  fornavn: string | null;
  mellomnavn: string | null;
  etternavn: string | null;
  fødselsdato: string | null;
  dødsdato: string | null;
}

export interface HprPersonDto {
  /** digits, as text */
  hprNummer: string;
  erstattetAvHprNummer: string | null;
  person: HprPersonNavnDto | null;
  godkjenninger: HprGodkjenningDto[];
  administrativeReaksjoner: HprAdministrativReaksjonDto[];
  /** a local date-time in HPR (no zone) */
  sistOppdatert: string | null;
  gjelderForDato: string | null;
}

// ---------------------------------------------------------------------------------------------
// Parsing

function badResponse(reason: string, cause?: unknown): UpstreamError {
  return new UpstreamError('UPSTREAM_BAD_RESPONSE', { upstream: HPR_UPSTREAM, reason, cause });
}

function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function objectOrNull<T>(r: FieldReader, name: string, parse: (x: FieldReader) => T, ...aliases: string[]): T | null {
  const v = r.raw(name, ...aliases);
  return isPresent(v) ? parse(new FieldReader(v, `${r.path}.${name}`)) : null;
}

function list<T>(r: FieldReader, name: string, parse: (x: FieldReader) => T, ...aliases: string[]): T[] {
  const v = r.raw(name, ...aliases);
  if (!isPresent(v)) return [];
  if (!Array.isArray(v)) throw new ValueError(`${r.path}.${name}`, 'expected a list');
  return v.filter(isPresent).map((x, i) => parse(new FieldReader(x, `${r.path}.${name}[${i}]`)));
}

function kode(r: FieldReader): HprKodeDto {
  return {
    verdi: r.code('verdi'),
    navn: r.text('navn'),
    // `kodeverk.id` is an Int in NAV's clients and a String in another: both are read as text
    kodeverk: objectOrNull(r, 'kodeverk', (k) => ({ id: k.code('id'), navn: k.text('navn') })),
  };
}

function periode(r: FieldReader): HprPeriodeDto {
  return { fra: r.date('fra'), til: r.date('til') };
}

function reaksjon(r: FieldReader): HprAdministrativReaksjonDto {
  return { type: objectOrNull(r, 'type', kode), periode: objectOrNull(r, 'periode', periode) };
}

function rettighet(r: FieldReader): HprRettighetDto {
  return {
    type: objectOrNull(r, 'type', kode),
    periode: objectOrNull(r, 'periode', periode),
    avsluttetStatus: objectOrNull(r, 'avsluttetStatus', kode),
    administrativeReaksjoner: list(r, 'administrativeReaksjoner', reaksjon),
  };
}

function godkjenning(r: FieldReader): HprGodkjenningDto {
  return {
    helsepersonellkategori: objectOrNull(r, 'helsepersonellkategori', kode),
    autorisasjon: objectOrNull(r, 'autorisasjon', kode),
    periode: objectOrNull(r, 'periode', periode),
    godkjentTurnusDato: r.date('godkjentTurnusDato'),
    rekvisisjonsretter: list(r, 'rekvisisjonsretter', rettighet),
    spesialistgodkjenninger: list(r, 'spesialistgodkjenninger', rettighet, 'spesialiteter'),
    tilleggskompetanser: list(r, 'tilleggskompetanser', rettighet),
    vilkår: list(r, 'vilkår', (v) => ({ type: objectOrNull(v, 'type', kode) }), 'vilkar', 'vilkaar'),
    avsluttetStatus: objectOrNull(r, 'avsluttetStatus', kode),
    administrativeReaksjoner: list(r, 'administrativeReaksjoner', reaksjon),
  };
}

function personNavn(r: FieldReader): HprPersonNavnDto {
  return {
    fornavn: r.text('fornavn'),
    mellomnavn: r.text('mellomnavn'),
    etternavn: r.text('etternavn'),
    fødselsdato: readDate(r.raw('fødselsdato', 'fodselsdato', 'foedselsdato'), `${r.path}.fødselsdato`),
    dødsdato: readDate(r.raw('dødsdato', 'dodsdato', 'doedsdato'), `${r.path}.dødsdato`),
  };
}

function hprNummer(r: FieldReader, name: string): string | null {
  const v = r.code(name);
  if (v === null) return null;
  if (!/^\d{1,10}$/.test(v)) throw new ValueError(`${r.path}.${name}`, 'expected digits');
  return v;
}

function personRow(r: FieldReader): HprPersonDto {
  const nummer = hprNummer(r, 'hprNummer');
  if (nummer === null) throw new ValueError(`${r.path}.hprNummer`, 'missing');
  return {
    hprNummer: nummer,
    erstattetAvHprNummer: hprNummer(r, 'erstattetAvHprNummer'),
    person: objectOrNull(r, 'person', personNavn),
    godkjenninger: list(r, 'godkjenninger', godkjenning),
    administrativeReaksjoner: list(r, 'administrativeReaksjoner', reaksjon),
    sistOppdatert: r.date('sistOppdatert'),
    gjelderForDato: r.date('gjelderForDato'),
  };
}

function withValueErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ValueError) throw badResponse(err.message, err);
    throw err;
  }
}

/** One person (`GET /v1/personer/{hprNummer}`). */
export function parseHprPerson(json: unknown): HprPersonDto {
  return withValueErrors(() => personRow(new FieldReader(json, 'person')));
}

/**
 * The persons of a search answer. The shape is not documented: a bare array, an object with one
 * list (any key), or a single person are all read.
 */
export function parseHprSearch(json: unknown): HprPersonDto[] {
  return withValueErrors(() => {
    if (Array.isArray(json))
      return json.filter(isPresent).map((p, i) => personRow(new FieldReader(p, `personer[${i}]`)));
    if (typeof json !== 'object' || json === null) {
      throw badResponse(`search: expected a JSON array or object, got ${json === null ? 'null' : typeof json}`);
    }
    const obj = json as Record<string, unknown>;
    if (Object.hasOwn(obj, 'hprNummer')) return [personRow(new FieldReader(obj, 'person'))];
    const lists = Object.entries(obj).filter(([, v]) => Array.isArray(v));
    if (lists.length !== 1) {
      throw badResponse(
        lists.length === 0 ? 'search: no list of persons in the answer' : 'search: several lists in the answer',
      );
    }
    const [key, rows] = lists[0] as [string, unknown[]];
    return rows.filter(isPresent).map((p, i) => personRow(new FieldReader(p, `${key}[${i}]`)));
  });
}

// ---------------------------------------------------------------------------------------------
// Client

export interface HprClientOptions {
  dispatcher: Dispatcher;
  tokens: Pick<MaskinportenClient, 'getToken' | 'invalidate'>;
  bucket: RateLimiter;
  /** default HPR_PROD_BASE_URL */
  baseUrl?: string;
  /** use the `personerutvidet` endpoints (only when the extended scope is configured) */
  extended?: boolean;
  /** time limit of one call (default 10 000 ms) */
  timeoutMs?: number;
  /** retries after a 5xx, a timeout or a network error, each taking a token (default 1) */
  retries?: number;
  /** wait before a retry (default 500 ms) */
  retryDelayMs?: number;
  /** for tests: how to wait */
  sleep?: (ms: number) => Promise<void>;
  /** for tests: the clock used to read an HTTP-date Retry-After */
  now?: () => number;
  /** told of each HPR call when it ends (for metrics); a call our bucket refused is not one */
  onCall?: UpstreamCallObserver;
}

export interface HprCallOptions {
  signal?: AbortSignal;
}

export interface HprClient {
  /** The person with this HPR number, or null when HPR does not know it (404). */
  getPerson(hprNummer: string, call?: HprCallOptions): Promise<HprPersonDto | null>;
  /** Persons by etternavn and fødselsdato (`yyyy-MM-dd`). */
  searchPersons(etternavn: string, fødselsdato: string, call?: HprCallOptions): Promise<HprPersonDto[]>;
  /** Upstream calls made (each took a token from the bucket). */
  readonly calls: number;
}

export function createHprClient(options: HprClientOptions): HprClient {
  const root = (options.baseUrl ?? HPR_PROD_BASE_URL).replace(/\/+$/, '');
  const resource = options.extended ? '/v1/personerutvidet' : '/v1/personer';
  const retries = Math.max(0, Math.floor(options.retries ?? 1));
  const retryDelayMs = options.retryDelayMs ?? 500;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { bucket, tokens } = options;
  let calls = 0;

  function budgetUsedUp(retryAfterMs: number): UpstreamError {
    return new UpstreamError('UPSTREAM_RATE_LIMITED', {
      upstream: HPR_UPSTREAM,
      retryAfterMs,
      reason: 'our share of HPR’s rate limit is used up; HPR was not called',
    });
  }

  /** One GET: bucket token, access token, request; a 401 renews the access token once. */
  async function get(url: string, call: HprCallOptions | undefined): Promise<unknown> {
    let renewedToken = false;
    for (let attempt = 0; ; attempt++) {
      // fail fast before asking Maskinporten when the bucket is already empty
      const wait = bucket.retryAfterMs();
      if (wait > 0) throw budgetUsedUp(wait);
      const accessToken = await tokens.getToken({ signal: call?.signal });
      const taken = await bucket.tryTake();
      if (!taken.ok) throw budgetUsedUp(taken.retryAfterMs);
      calls++;
      try {
        return await getJson(url, {
          upstream: HPR_UPSTREAM,
          dispatcher: options.dispatcher,
          headers: { authorization: `Bearer ${accessToken}` },
          // one attempt per bucket token: the retries are ours, below
          retries: 0,
          timeoutMs: options.timeoutMs ?? 10_000,
          signal: call?.signal,
          now: options.now,
          onCall: options.onCall,
        });
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        if (err.code === 'UPSTREAM_RATE_LIMITED') {
          // HPR's bucket is emptier than ours: believe HPR
          bucket.block(err.retryAfterMs);
          throw err;
        }
        if (err.code === 'UPSTREAM_UNAUTHORIZED' && err.status === 401 && !renewedToken) {
          // the token may have been revoked or expired early: one more try with a new one
          tokens.invalidate(accessToken);
          renewedToken = true;
          continue;
        }
        const transient = err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT';
        if (!transient || attempt >= retries || bucket.retryAfterMs() > 0) throw err;
        await sleep(retryDelayMs);
      }
    }
  }

  return {
    async getPerson(nummer, call) {
      if (!/^\d{1,10}$/.test(nummer)) throw new RangeError('an HPR number is 1 to 10 digits');
      const url = `${root}${resource}/${nummer}`;
      let json: unknown;
      try {
        json = await get(url, call);
      } catch (err) {
        if (err instanceof UpstreamError && err.code === 'UPSTREAM_NOT_FOUND') return null;
        throw err;
      }
      try {
        return parseHprPerson(json);
      } catch (err) {
        if (err instanceof UpstreamError) throw err.withDetails({ url });
        throw err;
      }
    },

    async searchPersons(etternavn, fødselsdato, call) {
      const url = new URL(`${root}${resource}`);
      url.searchParams.set(HPR_SEARCH_QUERY.etternavn, etternavn);
      url.searchParams.set(HPR_SEARCH_QUERY.fødselsdato, fødselsdato);
      const href = url.toString();
      let json: unknown;
      try {
        json = await get(href, call);
      } catch (err) {
        // a search that finds nobody may well be a 404 in an ASP.NET API
        if (err instanceof UpstreamError && err.code === 'UPSTREAM_NOT_FOUND') return [];
        throw err;
      }
      try {
        return parseHprSearch(json);
      } catch (err) {
        if (err instanceof UpstreamError) throw err.withDetails({ url: href });
        throw err;
      }
    },

    get calls() {
      return calls;
    },
  };
}
